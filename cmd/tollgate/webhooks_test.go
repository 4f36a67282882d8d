package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gorm.io/gorm"

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
	types    map[string]string    // event id → type
	block    chan struct{}        // when set, the first request waits on it
	got      chan string          // accepted event ids
	bodies   map[string]eventBody // accepted bodies
}

type eventBody struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data struct {
		Object map[string]any `json:"object"`
	} `json:"data"`
}

func newReceiver(t *testing.T, failing int) *receiver {
	r := &receiver{t: t, failing: failing, seen: map[string]int{}, accepted: map[string]int{}, types: map[string]string{}, got: make(chan string, 1000), bodies: map[string]eventBody{}}
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
		select {
		case <-block:
		case <-req.Context().Done():
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
	r.types[ev.ID] = ev.Type
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

// waitAccepted advances the test clock (retries are minutes and hours
// apart) until the receiver accepted n events, or fails after a bound.
func (g *gw) waitAccepted(r *receiver, n int, step time.Duration) []string {
	g.t.Helper()
	var ids []string
	deadline := time.Now().Add(30 * time.Second)
	for len(ids) < n {
		select {
		case id := <-r.got:
			ids = append(ids, id)
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				g.t.Fatalf("%d of %d events accepted", len(ids), n)
			}
			g.clock.Advance(step)
		}
	}
	return ids
}

func TestEveryEventArrivesOnceSignedAfterFailedAttempts(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		r := newReceiver(t, 2) // the first two attempts of each event fail
		g.endpoint(g.key, r)
		other := newReceiver(t, 0)
		g.endpoint(g.other, other)
		id := g.paid(g.key, "+821080001111", 5000, "kt").str("id")
		ids := g.waitAccepted(r, 3, 10*time.Minute)
		want := map[string]bool{billing.EventChargeRequiresConfirmation: true, billing.EventChargeProcessing: true, billing.EventChargeSucceeded: true}
		time.Sleep(300 * time.Millisecond) // let any stray extra delivery arrive
		g.clock.Advance(24 * time.Hour)
		time.Sleep(300 * time.Millisecond)
		r.mu.Lock()
		for _, e := range ids {
			if !want[r.types[e]] || r.accepted[e] != 1 || r.seen[e] != 3 {
				t.Errorf("event %s (%s): accepted %d times after %d attempts", e, r.types[e], r.accepted[e], r.seen[e])
			}
			delete(want, r.types[e])
			if obj := r.bodies[e].Data.Object; obj["id"] != id || obj["msisdn"] != nil {
				t.Errorf("event %s carries %v", e, obj)
			}
		}
		r.mu.Unlock()
		if len(want) != 0 {
			t.Fatalf("missing events: %v", want)
		}
		other.mu.Lock()
		if len(other.seen) != 0 {
			t.Fatalf("another merchant's endpoint received %d events", len(other.seen))
		}
		other.mu.Unlock()
		// The event shows every attempt.
		ev := g.call("GET", "/v1/events/"+ids[2], g.key, "", nil)
		ds := ev.Body["deliveries"].([]any)
		atts := ds[0].(map[string]any)["attempts"].([]any)
		if len(ds) != 1 || ds[0].(map[string]any)["status"] != "succeeded" || len(atts) != 3 ||
			atts[0].(map[string]any)["status_code"].(float64) != 500 || atts[2].(map[string]any)["status_code"].(float64) != 204 {
			t.Fatalf("event attempts: %s", ev.Raw)
		}
		list := g.call("GET", "/v1/events?type=charge.succeeded", g.key, "", nil)
		if n := len(list.Body["data"].([]any)); n != 1 {
			t.Fatalf("events of type: %s", list.Raw)
		}
		if r := g.call("GET", "/v1/events/"+ids[0], g.other, "", nil); r.Status != 404 {
			t.Fatalf("another merchant read an event: %d", r.Status)
		}
		// Redelivery sends it again, now.
		if res := g.call("POST", "/v1/events/"+ids[2]+"/redeliver", g.key, "", nil); res.Status != 202 || res.num("deliveries_queued") != 1 {
			t.Fatalf("redeliver: %d %s", res.Status, res.Raw)
		}
		again := g.waitAccepted(r, 1, time.Minute)
		if again[0] != ids[2] {
			t.Fatalf("redelivered %s, want %s", again[0], ids[2])
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
			deadline := time.Now().Add(10 * time.Second)
			for {
				r.mu.Lock()
				inFlight := r.block == nil
				r.mu.Unlock()
				if inFlight {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the delivery never started")
				}
				time.Sleep(20 * time.Millisecond)
			}
			a.kill()
			close(release)

			b := startWith(t, opts{dbURL: dbURL})
			ids := b.waitAccepted(r, 1, 10*time.Minute)
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.accepted[ids[0]] != 1 || r.types[ids[0]] != billing.EventChargeRequiresConfirmation {
				t.Fatalf("accepted %v", r.accepted)
			}
		})
	}
}

func TestARolledBackChangeLeavesNoEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		r := newReceiver(t, 0)
		g.endpoint(g.key, r)
		var merchantID string
		g.store.DB.Raw("SELECT merchant_id FROM webhook_endpoints").Scan(&merchantID)
		boom := g.store.DB.Transaction(func(tx *gormDB) error {
			if err := g.app.outbound.EmitTx(tx, billing.Event{MerchantID: merchantID, Type: billing.EventChargeSucceeded, ObjectID: "ch_x", Object: map[string]string{"id": "ch_x"}}); err != nil {
				return err
			}
			return errRollback
		})
		if boom != errRollback {
			t.Fatal(boom)
		}
		var events, deliveries, queued int64
		g.store.DB.Raw("SELECT COUNT(*) FROM events").Scan(&events)
		g.store.DB.Raw("SELECT COUNT(*) FROM webhook_deliveries").Scan(&deliveries)
		g.store.DB.Raw("SELECT COUNT(*) FROM river_job WHERE kind = 'webhook_delivery'").Scan(&queued)
		if events+deliveries+queued != 0 {
			t.Fatalf("a rolled-back change left %d events, %d deliveries, %d jobs", events, deliveries, queued)
		}
		// The same change committed has its event and its delivery.
		if err := g.store.DB.Transaction(func(tx *gormDB) error {
			return g.app.outbound.EmitTx(tx, billing.Event{MerchantID: merchantID, Type: billing.EventChargeSucceeded, ObjectID: "ch_x", Object: map[string]string{"id": "ch_x"}})
		}); err != nil {
			t.Fatal(err)
		}
		g.waitAccepted(r, 1, time.Second)
	})
}

func TestAnEndpointFailingForDaysIsDisabled(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		r := newReceiver(t, 1_000_000) // never accepts
		ep := g.endpoint(g.key, r, billing.EventChargeRequiresConfirmation)
		watcher := newReceiver(t, 0)
		g.endpoint(g.key, watcher, "webhook_endpoint.disabled")
		g.charge(g.key, krw("+821080003333", 1000, "kt"))
		deadline := time.Now().Add(60 * time.Second)
		for {
			got := g.call("GET", "/v1/webhook_endpoints/"+ep, g.key, "", nil)
			if got.str("status") == "disabled" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("endpoint still %s", got.Raw)
			}
			g.clock.Advance(time.Hour)
			time.Sleep(100 * time.Millisecond)
		}
		ids := g.waitAccepted(watcher, 1, time.Minute)
		watcher.mu.Lock()
		defer watcher.mu.Unlock()
		if watcher.types[ids[0]] != "webhook_endpoint.disabled" || watcher.bodies[ids[0]].Data.Object["id"] != ep {
			t.Fatalf("disable event: %+v", watcher.bodies[ids[0]])
		}
		// It was disabled only after failing for three days, every attempt recorded.
		var ats []time.Time
		g.store.DB.Raw(`SELECT a.at FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
			WHERE d.endpoint_id = ? ORDER BY a.at`, ep).Scan(&ats)
		span := struct {
			N           int64
			First, Last time.Time
		}{N: int64(len(ats))}
		if len(ats) > 0 {
			span.First, span.Last = ats[0], ats[len(ats)-1]
		}
		r.mu.Lock()
		received := 0
		for _, n := range r.seen {
			received += n
		}
		r.mu.Unlock()
		if span.Last.Sub(span.First) < 72*time.Hour || span.N < 4 || int64(received) != span.N {
			t.Fatalf("disabled after %d attempts (%d received) over %s", span.N, received, span.Last.Sub(span.First))
		}
	})
}

