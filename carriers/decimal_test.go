package carriers_test

import (
	"math"
	"testing"

	"tollgate/carriers"
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
		{5, "EUR", "0.05"},
		{100, "EUR", "1.00"},
		{123456789, "GBP", "1234567.89"},
		{1234, "BHD", "1.234"},
		{1, "KWD", "0.001"},
		{10000, "JOD", "10.000"},
		{-250, "USD", "-2.50"},
		{-150, "USD", "-1.50"},
		{math.MaxInt64, "USD", "92233720368547758.07"},
		{math.MinInt64, "KRW", "-9223372036854775808"},
	}
	for _, tt := range tests {
		got, err := carriers.FormatAmount(tt.minor, tt.currency)
		if err != nil || got != tt.wire {
			t.Errorf("FormatAmount(%d, %s) = %q, %v; want %s", tt.minor, tt.currency, got, err, tt.wire)
		}
		back, err := carriers.ParseAmount(got, tt.currency)
		if err != nil || back != tt.minor {
			t.Errorf("ParseAmount(%s, %s) = %d, %v; want %d", got, tt.currency, back, err, tt.minor)
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
		{"12", "USD", 1200},
		{"0", "USD", 0},
		{"1.5e1", "USD", 1500},
		{"1E-2", "USD", 1},
		{"5e3", "KRW", 5000},
		{"1.2", "BHD", 1200},
		{"0012.30", "USD", 1230},
		{" 19.99 ", "USD", 1999}, // space around a number written as a JSON string
	}
	for _, tt := range ok {
		got, err := carriers.ParseAmount(tt.wire, tt.currency)
		if err != nil || got != tt.minor {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d", tt.wire, tt.currency, got, err, tt.minor)
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
		{"99999999999999999999", "USD"}, //
		{"19.99", "usd"},                // not an ISO 4217 code
		{"1", "usd"},                    //
	}
	for _, tt := range bad {
		if got, err := carriers.ParseAmount(tt.wire, tt.currency); err == nil {
			t.Errorf("ParseAmount(%q, %s) = %d, want an error", tt.wire, tt.currency, got)
		}
	}
	for _, cur := range []string{"dollars", "won"} {
		if _, err := carriers.FormatAmount(100, cur); err == nil {
			t.Errorf("FormatAmount accepted %q, which is not an ISO 4217 code", cur)
		}
	}
}

func TestCurrencyExponent(t *testing.T) {
	for cur, want := range map[string]int{
		"USD": 2, "EUR": 2, "GBP": 2, "XYZ": 2,
		"KRW": 0, "JPY": 0, "CLP": 0, "XPF": 0,
		"BHD": 3, "KWD": 3, "TND": 3,
	} {
		if got := carriers.CurrencyExponent(cur); got != want {
			t.Errorf("CurrencyExponent(%s) = %d, want %d", cur, got, want)
		}
	}
}

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
