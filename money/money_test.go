package money_test

import (
	"math"
	"testing"

	"tollgate/money"
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
		got, err := money.Format(tt.minor, tt.currency)
		if err != nil || got != tt.wire {
			t.Errorf("FormatAmount(%d, %s) = %q, %v; want %s", tt.minor, tt.currency, got, err, tt.wire)
		}
		back, err := money.Parse(got, tt.currency)
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
		got, err := money.Parse(tt.wire, tt.currency)
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
		if got, err := money.Parse(tt.wire, tt.currency); err == nil {
			t.Errorf("ParseAmount(%q, %s) = %d, want an error", tt.wire, tt.currency, got)
		}
	}
	for _, cur := range []string{"dollars", "won"} {
		if _, err := money.Format(100, cur); err == nil {
			t.Errorf("FormatAmount accepted %q, which is not an ISO 4217 code", cur)
		}
	}
}

// The exponents are ISO 4217's minor units, including those where older
// CLDR rounding data (golang.org/x/text/currency) says otherwise: IDR, IQD,
// COP and LAK bill in hundredths or thousandths, and MRU exists.
func TestLookupGivesISOMinorUnits(t *testing.T) {
	for cur, want := range map[string]int{
		"USD": 2, "EUR": 2, "GBP": 2, "IDR": 2, "COP": 2, "LAK": 2, "MRU": 2,
		"KRW": 0, "JPY": 0, "CLP": 0, "XPF": 0, "VND": 0,
		"BHD": 3, "KWD": 3, "TND": 3, "IQD": 3,
	} {
		c, ok := money.Lookup(cur)
		if !ok || c.Exponent != want {
			t.Errorf("Lookup(%s) = %+v, %v; want exponent %d", cur, c, ok, want)
		}
	}
	for _, cur := range []string{"XYZ", "usd", "XAU", "XXX", "US", "USDX", ""} {
		if c, ok := money.Lookup(cur); ok {
			t.Errorf("Lookup(%q) = %+v; want no currency", cur, c)
		}
	}
}

func TestDisplayAndTypedAmounts(t *testing.T) {
	for _, tt := range []struct {
		cur   string
		minor int64
		shown string
	}{
		{"KRW", 5000, "₩5,000"}, {"USD", 199, "$1.99"}, {"USD", -50, "-$0.50"}, {"JPY", 1234567, "¥1,234,567"}, {"EUR", 100000, "€1,000.00"},
	} {
		c, _ := money.Lookup(tt.cur)
		if got := c.Display(tt.minor); got != tt.shown {
			t.Errorf("Display(%d %s) = %q, want %q", tt.minor, tt.cur, got, tt.shown)
		}
		if tt.minor < 0 {
			continue
		}
		if back, err := c.ParseTyped(tt.shown); err != nil || back != tt.minor {
			t.Errorf("ParseTyped(%q) = %d, %v; want %d", tt.shown, back, err, tt.minor)
		}
	}
	krw, _ := money.Lookup("KRW")
	usd, _ := money.Lookup("USD")
	for _, typed := range []string{"50,000", " ₩50000 ", "50 000"} {
		if v, err := krw.ParseTyped(typed); err != nil || v != 50000 {
			t.Errorf("KRW ParseTyped(%q) = %d, %v", typed, v, err)
		}
	}
	for _, typed := range []string{"1.5", "-100", "1e3", "", "₩", "1.", "abc", "1234567890123456"} {
		if v, err := krw.ParseTyped(typed); err == nil {
			t.Errorf("KRW ParseTyped(%q) = %d, want an error", typed, v)
		}
	}
	if v, err := usd.ParseTyped("1.9"); err != nil || v != 190 {
		t.Errorf("USD ParseTyped(1.9) = %d, %v", v, err)
	}
	if v, err := usd.ParseTyped("1.999"); err == nil {
		t.Errorf("USD ParseTyped(1.999) = %d, want an error", v)
	}
}
