package oneapi

import (
	"fmt"
	"strconv"
	"strings"
)

// OneAPI puts amounts on the wire as decimals in major units ("19.99"),
// while tollgate counts integer minor units. The conversion below is done on
// the decimal text, never through float64, so that every amount survives the
// round trip exactly. It is the same rule as carriers/camara's: adapters do
// not import each other, so each protocol package owns its wire conversion.

// minorDigits is the ISO 4217 minor-unit exponent of currencies that do not
// use two decimals; every other currency uses two.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// exponent returns how many decimals currency has.
func exponent(currency string) int {
	if e, ok := minorDigits[currency]; ok {
		return e
	}
	return 2
}

// validCurrency reports whether cur has the form of an ISO 4217 code.
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

// formatAmount writes minor units of currency as a decimal in major units:
// 1999 USD is 19.99, 5000 KRW is 5000, 1234 BHD is 1.234.
func formatAmount(minor int64, currency string) (decimal, error) {
	if !validCurrency(currency) {
		return "", fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	e := exponent(currency)
	u := uint64(minor)
	if minor < 0 {
		u = -u // two's complement: exact even for the smallest int64
	}
	digits := strconv.FormatUint(u, 10)
	if e > 0 {
		if len(digits) <= e {
			digits = strings.Repeat("0", e-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-e] + "." + digits[len(digits)-e:]
	}
	if minor < 0 {
		digits = "-" + digits
	}
	return decimal(digits), nil
}

// parseAmount reads a decimal in major units of currency back into minor
// units. A number with more decimals than the currency has is refused rather
// than rounded: 19.999 USD or 1.5 KRW is not an amount anyone can bill.
func parseAmount(d decimal, currency string) (int64, error) {
	if !validCurrency(currency) {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	s := strings.TrimSpace(string(d))
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp10 := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		x, err := strconv.Atoi(s[i+1:])
		if err != nil || x < -64 || x > 64 {
			return 0, fmt.Errorf("amount %q: bad exponent", string(d))
		}
		mant, exp10 = s[:i], x
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if !allDigits(whole) || (dot && !allDigits(frac)) {
		return 0, fmt.Errorf("amount %q is not a decimal number", string(d))
	}
	// value = digits × 10^(exp10-len(frac)); minor = value × 10^e.
	e := exponent(currency)
	shift := e + exp10 - len(frac)
	if shift < 0 {
		return 0, fmt.Errorf("amount %q has more decimals than %s allows (%d)", string(d), currency, e)
	}
	digits := strings.TrimLeft(whole+frac, "0")
	if digits == "" {
		return 0, nil
	}
	digits += strings.Repeat("0", shift)
	if neg {
		digits = "-" + digits // parsed with its sign, so the smallest int64 fits
	}
	v, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q is out of range", string(d))
	}
	return v, nil
}

func allDigits(s string) bool {
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
