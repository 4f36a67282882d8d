package oneapi

import (
	"encoding/json"
	"testing"
)

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
