// Package money is the gateway's one account of currencies and amounts:
// which ISO 4217 codes exist, how many decimals each one's minor unit has,
// and the exact conversions between tollgate's integer minor units and the
// decimal text carriers, files and people use. Nothing here goes through a
// float.
//
// The currency data comes from github.com/bojanz/currency (CLDR 49, whose
// digits follow ISO 4217's minor units) rather than a hand list. The
// simulator (carriers/sim) keeps its own copy on purpose: it plays the
// operator, and an operator does not share code with its clients.
package money

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/bojanz/currency"
)

// Currency is an ISO 4217 currency in use today, with the exponent of its
// minor unit: KRW 5000 is ₩5,000 (exponent 0); USD 199 is $1.99 (2).
type Currency struct {
	Code     string
	Exponent int
}

// Lookup returns the currency for an upper-case ISO 4217 code, or false for
// anything else: lower case, a withdrawn code, or a non-tender one (XAU,
// XXX) nobody is billed in.
func Lookup(code string) (Currency, bool) {
	if !wellFormed(code) {
		return Currency{}, false
	}
	d, ok := currency.GetDigits(code)
	if !ok {
		return Currency{}, false
	}
	return Currency{Code: code, Exponent: int(d)}, true
}

// wellFormed: three upper-case ASCII letters (the library also accepts
// lower case, and the API does not).
func wellFormed(code string) bool {
	if len(code) != 3 {
		return false
	}
	for i := range len(code) {
		if code[i] < 'A' || code[i] > 'Z' {
			return false
		}
	}
	return true
}

// english formats amounts for people: "₩5,000", "$1.99", "-€0.50". One
// locale for every text, as the gateway's texts have always used; a
// Formatter is safe for concurrent use once built.
var english = currency.NewFormatter(currency.NewLocale("en"))

// Display renders minor units for people, e.g. "₩5,000" or "$1.99". Used
// in texts and pages; never parsed back by the gateway.
func (c Currency) Display(minor int64) string {
	a, err := currency.NewAmountFromInt64(minor, c.Code)
	if err != nil {
		return strconv.FormatInt(minor, 10) + " " + c.Code
	}
	return english.Format(a)
}

// Symbol is the currency's symbol in English texts: "₩", "$", or the code
// where there is none ("BHD").
func (c Currency) Symbol() string {
	s, _ := currency.GetSymbol(c.Code, currency.NewLocale("en"))
	return s
}

// Decimal writes minor units as a decimal in major units with exactly the
// currency's decimals: 1999 USD is "19.99", 5000 KRW is "5000", 1234 BHD
// is "1.234".
func (c Currency) Decimal(minor int64) string {
	u := uint64(minor)
	if minor < 0 {
		u = -u // two's complement: exact even for the smallest int64
	}
	digits := strconv.FormatUint(u, 10)
	if e := c.Exponent; e > 0 {
		if len(digits) <= e {
			digits = strings.Repeat("0", e-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-e] + "." + digits[len(digits)-e:]
	}
	if minor < 0 {
		digits = "-" + digits
	}
	return digits
}

// Format is Decimal for a currency code, refusing an unknown one.
func Format(minor int64, code string) (string, error) {
	c, ok := Lookup(code)
	if !ok {
		return "", fmt.Errorf("currency %q is not an ISO 4217 code in use", code)
	}
	return c.Decimal(minor), nil
}

// Parse reads a decimal in major units of a currency, as a carrier writes
// it (a sign, an exponent, space around it from a JSON string), back into
// minor units. A number with more decimals than the currency has is refused
// rather than rounded, even when they are zeros: 19.999 USD or 1.5 KRW is
// not an amount anyone can bill. (Settlement files have their own, looser
// rule: carriers.ParseDecimal.)
func Parse(amount, code string) (int64, error) {
	c, ok := Lookup(code)
	if !ok {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code in use", code)
	}
	return c.Parse(amount)
}

// Parse is the package's Parse for this currency.
func (c Currency) Parse(amount string) (int64, error) {
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
	shift := c.Exponent + exp10 - len(frac)
	if shift < 0 {
		return 0, fmt.Errorf("amount %q has more decimals than %s allows (%d)", amount, c.Code, c.Exponent)
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

// ParseTyped reads an amount a person typed in major units ("50,000",
// "₩50000", "1.99") into minor units, exactly. Grouping commas, spaces and
// the currency's symbol are allowed; a sign, an exponent or more decimals
// than the currency has are not.
func (c Currency) ParseTyped(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if sym := c.Symbol(); sym != "" {
		t = strings.TrimSpace(strings.TrimPrefix(t, sym))
	}
	t = strings.NewReplacer(",", "", " ", "", "_", "").Replace(t)
	whole, frac, dot := strings.Cut(t, ".")
	if !allDigits(whole) || (dot && !allDigits(frac)) || len(frac) > c.Exponent || len(whole) > 15 {
		return 0, fmt.Errorf("%q is not an amount of %s", s, c.Code)
	}
	return c.Parse(t)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
