package carriertest

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
	"tollgate/carriers/sim"
)

// ReportLayout is what Report needs to know of one protocol's settlement
// files. Every protocol's golden file (testdata/settlement_CARRIER_2026-11-24.csv)
// lists the same day in its own layout: four records and a trailer,
//
//	line 3: charge ch_0001, 5000 KRW, succeeded, 2026-11-24 00:00:00 KST
//	line 4: charge ch_0002, 19.99 USD, succeeded, 2026-11-24 10:15:00 KST
//	line 5: refund re_0001, 2000 KRW, succeeded, 2026-11-24 11:02:09 KST
//	line 6: charge ch_0003, 1000 KRW, not billed, 2026-11-24 23:59:59 KST
//	trailer: 4 records, 9999 minor units in all
type ReportLayout struct {
	Protocol string // the simulator's name of the protocol: "camara"
	Carrier  string // the carrier whose file Golden is: "skt"
	Golden   string // path of the golden file
	Other    string // path of another protocol's golden file
	// Name, Comma and TrailerTag are the adapter's carriers.ReportLayout's.
	Name       string
	Comma      string
	TrailerTag string
	// CarrierReferences are the carrier's ids of the golden file's four
	// records, in order.
	CarrierReferences [4]string
	// Parse reads a file as the adapter's ReportSource, configured as
	// Carrier, does.
	Parse func(r io.Reader, businessDate string) carriers.ReportReader
	// Bad are the layout's own broken files, each the golden file with Old
	// replaced by New, refused with an error that contains Want. Report
	// adds the cases every layout shares (empty, truncated, trailer, …).
	Bad []struct{ Name, Old, New, Want string }
}

// Report checks an adapter's settlement-file parser: it reads its golden
// file, refuses every broken variant as a whole with a message that says
// where, and reads the simulated carrier's file line for line.
func Report(t *testing.T, l ReportLayout) {
	t.Run("golden", func(t *testing.T) { reportGolden(t, l) })
	t.Run("bad_files", func(t *testing.T) { reportBadFiles(t, l) })
	t.Run("simulator", func(t *testing.T) { reportSimulator(t, l) })
}

func readReport(t *testing.T, l ReportLayout, file string) ([]carriers.ReportLine, error) {
	t.Helper()
	rr := l.Parse(strings.NewReader(file), "2026-11-24")
	var out []carriers.ReportLine
	for {
		line, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, line)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func reportGolden(t *testing.T, l ReportLayout) {
	got, err := readReport(t, l, readFile(t, l.Golden))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	ref := l.CarrierReferences
	want := []carriers.ReportLine{
		{LineNo: 3, Kind: carriers.ReportCharge, ClientReference: "ch_0001", CarrierReference: ref[0], Amount: 5000, Currency: "KRW", Status: carriers.ReportSucceeded, BilledAt: at("2026-11-23T15:00:00Z")},
		{LineNo: 4, Kind: carriers.ReportCharge, ClientReference: "ch_0002", CarrierReference: ref[1], Amount: 1999, Currency: "USD", Status: carriers.ReportSucceeded, BilledAt: at("2026-11-24T01:15:00Z")},
		{LineNo: 5, Kind: carriers.ReportRefund, ClientReference: "re_0001", CarrierReference: ref[2], Amount: 2000, Currency: "KRW", Status: carriers.ReportSucceeded, BilledAt: at("2026-11-24T02:02:09Z")},
		{LineNo: 6, Kind: carriers.ReportCharge, ClientReference: "ch_0003", CarrierReference: ref[3], Amount: 1000, Currency: "KRW", Status: carriers.ReportFailed, BilledAt: at("2026-11-24T14:59:59Z")},
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
func reportBadFiles(t *testing.T, l ReportLayout) {
	good := readFile(t, l.Golden)
	lines := strings.SplitAfter(good, "\n")
	other := readFile(t, l.Other)
	swap := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("the golden file has no %q", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	sep, tag := l.Comma, l.TrailerTag
	cases := []struct{ name, file, want string }{
		{"empty", "", "the file is empty"},
		{"blank lines only", "\n\n", "the file is empty"},
		{"header only", lines[0], "no column names"},
		{"truncated at a line end", strings.Join(lines[:len(lines)-2], ""), "without its " + tag + " trailer (truncated?)"},
		{"truncated mid-line", strings.Join(lines[:4], "") + lines[4][:len(lines[4])/2], "line 5:"},
		{"trailer count", swap(tag+sep+"4"+sep, tag+sep+"5"+sep), "counts 5 records, the file has 4"},
		{"trailer total", swap(sep+"9999", sep+"9998"), "sums the amounts to 9998"},
		{"after the trailer", good + lines[2], "follows the trailer"},
		{"another protocol's file", other, "not a " + l.Name + " file"},
	}
	for _, b := range l.Bad {
		cases = append(cases, struct{ name, file, want string }{b.Name, swap(b.Old, b.New), b.Want})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readReport(t, l, c.file)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if !errors.Is(err, carriers.ErrBadReport) {
				t.Errorf("error %v is not ErrBadReport", err)
			}
		})
	}
}

// The simulated carrier's file is the adapter's layout, line for line.
func reportSimulator(t *testing.T, l ReportLayout) {
	kst := time.FixedZone("KST", 9*3600)
	rows := []sim.ReportRow{
		{ClientReference: "ch_a", CarrierReference: "c1", Amount: 5000, Currency: "KRW", At: time.Date(2026, 11, 24, 0, 0, 0, 0, kst)},
		{ClientReference: "ch_b", CarrierReference: "c2", Amount: 123456, Currency: "USD", At: time.Date(2026, 11, 24, 13, 4, 5, 0, kst)},
		{Refund: true, ClientReference: "re_a", CarrierReference: "r1", Amount: 1, Currency: "KRW", At: time.Date(2026, 11, 24, 23, 59, 59, 0, kst)},
		{ClientReference: "ch_c", CarrierReference: "c3", Amount: 7, Currency: "BHD", Failed: true, At: time.Date(2026, 11, 24, 9, 0, 0, 0, kst)},
	}
	var buf bytes.Buffer
	if err := sim.WriteReport(&buf, l.Protocol, l.Carrier, "2026-11-24", slices.Values(rows)); err != nil {
		t.Fatal(err)
	}
	got, err := readReport(t, l, buf.String())
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
