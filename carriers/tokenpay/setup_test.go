package tokenpay_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/tokenpay"
)

const (
	carrier = "lgu"
	secret  = "whsec-test-0123456789abcdef"
)

// received is one callback as the gateway's endpoint got it.
type received struct {
	header http.Header
	body   []byte
	status int // what the endpoint answered
}

// recorder stands in for the gateway's webhook endpoint: it keeps every
// callback and answers 500 to the first failFirst of them.
type recorder struct {
	mu        sync.Mutex
	got       []received
	failFirst int
	notify    chan struct{}
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	status := http.StatusNoContent
	if rc.failFirst > 0 {
		rc.failFirst--
		status = http.StatusInternalServerError
	}
	rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, status: status})
	rc.mu.Unlock()
	select {
	case rc.notify <- struct{}{}:
	default:
	}
	w.WriteHeader(status)
}

func (rc *recorder) failNext(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failFirst = n
}

// env is the adapter talking to a simulated carrier over real HTTP, with
// the carrier calling back to a recorder.
type env struct {
	*carriertest.Sim
	t      *testing.T
	rec    *recorder
	cbURL  string
	client *tokenpay.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	s := carriertest.NewSim(t, carriertest.WithCarriers(carrier), carriertest.WithSecret(carrier, secret))
	rec := &recorder{notify: make(chan struct{}, 1)}
	cb := httptest.NewServer(rec)
	t.Cleanup(cb.Close)
	e := &env{Sim: s, t: t, rec: rec, cbURL: cb.URL + "/v1/carriers/" + carrier + "/webhooks"}
	e.client = e.newClient(secret)
	return e
}

func (e *env) newClient(webhookSecret string) *tokenpay.Client {
	e.t.Helper()
	c, err := tokenpay.New(carriers.Settings{
		Name:          carrier,
		BaseURL:       e.BaseURL(carrier, "tokenpay"),
		Capabilities:  carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true},
		HTTPClient:    e.Client(),
		CallbackURL:   e.cbURL,
		WebhookSecret: webhookSecret,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// await waits until cond holds, waking on every callback and moving the
// carrier's clock while its back end is parked on it (a slow decision, a
// retry's backoff); it fails the test after carriertest's bound.
func (e *env) await(what string, cond func() bool) {
	e.t.Helper()
	e.Await(what, e.rec.notify, cond)
}

// callbacksFor returns the callbacks received for a reference, in order.
func (e *env) callbacksFor(ref string) []received {
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	var out []received
	for _, r := range e.rec.got {
		var b struct {
			Reference string `json:"reference"`
		}
		if json.Unmarshal(r.body, &b) == nil && b.Reference == ref {
			out = append(out, r)
		}
	}
	return out
}

// awaitCallback waits for the n-th callback for ref and returns it.
func (e *env) awaitCallback(ref string, n int) received {
	e.t.Helper()
	var got []received
	e.await("callback #"+strconv.Itoa(n)+" for "+ref, func() bool {
		got = e.callbacksFor(ref)
		return len(got) >= n
	})
	return got[n-1]
}

// parse verifies and parses a received callback at the simulator's now.
func (e *env) parse(r received) carriers.Notification {
	e.t.Helper()
	n, err := e.client.ParseWebhook(r.header, r.body, e.Clock.Now())
	if err != nil {
		e.t.Fatalf("ParseWebhook(%s): %v", r.body, err)
	}
	return n
}

// token authorises msisdn the way a subscriber does: the carrier texts a
// PIN, the subscriber reads it, the gateway verifies it.
func (e *env) token(ref, msisdn string, recurring bool) string {
	e.t.Helper()
	ctx := context.Background()
	req := carriers.AuthorizeRequest{Reference: ref, MSISDN: msisdn, Amount: 5000, Currency: "KRW", Description: "500 gems", Merchant: "Gem Shop", Recurring: recurring}
	if recurring {
		req.Amount, req.Currency = 0, ""
	}
	a, err := e.client.Authorize(ctx, req)
	if err != nil {
		e.t.Fatalf("Authorize: %v", err)
	}
	v, err := e.client.Verify(ctx, carriers.VerifyRequest{AuthorizationID: a.ID, Reference: ref, Code: e.SMSCode(msisdn)})
	if err != nil {
		e.t.Fatalf("Verify: %v", err)
	}
	if v.Token == "" || v.ID != a.ID {
		e.t.Fatalf("Verify = %+v, want a token for %s", v, a.ID)
	}
	return v.Token
}

func chargeReq(ref, token string, amount int64) carriers.ChargeRequest {
	return carriers.ChargeRequest{Reference: ref, Token: token, Amount: amount, Currency: "KRW", Description: "500 gems", Merchant: "Gem Shop"}
}
