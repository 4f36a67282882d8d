package main

// Webhook rules (schedule, MaxAge, disabling, the outbox, routing, the
// endpoints and events API, inbound verification and de-duplication) are
// tested in package webhooks. Here stays only what needs a whole gateway:
// billing's events rendered and delivered by a started queue on test mode's
// clock, a delivery outliving the gateway that started it, and the test
// clock over HTTP.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tollgate/billing"
	"tollgate/internal/auth"
	"tollgate/internal/storetest"
)

// receiver is a merchant's webhook endpoint that verifies every message
// with the Standard Webhooks reference library.
type receiver struct {
	t        *testing.T
	srv      *httptest.Server
	mu       sync.Mutex
	secret   string
	failing  int                  // answer 500 to this many attempts per event first
	seen     map[string]int       // attempts per event id
	accepted map[string]int       // accepted deliveries per event id
	bodies   map[string]eventBody // accepted bodies
	block    chan struct{}        // when set, the first request waits on it
	started  chan struct{}        // closed when the blocked request arrived
	dropped  chan struct{}        // closed when the blocked request's connection ended before block
	got      chan string          // accepted event ids
}

type eventBody struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object map[string]any `json:"object"`
	} `json:"data"`
}

func newReceiver(t *testing.T, failing int) *receiver {
	r := &receiver{t: t, failing: failing, seen: map[string]int{}, accepted: map[string]int{}, bodies: map[string]eventBody{},
		started: make(chan struct{}), dropped: make(chan struct{}), got: make(chan string, 1000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	block := r.block
	r.block = nil
	wh, err := standardwebhooks.NewWebhook(r.secret)
	r.mu.Unlock()
	if block != nil {
		close(r.started)
		select {
		case <-block:
		case <-req.Context().Done():
			close(r.dropped)
			return
		}
	}
	if err != nil || wh.Verify(body, req.Header) != nil {
		r.t.Errorf("a delivery failed verification: %v", err)
		w.WriteHeader(400)
		return
	}
	var ev eventBody
	_ = json.Unmarshal(body, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[ev.ID]++
	if r.seen[ev.ID] <= r.failing {
		w.WriteHeader(500)
		return
	}
	r.accepted[ev.ID]++
	r.bodies[ev.ID] = ev
	w.WriteHeader(204)
	r.got <- ev.ID
}

func (g *gw) endpoint(key string, r *receiver, events ...string) string {
	g.t.Helper()
	if len(events) == 0 {
		events = []string{"*"}
	}
	res := g.call("POST", "/v1/webhook_endpoints", key, "", map[string]any{"url": r.srv.URL, "enabled_events": events})
	if res.Status != 201 || len(res.str("secret")) < 40 {
		g.t.Fatalf("create endpoint: %d %s", res.Status, res.Raw)
	}
	r.mu.Lock()
	r.secret = res.str("secret")
	r.mu.Unlock()
	return res.str("id")
}

// waitAccepted advances the test clock (retries are minutes apart) until
// the receiver accepted n events, or fails after a bound.
func (g *gw) waitAccepted(r *receiver, n int, step time.Duration) []string {
	g.t.Helper()
	var ids []string
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for len(ids) < n {
		select {
		case id := <-r.got:
			ids = append(ids, id)
		case <-tick.C:
			g.clock.Advance(step)
		case <-deadline:
			g.t.Fatalf("%d of %d events accepted", len(ids), n)
		}
	}
	return ids
}

// waitDeliveriesDone polls until no delivery to endpoint is pending: once
// all are final no worker will post them again, so counts taken after it
// are final too.
func (g *gw) waitDeliveriesDone(endpoint string) {
	g.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var pending int64
		if err := g.store.DB.Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'pending'", endpoint).Scan(&pending).Error; err != nil {
			g.t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("%d deliveries to %s still pending", pending, endpoint)
		}
		<-tick.C
	}
}

// A paid charge reaches its merchant as three signed events, each once,
// after a failed first attempt retried on test mode's clock by the started
// queue; the body is billing's API view, with no phone number.
func TestWebhooksCarryAChargeToItsMerchant(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		r := newReceiver(t, 1)
		ep := g.endpoint(g.key, r)
		other := g.endpoint(g.other, newReceiver(t, 0))
		id := g.paid(g.key, "+821080001111", 5000, "kt").str("id")
		ids := g.waitAccepted(r, 3, 10*time.Minute)
		g.waitDeliveriesDone(ep)
		want := map[string]bool{billing.EventChargeRequiresConfirmation: true, billing.EventChargeProcessing: true, billing.EventChargeSucceeded: true}
		r.mu.Lock()
		defer r.mu.Unlock()
		if len(r.seen) != 3 {
			t.Errorf("%d events received, want 3", len(r.seen))
		}
		for _, e := range ids {
			b := r.bodies[e]
			if !want[b.Type] || r.accepted[e] != 1 || r.seen[e] != 2 {
				t.Errorf("event %s (%s): accepted %d times after %d attempts", e, b.Type, r.accepted[e], r.seen[e])
			}
			delete(want, b.Type)
			if obj := b.Data.Object; obj["id"] != id || obj["object"] != "charge" || obj["msisdn"] != nil {
				t.Errorf("event %s carries %v", e, obj)
			}
		}
		if len(want) != 0 {
			t.Fatalf("missing events: %v", want)
		}
		// Deliveries are queued with the change, so none will ever appear.
		var others int64
		g.store.DB.Raw("SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = ?", other).Scan(&others)
		if others != 0 {
			t.Fatalf("another merchant's endpoint has %d deliveries", others)
		}
	})
}

