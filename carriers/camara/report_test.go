package camara_test

import (
	"io"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/carriertest"
)

func TestReport(t *testing.T) {
	c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	carriertest.Report(t, carriertest.ReportLayout{
		Protocol: "camara", Carrier: "skt",
		Golden: "testdata/settlement_skt_2026-11-24.csv", Other: "../oneapi/testdata/settlement_kt_2026-11-24.csv",
		Name: "CAMARA settlement", Comma: ",", TrailerTag: "END",
		CarrierReferences: [4]string{"pay_0001", "pay_0002", "ref_0001", "pay_0003"},
		Parse:             func(r io.Reader, day string) carriers.ReportReader { return c.ParseReport(r, day) },
		Bad: []struct{ Name, Old, New, Want string }{
			{"wrong columns", "clientCorrelator,", "clientRef,", "the columns are"},
			{"bad date", "2026-11-24T10:15:00+09:00", "2026-11-24 10:15", "line 4, column billedAt:"},
			{"bad amount", "19.99,USD", "19.999,USD", "line 4, column amount:"},
			{"negative amount", ",5000,KRW", ",-5000,KRW", "line 3, column amount:"},
			{"fraction of a unit", ",5000,KRW", ",5000.5,KRW", "line 3, column amount:"},
			{"unknown status", "cancelled", "voided", "line 6, column status:"},
			{"another carrier's file", ",1,skt,", ",1,kt,", "this is carrier \"kt\"'s settlement file, not \"skt\"'s"},
			{"another day's file", "skt,2026-11-24\n", "skt,2026-11-25\n", "the settlement file of 2026-11-25, not of 2026-11-24"},
		},
	})
}
