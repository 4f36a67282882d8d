package sim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"tollgate/carriers/carriertest"
	"tollgate/carriers/sim"
)

// clock is the simulator's settable clock: its books and its back end's
// waits (settling, callback retries) move only when a test moves it.
type clock = carriertest.Clock

func newClock() *clock { return carriertest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)) }

// eventually waits until cond holds, failing the test with what after a
// bound only a broken simulator reaches. It is for what happens on the far
// side of a connection the test cannot signal from (a request the client
// gave up on is still being served).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("still waiting after 10 s: %s", what)
		}
	}
}

// advanceUntil moves clk by step whenever a goroutine of the simulator is
// parked on it, until cond holds: the simulated back end's waits pass
// without anyone waiting for them in real time.
func advanceUntil(t *testing.T, clk *clock, step time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, what, func() bool {
		if cond() {
			return true
		}
		if clk.Waiting() > 0 {
			clk.Advance(step)
		}
		return false
	})
}

// env is a simulator with carriers skt and kt behind a real HTTP server.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	clock *clock
	sim   *sim.Simulator
}

func setup(t *testing.T) *env {
	t.Helper()
	clk := newClock()
	s := sim.New(sim.Options{Carriers: []string{"skt", "kt"}, Now: clk.Now, After: clk.After, Seed: 1})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, clock: clk, sim: s}
}

// answer is an HTTP answer read in full.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(a.body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", a.body, err)
	}
}

// apiError is CAMARA's error body.
type apiError struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (a answer) apiError(t *testing.T) apiError {
	t.Helper()
	var e apiError
	a.decode(t, &e)
	return e
}

// send makes a request to path (a full /sim/... path, query included) with
// body marshalled as JSON unless it is a string or nil.
func (e *env) send(ctx context.Context, method, path string, body any, header ...string) (answer, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// do is send that must get an answer.
func (e *env) do(method, path string, body any, header ...string) answer {
	e.t.Helper()
	a, err := e.send(context.Background(), method, path, body, header...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

const (
	sktPayments = "/sim/skt/camara/carrier-billing/v0.5/payments"
	sktRefunds  = "/sim/skt/camara/carrier-billing-refund/v0.3/payments/" // + {id}/refunds
)

// paymentBody is a valid createPayment body.
func paymentBody(phone, correlator, amount, currency string) map[string]any {
	return map[string]any{"amountTransaction": map[string]any{
		"phoneNumber":      phone,
		"clientCorrelator": correlator,
		"referenceCode":    correlator,
		"paymentAmount": map[string]any{"chargingInformation": map[string]any{
			"amount": json.Number(amount), "currency": currency, "description": "500 gems",
		}},
	}}
}

// payment is the part of a Payment resource the tests read.
type payment struct {
	PaymentID         string `json:"paymentId"`
	PaymentStatus     string `json:"paymentStatus"`
	AmountTransaction struct {
		PhoneNumber      string `json:"phoneNumber"`
		ClientCorrelator string `json:"clientCorrelator"`
		PaymentAmount    struct {
			ChargingInformation struct {
				Amount   json.Number `json:"amount"`
				Currency string      `json:"currency"`
			} `json:"chargingInformation"`
		} `json:"paymentAmount"`
	} `json:"amountTransaction"`
}

type ledgerRow struct {
	Carrier          string    `json:"carrier"`
	ClientReference  string    `json:"client_reference"`
	CarrierReference string    `json:"carrier_reference"`
	Amount           int64     `json:"amount"`
	RefundedAmount   int64     `json:"refunded_amount"`
	Currency         string    `json:"currency"`
	Status           string    `json:"status"`
	BilledAt         time.Time `json:"billed_at"`
}

func (e *env) ledger(query string) []ledgerRow {
	e.t.Helper()
	a := e.do(http.MethodGet, "/sim/ledger"+query, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("ledger: HTTP %d %s", a.status, a.body)
	}
	var l struct {
		Data []ledgerRow `json:"data"`
	}
	a.decode(e.t, &l)
	return l.Data
}

// stats is the part of GET /sim/stats the tests read.
type stats struct {
	Carriers map[string]struct {
		Requests        map[string]int64 `json:"requests"`
		ChargesBilled   int64            `json:"charges_billed"`
		ChargesDeclined int64            `json:"charges_declined"`
		Refunds         int64            `json:"refunds"`
		Duplicates      int64            `json:"duplicates"`
		SMSSent         int64            `json:"sms_sent"`
		Faults          map[string]int64 `json:"faults"`
	} `json:"carriers"`
}

func (e *env) stats() stats {
	e.t.Helper()
	var s stats
	e.do(http.MethodGet, "/sim/stats", nil).decode(e.t, &s)
	return s
}
