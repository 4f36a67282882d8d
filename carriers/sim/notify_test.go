package sim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"tollgate/carriers/sim"
)

// sink is a recording notification receiver. It answers the first failFirst
// requests 500, then 204.
type sink struct {
	srv       *httptest.Server
	failFirst int

	mu   sync.Mutex
	got  []received
	more chan struct{}
}

type received struct {
	header http.Header
	body   []byte
}

func newSink(t *testing.T, failFirst int) *sink {
	t.Helper()
	k := &sink{failFirst: failFirst, more: make(chan struct{}, 100)}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		k.got = append(k.got, received{header: r.Header.Clone(), body: b})
		fail := len(k.got) <= k.failFirst
		k.mu.Unlock()
		k.more <- struct{}{}
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(k.srv.Close)
	return k
}

// wait returns the requests once there are n, failing the test after 10 s.
// Whenever the simulator is parked on clk (settling a payment, backing off
// before a retry) it moves clk on by the shortest backoff, so those waits
// pass on the clock, not in real time.
func (k *sink) wait(t *testing.T, clk *clock, n int) []received {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		k.mu.Lock()
		got := append([]received(nil), k.got...)
		k.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if clk.Waiting() > 0 {
			clk.Advance(100 * time.Millisecond)
			continue
		}
		select {
		case <-k.more:
		case <-time.After(time.Millisecond): // a timer may be about to park
		case <-deadline:
			t.Fatalf("%d notifications after 10 s, want %d", len(got), n)
		}
	}
}

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.got)
}

// setupSecrets is setup with webhook secrets for the carriers.
func setupSecrets(t *testing.T, secrets map[string]string) *env {
	t.Helper()
	clk := newClock()
	s := sim.New(sim.Options{Carriers: []string{"skt", "kt"}, Now: clk.Now, After: clk.After, Seed: 1, Secrets: secrets})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, clock: clk, sim: s}
}

// event is a CAMARA payment notification as the tests read it.
type event struct {
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	SpecVersion     string    `json:"specversion"`
	DataContentType string    `json:"datacontenttype"`
	Time            time.Time `json:"time"`
	Data            struct {
		PaymentID        string     `json:"paymentId"`
		Status           string     `json:"status"`
		Description      string     `json:"description"`
		PaymentDate      *time.Time `json:"paymentDate"`
		ClientCorrelator string     `json:"clientCorrelator"`
	} `json:"data"`
}

func withSink(body map[string]any, url string, cred map[string]any) map[string]any {
	body["sink"] = url
	if cred != nil {
		body["sinkCredential"] = cred
	}
	return body
}

func accessToken(token string) map[string]any {
	return map[string]any{"credentialType": "ACCESSTOKEN", "accessToken": token, "accessTokenType": "bearer", "accessTokenExpiresUtc": "2026-12-24T09:00:00Z"}
}

