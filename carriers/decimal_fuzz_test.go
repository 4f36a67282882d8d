package carriers_test

import (
	"testing"

	"tollgate/carriers"
)

// FuzzParseDecimal: a settlement file's amount either is refused or is a
// non-negative count of minor units that FormatDecimal writes back to a
// text ParseDecimal reads as the same count.
func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"5000", "5000.00", "19.99", "19.999", "1.230", "", ".", "1.", ".5", "999999999999999999", "1000000000000000000", "-1"} {
		for exp := range uint8(4) {
			f.Add(s, exp)
		}
	}
	f.Fuzz(func(t *testing.T, s string, exp uint8) {
		e := int(exp % 4)
		v, err := carriers.ParseDecimal(s, e)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseDecimal(%q, %d) = %d", s, e, v)
		}
		text := carriers.FormatDecimal(v, e, e)
		if back, err := carriers.ParseDecimal(text, e); err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, text, back, err)
		}
	})
}
