package carriertest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/sim"
)

// Start is where every Sim's clock starts.
var Start = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// Clock is a settable clock for the simulator's books and its back end's
// waits (After), which a test also reads as the gateway's "now" (webhook
// tolerance, the breaker's open interval). It moves only when told.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	timers []clockTimer
}

type clockTimer struct {
	at time.Time
	ch chan time.Time
}

// NewClock returns a clock stopped at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// After is time.After on this clock: the channel gets the time once the
// clock has been moved d past now.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if d <= 0 {
		ch <- c.t
		return ch
	}
	c.timers = append(c.timers, clockTimer{at: c.t.Add(d), ch: ch})
	return ch
}

// Waiting is how many After timers have not fired yet: a test can wait
// until a goroutine is parked on the clock before moving it.
func (c *Clock) Waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d and fires the timers now due.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	kept := c.timers[:0]
	for _, tm := range c.timers {
		if tm.at.After(c.t) {
			kept = append(kept, tm)
			continue
		}
		tm.ch <- c.t // buffered, sent once
	}
	c.timers = kept
}

// Sim is a simulator (carriers/sim) serving over real HTTP on a settable
// clock, with helpers reading its own /sim/... endpoints: what an adapter's
// tests talk to.
type Sim struct {
	t         testing.TB
	Clock     *Clock
	Simulator *sim.Simulator
	Server    *httptest.Server
}

// SimOption changes the simulator NewSim starts.
type SimOption func(*sim.Options)

// WithCarriers names the simulated carriers.
func WithCarriers(names ...string) SimOption {
	return func(o *sim.Options) { o.Carriers = names }
}

// WithSecret sets the webhook secret the simulated carrier signs with.
func WithSecret(carrier, secret string) SimOption {
	return func(o *sim.Options) {
		if o.Secrets == nil {
			o.Secrets = map[string]string{}
		}
		o.Secrets[carrier] = secret
	}
}

// NewSim starts a simulator (seed 1, the clock at Start) on an httptest
// server that the test's cleanup closes.
func NewSim(t testing.TB, opts ...SimOption) *Sim {
	t.Helper()
	clk := NewClock(Start)
	o := sim.Options{Now: clk.Now, After: clk.After, Seed: 1}
	for _, f := range opts {
		f(&o)
	}
	s := sim.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &Sim{t: t, Clock: clk, Simulator: s, Server: srv}
}

// clockStep is how far Await moves a parked simulator's clock at a time:
// the shortest wait of its back end (a callback's first backoff).
const clockStep = 100 * time.Millisecond

// Await waits until cond holds and fails the test after patience. Whenever
// the simulated back end is parked on the clock (a payment settling, a slow
// decision, a retry's backoff), it moves the clock on instead of waiting
// for it. wake, when not nil, signals that cond may have changed (a
// callback arrived); otherwise cond is polled.
func (s *Sim) Await(what string, wake <-chan struct{}, cond func() bool) {
	s.t.Helper()
	deadline := time.NewTimer(patience)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if s.Clock.Waiting() > 0 {
			s.Clock.Advance(clockStep)
		}
		select {
		case <-wake:
		case <-tick.C:
		case <-deadline.C:
			s.t.Fatalf("still waiting after %s: %s", patience, what)
		}
	}
}

// Pending is how many background tasks the simulator has not finished
// (sim.Simulator.Pending): 0 means no callback is on its way.
func (s *Sim) Pending() int { return s.Simulator.Pending() }

// URL is the simulator's root URL; its API is under URL()+"/sim".
func (s *Sim) URL() string { return s.Server.URL }

// Client is an HTTP client for the simulator's server.
func (s *Sim) Client() *http.Client { return s.Server.Client() }

// BaseURL is where an adapter for carrier speaking protocol finds it.
func (s *Sim) BaseURL(carrier, protocol string) string {
	return s.Server.URL + "/sim" + carriers.SimPath(carrier, protocol)
}

// Get reads one of the simulator's own endpoints (path from the root,
// "/sim/...") into v, failing the test unless it answers 200 with JSON.
func (s *Sim) Get(path string, v any) {
	s.t.Helper()
	resp, err := s.Client().Get(s.Server.URL + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET %s: HTTP %d %s %v", path, resp.StatusCode, b, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}

// PutFaults sets faults (PUT /sim/faults with body), failing the test
// unless the simulator takes them.
func (s *Sim) PutFaults(body string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPut, s.Server.URL+"/sim/faults", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("PUT /sim/faults %s: HTTP %d %s", body, resp.StatusCode, b)
	}
}

// LedgerRow is one billed payment in a simulated carrier's books.
type LedgerRow struct {
	ClientReference  string `json:"client_reference"`
	CarrierReference string `json:"carrier_reference"`
	Amount           int64  `json:"amount"`
	RefundedAmount   int64  `json:"refunded_amount"`
	Currency         string `json:"currency"`
	Status           string `json:"status"`
}

// Ledger is the carrier's books (GET /sim/ledger?carrier=).
func (s *Sim) Ledger(carrier string) []LedgerRow {
	s.t.Helper()
	var l struct {
		Data []LedgerRow `json:"data"`
	}
	s.Get("/sim/ledger?carrier="+url.QueryEscape(carrier), &l)
	return l.Data
}

// SMS is one text message a subscriber got.
type SMS struct {
	MSISDN string `json:"msisdn"`
	Body   string `json:"body"`
	Code   string `json:"code"`
}

// Inbox is the subscriber's messages, newest first (GET /sim/sms?msisdn=).
func (s *Sim) Inbox(msisdn string) []SMS {
	s.t.Helper()
	var l struct {
		Data []SMS `json:"data"`
	}
	s.Get("/sim/sms?msisdn="+url.QueryEscape(msisdn), &l)
	return l.Data
}

// SMSCode reads the newest code texted to msisdn, failing the test when
// there is none.
func (s *Sim) SMSCode(msisdn string) string {
	s.t.Helper()
	m := s.Inbox(msisdn)
	if len(m) == 0 || m[0].Code == "" {
		s.t.Fatalf("no code texted to %s: %+v", msisdn, m)
	}
	return m[0].Code
}

// CarrierStats is what one simulated carrier counted (GET /sim/stats).
type CarrierStats struct {
	Requests           map[string]int64 `json:"requests"` // by endpoint kind
	ChargesBilled      int64            `json:"charges_billed"`
	ChargesDeclined    int64            `json:"charges_declined"`
	UnavailableOnce    int64            `json:"unavailable_once"` // 0007's 503s
	Refunds            int64            `json:"refunds"`
	RefundsRefused     int64            `json:"refunds_refused"`
	Duplicates         int64            `json:"duplicates"`
	SMSSent            int64            `json:"sms_sent"`
	CallbacksSent      int64            `json:"callbacks_sent"`
	CallbacksFailed    int64            `json:"callbacks_failed"`
	CallbacksAbandoned int64            `json:"callbacks_abandoned"`
	Faults             map[string]int64 `json:"faults"` // injected, by kind
}

// Stats is what the simulated carrier counted so far.
func (s *Sim) Stats(carrier string) CarrierStats {
	s.t.Helper()
	var st struct {
		Carriers map[string]CarrierStats `json:"carriers"`
	}
	s.Get("/sim/stats", &st)
	return st.Carriers[carrier]
}
