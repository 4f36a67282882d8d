package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/webhooks"
)

// recorder is a scripted gateway: each request gets the next answer.
type recorder struct {
	mu      sync.Mutex
	reqs    []*http.Request
	bodies  []string
	answers []func(w http.ResponseWriter, r *http.Request)
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := len(rc.reqs)
	rc.reqs = append(rc.reqs, r)
	rc.bodies = append(rc.bodies, string(b))
	var answer func(w http.ResponseWriter, r *http.Request)
	if n < len(rc.answers) {
		answer = rc.answers[n]
	}
	rc.mu.Unlock()
	if answer == nil {
		http.Error(w, "unexpected request", http.StatusTeapot)
		return
	}
	answer(w, r)
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func problemAnswer(status int, code string, header map[string]string, extra string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-Id", "req_"+strconv.Itoa(status))
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"type":"/docs/errors/%s","title":"%s","status":%d,"code":"%s","detail":"d"%s}`, code, http.StatusText(status), status, code, extra)
	}
}

func jsonAnswer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// dropConnection closes the connection without an answer: the request may
// have been applied, and only its Idempotency-Key makes a resend safe.
func dropConnection(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

const chargeJSON = `{"id":"ch_1","object":"charge","status":"succeeded","amount":1000,"currency":"KRW","carrier":"skt","msisdn_masked":"+82 10-****-5678","created_at":"2026-12-07T00:00:00Z","updated_at":"2026-12-07T00:00:00Z"}`

func newTestClient(t *testing.T, h http.Handler, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// Waits of a millisecond or two: a Retry-After of seconds is cut to the bound.
	c, err := New(srv.URL, "sk_test_x", append([]Option{WithRetries(4, time.Millisecond, 2*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetriesSendTheSameIdempotencyKey(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){
		problemAnswer(503, "service_unavailable", map[string]string{"Retry-After": "30"}, ""),
		dropConnection,
		problemAnswer(409, "idempotency_request_in_progress", nil, ""),
		problemAnswer(429, "rate_limited", map[string]string{"Retry-After": "1"}, ""),
		jsonAnswer(201, chargeJSON),
	}}
	c := newTestClient(t, rc)
	ch, err := c.CreateCharge(context.Background(), ChargeParams{Amount: 1000, Currency: "KRW", PaymentMethod: "pm_1"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID != "ch_1" || ch.Status != "succeeded" || ch.Amount != 1000 {
		t.Fatalf("charge %+v", ch)
	}
	if rc.count() != 5 {
		t.Fatalf("%d requests, want 5", rc.count())
	}
	key := rc.reqs[0].Header.Get("Idempotency-Key")
	if !strings.HasPrefix(key, "tgc_") || len(key) != 36 {
		t.Fatalf("generated key %q", key)
	}
	for i, r := range rc.reqs {
		if r.Header.Get("Idempotency-Key") != key || rc.bodies[i] != rc.bodies[0] || r.Header.Get("Authorization") != "Bearer sk_test_x" {
			t.Errorf("attempt %d: key %q body %s", i+1, r.Header.Get("Idempotency-Key"), rc.bodies[i])
		}
	}
	if rc.bodies[0] != `{"amount":1000,"currency":"KRW","payment_method":"pm_1"}` {
		t.Errorf("body %s", rc.bodies[0])
	}

	// The next call is another operation: another key.
	rc2 := &recorder{answers: []func(http.ResponseWriter, *http.Request){jsonAnswer(201, chargeJSON), jsonAnswer(201, chargeJSON)}}
	c2 := newTestClient(t, rc2)
	for range 2 {
		if _, err := c2.CreateCharge(context.Background(), ChargeParams{Amount: 1000, Currency: "KRW", PaymentMethod: "pm_1"}); err != nil {
			t.Fatal(err)
		}
	}
	if rc2.reqs[0].Header.Get("Idempotency-Key") == rc2.reqs[1].Header.Get("Idempotency-Key") {
		t.Error("two calls shared a key")
	}
	// A key of the caller's own.
	rc3 := &recorder{answers: []func(http.ResponseWriter, *http.Request){jsonAnswer(201, `{"id":"re_1","charge":"ch_1","amount":500,"status":"succeeded"}`)}}
	rf, err := newTestClient(t, rc3).CreateRefund(context.Background(), "ch_1", RefundParams{Amount: 500}, IdempotencyKey("refund-order-7"))
	if err != nil || rf.ID != "re_1" || rc3.reqs[0].Header.Get("Idempotency-Key") != "refund-order-7" || rc3.reqs[0].URL.Path != "/v1/charges/ch_1/refunds" {
		t.Fatalf("refund %+v %v", rf, err)
	}
}

func TestNoRetryWhereItCouldActTwiceOrCannotHelp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request)
		call   func(c *Client) error
		status int
		code   string
	}{
		{"a POST without a key the gateway honours", problemAnswer(503, "service_unavailable", nil, ""),
			func(c *Client) error {
				_, err := c.CreateWebhookEndpoint(context.Background(), WebhookEndpointParams{URL: "http://127.0.0.1:1/h", EnabledEvents: []string{"*"}})
				return err
			}, 503, "service_unavailable"},
		{"a 429 replayed with the key (no Retry-After)", problemAnswer(429, "rate_limited", nil, ""),
			func(c *Client) error {
				_, err := c.CreateCharge(context.Background(), ChargeParams{Amount: 1, Currency: "KRW", MSISDN: "+821012345678"})
				return err
			}, 429, "rate_limited"},
		{"a 409 about the charge's state", problemAnswer(409, "charge_state_invalid", nil, ""),
			func(c *Client) error { _, err := c.ConfirmCharge(context.Background(), "ch_1", "123456"); return err }, 409, "charge_state_invalid"},
		{"a 422", problemAnswer(422, "refund_window_closed", nil, ""),
			func(c *Client) error {
				_, err := c.CreateRefund(context.Background(), "ch_1", RefundParams{})
				return err
			}, 422, "refund_window_closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){tc.answer, jsonAnswer(201, chargeJSON)}}
			err := tc.call(newTestClient(t, rc))
			var e *Error
			if !errors.As(err, &e) || e.Status != tc.status || e.Code != tc.code {
				t.Fatalf("err %v", err)
			}
			if rc.count() != 1 {
				t.Fatalf("%d requests, want 1", rc.count())
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	t.Parallel()
	var n int
	var mu sync.Mutex
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		problemAnswer(503, "service_unavailable", map[string]string{"Retry-After": "5"}, "")(w, r)
	})
	c := newTestClient(t, h, WithRetries(2, time.Millisecond, time.Millisecond))
	_, err := c.GetCharge(context.Background(), "ch_1")
	var e *Error
	if !errors.As(err, &e) || e.Code != "service_unavailable" || e.RetryAfter != 5 {
		t.Fatalf("err %v", err)
	}
	if n != 3 {
		t.Fatalf("%d attempts, want 1 + 2 retries", n)
	}
	// A cancelled context stops at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.GetCharge(ctx, "ch_1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestErrorsCarryTheProblem(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){
		problemAnswer(422, "refund_exceeds_charge", nil, `,"param":"amount","refundable_amount":300`),
		func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
		},
	}}
	c := newTestClient(t, rc, WithRetries(0, time.Millisecond, time.Millisecond))
	_, err := c.CreateRefund(context.Background(), "ch_1", RefundParams{Amount: 900})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%T %v", err, err)
	}
	if e.Status != 422 || e.Code != "refund_exceeds_charge" || e.Param != "amount" || e.Detail != "d" || e.Type != "/docs/errors/refund_exceeds_charge" || e.RequestID != "req_422" {
		t.Fatalf("%+v", e)
	}
	if n, ok := e.Int("refundable_amount"); !ok || n != 300 {
		t.Errorf("refundable_amount %d %v", n, ok)
	}
	if got := e.Error(); got != "tollgate: 422 refund_exceeds_charge (amount): d [request req_422]" {
		t.Errorf("Error() = %q", got)
	}
	// An answer that is not a problem (a proxy's page) still reads as an *Error.
	_, err = c.GetCharge(context.Background(), "ch_1")
	if !errors.As(err, &e) || e.Status != 502 || e.Code != "" || !strings.Contains(e.Detail, "bad gateway") {
		t.Fatalf("%v", err)
	}
}

func TestGetsSendNoKeyAndListsPage(t *testing.T) {
	t.Parallel()
	rc := &recorder{answers: []func(http.ResponseWriter, *http.Request){
		jsonAnswer(200, `{"object":"list","data":[{"id":"ch_3"},{"id":"ch_2"}],"has_more":true}`),
		jsonAnswer(200, `{"object":"list","data":[{"id":"ch_1"}],"has_more":false}`),
	}}
	c := newTestClient(t, rc)
	var ids []string
	for ch, err := range c.Charges(context.Background(), ChargeListParams{ListParams: ListParams{Limit: 2}, Status: "succeeded"}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ch.ID)
	}
	if strings.Join(ids, ",") != "ch_3,ch_2,ch_1" {
		t.Fatalf("ids %v", ids)
	}
	if q := rc.reqs[1].URL.Query(); q.Get("starting_after") != "ch_2" || q.Get("limit") != "2" || q.Get("status") != "succeeded" {
		t.Errorf("second page query %v", q)
	}
	for _, r := range rc.reqs {
		if r.Header.Get("Idempotency-Key") != "" {
			t.Error("a GET sent an Idempotency-Key")
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	secret := webhooks.NewSecret()
	body := []byte(`{"id":"evt_1","object":"event","type":"charge.succeeded","created_at":"2026-12-07T00:00:00Z","livemode":false,"data":{"object":` + chargeJSON + `}}`)
	headers := func(at time.Time, b []byte, s string) http.Header {
		sig, err := webhooks.Sign(s, "evt_1", at, b)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", "evt_1")
		h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}
	ev, err := VerifyWebhook(secret, body, headers(time.Now(), body, secret))
	if err != nil {
		t.Fatal(err)
	}
	var ch Charge
	if ev.Type != "charge.succeeded" || ev.Decode(&ch) != nil || ch.ID != "ch_1" || ch.Amount != 1000 {
		t.Fatalf("event %+v charge %+v", ev, ch)
	}
	tampered := []byte(strings.Replace(string(body), "1000", "9000", 1))
	for name, c := range map[string]struct {
		body []byte
		h    http.Header
	}{
		"tampered body":  {tampered, headers(time.Now(), body, secret)},
		"another secret": {body, headers(time.Now(), body, webhooks.NewSecret())},
		"replayed later": {body, headers(time.Now().Add(-10*time.Minute), body, secret)},
		"no headers":     {body, http.Header{}},
	} {
		if _, err := VerifyWebhook(secret, c.body, c.h); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := VerifyWebhook("not-a-secret", body, headers(time.Now(), body, secret)); err == nil || errors.Is(err, ErrInvalidSignature) {
		t.Errorf("bad secret: %v", err)
	}
	var probe map[string]any
	if json.Unmarshal(body, &probe) != nil {
		t.Fatal("test body is not JSON")
	}
}

func TestNewRefusesBadSettings(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"", "127.0.0.1:8080", "ftp://x", "http://"} {
		if _, err := New(base, "k"); err == nil {
			t.Errorf("New(%q) accepted", base)
		}
	}
	if _, err := New("http://127.0.0.1:8080", ""); err == nil {
		t.Error("an empty key was accepted")
	}
}
