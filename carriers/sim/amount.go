package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Amounts are JSON numbers in major units on the CAMARA wire and integer
// minor units in the books. The conversion works on the decimal text, never
// through float64. It is the same rule as carriers/decimal.go's, written again
// here on purpose: the simulator plays the operator, and an operator does not
// share code with its clients.

var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

func exponent(currency string) int {
	if e, ok := minorDigits[currency]; ok {
		return e
	}
	return 2
}

func validCurrency(cur string) bool {
	if len(cur) != 3 {
		return false
	}
	for i := 0; i < len(cur); i++ {
		if cur[i] < 'A' || cur[i] > 'Z' {
			return false
		}
	}
	return true
}

// formatAmount writes minor units as a decimal in major units. Amounts in
// the books are positive, so there is no sign to handle.
func formatAmount(minor int64, currency string) json.Number {
	digits := strconv.FormatInt(minor, 10)
	e := exponent(currency)
	if e == 0 {
		return json.Number(digits)
	}
	if len(digits) <= e {
		digits = strings.Repeat("0", e-len(digits)+1) + digits
	}
	return json.Number(digits[:len(digits)-e] + "." + digits[len(digits)-e:])
}

var errAmountForm = errors.New("amount is not a decimal number")

// parseAmount reads a JSON number in major units into minor units, refusing
// more decimals than the currency has.
func parseAmount(n json.Number, currency string) (int64, error) {
	s := string(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp10 := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		x, err := strconv.Atoi(s[i+1:])
		if err != nil || x < -64 || x > 64 {
			return 0, errAmountForm
		}
		mant, exp10 = s[:i], x
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if !digitsOnly(whole) || (dot && !digitsOnly(frac)) {
		return 0, errAmountForm
	}
	e := exponent(currency)
	shift := e + exp10 - len(frac)
	if shift < 0 {
		return 0, fmt.Errorf("amount has more decimals than %s allows (%d)", currency, e)
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, nil
	}
	digits += strings.Repeat("0", shift)
	if neg {
		digits = "-" + digits
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, errors.New("amount is out of range")
	}
	return v, nil
}

func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