func TestAsyncPaymentIsNotifiedWithoutAnyRead(t *testing.T) {
	t.Parallel()
	e := setupSecrets(t, nil)
	k := newSink(t, 0)
	// A payment answered succeeded at once is not notified.
	if a := e.do(http.MethodPost, sktPayments, withSink(paymentBody("+821012345678", "ch_sync", "5000", "KRW"), k.srv.URL+"/cb", accessToken("tok-123"))); a.status != http.StatusCreated {
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
	var p payment
	e.do(http.MethodPost, sktPayments, withSink(paymentBody("+821012340005", "ch_async", "5000", "KRW"), k.srv.URL+"/cb", accessToken("tok-123"))).decode(t, &p)
	if p.PaymentStatus != "processing" {
		t.Fatalf("created %s", p.PaymentStatus)
	}

	got := k.wait(t, e.clock, 1)
	if ct := got[0].header.Get("Content-Type"); ct != "application/cloudevents+json" {
		t.Errorf("Content-Type %q", ct)
	}
	if auth := got[0].header.Get("Authorization"); auth != "Bearer tok-123" {
		t.Errorf("Authorization %q", auth)
	}
	var ev event
	if err := json.Unmarshal(got[0].body, &ev); err != nil {
		t.Fatalf("%v: %s", err, got[0].body)
	}
	// Created at 9:00; the settling timer fires once the clock has moved
	// 1 s on, which is when the event is sent.
	created := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	if ev.ID == "" || ev.Source == "" || ev.SpecVersion != "1.0" || ev.DataContentType != "application/json" ||
		ev.Type != "org.camaraproject.carrier-billing.v0.payment-completed" || !ev.Time.Equal(created.Add(time.Second)) {
		t.Errorf("event %s", got[0].body)
	}
	if ev.Data.PaymentID != p.PaymentID || ev.Data.Status != "succeeded" || ev.Data.ClientCorrelator != "ch_async" ||
		ev.Data.Description == "" || ev.Data.PaymentDate == nil || !ev.Data.PaymentDate.Equal(created.Add(time.Second)) {
		t.Errorf("data %s", got[0].body)
	}
	if got[0].header.Get("x-correlator") != ev.ID {
		t.Errorf("x-correlator %q", got[0].header.Get("x-correlator"))
	}
	// Settled by the timer, on the books' clock: billed at creation + 1 s.
	var rows []ledgerRow
	for _, r := range e.ledger("?carrier=skt") {
		if r.ClientReference == "ch_async" {
			rows = append(rows, r)
		}
	}
	if len(rows) != 1 || !rows[0].BilledAt.Equal(created.Add(time.Second)) {
		t.Fatalf("ledger %+v", rows)
	}
	if n := k.count(); n != 1 {
		t.Fatalf("%d notifications, want the async one only", n)
	}
}

func TestNotificationAfterLazySettlementIsSentOnce(t *testing.T) {
	t.Parallel()
	e := setupSecrets(t, nil)
	k := newSink(t, 0)
	var p payment
	e.do(http.MethodPost, sktPayments, withSink(paymentBody("+821012340005", "ch_lazy", "5000", "KRW"), k.srv.URL, accessToken("tok"))).decode(t, &p)
	e.clock.Advance(time.Second)
	var got payment
	e.do(http.MethodGet, sktPayments+"/"+p.PaymentID, nil).decode(t, &got)
	if got.PaymentStatus != "succeeded" {
		t.Fatalf("read after 1 s: %s", got.PaymentStatus)
	}
	k.wait(t, e.clock, 1)
	// Once nothing is pending (the timer fired and its delivery finished)
	// and no timer is left on the clock, nothing more can be sent.
	eventually(t, "the simulator finishes its background work", func() bool { return e.sim.Pending() == 0 })
	if e.clock.Waiting() != 0 {
		t.Fatalf("%d timers still set on the clock", e.clock.Waiting())
	}
	if n := k.count(); n != 1 {
		t.Fatalf("%d notifications", n)
	}
	if st := e.stats().Carriers["skt"]; st.ChargesBilled != 1 {
		t.Fatalf("billed %d times", st.ChargesBilled)
	}
}

func TestNotificationRetriesUntilAcknowledged(t *testing.T) {
	t.Parallel()
	e := setupSecrets(t, map[string]string{"skt": "skt-webhook-secret"})
	k := newSink(t, 2)
	// No sinkCredential: the carrier's own secret is the token.
	e.do(http.MethodPost, sktPayments, withSink(paymentBody("+821012340005", "ch_retry", "5000", "KRW"), k.srv.URL, nil))
	got := k.wait(t, e.clock, 3)
	if got[0].header.Get("Authorization") != "Bearer skt-webhook-secret" {
		t.Errorf("Authorization %q", got[0].header.Get("Authorization"))
	}
	var first, last event
	_ = json.Unmarshal(got[0].body, &first)
	_ = json.Unmarshal(got[2].body, &last)
	if first.ID == "" || first.ID != last.ID || string(got[0].body) != string(got[2].body) {
		t.Errorf("a retry is not the same event: %s / %s", got[0].body, got[2].body)
	}
	var s struct {
		Carriers map[string]struct {
			Sent   int64 `json:"callbacks_sent"`
			Failed int64 `json:"callbacks_failed"`
		} `json:"carriers"`
	}
	// The sink has the request before the simulator has the answer and
	// counts it; once the delivery is over, the counts are final.
	eventually(t, "the delivery finishes", func() bool { return e.sim.Pending() == 0 })
	e.do(http.MethodGet, "/sim/stats", nil).decode(t, &s)
	if c := s.Carriers["skt"]; c.Sent != 1 || c.Failed != 2 {
		t.Fatalf("stats %+v", s.Carriers["skt"])
	}
}

func TestNotificationWithoutCredentialOrSecretIsUnauthenticated(t *testing.T) {
	t.Parallel()
	e := setupSecrets(t, nil)
	k := newSink(t, 0)
	e.do(http.MethodPost, sktPayments, withSink(paymentBody("+821012340005", "ch_anon", "5000", "KRW"), k.srv.URL, nil))
	if got := k.wait(t, e.clock, 1); got[0].header.Get("Authorization") != "" {
		t.Errorf("Authorization %q", got[0].header.Get("Authorization"))
	}
}

func TestTwoStepAsyncConfirmIsNotifiedToThePrepareSink(t *testing.T) {
	t.Parallel()
	e := setupSecrets(t, nil)
	k := newSink(t, 0)
	const phone = "+821012340005"
	a := e.do(http.MethodPost, sktPayments+"/prepare", withSink(prepareBody(phone, "ch_2s5", "5000", "KRW"), k.srv.URL, accessToken("tok")))
	var p prepared
	a.decode(t, &p)
	if a.status != http.StatusCreated || p.ValidationInfo == nil {
		t.Fatalf("prepare: HTTP %d %s", a.status, a.body)
	}
	e.validate(p, e.inbox("?msisdn=" + phone)[0].Code)
	a = e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone))
	if a.status != http.StatusAccepted {
		t.Fatalf("confirm: HTTP %d %s", a.status, a.body)
	}
	var ev event
	if err := json.Unmarshal(k.wait(t, e.clock, 1)[0].body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Data.PaymentID != p.PaymentID || ev.Data.Status != "succeeded" || ev.Data.ClientCorrelator != "ch_2s5" {
		t.Fatalf("event %+v", ev)
	}
}

