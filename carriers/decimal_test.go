package carriers_test

import (
	"testing"

	"tollgate/carriers"
)

func TestAmountMismatch(t *testing.T) {
	tests := []struct {
		name                   string
		echoed, echoedCurrency string
		want                   int64
		currency               string
		mismatch               bool
	}{
		{"nothing echoed", "", "", 5000, "KRW", false},
		{"same amount", "5000", "KRW", 5000, "KRW", false},
		{"same amount, other form", "50.00", "USD", 5000, "USD", false},
		{"other amount", "60", "KRW", 50, "KRW", true},
		{"other currency", "5000", "JPY", 5000, "KRW", true},
		{"unreadable amount", "lots", "KRW", 5000, "KRW", true},
		{"more decimals than the currency", "50.001", "USD", 5000, "USD", true},
	}
	for _, tt := range tests {
		got := carriers.AmountMismatch(tt.echoed, tt.echoedCurrency, tt.want, tt.currency)
		if (got != "") != tt.mismatch {
			t.Errorf("%s: AmountMismatch = %q, want a mismatch: %v", tt.name, got, tt.mismatch)
		}
	}
}
