package carriers

import (
	"fmt"
	"strconv"
	"strings"
)

// Carriers put amounts on the wire as decimals in major units (19.99), while
// tollgate counts integer minor units. The conversions below are done on the
// decimal text, never through float64, so that every amount survives the
// round trip exactly. The adapters share them; the simulator (carriers/sim)
// keeps its own copy on purpose: it plays the operator, and an operator does
// not share code with its clients.

// CurrencyExponent is the ISO 4217 minor-unit exponent of cur: 0 for KRW
// and JPY, 3 for BHD, 2 for every other currency.
func CurrencyExponent(cur string) int {
	switch cur {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// ValidCurrency reports whether cur has the form of an ISO 4217 code.
func ValidCurrency(cur string) bool {
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

// FormatAmount writes minor units of currency as a decimal in major units,
// with exactly the currency's decimals: 1999 USD is 19.99, 5000 KRW is 5000,
// 1234 BHD is 1.234.
func FormatAmount(minor int64, currency string) (string, error) {
	if !ValidCurrency(currency) {
		return "", fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	e := CurrencyExponent(currency)
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
	return digits, nil
}

// ParseAmount reads a decimal in major units of currency, as a carrier writes
// it (a sign, an exponent, space around it from a JSON string), back into
// minor units. A number with more decimals than the currency has is refused
// rather than rounded, even when they are zeros: 19.999 USD or 1.5 KRW is not
// an amount anyone can bill. (Settlement files have their own, looser rule:
// ParseDecimal.)
func ParseAmount(amount, currency string) (int64, error) {
	if !ValidCurrency(currency) {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", currency)
	}
	s := strings.TrimSpace(amount)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	mant, exp10 := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		x, err := strconv.Atoi(s[i+1:])
		if err != nil || x < -64 || x > 64 {
			return 0, fmt.Errorf("amount %q: bad exponent", amount)
		}
		mant, exp10 = s[:i], x
	}
	whole, frac, dot := strings.Cut(mant, ".")
	if !allDigits(whole) || (dot && !allDigits(frac)) {
		return 0, fmt.Errorf("amount %q is not a decimal number", amount)
	}
	// value = digits × 10^(exp10-len(frac)); minor = value × 10^e.
	e := CurrencyExponent(currency)
	shift := e + exp10 - len(frac)
	if shift < 0 {
		return 0, fmt.Errorf("amount %q has more decimals than %s allows (%d)", amount, currency, e)
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
		return 0, fmt.Errorf("amount %q is out of range", amount)
	}
	return v, nil
}

// AmountMismatch describes a carrier echoing a different amount than we
// asked for, or "" when it echoed ours or none. The carrier's word on the
// outcome still stands (it may well have billed), so this is surfaced for
// people and settlement, not an error.
func AmountMismatch(echoed, echoedCurrency string, want int64, currency string) string {
	if echoed == "" && echoedCurrency == "" {
		return ""
	}
	if echoedCurrency != currency {
		return fmt.Sprintf("carrier reports currency %q, requested %s", echoedCurrency, currency)
	}
	got, err := ParseAmount(echoed, currency)
	if err != nil {
		return fmt.Sprintf("carrier reports an unreadable amount: %v", err)
	}
	if got != want {
		return fmt.Sprintf("carrier reports amount %d, requested %d (minor units of %s)", got, want, currency)
	}
	return ""
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
