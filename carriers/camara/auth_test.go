package camara_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/sim"
)

// operator is a stub CAMARA operator with an authorization server that
// counts what it is asked and refuses the first API call with 401.
type operator struct {
	tokens    atomic.Int64
	payments  atomic.Int64
	refuseAll bool

	mu     sync.Mutex
	seen   []string // Authorization headers on API calls
	scopes []string // scope parameters of token requests
	first  bool     // the first API call was refused
}

func (o *operator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/oauth2/token" {
		_ = r.ParseForm()
		o.mu.Lock()
		o.scopes = append(o.scopes, r.PostForm.Get("scope"))
		o.mu.Unlock()
		n := o.tokens.Add(1)
		_, _ = w.Write([]byte(`{"access_token":"tok-` + string(rune('0'+n)) + `","token_type":"Bearer","expires_in":3600}`))
		return
	}
	o.mu.Lock()
	o.seen = append(o.seen, r.Header.Get("Authorization"))
	refuse := o.refuseAll || !o.first
	o.first = true
	o.mu.Unlock()
	if refuse {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"status":401,"code":"UNAUTHENTICATED","message":"Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required."}`))
		return
	}
	o.payments.Add(1)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(`{"paymentId":"pay_1","paymentStatus":"succeeded","amountTransaction":{"referenceCode":"ch_1","paymentAmount":{"chargingInformation":{"amount":5000,"currency":"KRW","description":"d"}}}}`))
}

func operatorClient(t *testing.T, o *operator, scopes ...string) *camara.Client {
	t.Helper()
	srv := httptest.NewServer(o)
	t.Cleanup(srv.Close)
	c, err := camara.New(carriers.Settings{
		Name: "stub", BaseURL: srv.URL, HTTPClient: srv.Client(),
		Options: map[string]string{camara.OptionTokenURL: "/oauth2/token", camara.OptionClientID: "id", camara.OptionClientSecret: "secret",
			camara.OptionScopes: strings.Join(scopes, " ")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A 401 means the operator refused the token before doing anything: the
// token is dropped and the call made once more with a fresh one.
func TestUnauthenticatedRetriesOnceWithAFreshToken(t *testing.T) {
	o := &operator{}
	c := operatorClient(t, o)
	res, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("%+v, %v", res, err)
	}
	if o.tokens.Load() != 2 || len(o.seen) != 2 || o.seen[0] != "Bearer tok-1" || o.seen[1] != "Bearer tok-2" {
		t.Fatalf("tokens %d, Authorization headers %q", o.tokens.Load(), o.seen)
	}
}

// An operator that refuses every token is the connection's fault: not a
// decline, counted by the breaker, retried only once.
func TestUnauthenticatedTwiceIsUnavailable(t *testing.T) {
	o := &operator{refuseAll: true}
	c := operatorClient(t, o)
	_, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW"))
	if !errors.Is(err, carriers.ErrUnavailable) || !strings.Contains(err.Error(), "UNAUTHENTICATED") {
		t.Fatalf("%v, want ErrUnavailable", err)
	}
	if len(o.seen) != 2 || o.payments.Load() != 0 {
		t.Fatalf("%d calls, %d payments", len(o.seen), o.payments.Load())
	}
}

// A carrier without auth settings sends no Authorization, as before.
func TestNoAuthSettingsNoAuthorization(t *testing.T) {
	rc := &recorder{answers: map[string]stubAnswer{"POST /payments": {201, `{"paymentId":"p","paymentStatus":"succeeded"}`}}}
	var auth string
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		auth = r.Header.Get("Authorization")
		return http.DefaultTransport.RoundTrip(r)
	})
	c := stubClient(t, rc, "", rt)
	if _, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW")); err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		t.Fatalf("Authorization %q", auth)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The subscriber refusing the operator's CIBA request declines the charge
// (not a fault: no breaker counts it), and nothing is billed.
func TestCIBADeniedIsADecline(t *testing.T) {
	e := setupSpec(t, true)
	e.sim.SetCIBA("skt", sim.CIBABehaviour{Deny: true})
	res, err := e.client.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeDeclined || res.FailureCode != carriers.FailureCarrierDeclined || res.DeclineCode != "access_denied" {
		t.Fatalf("%+v, %v", res, err)
	}
	_, err = e.client.Authorize(context.Background(), authorize("ch_2", "+821012345678", 5000))
	var d interface{ DeclineResult() carriers.Result }
	if !errors.As(err, &d) || d.DeclineResult().DeclineCode != "access_denied" {
		t.Fatalf("authorize: %v", err)
	}
	for _, fault := range []error{carriers.ErrNotSent, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, carriers.ErrRateLimited} {
		if errors.Is(err, fault) {
			t.Errorf("a refused authentication reads as %v", fault)
		}
	}
}

// A subscriber who has not approved the operator's authentication request
// by the charge's deadline is the subscriber's delay, not an operator
// fault: the charge is declined confirmation_expired, which no breaker
// counts (five slow subscribers would otherwise open skt's breaker for
// every merchant).
func TestCIBAPendingPastTheDeadlineIsADeclineNotAFault(t *testing.T) {
	e := setupSpec(t, true)
	e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 1000, Interval: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	res, err := e.client.Charge(ctx, charge("ch_1", "+821012345678", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeDeclined || res.FailureCode != carriers.FailureConfirmationExpired {
		t.Fatalf("%+v, %v; want a confirmation_expired decline", res, err)
	}
}

// Each call asks for the scope its operation names; configured extra
// scopes (an operator's purpose) go with every token request.
func TestTokensCarryTheOperationsScopeAndTheConfiguredOnes(t *testing.T) {
	o := &operator{first: true} // no refusal
	c := operatorClient(t, o, "dpv:FraudPreventionAndDetection")
	if _, err := c.Charge(context.Background(), charge("ch_1", "+821012345678", 5000, "KRW")); err != nil {
		t.Fatal(err)
	}
	if len(o.scopes) != 1 || o.scopes[0] != "carrier-billing:payments:create dpv:FraudPreventionAndDetection" {
		t.Fatalf("token requests asked for %q", o.scopes)
	}
}
