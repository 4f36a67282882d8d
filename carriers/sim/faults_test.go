package sim_test

import (
	"context"
	"net/http"
	"testing"
	"time"
)

type faultsView struct {
	Carrier     string  `json:"carrier"`
	ErrorRate   float64 `json:"error_rate"`
	TimeoutRate float64 `json:"timeout_rate"`
	ResetRate   float64 `json:"reset_rate"`
	LatencyMS   int     `json:"latency_ms"`
	Down        bool    `json:"down"`
	ReportDrop  float64 `json:"report_drop_rate"`
	ReportSkew  float64 `json:"report_amount_skew_rate"`
	ReportPhant float64 `json:"report_phantom_rate"`
	DropAnswers int     `json:"drop_answers"`
	DropRef     string  `json:"drop_reference"`
}

func (e *env) faults(carrier string) faultsView {
	e.t.Helper()
	var f faultsView
	a := e.do(http.MethodGet, "/sim/faults?carrier="+carrier, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("GET faults: HTTP %d %s", a.status, a.body)
	}
	a.decode(e.t, &f)
	return f
}

func (e *env) putFaults(body string) answer {
	e.t.Helper()
	return e.do(http.MethodPut, "/sim/faults", body)
}

func TestFaultsRoundTrip(t *testing.T) {
	e := setup(t)
	a := e.putFaults(`{"carrier":"skt","error_rate":0.2,"timeout_rate":0.1,"reset_rate":0.05,"latency_ms":30,"down":false,
		"report_drop_rate":0.5,"report_amount_skew_rate":0.25,"report_phantom_rate":1}`)
	if a.status != http.StatusOK {
		t.Fatalf("PUT: HTTP %d %s", a.status, a.body)
	}
	want := faultsView{Carrier: "skt", ErrorRate: 0.2, TimeoutRate: 0.1, ResetRate: 0.05, LatencyMS: 30, ReportDrop: 0.5, ReportSkew: 0.25, ReportPhant: 1}
	if got := e.faults("skt"); got != want {
		t.Fatalf("GET %+v, want %+v", got, want)
	}
	// Fields left out keep their value.
	e.putFaults(`{"carrier":"skt","latency_ms":0}`)
	want.LatencyMS = 0
	if got := e.faults("skt"); got != want {
		t.Fatalf("after partial PUT %+v, want %+v", got, want)
	}
	// "*" reaches every carrier.
	e.putFaults(`{"carrier":"*","down":true}`)
	if !e.faults("skt").Down || !e.faults("kt").Down {
		t.Fatal(`"*" did not reach every carrier`)
	}
	if e.faults("kt").ErrorRate != 0 {
		t.Fatal(`"*" changed a field it did not name`)
	}
	var all struct {
		Data []faultsView `json:"data"`
	}
	e.do(http.MethodGet, "/sim/faults", nil).decode(t, &all)
	if len(all.Data) != 2 || all.Data[0].Carrier != "kt" || all.Data[1].Carrier != "skt" {
		t.Fatalf("GET all %+v", all)
	}
}

func TestFaultsValidation(t *testing.T) {
	e := setup(t)
	for _, body := range []string{
		`{"carrier":"skt","error_rate":1.5}`,
		`{"carrier":"skt","timeout_rate":-0.1}`,
		`{"carrier":"skt","report_phantom_rate":2}`,
		`{"carrier":"skt","latency_ms":-1}`,
		`{"carrier":"skt","drop_answers":-1}`,
		`{"carrier":"skt","eror_rate":0.1}`,
		`{"carrier":"lgu","error_rate":0.1}`,
		`{"error_rate":0.1}`,
		`not json`,
	} {
		if a := e.putFaults(body); a.status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s", body, a.status, a.body)
		}
	}
	if got := e.faults("skt"); got != (faultsView{Carrier: "skt"}) {
		t.Fatalf("a refused PUT changed faults: %+v", got)
	}
	if a := e.do(http.MethodGet, "/sim/faults?carrier=lgu", nil); a.status != http.StatusNotFound {
		t.Fatalf("unknown carrier: HTTP %d", a.status)
	}
}