// A gateway killed while a delivery is in flight leaves it to the next one.
func TestDeliverySurvivesAGatewayKilledMidDelivery(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			dbURL := storetest.URL(t, d)
			a := startWith(t, opts{dbURL: dbURL})
			r := newReceiver(t, 0)
			release := make(chan struct{})
			r.block = release
			a.endpoint(a.key, r, billing.EventChargeRequiresConfirmation)
			a.charge(a.key, krw("+821080002222", 1000, "kt"))
			select {
			case <-r.started:
			case <-time.After(10 * time.Second):
				t.Fatal("the delivery never started")
			}
			a.kill()
			// The killed gateway's connection must be seen gone before the
			// receiver is released, or the receiver could still answer it
			// (its context's end and the release would race).
			select {
			case <-r.dropped:
			case <-time.After(30 * time.Second):
				t.Fatal("the killed gateway's delivery never ended")
			}
			close(release)

			b := startWith(t, opts{dbURL: dbURL})
			ids := b.waitAccepted(r, 1, 10*time.Minute)
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.accepted[ids[0]] != 1 || r.bodies[ids[0]].Type != billing.EventChargeRequiresConfirmation {
				t.Fatalf("accepted %v", r.accepted)
			}
		})
	}
}

// Test mode's clock moves forward over HTTP, for admin keys (merchant keys:
// TestTestClockTakesAnAdminKey).
func TestWebhookTestClockAdvance(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		before := g.clock.Now()
		adv := g.call("POST", "/v1/test_helpers/clock/advance", g.admin, "", `{"seconds": 3600}`)
		if adv.Status != 200 || g.clock.Now().Sub(before) < time.Hour {
			t.Fatalf("advance: %d %s", adv.Status, adv.Raw)
		}
		for _, b := range []string{`{}`, `{"seconds": 0}`, `{"seconds": -5}`, `{"seconds": "x"}`} {
			if r := g.call("POST", "/v1/test_helpers/clock/advance", g.admin, "", b); r.Status != 400 {
				t.Errorf("advance %s: %d", b, r.Status)
			}
		}
		if r := g.call("POST", "/v1/test_helpers/clock/advance", g.roleKey(auth.RoleFinance), "", `{"seconds": 1}`); r.Status != 403 {
			t.Errorf("finance key moved the clock: %d", r.Status)
		}
	})
}
