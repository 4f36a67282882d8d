package camara

import (
	"encoding/json"
	"math"
	"testing"
)

func TestAmountRoundTrip(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		wire     string
	}{
		{5000, "KRW", "5000"},
		{1, "KRW", "1"},
		{3000, "JPY", "3000"},
		{1999, "USD", "19.99"},
		{5, "USD", "0.05"},
		{100, "EUR", "1.00"},
		{123456789, "GBP", "1234567.89"},
		{1234, "BHD", "1.234"},
		{1, "KWD", "0.001"},
		{10000, "JOD", "10.000"},
		{-250, "USD", "-2.50"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "KRW", "-9223372036854775808"},
	}
	for _, tt := range tests {
		got, err := formatAmount(tt.minor, tt.currency)
		if err != nil || string(got) != tt.wire {
			t.Errorf("formatAmount(%d, %s) = %q, %v; want %s", tt.minor, tt.currency, got, err, tt.wire)
		}
		back, err := parseAmount(got, tt.currency)
		if err != nil || back != tt.minor {
			t.Errorf("parseAmount(%s, %s) = %d, %v; want %d", got, tt.currency, back, err, tt.minor)
		}
	}
}

func TestParseAmountForms(t *testing.T) {
	ok := []struct {
		wire     string
		currency string
		minor    int64
	}{
		{"19.9", "USD", 1990},
		{"19", "USD", 1900},
		{"0", "USD", 0},
		{"1.5e1", "USD", 1500},
		{"1E-2", "USD", 1},
		{"5e3", "KRW", 5000},
		{"1.2", "BHD", 1200},
	}
	for _, tt := range ok {
		got, err := parseAmount(json.Number(tt.wire), tt.currency)
		if err != nil || got != tt.minor {
			t.Errorf("parseAmount(%s, %s) = %d, %v; want %d", tt.wire, tt.currency, got, err, tt.minor)
		}
	}
	bad := []struct{ wire, currency string }{
		{"19.999", "USD"},               // more decimals than the currency has
		{"19.990", "USD"},               // even when they are zeros: the rule is the currency's exponent
		{"1.5", "KRW"},                  // KRW has no minor unit
		{"5000.0", "KRW"},               //
		{"1.2345", "BHD"},               //
		{"1e-3", "USD"},                 //
		{"", "USD"},                     //
		{"abc", "USD"},                  //
		{"1.", "USD"},                   //
		{".5", "USD"},                   //
		{"1e999", "USD"},                //
		{"92233720368547758.08", "USD"}, // one past the largest int64
		{"19.99", "usd"},                // not an ISO 4217 code
	}
	for _, tt := range bad {
		if got, err := parseAmount(json.Number(tt.wire), tt.currency); err == nil {
			t.Errorf("parseAmount(%q, %s) = %d, want an error", tt.wire, tt.currency, got)
		}
	}
	if _, err := formatAmount(100, "dollars"); err == nil {
		t.Error("formatAmount accepted a currency that is not an ISO 4217 code")
	}
}