func TestFaultsApplied(t *testing.T) {
	t.Run("error_rate", func(t *testing.T) {
		e := setup(t)
		e.putFaults(`{"carrier":"skt","error_rate":1}`)
		a := e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_e", "5000", "KRW"))
		if a.status != http.StatusServiceUnavailable || a.apiError(t).Code != "UNAVAILABLE" {
			t.Fatalf("HTTP %d %s", a.status, a.body)
		}
		if len(e.ledger("")) != 0 {
			t.Fatal("billed on an injected 503")
		}
		// Other carriers and the simulator's own endpoints are untouched.
		if a := e.do(http.MethodGet, "/sim/kt/camara/carrier-billing/v0.5/payments", nil); a.status != http.StatusOK {
			t.Fatalf("kt: HTTP %d", a.status)
		}
		if e.stats().Carriers["skt"].Faults["errors"] != 1 {
			t.Fatalf("stats %+v", e.stats().Carriers["skt"])
		}
	})
	t.Run("down", func(t *testing.T) {
		e := setup(t)
		e.putFaults(`{"carrier":"skt","down":true}`)
		if _, err := e.send(context.Background(), http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_d", "5000", "KRW")); err == nil {
			t.Fatal("a down carrier answered")
		}
		if len(e.ledger("")) != 0 {
			t.Fatal("a down carrier billed")
		}
		e.putFaults(`{"carrier":"skt","down":false}`)
		if a := e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_d", "5000", "KRW")); a.status != http.StatusCreated {
			t.Fatalf("back up: HTTP %d", a.status)
		}
		if e.stats().Carriers["skt"].Faults["down_refusals"] < 1 {
			t.Fatal("down refusal not counted")
		}
	})
	t.Run("reset_rate", func(t *testing.T) {
		e := setup(t)
		e.putFaults(`{"carrier":"skt","reset_rate":1}`)
		if _, err := e.send(context.Background(), http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_r", "5000", "KRW")); err == nil {
			t.Fatal("a reset connection answered")
		}
		if len(e.ledger("")) != 0 {
			t.Fatal("billed before a reset")
		}
		if e.stats().Carriers["skt"].Faults["resets"] < 1 {
			t.Fatal("reset not counted")
		}
	})
	t.Run("timeout_rate", func(t *testing.T) {
		e := setup(t)
		e.putFaults(`{"carrier":"skt","timeout_rate":1}`)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second) // long enough to write the request on a busy machine
		defer cancel()
		if _, err := e.send(ctx, http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_t", "5000", "KRW")); err == nil {
			t.Fatal("a timed-out request answered")
		}
		var rows []ledgerRow
		eventually(t, "the charge reaches the books", func() bool {
			rows = e.ledger("")
			return len(rows) > 0
		})
		if len(rows) != 1 {
			t.Fatal("a timeout fault must bill before it hangs")
		}
	})
	t.Run("drop_answers", func(t *testing.T) {
		e := setup(t)
		e.putFaults(`{"carrier":"skt","drop_answers":1,"drop_reference":"ch_drop"}`)
		// Another reference, and a read, are answered as usual.
		if a := e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_other", "5000", "KRW")); a.status != http.StatusCreated {
			t.Fatalf("another reference: HTTP %d %s", a.status, a.body)
		}
		if a := e.do(http.MethodGet, sktPayments, nil); a.status != http.StatusOK {
			t.Fatalf("a read: HTTP %d", a.status)
		}
		if _, err := e.send(context.Background(), http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_drop", "5000", "KRW")); err == nil {
			t.Fatal("a dropped answer arrived")
		}
		var billed int
		for _, row := range e.ledger("") {
			if row.ClientReference == "ch_drop" {
				billed++
			}
		}
		if billed != 1 {
			t.Fatalf("the carrier must bill, once, before it drops the answer: %+v", e.ledger(""))
		}
		// Once: the same charge again is answered, from the first.
		a := e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_drop", "5000", "KRW"))
		if a.status != http.StatusOK && a.status != http.StatusCreated {
			t.Fatalf("resent: HTTP %d %s", a.status, a.body)
		}
		st := e.stats().Carriers["skt"]
		if st.Faults["answers_dropped"] != 1 || len(e.ledger("")) != 2 {
			t.Fatalf("stats %+v, ledger %+v", st, e.ledger(""))
		}
		if f := e.faults("skt"); f.DropAnswers != 0 {
			t.Fatalf("drop_answers did not count down: %+v", f)
		}
	})
	t.Run("latency", func(t *testing.T) {
		e := setup(t)
		e.putFaults(`{"carrier":"skt","latency_ms":5}`)
		if a := e.do(http.MethodGet, sktPayments, nil); a.status != http.StatusOK {
			t.Fatalf("HTTP %d", a.status)
		}
		if e.stats().Carriers["skt"].Faults["latency_applied"] != 1 {
			t.Fatal("latency not counted")
		}
	})
}
