package oneapi

import (
	"encoding/json"
	"testing"
)

func TestAmountConversion(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		wire     decimal
	}{
		{5000, "KRW", "5000"},
		{1999, "USD", "19.99"},
		{5, "EUR", "0.05"},
		{1234, "BHD", "1.234"},
		{1, "KWD", "0.001"},
		{-150, "USD", "-1.50"},
	}
	for _, tt := range tests {
		got, err := formatAmount(tt.minor, tt.currency)
		if err != nil || got != tt.wire {
			t.Errorf("formatAmount(%d %s) = %q, %v", tt.minor, tt.currency, got, err)
		}
		back, err := parseAmount(tt.wire, tt.currency)
		if err != nil || back != tt.minor {
			t.Errorf("parseAmount(%s %s) = %d, %v", tt.wire, tt.currency, back, err)
		}
	}
	for _, ok := range []struct {
		wire     decimal
		currency string
		minor    int64
	}{{"12", "USD", 1200}, {"1.5e1", "USD", 1500}, {"0012.30", "USD", 1230}} {
		if got, err := parseAmount(ok.wire, ok.currency); err != nil || got != ok.minor {
			t.Errorf("parseAmount(%s %s) = %d, %v", ok.wire, ok.currency, got, err)
		}
	}
	for _, bad := range []struct {
		wire     decimal
		currency string
	}{{"19.999", "USD"}, {"19.990", "USD"}, {"1.5", "KRW"}, {"1.2345", "BHD"}, {"abc", "USD"}, {"", "USD"}, {"99999999999999999999", "USD"}, {"1", "usd"}} {
		if _, err := parseAmount(bad.wire, bad.currency); err == nil {
			t.Errorf("parseAmount(%q %s) accepted", bad.wire, bad.currency)
		}
	}
	if _, err := formatAmount(1, "won"); err == nil {
		t.Error("formatAmount accepted currency won")
	}
}

func TestDecimalReadsStringsAndNumbers(t *testing.T) {
	var ci chargingInformation
	for raw, want := range map[string]decimal{
		`{"amount":"19.99"}`: "19.99",
		`{"amount":19.99}`:   "19.99",
		`{"amount":5000}`:    "5000",
		`{"amount":null}`:    "",
	} {
		ci = chargingInformation{}
		if err := json.Unmarshal([]byte(raw), &ci); err != nil || ci.Amount != want {
			t.Errorf("%s: %q, %v", raw, ci.Amount, err)
		}
	}
	if err := json.Unmarshal([]byte(`{"amount":true}`), &ci); err == nil {
		t.Error("a boolean amount was read")
	}
	b, _ := json.Marshal(chargingInformation{Amount: "19.99", Currency: "USD", Description: "x"})
	if string(b) != `{"amount":"19.99","currency":"USD","description":"x"}` {
		t.Errorf("written as %s", b)
	}
}

func TestExceptionMessage(t *testing.T) {
	e := exception{Text: "Correlator %1 specified in message part %2 is a duplicate", Variables: []string{"ch_1", "clientCorrelator"}}
	if got := e.message(); got != "Correlator ch_1 specified in message part clientCorrelator is a duplicate" {
		t.Errorf("%q", got)
	}
}

func TestTransactionsPathEncodesTheTelURI(t *testing.T) {
	if got := transactionsPath("+821012345678"); got != "/payment/v3/tel%3A%2B821012345678/transactions/amount" {
		t.Errorf("%s", got)
	}
}
