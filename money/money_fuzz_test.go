package money_test

import (
	"math"
	"strings"
	"testing"

	"tollgate/money"
)

// FuzzParseAmount: a decimal a carrier writes either is refused or parses
// to minor units that format back to the currency's exact decimals and
// parse again to the same value: no amount is ever rounded on the way.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"5000", "19.99", "1.234", "-0.01", " 5e3 ", "1.5", "19.999", "9223372036854775807", "-92233720368547758.08", "0.00", "1E-2", ""} {
		for _, cur := range []string{"KRW", "USD", "BHD", "usd"} {
			f.Add(s, cur)
		}
	}
	f.Fuzz(func(t *testing.T, amount, currency string) {
		v, err := money.Parse(amount, currency)
		if err != nil {
			return
		}
		text, err := money.Format(v, currency)
		if err != nil {
			t.Fatalf("ParseAmount(%q, %q) = %d, which does not format: %v", amount, currency, v, err)
		}
		c, _ := money.Lookup(currency)
		if e := c.Exponent; e > 0 {
			if _, frac, _ := strings.Cut(text, "."); len(frac) != e {
				t.Fatalf("%d %s formats as %q, not with %d decimals", v, currency, text, e)
			}
		} else if strings.Contains(text, ".") {
			t.Fatalf("%d %s formats as %q", v, currency, text)
		}
		again, err := money.Parse(text, currency)
		if err != nil || again != v {
			t.Fatalf("%q %s -> %d -> %q -> %d, %v", amount, currency, v, text, again, err)
		}
	})
}

// FuzzFormatAmount: every int64 of a valid currency formats to a decimal
// that parses back exactly, the extremes included.
func FuzzFormatAmount(f *testing.F) {
	for _, v := range []int64{0, 1, -1, 1999, 5000, math.MaxInt64, math.MinInt64} {
		f.Add(v, "USD")
		f.Add(v, "KRW")
		f.Add(v, "BHD")
	}
	f.Fuzz(func(t *testing.T, minor int64, currency string) {
		text, err := money.Format(minor, currency)
		if _, ok := money.Lookup(currency); !ok {
			if err == nil {
				t.Fatalf("currency %q formatted as %q", currency, text)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if back, err := money.Parse(text, currency); err != nil || back != minor {
			t.Fatalf("%d %s -> %q -> %d, %v", minor, currency, text, back, err)
		}
	})
}
