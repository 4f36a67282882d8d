package money_test

import (
	"testing"

	"tollgate/money"
)

// FuzzParseTyped: what a subscriber types on /my (a cap, "50,000" or
// "₩50000" or "1.99") is refused or read to a non-negative number of minor
// units that the currency's own decimal form reads back to exactly.
func FuzzParseTyped(f *testing.F) {
	for _, s := range []string{"50,000", "₩50000", " 1.99 ", "1.999", "-5", "1e3", "", ".", "0.", ".5", "1,2,3", "999999999999999", "9999999999999999", "$ 1_000.5", "٣"} {
		for _, cur := range []string{"KRW", "USD", "BHD"} {
			f.Add(s, cur)
		}
	}
	f.Fuzz(func(t *testing.T, typed, currency string) {
		c, ok := money.Lookup(currency)
		if !ok {
			return
		}
		v, err := c.ParseTyped(typed)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q %s typed reads as %d: a negative amount", typed, currency, v)
		}
		text := c.Decimal(v)
		again, err := c.ParseTyped(text)
		if err != nil || again != v {
			t.Fatalf("%q %s -> %d -> %q -> %d, %v", typed, currency, v, text, again, err)
		}
	})
}
