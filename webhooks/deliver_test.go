package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
)

// A failing endpoint is tried again after each wait of the schedule, the
// last wait repeating, never earlier; each attempt is recorded.
func TestAFailingEndpointIsRetriedOnTheSchedule(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		r := newReceiver(t, 4)
		ep := b.endpoint(t, b.merchant, r)
		b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_1")
		if n := b.work(t); n != 1 {
			t.Fatalf("first attempt: %d jobs ran", n)
		}
		// After attempt i fails, the next waits Schedule[min(i-1, last)].
		for i, wait := range []time.Duration{time.Minute, 10 * time.Minute, time.Hour, time.Hour} {
			d := b.deliveries(t, ep)[0]
			if d.Attempts != i+1 || d.Status != deliveryPending || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(b.clock.Now().Add(wait)) {
				t.Fatalf("after attempt %d: %+v, want next at %s", i+1, d, b.clock.Now().Add(wait))
			}
			b.clock.Advance(wait - time.Second)
			if n := b.work(t); n != 0 {
				t.Fatalf("attempt %d ran %s early", i+2, time.Second)
			}
			b.clock.Advance(time.Second)
			if n := b.work(t); n != 1 {
				t.Fatalf("attempt %d: %d jobs ran when due", i+2, n)
			}
		}
		d := b.deliveries(t, ep)[0]
		if d.Status != deliverySucceeded || d.Attempts != 5 || d.NextAttemptAt != nil {
			t.Fatalf("delivery after the fifth attempt: %+v", d)
		}
		var codes []int
		b.store.DB.Raw("SELECT status_code FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt", d.ID).Scan(&codes)
		if len(codes) != 5 || codes[0] != 500 || codes[3] != 500 || codes[4] != 200 {
			t.Fatalf("attempts recorded: %v", codes)
		}
		b.clock.Advance(30 * 24 * time.Hour)
		if n := b.work(t); n != 0 || len(r.requests()) != 5 {
			t.Fatalf("after success: %d more jobs, %d requests in all", n, len(r.requests()))
		}
	})
}

// Every event reaches its endpoint exactly once, every attempt signed so
// the reference library verifies it, under the same message id.
func TestEveryEventArrivesOnceSignedAfterFailedAttempts(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		r := newReceiver(t, 2)
		b.endpoint(t, b.merchant, r)
		types := []string{billing.EventChargeRequiresConfirmation, billing.EventChargeProcessing, billing.EventChargeSucceeded}
		for _, typ := range types {
			b.emit(t, b.merchant, typ, "ch_1")
		}
		// Past every retry and past MaxAge: nothing is left to run.
		b.runFor(t, 2*testSettings.MaxAge)
		if jobs := b.deliveryJobs(t); len(jobs) != 0 {
			t.Fatalf("%d delivery jobs left", len(jobs))
		}
		wh, err := standardwebhooks.NewWebhook(r.secret)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{} // webhook-id → type
		for _, q := range r.requests() {
			if err := wh.Verify(q.Body, q.Header); err != nil {
				t.Errorf("a request fails verification: %v", err)
			}
			var body struct {
				ID   string `json:"id"`
				Type string `json:"type"`
				Data struct {
					Object map[string]any `json:"object"`
				} `json:"data"`
			}
			if err := json.Unmarshal(q.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.ID != q.Header.Get("webhook-id") || body.Data.Object["id"] != "ch_1" || body.Data.Object["amount"] != float64(5000) {
				t.Errorf("message %s carries %s", q.Header.Get("webhook-id"), q.Body)
			}
			got[body.ID] = body.Type
		}
		acc := r.accepted()
		if len(got) != 3 || len(r.requests()) != 9 {
			t.Fatalf("%d events in %d requests, want 3 in 9", len(got), len(r.requests()))
		}
		seen := map[string]bool{}
		for id, typ := range got {
			if acc[id] != 1 {
				t.Errorf("%s (%s) accepted %d times", id, typ, acc[id])
			}
			seen[typ] = true
		}
		for _, typ := range types {
			if !seen[typ] {
				t.Errorf("no %s delivered", typ)
			}
		}
	})
}

