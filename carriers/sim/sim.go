// Package sim simulates mobile carriers for test mode: in-memory operators
// that speak the carrier protocols over real HTTP, decide outcomes from the
// last four digits of the phone number, keep their own books (the ledger),
// "deliver" text messages to a readable inbox and inject faults on demand, so
// the gateway runs end to end without a real carrier.
//
// Everything is served under /sim/: the gateway mounts Handler as is in test
// mode, and `tollgate sim` serves it alone. A simulated carrier's protocol
// lives at /sim/{carrier}/{protocol}/..., which is carriers.SimPath appended
// to a base URL ending in /sim. CAMARA is the only protocol so far (camara*.go);
// another one is a sibling file that adds its routes in routes() and keeps its
// records in carrierState.
//
// The simulator never logs: requests carry phone numbers.
package sim

import (
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Simulator.
type Options struct {
	// Carriers are the simulated carriers' names; any other name is answered 404.
	Carriers []string
	// Now is the simulator's clock; nil means time.Now. The books use it
	// (creation dates, the 0005 settlement delay); holding a connection and
	// injected latency are real time, as on a network.
	Now func() time.Time
	// After is how the simulated back end waits (a 0005 payment settling,
	// a slow token-API decision, the backoff between callback retries):
	// nil is time.After. Tests pass their clock's, so moving the clock makes
	// those waits pass and nothing waits in real time.
	After func(time.Duration) <-chan time.Time
	// Seed makes fault injection repeatable; 0 picks a random seed.
	Seed int64
	// Secrets are the carriers' webhook secrets, by carrier name: what the
	// simulated operator signs its callbacks with (agreed at onboarding).
	Secrets map[string]string
	// CallbackClient delivers callbacks; nil means a client with a 10 s timeout.
	CallbackClient *http.Client
	// Protocols name the protocol each carrier speaks (camara, oneapi,
	// tokenpay), which is the layout of its settlement files. A carrier
	// left out is known by the protocol of the first request it gets.
	Protocols map[string]string
	// OAuthClients are the API consumers of carriers that ask for access
	// tokens on their CAMARA APIs (oauth.go), by carrier name; a carrier
	// left out asks for none.
	OAuthClients map[string]OAuthClient
}

// maxHold bounds how long a request that "times out" is held open when the
// client never gives up; it is then answered 504.
const maxHold = 60 * time.Second

// Simulator is a set of simulated carriers.
type Simulator struct {
	now       func() time.Time
	after     func(time.Duration) <-chan time.Time
	maxHold   time.Duration
	secrets   map[string]string
	protocols map[string]string
	seed      uint64 // also decides the report faults, row by row (reports.go)
	cbc       *http.Client
	mux       *http.ServeMux
	control   map[string]bool // the patterns of the simulator's own endpoints (IsControl)
	// background counts the simulator's own goroutines (settling timers,
	// callbacks) that have not finished, parked on the clock or running.
	background atomic.Int64

	mu       sync.Mutex // guards everything below
	rng      *rand.Rand
	carriers map[string]*carrierState
	names    []string
	inbox    []smsRecord
	seq      int64
}

// New builds a simulator for the named carriers.
func New(opts Options) *Simulator {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	after := opts.After
	if after == nil {
		after = time.After
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	s := &Simulator{
		now:       now,
		after:     after,
		maxHold:   maxHold,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		carriers:  map[string]*carrierState{},
		secrets:   opts.Secrets,
		protocols: opts.Protocols,
		seed:      seed,
		cbc:       opts.CallbackClient,
	}
	if s.cbc == nil {
		s.cbc = &http.Client{Timeout: 10 * time.Second}
	}
	for _, name := range opts.Carriers {
		if _, dup := s.carriers[name]; dup || name == "" {
			continue
		}
		s.carriers[name] = newCarrierState(name)
		if cl, ok := opts.OAuthClients[name]; ok {
			s.carriers[name].oauth = newOAuthState(cl)
		}
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	return s
}

// Handler serves the simulator at full paths beginning with /sim/.
func (s *Simulator) Handler() http.Handler { return s.mux }

// IsControl reports whether Handler would serve r with one of the
// simulator's own endpoints, which no real carrier has: the inbox (every
// subscriber's codes), the faults, the books and the counters. Whoever
// serves the simulator guards those (a gateway asks for an admin key,
// `tollgate sim` for its token); the carriers' APIs and settlement files
// stay as open as each protocol makes them, since the adapters call them.
// The answer comes from the same routing that serves r, so no spelling of
// a path reaches a control endpoint unguarded.
func (s *Simulator) IsControl(r *http.Request) bool {
	_, pattern := s.mux.Handler(r)
	return s.control[pattern]
}

func (s *Simulator) routes(mux *http.ServeMux) {
	s.control = map[string]bool{}
	control := func(pattern string, h http.HandlerFunc) {
		s.control[pattern] = true
		mux.HandleFunc(pattern, h)
	}
	control("GET /sim/ledger", s.getLedger)
	control("GET /sim/sms", s.getSMS)
	control("GET /sim/faults", s.getFaults)
	control("PUT /sim/faults", s.putFaults)
	control("GET /sim/stats", s.getStats)
	// A carrier's own: the gateway downloads its settlement files over HTTP.
	mux.HandleFunc("GET /sim/reports/{carrier}/{business_date}", s.getReport)
	s.routesCAMARA(mux)
	s.routesOneAPI(mux)
	s.routesTokenPay(mux)
	mux.HandleFunc("/sim/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound("no such simulator endpoint"))
	})
}

// goBackground runs fn in its own goroutine, counted by Pending. Callers
// start it before their answer leaves, so a client that has the answer
// also sees the work pending.
func (s *Simulator) goBackground(fn func()) {
	s.background.Add(1)
	go func() {
		defer s.background.Add(-1)
		fn()
	}()
}

// Pending is how many background tasks (a payment settling on a timer, a
// callback being delivered or waiting to be retried) have not finished. At
// 0 the simulator sends nothing more until it is called again: a test waits
// for it instead of waiting "long enough".
func (s *Simulator) Pending() int { return int(s.background.Load()) }

// nextSeq orders records in creation order. Callers hold s.mu.
func (s *Simulator) nextSeq() int64 {
	s.seq++
	return s.seq
}

// roll reports whether an event of probability rate happens. Callers hold s.mu.
func (s *Simulator) roll(rate float64) bool {
	return rate > 0 && s.rng.Float64() < rate
}