func TestSinkAndCredentialValidation(t *testing.T) {
	t.Parallel()
	e := setupSecrets(t, nil)
	tests := []struct {
		name   string
		sink   string
		cred   map[string]any
		status int
		code   string
	}{
		{"https", "https://gateway.example.com/v1/carriers/skt/webhooks", accessToken("t"), http.StatusCreated, ""},
		{"loopback http", "http://127.0.0.1:9/cb", nil, http.StatusCreated, ""},
		{"localhost http", "http://localhost:9/cb", nil, http.StatusCreated, ""},
		{"public http", "http://gateway.example.com/cb", nil, http.StatusBadRequest, "INVALID_SINK"},
		{"ftp", "ftp://127.0.0.1/cb", nil, http.StatusBadRequest, "INVALID_SINK"},
		{"plain credential", "https://x.example/cb", map[string]any{"credentialType": "PLAIN", "identifier": "a", "secret": "b"}, http.StatusBadRequest, "INVALID_CREDENTIAL"},
		{"mac token", "https://x.example/cb", map[string]any{"credentialType": "ACCESSTOKEN", "accessToken": "t", "accessTokenType": "mac", "accessTokenExpiresUtc": "2026-12-24T09:00:00Z"}, http.StatusBadRequest, "INVALID_TOKEN"},
		{"no expiry", "https://x.example/cb", map[string]any{"credentialType": "ACCESSTOKEN", "accessToken": "t", "accessTokenType": "bearer"}, http.StatusBadRequest, "INVALID_ARGUMENT"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := "ch_sink_" + string(rune('a'+i))
			for _, path := range []string{sktPayments, sktPayments + "/prepare"} {
				a := e.do(http.MethodPost, path, withSink(prepareBody("+821012345678", ref+path[len(path)-3:], "5000", "KRW"), tt.sink, tt.cred))
				if tt.code == "" {
					if a.status != tt.status {
						t.Fatalf("%s: HTTP %d %s", path, a.status, a.body)
					}
					continue
				}
				wantError(t, a, tt.status, tt.code)
			}
		})
	}
}
