package sim

import (
	"encoding/json"
	"testing"
)

func TestCodeIn(t *testing.T) {
	tests := map[string]string{
		"Your code is 482913.":          "482913",
		"Order 12 paid, code 0042":      "0042",
		"Call 010123456789 or use 9999": "9999", // a 12-digit run is a number, not a code
		"no digits":                     "",
		"12345678":                      "12345678",
		"123":                           "",
	}
	for body, want := range tests {
		if got := codeIn(body); got != want {
			t.Errorf("codeIn(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestNormalizeMSISDN(t *testing.T) {
	for _, in := range []string{"+821012345678", " 821012345678", "821012345678"} {
		if got := normalizeMSISDN(in); got != "+821012345678" {
			t.Errorf("normalizeMSISDN(%q) = %q", in, got)
		}
	}
}

func TestAmountConversion(t *testing.T) {
	tests := []struct {
		wire     string
		currency string
		minor    int64
	}{
		{"5000", "KRW", 5000},
		{"19.99", "USD", 1999},
		{"0.05", "EUR", 5},
		{"1.234", "BHD", 1234},
		{"0.001", "KWD", 1},
	}
	for _, tt := range tests {
		got, err := parseAmount(json.Number(tt.wire), tt.currency)
		if err != nil || got != tt.minor {
			t.Errorf("parseAmount(%s %s) = %d, %v", tt.wire, tt.currency, got, err)
		}
		if back := formatAmount(tt.minor, tt.currency); string(back) != tt.wire {
			t.Errorf("formatAmount(%d %s) = %s", tt.minor, tt.currency, back)
		}
	}
	for _, bad := range []struct{ wire, currency string }{
		{"19.999", "USD"}, {"1.5", "KRW"}, {"1.2345", "BHD"}, {"19.990", "USD"}, {"1e-3", "USD"}, {"abc", "USD"}, {"99999999999999999999", "USD"},
	} {
		if _, err := parseAmount(json.Number(bad.wire), bad.currency); err == nil {
			t.Errorf("parseAmount(%s %s) accepted", bad.wire, bad.currency)
		}
	}
}
