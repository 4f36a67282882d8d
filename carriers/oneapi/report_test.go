package oneapi_test

import (
	"io"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/oneapi"
)

func TestReport(t *testing.T) {
	c, err := oneapi.New(carriers.Settings{Name: "kt", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	carriertest.Report(t, carriertest.ReportLayout{
		Protocol: "oneapi", Carrier: "kt",
		Golden: "testdata/settlement_kt_2026-11-24.csv", Other: "../tokenpay/testdata/settlement_lgu_2026-11-24.csv",
		Name: "OneAPI settlement", Comma: ";", TrailerTag: "TRAILER",
		CarrierReferences: [4]string{"txn_0001", "txn_0002", "rtx_0001", "txn_0003"},
		Parse:             func(r io.Reader, day string) carriers.ReportReader { return c.ParseReport(r, day) },
		Bad: []struct{ Name, Old, New, Want string }{
			{"wrong columns", "clientCorrelator;", "clientRef;", "the columns are"},
			{"bad date", "2026-11-24 10:15:00", "24/11/2026 10:15", "line 4, column timestamp:"},
			{"bad amount", "19.99;USD", "19.999;USD", "line 4, column amount:"},
			{"negative amount", ";5000.00;KRW;2026-11-24 00", ";-5000.00;KRW;2026-11-24 00", "line 3, column amount:"},
			{"fraction of a unit", ";5000.00;KRW;2026-11-24 00", ";5000.50;KRW;2026-11-24 00", "line 3, column amount:"},
			{"unknown status", "Denied", "Voided", "line 6, column transactionOperationStatus:"},
			{"another carrier's file", "v3;kt;", "v3;skt;", "this is carrier \"skt\"'s settlement file, not \"kt\"'s"},
			{"another day's file", "kt;20261124", "kt;20261125", "the settlement file of 2026-11-25, not of 2026-11-24"},
		},
	})
}
