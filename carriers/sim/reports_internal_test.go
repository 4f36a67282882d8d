package sim

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// reportSim is a simulator whose skt (CAMARA) billed n payments on
// 2026-11-24 in Seoul, one of them refunded in part, and one the next day.
func reportSim(t *testing.T, now time.Time, n int) *Simulator {
	t.Helper()
	s := New(Options{Carriers: []string{"skt", "kt"}, Protocols: map[string]string{"skt": "camara"}, Seed: 7, Now: func() time.Time { return now }})
	c := s.carriers["skt"]
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, reportZone)
	for i := range n {
		p := &payment{seq: s.nextSeq(), id: "pay_" + string(rune('a'+i)), correlator: "ch_" + string(rune('a'+i)), amount: 1000 * int64(i+1),
			currency: "KRW", status: paymentSucceeded, paidAt: day.Add(time.Duration(i+1) * time.Hour)}
		c.payments[p.id] = p
	}
	p := c.payments["pay_a"]
	rf := &refund{seq: s.nextSeq(), id: "ref_a", paymentID: p.id, correlator: "re_a", amount: 400, currency: "KRW", status: refundSucceeded, doneAt: day.Add(23 * time.Hour)}
	p.refunds, p.refunded = append(p.refunds, rf), 400
	late := &payment{seq: s.nextSeq(), id: "pay_late", correlator: "ch_late", amount: 999, currency: "KRW", status: paymentSucceeded, paidAt: day.Add(24 * time.Hour)}
	c.payments[late.id] = late
	return s
}

func getReport(t *testing.T, s *Simulator, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReportListsTheDayInTheCarriersLayout(t *testing.T) {
	s := reportSim(t, time.Date(2026, 11, 25, 3, 0, 0, 0, reportZone), 2)
	code, body := getReport(t, s, "/sim/reports/skt/2026-11-24")
	want := "CAMARA-SETTLEMENT,1,skt,2026-11-24\n" +
		"paymentId,clientCorrelator,transactionType,amount,currency,status,billedAt\n" +
		"pay_a,ch_a,payment,1000,KRW,succeeded,2026-11-24T01:00:00+09:00\n" +
		"pay_b,ch_b,payment,2000,KRW,succeeded,2026-11-24T02:00:00+09:00\n" +
		"ref_a,re_a,refund,400,KRW,succeeded,2026-11-24T23:00:00+09:00\n" +
		"END,3,3400\n"
	if code != 200 || body != want {
		t.Fatalf("%d\n%s\nwant\n%s", code, body, want)
	}
	if code, _ := getReport(t, s, "/sim/reports/skt/2026-11-25"); code != 404 {
		t.Errorf("a day not over: %d, want 404", code)
	}
	if code, _ := getReport(t, s, "/sim/reports/kt/2026-11-24"); code != 404 {
		t.Errorf("a carrier whose protocol is unknown: %d, want 404", code)
	}
	if code, _ := getReport(t, s, "/sim/reports/skt/24-11-2026"); code != 400 {
		t.Errorf("a bad date: %d, want 400", code)
	}
}

func TestReportFaultsAreDrawnPerRowAndCounted(t *testing.T) {
	s := reportSim(t, time.Date(2026, 11, 26, 0, 0, 0, 0, reportZone), 20)
	s.carriers["skt"].faults = faults{ReportDropRate: 0.3, ReportAmountSkewRate: 0.3, ReportPhantomRate: 0.3}
	_, first := getReport(t, s, "/sim/reports/skt/2026-11-24")
	_, second := getReport(t, s, "/sim/reports/skt/2026-11-24")
	if first != second {
		t.Fatalf("the same day's file differs between fetches:\n%s\n%s", first, second)
	}
	st := s.carriers["skt"].stats.Faults
	if st.ReportRowsDropped == 0 || st.ReportAmountsSkewed == 0 || st.ReportRowsInvented == 0 || st.ReportRowsDropped%2 != 0 {
		t.Errorf("fault counters after two fetches: %+v", st)
	}
	rows := strings.Count(first, "\n") - 3
	if want := 21 - int(st.ReportRowsDropped/2) + int(st.ReportRowsInvented/2); rows != want {
		t.Errorf("%d rows, want %d (21 - dropped + invented)", rows, want)
	}
	if !strings.Contains(first, "ch_phantom") {
		t.Errorf("no invented row:\n%s", first)
	}
	s.carriers["skt"].faults = faults{ReportDropRate: 1}
	if _, body := getReport(t, s, "/sim/reports/skt/2026-11-24"); !strings.HasSuffix(body, "END,0,0\n") {
		t.Errorf("drop rate 1:\n%s", body)
	}
}
