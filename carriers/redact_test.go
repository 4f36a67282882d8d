package carriers_test

import (
	"testing"

	"tollgate/carriers"
)

func TestRedactNumbersHidesWhatCouldBeAPhoneNumber(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"+821012345678 unknown", "[number] unknown"},
		{"no subscriber 010-1234-5678.", "no subscriber [number]."},
		{"tel:+1 (201) 555-0123 barred", "tel:[number] barred"},
		{"msisdn 1012345", "msisdn [number]"},
		// Kept: statuses, codes, amounts, dates, short runs.
		{"HTTP 503 SVC0005: retry after 30s", "HTTP 503 SVC0005: retry after 30s"},
		{"amount 500000 KRW", "amount 500000 KRW"},
		{"2026-11-24", "2026-11-24"},
		{"", ""},
	} {
		if got := carriers.RedactNumbers(tc.in); got != tc.want {
			t.Errorf("RedactNumbers(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
