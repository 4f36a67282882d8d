package oneapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/oneapi"
	"tollgate/carriers/sim"
)

// clock is a settable clock for the simulator's books.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the adapter talking to a simulated carrier "kt" over real HTTP.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	clock  *clock
	client *oneapi.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
	s := sim.New(sim.Options{Carriers: []string{"kt"}, Now: clk.Now, Seed: 1})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, clock: clk, client: newClient(t, srv)}
}

func newClient(t *testing.T, srv *httptest.Server) *oneapi.Client {
	t.Helper()
	c, err := oneapi.New(carriers.Settings{
		Name:         "kt",
		BaseURL:      srv.URL + "/sim" + carriers.SimPath("kt", "oneapi"),
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true},
		HTTPClient:   srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get reads one of the simulator's own endpoints into v.
func (e *env) get(path string, v any) {
	e.t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) putFaults(body string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/sim/faults", strings.NewReader(body))
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("PUT faults: HTTP %d", resp.StatusCode)
	}
}

type ledgerRow struct {
	ClientReference  string `json:"client_reference"`
	CarrierReference string `json:"carrier_reference"`
	Amount           int64  `json:"amount"`
	RefundedAmount   int64  `json:"refunded_amount"`
	Currency         string `json:"currency"`
	Status           string `json:"status"`
}

func (e *env) ledger() []ledgerRow {
	e.t.Helper()
	var l struct {
		Data []ledgerRow `json:"data"`
	}
	e.get("/sim/ledger?carrier=kt", &l)
	return l.Data
}

// requests is how many requests of each kind the simulated carrier counted.
func (e *env) requests() map[string]int64 {
	e.t.Helper()
	var s struct {
		Carriers map[string]struct {
			Requests map[string]int64 `json:"requests"`
		} `json:"carriers"`
	}
	e.get("/sim/stats", &s)
	return s.Carriers["kt"].Requests
}

func charge(ref, msisdn string, amount int64, currency string) carriers.ChargeRequest {
	return carriers.ChargeRequest{
		Reference: ref, MSISDN: msisdn, Amount: amount, Currency: currency,
		Description: "500 gems", Merchant: "mer_123",
	}
}
