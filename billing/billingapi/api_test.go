package billingapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/carriers"
	"tollgate/carriers/carrierfake"
	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/msisdn"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
	"tollgate/internal/web"
)

// testBundle is the merchant API over a real billing service and store,
// with an in-process carrier, served on 127.0.0.1.
type testBundle struct {
	t        *testing.T
	svc      *billing.Service
	store    *store.Store
	clock    *clock.Manual
	carrier  *carrierfake.Carrier
	carriers *carrierfake.Set
	events   *sink
	api      *API
	base     string
	key      string
	otherKey string // another merchant's
	merchant auth.Principal
}

func eachStore(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, setup(t, d))
		})
	}
}

func setup(t *testing.T, d store.Dialect) *testBundle {
	t.Helper()
	ctx := context.Background()
	st := storetest.New(t, d)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clk := clock.NewManual(time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC))
	q, workers := storetest.Queue(t, st, clk)
	vault, err := msisdn.NewVault([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{t: t, store: st, clock: clk, carrier: carrierfake.New("skt"), events: &sink{}}
	b.carriers = carrierfake.NewSet(b.carrier)
	limits, err := ratelimit.NewShared(st.DB, clk, map[string]ratelimit.Quota{
		billing.LimitSMSPerNumber: {Count: 5, Per: 10 * time.Minute}, billing.LimitChargesPerNumber: {Count: 30, Per: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	b.svc, err = billing.NewService(billing.Deps{DB: st.DB, Carriers: b.carriers, Vault: vault, Clock: clk, Log: log, Jobs: q, Events: Views(b.events), Limits: limits},
		billing.Settings{CodeTTL: 5 * time.Minute, MaxAttempts: 3, CarrierTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	billing.RegisterWorkers(workers, b.svc)
	api, err := New(b.svc, st.DB, clk, Settings{Retention: 24 * time.Hour, Wait: 300 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	b.api = api
	keys := auth.Keys{DB: st.DB, Now: clk.Now}
	m, err := b.svc.CreateMerchant(ctx, "Shop A", false)
	if err != nil {
		t.Fatal(err)
	}
	b.merchant = auth.Principal{MerchantID: m.ID, Role: auth.RoleMerchant}
	if b.key, err = keys.Create(ctx, auth.RoleMerchant, m.ID, false); err != nil {
		t.Fatal(err)
	}
	other, err := b.svc.CreateMerchant(ctx, "Shop B", false)
	if err != nil {
		t.Fatal(err)
	}
	if b.otherKey, err = keys.Create(ctx, auth.RoleMerchant, other.ID, false); err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = web.ErrorHandler(log)
	api.Mount(e.Group("/v1"), web.RequireKey(keys, auth.RoleMerchant), web.RequireKey(keys, auth.RoleMerchant, auth.RoleFinance))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	b.base = srv.URL
	return b
}

// sink records what billing told merchants, after the app layer's views.
type sink struct {
	mu     sync.Mutex
	events []billing.Event
}

func (s *sink) EmitTx(_ *gorm.DB, e billing.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, e)
	return nil
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) field(k string) string {
	var m map[string]any
	_ = json.Unmarshal(a.body, &m)
	s, _ := m[k].(string)
	return s
}

// get reads a path as the merchant.
func (b *testBundle) get(path string) answer {
	b.t.Helper()
	a, err := b.send(b.key, http.MethodGet, path, "", "")
	if err != nil {
		b.t.Fatal(err)
	}
	return a
}

// send makes one request; it is safe off the test's goroutine.
func (b *testBundle) send(key, method, path, idem, body string) (answer, error) {
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: raw}, err
}

// page is a list answer's ids and has_more.
func (a answer) page() ([]string, bool) {
	var l struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
		HasMore bool `json:"has_more"`
	}
	_ = json.Unmarshal(a.body, &l)
	var ids []string
	for _, d := range l.Data {
		ids = append(ids, d.ID)
	}
	return ids, l.HasMore
}

// post sends a raw JSON body with an Idempotency-Key (none when empty).
func (b *testBundle) post(path, idem, body string) answer {
	b.t.Helper()
	return b.postAs(b.key, path, idem, body)
}

func (b *testBundle) postAs(key, path, idem, body string) answer {
	b.t.Helper()
	a, err := b.send(key, http.MethodPost, path, idem, body)
	if err != nil {
		b.t.Fatal(err)
	}
	return a
}

func (b *testBundle) charges() int64 {
	b.t.Helper()
	var n int64
	if err := b.store.DB.Model(&billing.Charge{}).Count(&n).Error; err != nil {
		b.t.Fatal(err)
	}
	return n
}

const newCharge = `{"amount": 5000, "currency": "KRW", "msisdn": "+821012345678", "carrier": "skt", "description": "500 gems"}`

func TestTheFirstAnswerIsReplayedByteForByte(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		first := b.post("/v1/charges", "order-1", newCharge)
		if first.status != http.StatusCreated || first.field("status") != "requires_confirmation" {
			t.Fatalf("first: %d %s", first.status, first.body)
		}
		// The same JSON value, keys in another order and other spacing.
		same := `{"carrier":"skt","description":"500 gems","msisdn":"+821012345678","currency":"KRW","amount":5000}`
		again := b.post("/v1/charges", "order-1", same)
		if again.status != first.status || string(again.body) != string(first.body) || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
		}
		other := b.post("/v1/charges", "order-1", strings.Replace(newCharge, "5000", "6000", 1))
		if other.status != http.StatusUnprocessableEntity || other.field("code") != "idempotency_key_reused" {
			t.Fatalf("another body with the key: %d %s", other.status, other.body)
		}
		if n, sms := b.charges(), len(b.carrier.Outbox()); n != 1 || sms != 1 {
			t.Fatalf("%d charges and %d SMS for one key", n, sms)
		}
		// A key is the merchant's own: another merchant's same key is another charge.
		theirs := b.postAs(b.otherKey, "/v1/charges", "order-1", newCharge)
		if theirs.status != http.StatusCreated || theirs.field("id") == first.field("id") {
			t.Fatalf("another merchant, same key: %d %s", theirs.status, theirs.body)
		}
		// A refused request is answered the same way on a retry, too.
		bad := `{"amount": -1, "currency": "KRW", "msisdn": "+821012345678"}`
		refused, again2 := b.post("/v1/charges", "bad-1", bad), b.post("/v1/charges", "bad-1", bad)
		if refused.status != http.StatusBadRequest || string(again2.body) != string(refused.body) {
			t.Fatalf("refused request replay: %d %s / %s", refused.status, refused.body, again2.body)
		}
	})
}

func TestTheIdempotencyKeyIsRequiredAndBounded(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		for _, tc := range []struct {
			key, code string
		}{
			{"", "idempotency_key_required"},
			{strings.Repeat("k", 256), "idempotency_key_invalid"},
		} {
			r := b.post("/v1/charges", tc.key, newCharge)
			if r.status != http.StatusBadRequest || r.field("code") != tc.code {
				t.Errorf("key of %d characters: %d %s", len(tc.key), r.status, r.body)
			}
		}
		if n := b.charges(); n != 0 {
			t.Fatalf("%d charges made without a valid key", n)
		}
	})
}

