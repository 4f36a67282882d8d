package tokenpay_test

import (
	"io"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/tokenpay"
)

func TestReport(t *testing.T) {
	c, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	carriertest.Report(t, carriertest.ReportLayout{
		Protocol: "tokenpay", Carrier: "lgu",
		Golden: "testdata/settlement_lgu_2026-11-24.csv", Other: "../camara/testdata/settlement_skt_2026-11-24.csv",
		Name: "token-API settlement", Comma: "|", TrailerTag: "T",
		CarrierReferences: [4]string{"chg_0001", "chg_0002", "rfd_0001", "chg_0003"},
		Parse:             func(r io.Reader, day string) carriers.ReportReader { return c.ParseReport(r, day) },
		Bad: []struct{ Name, Old, New, Want string }{
			{"wrong columns", "|transaction_id|", "|txn|", "the columns are"},
			{"bad date", "20261124101500", "2026-11-24T10:15", "line 4, column completed_at:"},
			{"bad amount", "|1999|USD", "|19.99|USD", "line 4, column amount:"},
			{"negative amount", "|5000|KRW|SUCCEEDED|20261124000000", "|-5000|KRW|SUCCEEDED|20261124000000", "line 3, column amount:"},
			{"fraction of a unit", "|5000|KRW|SUCCEEDED|20261124000000", "|5000.5|KRW|SUCCEEDED|20261124000000", "line 3, column amount:"},
			{"unknown status", "FAILED", "VOID", "line 6, column status:"},
			{"another carrier's file", "|lgu|", "|kt|", "this is carrier \"kt\"'s settlement file, not \"lgu\"'s"},
			{"another day's file", "lgu|20261124", "lgu|20261125", "the settlement file of 2026-11-25, not of 2026-11-24"},
		},
	})
}