func TestWebhookEndpointInputAndTestClock(t *testing.T) {
	eachStore(t, func(t *testing.T, g *gw) {
		for _, c := range []struct{ body, param string }{
			{`{"enabled_events": ["*"]}`, "url"},
			{`{"url": "ftp://x", "enabled_events": ["*"]}`, "url"},
			{`{"url": "http://u:p@example.com", "enabled_events": ["*"]}`, "url"},
			{`{"url": "https://example.com"}`, "enabled_events"},
			{`{"url": "https://example.com", "enabled_events": ["charge.exploded"]}`, "enabled_events"},
			{`{"url": "https://example.com", "enabled_events": ["*"], "secret": "whsec_c2hvcnQ="}`, "secret"},
			{`{"url": "https://example.com", "enabled_events": ["*"], "secret": ""}`, ""},
		} {
			r := g.call("POST", "/v1/webhook_endpoints", g.key, "", c.body)
			if c.param == "" {
				if r.Status != 201 {
					t.Errorf("%s: %d %s", c.body, r.Status, r.Raw)
				}
				continue
			}
			if r.Status != 400 || r.str("param") != c.param {
				t.Errorf("%s: %d %s", c.body, r.Status, r.Raw)
			}
		}
		ep := g.call("POST", "/v1/webhook_endpoints", g.key, "", `{"url": "https://example.com/hook", "enabled_events": ["charge.succeeded"]}`)
		if got := g.call("GET", "/v1/webhook_endpoints/"+ep.str("id"), g.key, "", nil); got.str("secret") != "" || got.str("url") != "https://example.com/hook" {
			t.Fatalf("endpoint read back: %s", got.Raw)
		}
		for _, m := range []string{"GET", "DELETE"} {
			if r := g.call(m, "/v1/webhook_endpoints/"+ep.str("id"), g.other, "", nil); r.Status != 404 {
				t.Errorf("%s another merchant's endpoint: %d", m, r.Status)
			}
		}
		if r := g.call("DELETE", "/v1/webhook_endpoints/"+ep.str("id"), g.key, "", nil); r.Status != 200 {
			t.Fatalf("delete: %d %s", r.Status, r.Raw)
		}
		if r := g.call("GET", "/v1/webhook_endpoints/"+ep.str("id"), g.key, "", nil); r.Status != 404 {
			t.Fatalf("deleted endpoint still there: %d", r.Status)
		}

		before := g.clock.Now()
		adv := g.call("POST", "/v1/test_helpers/clock/advance", g.key, "", `{"seconds": 3600}`)
		if adv.Status != 200 || g.clock.Now().Sub(before) < time.Hour {
			t.Fatalf("advance: %d %s", adv.Status, adv.Raw)
		}
		for _, b := range []string{`{}`, `{"seconds": 0}`, `{"seconds": -5}`, `{"seconds": "x"}`} {
			if r := g.call("POST", "/v1/test_helpers/clock/advance", g.key, "", b); r.Status != 400 {
				t.Errorf("advance %s: %d", b, r.Status)
			}
		}
		if r := g.call("POST", "/v1/test_helpers/clock/advance", g.roleKey(auth.RoleFinance), "", `{"seconds": 1}`); r.Status != 403 {
			t.Errorf("finance key moved the clock: %d", r.Status)
		}
	})
}

type gormDB = gorm.DB

var errRollback = errors.New("roll back")