// An event is offered only to the enabled endpoints of its merchant and
// mode that subscribe to its type.
func TestEventsGoOnlyToTheEndpointsThatAskForThem(t *testing.T) {
	cases := []struct {
		name   string
		events []string
		other  bool   // another merchant's endpoint
		live   bool   // a live endpoint of the same merchant
		status string // set after creation
		want   int
	}{
		{name: "all events", events: []string{"*"}, want: 1},
		{name: "this type", events: []string{billing.EventChargeSucceeded}, want: 1},
		{name: "other types", events: []string{billing.EventChargeFailed, billing.EventRefundSucceeded}, want: 0},
		{name: "another merchant", events: []string{"*"}, other: true, want: 0},
		{name: "live endpoint, test event", events: []string{"*"}, live: true, want: 0},
		{name: "disabled", events: []string{"*"}, status: endpointDisabled, want: 0},
		{name: "deleted", events: []string{"*"}, status: endpointDeleted, want: 0},
	}
	// One store per database; each case is a merchant of its own in it.
	eachStore(t, func(t *testing.T, b *testBundle) {
		for i, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := newReceiver(t, 0)
				m := b.newMerchant(t, "mer_"+strconv.Itoa(i))
				p := m
				if c.other {
					p = b.newMerchant(t, "mer_"+strconv.Itoa(i)+"_other")
				}
				var ep string
				if c.live {
					// Created directly: a live endpoint must be https on a
					// public address, and this test sends nothing.
					p.Livemode = true
					v, err := b.out.createEndpoint(context.Background(), p, endpointParams{URL: "https://example.com/hook", EnabledEvents: c.events})
					if err != nil {
						t.Fatal(err)
					}
					ep = v.ID
				} else {
					ep = b.endpoint(t, p, r, c.events...)
				}
				if c.status != "" {
					b.store.DB.Model(&endpoint{}).Where("id = ?", ep).Update("status", c.status)
				}
				b.emit(t, m, billing.EventChargeSucceeded, "ch_1")
				b.work(t)
				if n := len(b.deliveries(t, ep)); n != c.want || len(r.requests()) != c.want {
					t.Fatalf("%d deliveries, %d requests, want %d", n, len(r.requests()), c.want)
				}
			})
		}
	})
}

// An event still undelivered MaxAge after it happened is given up: its
// delivery fails and no job is left for it.
func TestAnEventOlderThanMaxAgeIsGivenUp(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		r := newReceiver(t, 1<<30)
		ep := b.endpoint(t, b.merchant, r)
		b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_1")
		start := b.clock.Now()
		b.runFor(t, testSettings.MaxAge+2*time.Hour)
		// The attempts the schedule makes before the event is a day old,
		// and the one at or after that gives it up.
		want, at := 1, time.Duration(0)
		for i := 0; at < testSettings.MaxAge; i++ {
			at += testSettings.Schedule[min(i, len(testSettings.Schedule)-1)]
			want++
		}
		d := b.deliveries(t, ep)[0]
		if d.Status != deliveryFailed || d.Attempts != want || d.NextAttemptAt != nil || len(r.requests()) != want {
			t.Fatalf("delivery %+v after %d requests; want failed after %d", d, len(r.requests()), want)
		}
		var last attempt
		if err := b.store.DB.Where("delivery_id = ?", d.ID).Order("attempt DESC").Take(&last).Error; err != nil {
			t.Fatal(err)
		}
		if age := last.At.Sub(start); age < testSettings.MaxAge || age >= testSettings.MaxAge+time.Hour {
			t.Fatalf("given up at age %s", age)
		}
		if jobs := b.deliveryJobs(t); len(jobs) != 0 {
			t.Fatalf("%d jobs left for a given-up event", len(jobs))
		}
	})
}