// A 5xx is not kept: the merchant's retry with the same key runs again.
func TestAServerErrorIsNotReplayed(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		b.carriers.SetDown("skt", true)
		down := b.post("/v1/charges", "order-2", newCharge)
		if down.status != http.StatusServiceUnavailable || down.field("code") != "carrier_unavailable" || down.header.Get("Retry-After") != "3" {
			t.Fatalf("carrier down: %d %v %s", down.status, down.header, down.body)
		}
		b.carriers.SetDown("skt", false)
		retry := b.post("/v1/charges", "order-2", newCharge)
		if retry.status != http.StatusCreated || retry.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry after the carrier came back: %d %s", retry.status, retry.body)
		}
	})
}

// A duplicate that arrives while the first request is still at the carrier
// waits for it; past the wait it is told to retry, and never runs twice.
func TestADuplicateInFlightWaitsThenGets409(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		ctx := context.Background()
		pm, err := b.svc.CreatePaymentMethod(ctx, b.merchant, "", billing.PaymentMethodParams{MSISDN: "+821012345678", Carrier: "skt"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.svc.ConfirmPaymentMethod(ctx, b.merchant, pm.ID, b.carrier.LastCode()); err != nil {
			t.Fatal(err)
		}
		atCarrier, release := make(chan struct{}), make(chan struct{})
		b.carrier.SetAnswer(func(r carriers.ChargeRequest) (carriers.Result, error) {
			close(atCarrier)
			<-release
			return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + r.Reference}, nil
		})
		// Whatever happens below, the held charge is let go before the
		// server closes (cleanups run last-registered first).
		t.Cleanup(sync.OnceFunc(func() { close(release) }))
		body := fmt.Sprintf(`{"amount": 1000, "currency": "KRW", "payment_method": %q}`, pm.ID)
		first := make(chan answer, 1)
		go func() {
			// Not b.post: t.Fatal belongs to the test's goroutine.
			a, err := b.send(b.key, http.MethodPost, "/v1/charges", "tap-1", body)
			if err != nil {
				a.status, a.body = 0, []byte(err.Error())
			}
			first <- a
		}()
		select {
		case <-atCarrier:
		case <-time.After(10 * time.Second):
			t.Fatal("the first request never reached the carrier")
		}
		dup := b.post("/v1/charges", "tap-1", body)
		if dup.status != http.StatusConflict || dup.field("code") != "idempotency_request_in_progress" {
			t.Fatalf("duplicate in flight: %d %s", dup.status, dup.body)
		}
		b.carrier.SetAnswer(nil)
		release <- struct{}{}
		done := <-first
		if done.status != http.StatusCreated || done.field("status") != "succeeded" {
			t.Fatalf("first: %d %s", done.status, done.body)
		}
		if replay := b.post("/v1/charges", "tap-1", body); string(replay.body) != string(done.body) {
			t.Fatalf("replay after the first finished: %s", replay.body)
		}
		if calls := b.carrier.ChargeCalls(); calls != 1 {
			t.Fatalf("the carrier was asked %d times", calls)
		}
	})
}

