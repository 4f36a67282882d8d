package billing

import (
	"strconv"
	"strings"
)

// Currency is an ISO 4217 currency and the exponent of its minor unit.
type Currency struct {
	Code     string
	Exponent int
	Symbol   string
}

// currencies the gateway accepts. Amounts are always int64 counts of the
// minor unit: KRW 5000 is ₩5,000; USD 199 is $1.99.
var currencies = map[string]Currency{
	"KRW": {"KRW", 0, "₩"},
	"JPY": {"JPY", 0, "¥"},
	"IDR": {"IDR", 2, "Rp"},
	"USD": {"USD", 2, "$"},
	"EUR": {"EUR", 2, "€"},
	"GBP": {"GBP", 2, "£"},
	"CAD": {"CAD", 2, "CA$"},
	"AUD": {"AUD", 2, "A$"},
	"SGD": {"SGD", 2, "S$"},
	"THB": {"THB", 2, "฿"},
	"PHP": {"PHP", 2, "₱"},
	"MYR": {"MYR", 2, "RM"},
	"TWD": {"TWD", 2, "NT$"},
	"PLN": {"PLN", 2, "zł"},
	"BRL": {"BRL", 2, "R$"},
	"MXN": {"MXN", 2, "MX$"},
	"ZAR": {"ZAR", 2, "R"},
	"BHD": {"BHD", 3, "BD"},
	"KWD": {"KWD", 3, "KD"},
	"JOD": {"JOD", 3, "JD"},
	"OMR": {"OMR", 3, "OMR"},
}

// LookupCurrency returns the currency for an upper-case ISO 4217 code.
func LookupCurrency(code string) (Currency, bool) {
	c, ok := currencies[code]
	return c, ok
}

// Format renders amount minor units for people, e.g. "₩5,000" or "$1.99".
// Used in SMS texts; never parsed back.
func (c Currency) Format(amount int64) string {
	neg := amount < 0
	if neg {
		amount = -amount
	}
	s := strconv.FormatInt(amount, 10)
	frac := ""
	if c.Exponent > 0 {
		for len(s) <= c.Exponent {
			s = "0" + s
		}
		frac = "." + s[len(s)-c.Exponent:]
		s = s[:len(s)-c.Exponent]
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	out := c.Symbol + b.String() + frac
	if neg {
		out = "-" + out
	}
	return out
}