// An endpoint that failed every delivery for DisableAfter is disabled, and
// its merchant is told by a webhook_endpoint.disabled event.
func TestAnEndpointFailingForDisableAfterIsDisabled(t *testing.T) {
	cfg := testSettings
	cfg.DisableAfter = 6 * time.Hour // a few hourly attempts, not seventy
	cfg.MaxAge = 2 * 24 * time.Hour  // the event outlives the endpoint
	eachStoreWith(t, cfg, func(t *testing.T, b *testBundle) {
		r := newReceiver(t, 1<<30)
		ep := b.endpoint(t, b.merchant, r, billing.EventChargeSucceeded)
		watcher := newReceiver(t, 0)
		b.endpoint(t, b.merchant, watcher, EventEndpointDisabled)
		b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_1")
		start := b.clock.Now()
		var disabledAt time.Time
		for b.clock.Now().Sub(start) < cfg.MaxAge {
			b.work(t)
			var ep1 endpoint
			b.store.DB.Where("id = ?", ep).Take(&ep1)
			if ep1.Status == endpointDisabled {
				disabledAt = b.clock.Now()
				if ep1.DisabledReason == nil || *ep1.DisabledReason == "" {
					t.Fatalf("disabled without a reason: %+v", ep1)
				}
				break
			}
			next, ok := b.nextDue(t)
			if !ok {
				break
			}
			b.clock.Set(next)
		}
		// Disabled at the first failure at least DisableAfter after the first.
		if age := disabledAt.Sub(start); age < cfg.DisableAfter || age >= cfg.DisableAfter+time.Hour {
			t.Fatalf("disabled %s after the first failure (zero: never)", age)
		}
		sent := len(r.requests())
		b.runFor(t, 24*time.Hour)
		if len(r.requests()) != sent {
			t.Fatalf("a disabled endpoint got %d more requests", len(r.requests())-sent)
		}
		if d := b.deliveries(t, ep)[0]; d.Status != deliveryFailed {
			t.Fatalf("the pending delivery of a disabled endpoint is %s", d.Status)
		}
		reqs := watcher.requests()
		if len(reqs) != 1 {
			t.Fatalf("the watcher got %d requests, want one disabled event", len(reqs))
		}
		var body struct {
			Type string `json:"type"`
			Data struct {
				Object endpointView `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(reqs[0].Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != EventEndpointDisabled || body.Data.Object.ID != ep || body.Data.Object.Status != endpointDisabled || body.Data.Object.Secret != "" {
			t.Fatalf("disabled event: %s", reqs[0].Body)
		}
	})
}

// One success forgives the failures before it: an endpoint that fails for
// most of DisableAfter, recovers, then fails again is not disabled.
func TestASuccessResetsTheFailingClock(t *testing.T) {
	cfg := testSettings
	cfg.DisableAfter = 6 * time.Hour
	cfg.MaxAge = 2 * 24 * time.Hour
	eachStoreWith(t, cfg, func(t *testing.T, b *testBundle) {
		r := newReceiver(t, 0)
		ep := b.endpoint(t, b.merchant, r)
		failFor := func(d time.Duration) {
			r.mu.Lock()
			r.status = http.StatusServiceUnavailable
			r.mu.Unlock()
			b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_1")
			b.runFor(t, d)
			r.mu.Lock()
			r.status = http.StatusOK
			r.mu.Unlock()
		}
		failFor(cfg.DisableAfter - 2*time.Hour)
		b.runFor(t, time.Hour) // the pending event now succeeds
		failFor(cfg.DisableAfter - 2*time.Hour)
		var status string
		b.store.DB.Raw("SELECT status FROM webhook_endpoints WHERE id = ?", ep).Scan(&status)
		if status != endpointEnabled {
			t.Fatalf("endpoint %s after two separate spells of failure", status)
		}
		// The control: the same failure without the success between is too long.
		b.store.DB.Exec("UPDATE webhook_endpoints SET failing_since = ? WHERE id = ?", b.clock.Now().Add(-2*cfg.DisableAfter), ep)
		r.mu.Lock()
		r.status = http.StatusServiceUnavailable
		r.mu.Unlock()
		b.runFor(t, 2*time.Hour)
		b.store.DB.Raw("SELECT status FROM webhook_endpoints WHERE id = ?", ep).Scan(&status)
		if status != endpointDisabled {
			t.Fatalf("endpoint %s after failing for twice DisableAfter", status)
		}
	})
}

// The outbox writes in the caller's transaction: a change rolled back
// leaves no event, no delivery and no job; committed, it has all three.
func TestARolledBackTransactionLeavesNoEvent(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		r := newReceiver(t, 0)
		b.endpoint(t, b.merchant, r)
		ev := billing.Event{MerchantID: b.merchant.MerchantID, Type: billing.EventChargeSucceeded, ObjectID: "ch_x", Object: map[string]string{"id": "ch_x"}}
		errBoom := errors.New("the change fails after its event")
		err := b.store.DB.Transaction(func(tx *gorm.DB) error {
			if err := b.out.EmitTx(tx, ev); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatal(err)
		}
		if e, d, j := b.count(t, "events"), b.count(t, "webhook_deliveries"), len(b.deliveryJobs(t)); e+d+int64(j) != 0 {
			t.Fatalf("a rolled-back change left %d events, %d deliveries, %d jobs", e, d, j)
		}
		if err := b.store.DB.Transaction(func(tx *gorm.DB) error { return b.out.EmitTx(tx, ev) }); err != nil {
			t.Fatal(err)
		}
		if e, d, j := b.count(t, "events"), b.count(t, "webhook_deliveries"), len(b.deliveryJobs(t)); e != 1 || d != 1 || j != 1 {
			t.Fatalf("a committed change left %d events, %d deliveries, %d jobs", e, d, j)
		}
		if b.work(t); len(r.accepted()) != 1 {
			t.Fatalf("the committed event was not delivered: %d requests", len(r.requests()))
		}
	})
}

// A live gateway never delivers inward: an internal URL is refused when
// the endpoint is created, and one that got in anyway (here, made in test
// mode) is refused at dial time, so the receiver hears nothing. A redirect
// is not followed to another address either.
func TestLiveModeNeverDeliversToAnInternalAddress(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		cfg := testSettings
		cfg.PublicOnly = true
		cfg.Limits = b.out.cfg.Limits
		live, err := NewOutbound(b.store.DB, b.vault, b.clock, b.jobs, cfg, b.log)
		if err != nil {
			t.Fatal(err)
		}
		r := newReceiver(t, 0)
		for _, u := range []string{r.srv.URL, "http://localhost:8080/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest"} {
			_, err := live.createEndpoint(context.Background(), b.merchant, endpointParams{URL: u, EnabledEvents: []string{"*"}})
			if p := (*problem.Problem)(nil); !errors.As(err, &p) || p.Status != 400 {
				t.Errorf("live endpoint at %s: %v", u, err)
			}
		}
		ep := b.endpoint(t, b.merchant, r)
		b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_1")
		if n := b.workWith(t, &deliverWorker{o: live}); n != 1 {
			t.Fatalf("%d jobs ran", n)
		}
		// One message and no timing for an internal target: the attempt log
		// must not work as a scanner of tollgate's network.
		var att struct {
			Error      string
			DurationMs int64
		}
		b.store.DB.Raw("SELECT a.error, a.duration_ms FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = ?", ep).Scan(&att)
		if len(r.requests()) != 0 || att.Error != "endpoint address is not public" || att.DurationMs != 0 {
			t.Fatalf("live delivery to loopback: %d requests, attempt %+v", len(r.requests()), att)
		}
		// The control: the same delivery in test mode reaches the receiver.
		b.clock.Advance(testSettings.Schedule[0])
		if b.work(t); len(r.accepted()) != 1 {
			t.Fatalf("test mode did not reach the receiver: %d requests", len(r.requests()))
		}

		// A redirect answer is an answer, not a new destination.
		target := newReceiver(t, 0)
		redirect := serveLocal(t, http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
		v, err := b.out.createEndpoint(context.Background(), b.merchant, endpointParams{URL: redirect.URL, EnabledEvents: []string{"*"}})
		if err != nil {
			t.Fatal(err)
		}
		b.emit(t, b.merchant, billing.EventChargeSucceeded, "ch_2")
		b.work(t)
		if d := b.deliveries(t, v.ID)[0]; d.Status != deliveryPending || d.Attempts != 1 || len(target.requests()) != 0 {
			t.Fatalf("after a redirect: %+v, the target got %d requests", d, len(target.requests()))
		}
	})
}

// Events recorded together queue what each alone would: one delivery and
// one job per endpoint that wants it, none for the others, and every one
// arrives.
func TestEventsEmittedTogetherAreEachDelivered(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		a, other := b.newMerchant(t, "mer_many_a"), b.newMerchant(t, "mer_many_b")
		ra, rb := newReceiver(t, 0), newReceiver(t, 0)
		all, onlyFailed := b.endpoint(t, a, ra), b.endpoint(t, other, rb, billing.EventChargeFailed)
		var es []billing.Event
		for i, p := range []auth.Principal{a, other, a} {
			id := "ch_" + strconv.Itoa(i)
			es = append(es, billing.Event{MerchantID: p.MerchantID, Livemode: p.Livemode, Type: billing.EventChargeSucceeded, ObjectID: id,
				Object: map[string]any{"id": id, "object": "charge"}})
		}
		if err := b.store.DB.Transaction(func(tx *gorm.DB) error { return b.out.EmitManyTx(tx, es) }); err != nil {
			t.Fatal(err)
		}
		if n := b.count(t, "events"); n != 3 {
			t.Fatalf("%d events, want 3", n)
		}
		if jobs := b.deliveryJobs(t); len(jobs) != 2 {
			t.Fatalf("%d delivery jobs, want 2 (merchant a's endpoint, twice)", len(jobs))
		}
		b.work(t)
		if n := len(b.deliveries(t, all)); n != 2 || len(ra.requests()) != 2 {
			t.Fatalf("a: %d deliveries, %d requests; want 2", n, len(ra.requests()))
		}
		if n := len(b.deliveries(t, onlyFailed)); n != 0 || len(rb.requests()) != 0 {
			t.Fatalf("b's endpoint for failures only: %d deliveries, %d requests", n, len(rb.requests()))
		}
	})
}