// Answers and events show the same view, and it never holds the number.
func TestViewsShowTheNumberOnlyMasked(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		r := b.post("/v1/charges", "order-3", newCharge)
		if r.field("msisdn_masked") != "+82 10-****-5678" || strings.Contains(string(r.body), "1012345678") {
			t.Fatalf("answer: %s", r.body)
		}
		b.events.mu.Lock()
		defer b.events.mu.Unlock()
		if len(b.events.events) != 1 {
			t.Fatalf("%d events for one new charge", len(b.events.events))
		}
		ev, err := json.Marshal(b.events.events[0].Object)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		_ = json.Unmarshal(r.body, &want)
		_ = json.Unmarshal(ev, &got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("the event's object differs from the answer:\n%s\n%s", ev, r.body)
		}
	})
}

func TestListChargesPagesNewestFirstWithFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, b *testBundle) {
		var ids []string
		for i := range 5 {
			body := fmt.Sprintf(`{"amount": %d, "currency": "KRW", "msisdn": "+821033330000", "carrier": "skt", "merchant_reference": "o-%d"}`, 1000+i, i%2)
			r := b.post("/v1/charges", fmt.Sprintf("list-%d", i), body)
			if r.status != http.StatusCreated {
				t.Fatalf("charge %d: %d %s", i, r.status, r.body)
			}
			ids = append(ids, r.field("id"))
			b.clock.Advance(time.Second)
		}
		if r := b.postAs(b.otherKey, "/v1/charges", "list-x", newCharge); r.status != http.StatusCreated {
			t.Fatalf("other merchant's charge: %d %s", r.status, r.body)
		}
		got, more := b.get("/v1/charges?limit=2").page()
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[4], ids[3]}) || !more {
			t.Fatalf("page 1: %v more=%v", got, more)
		}
		got, more = b.get("/v1/charges?limit=10&starting_after=" + ids[3]).page()
		if fmt.Sprint(got) != fmt.Sprint([]string{ids[2], ids[1], ids[0]}) || more {
			t.Fatalf("page 2: %v more=%v", got, more)
		}
		if got, _ := b.get("/v1/charges?merchant_reference=o-1&status=requires_confirmation&carrier=skt").page(); fmt.Sprint(got) != fmt.Sprint([]string{ids[3], ids[1]}) {
			t.Fatalf("filtered: %v", got)
		}
		third := b.clock.Now().Add(-3 * time.Second).Format(time.RFC3339) // when ids[2] was made
		if got, _ := b.get("/v1/charges?created_gte=" + third).page(); len(got) != 3 {
			t.Fatalf("created_gte: %v", got)
		}
		if got, _ := b.get("/v1/charges?created_lt=" + third).page(); fmt.Sprint(got) != fmt.Sprint([]string{ids[1], ids[0]}) {
			t.Fatalf("created_lt: %v", got)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "status=nope", "created_gte=yesterday", "starting_after=ch_nope", "colour=red"} {
			if r := b.get("/v1/charges?" + q); r.status != http.StatusBadRequest {
				t.Errorf("%s: %d %s", q, r.status, r.body)
			}
		}
	})
}

// Only what has an API view reaches the outbox, and a domain object that
// slipped past it would still not carry a secret.
func TestEventsCarryViewsNeverSecrets(t *testing.T) {
	t.Parallel()
	s := &sink{}
	if err := Views(s).EmitTx(nil, billing.Event{Type: "x.y", Object: struct{ Secret string }{"s"}}); err == nil || len(s.events) != 0 {
		t.Fatalf("an object without a view went out: %v, %d events", err, len(s.events))
	}
	sealed, token, hash, auth := "sealed-number", "sealed-token", "code-hash", "auth-ref"
	for _, obj := range []any{
		billing.Charge{MSISDNEnc: sealed, MSISDNIndex: "blind-index", CodeHash: &hash, AuthorizationRef: &auth},
		billing.PaymentMethod{MSISDNEnc: sealed, MSISDNIndex: "blind-index", CodeHash: &hash, AuthorizationRef: &auth, TokenEnc: &token},
	} {
		raw, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{sealed, "blind-index", hash, auth, token} {
			if strings.Contains(string(raw), secret) {
				t.Errorf("%T marshals %q: %s", obj, secret, raw)
			}
		}
	}
}
