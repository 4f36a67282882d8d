package camara_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/sim"
)

const reportGolden = "testdata/settlement_skt_2026-11-24.csv"

func reportClient(t *testing.T) *camara.Client {
	t.Helper()
	c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readReport(t *testing.T, file string) ([]carriers.ReportLine, error) {
	t.Helper()
	rr := reportClient(t).ParseReport(strings.NewReader(file), "2026-11-24")
	var out []carriers.ReportLine
	for {
		l, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
}

func TestReportReadsTheGoldenFile(t *testing.T) {
	raw, err := os.ReadFile(reportGolden)
	if err != nil {
		t.Fatal(err)
	}
	got, err := readReport(t, string(raw))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	want := []carriers.ReportLine{
		{LineNo: 3, Kind: carriers.ReportCharge, ClientReference: "ch_0001", CarrierReference: "pay_0001", Amount: 5000, Currency: "KRW", Status: carriers.ReportSucceeded, BilledAt: at("2026-11-23T15:00:00Z")},
		{LineNo: 4, Kind: carriers.ReportCharge, ClientReference: "ch_0002", CarrierReference: "pay_0002", Amount: 1999, Currency: "USD", Status: carriers.ReportSucceeded, BilledAt: at("2026-11-24T01:15:00Z")},
		{LineNo: 5, Kind: carriers.ReportRefund, ClientReference: "re_0001", CarrierReference: "ref_0001", Amount: 2000, Currency: "KRW", Status: carriers.ReportSucceeded, BilledAt: at("2026-11-24T02:02:09Z")},
		{LineNo: 6, Kind: carriers.ReportCharge, ClientReference: "ch_0003", CarrierReference: "pay_0003", Amount: 1000, Currency: "KRW", Status: carriers.ReportFailed, BilledAt: at("2026-11-24T14:59:59Z")},
	}
	if len(got) != len(want) {
		t.Fatalf("read %d lines, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.BilledAt.Equal(w.BilledAt) {
			t.Errorf("line %d: billed at %s, want %s", w.LineNo, g.BilledAt.UTC(), w.BilledAt)
		}
		g.BilledAt, w.BilledAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("line %d:\n got %+v\nwant %+v", w.LineNo, g, w)
		}
	}
}

// Every bad file is refused as a whole, with a message that says where.
func TestReportRefusesBadFiles(t *testing.T) {
	raw, err := os.ReadFile(reportGolden)
	if err != nil {
		t.Fatal(err)
	}
	good := string(raw)
	lines := strings.SplitAfter(good, "\n")
	other, err := os.ReadFile("../oneapi/testdata/settlement_kt_2026-11-24.csv")
	if err != nil {
		t.Fatal(err)
	}
	swap := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("the golden file has no %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	for _, c := range []struct{ name, file, want string }{
		{"empty", "", "the file is empty"},
		{"blank lines only", "\n\n", "the file is empty"},
		{"header only", lines[0], "no column names"},
		{"wrong columns", swap("clientCorrelator,", "clientRef,"), "the columns are"},
		{"bad date", swap("2026-11-24T10:15:00+09:00", "2026-11-24 10:15"), "line 4, column billedAt:"},
		{"bad amount", swap("19.99,USD", "19.999,USD"), "line 4, column amount:"},
		{"negative amount", swap(",5000,KRW", ",-5000,KRW"), "line 3, column amount:"},
		{"fraction of a unit", swap(",5000,KRW", ",5000.5,KRW"), "line 3, column amount:"},
		{"unknown status", swap("cancelled", "voided"), "line 6, column status:"},
		{"truncated at a line end", strings.Join(lines[:len(lines)-2], ""), "without its END trailer (truncated?)"},
		{"truncated mid-line", strings.Join(lines[:4], "") + lines[4][:len(lines[4])/2], "line 5:"},
		{"trailer count", swap("END,4,", "END,5,"), "counts 5 records, the file has 4"},
		{"trailer total", swap(",9999", ",9998"), "sums the amounts to 9998"},
		{"after the trailer", good + lines[2], "follows the trailer"},
		{"another carrier's file", swap(",1,skt,", ",1,kt,"), "this is carrier \"kt\"'s settlement file, not \"skt\"'s"},
		{"another protocol's file", string(other), "not a CAMARA settlement file"},
		{"another day's file", swap("skt,2026-11-24\n", "skt,2026-11-25\n"), "the settlement file of 2026-11-25, not of 2026-11-24"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := readReport(t, c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if !errors.Is(err, carriers.ErrBadReport) {
				t.Errorf("error %v is not ErrBadReport", err)
			}
		})
	}
}

// The simulated operator's file is this adapter's layout, line for line.
func TestReportReadsTheSimulatorsFile(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	rows := []sim.ReportRow{
		{ClientReference: "ch_a", CarrierReference: "c1", Amount: 5000, Currency: "KRW", At: time.Date(2026, 11, 24, 0, 0, 0, 0, kst)},
		{ClientReference: "ch_b", CarrierReference: "c2", Amount: 123456, Currency: "USD", At: time.Date(2026, 11, 24, 13, 4, 5, 0, kst)},
		{Refund: true, ClientReference: "re_a", CarrierReference: "r1", Amount: 1, Currency: "KRW", At: time.Date(2026, 11, 24, 23, 59, 59, 0, kst)},
		{ClientReference: "ch_c", CarrierReference: "c3", Amount: 7, Currency: "BHD", Failed: true, At: time.Date(2026, 11, 24, 9, 0, 0, 0, kst)},
	}
	var buf bytes.Buffer
	if err := sim.WriteReport(&buf, "camara", "skt", "2026-11-24", slices.Values(rows)); err != nil {
		t.Fatal(err)
	}
	got, err := readReport(t, buf.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if len(got) != len(rows) {
		t.Fatalf("read %d lines, want %d", len(got), len(rows))
	}
	for i, r := range rows {
		g := got[i]
		kind, status := carriers.ReportCharge, carriers.ReportSucceeded
		if r.Refund {
			kind = carriers.ReportRefund
		}
		if r.Failed {
			status = carriers.ReportFailed
		}
		if g.ClientReference != r.ClientReference || g.CarrierReference != r.CarrierReference || g.Amount != r.Amount ||
			g.Currency != r.Currency || g.Kind != kind || g.Status != status || !g.BilledAt.Equal(r.At) {
			t.Errorf("line %d: got %+v, want %+v", i+3, g, r)
		}
	}
}
