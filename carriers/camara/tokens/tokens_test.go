package tokens_test

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

	"tollgate/carriers/camara/tokens"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/sim"
)

const (
	secret = "sim-skt-client-secret-0123"
	phone  = "+821012345678"
	scope  = "carrier-billing:payments:read"
)

// env is a token cache talking to the simulated operator skt over HTTP.
type env struct {
	sim   *sim.Simulator
	clock *carriertest.Clock
	cache *tokens.Cache
	waits []time.Duration // what CIBA polling waited, on the test clock
	hits  atomic.Int64    // requests that reached the authorization server
}

func setup(t *testing.T, clientSecret string) *env {
	t.Helper()
	return setupWait(t, clientSecret, nil)
}

// setupWait is setup with early(n) saying whether the n-th CIBA wait
// (from 1) ends before the clock has moved, so the next poll comes early.
func setupWait(t *testing.T, clientSecret string, early func(n int) bool) *env {
	t.Helper()
	e := &env{clock: carriertest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))}
	e.sim = sim.New(sim.Options{
		Carriers: []string{"skt"}, Now: e.clock.Now, After: e.clock.After, Seed: 1,
		OAuthClients: map[string]sim.OAuthClient{"skt": {ID: "tollgate", Secret: secret}},
	})
	h := e.sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	root := srv.URL + "/sim/skt/camara/oauth2"
	c, err := tokens.New(tokens.Config{
		TokenURL: root + "/token", BCAuthorizeURL: root + "/bc-authorize",
		ClientID: "tollgate", ClientSecret: clientSecret, HTTPClient: srv.Client(), Now: e.clock.Now,
		Wait: func(_ context.Context, d time.Duration) error {
			e.waits = append(e.waits, d) // one poller at a time in these tests
			if early == nil || !early(len(e.waits)) {
				e.clock.Advance(d)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.cache = c
	return e
}

func TestClientTokenIsCachedUntilShortlyBeforeExpiry(t *testing.T) {
	e := setup(t, secret)
	ctx := context.Background()
	first, err := e.cache.ClientToken(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		tok, err := e.cache.ClientToken(ctx, scope)
		if err != nil || tok.AccessToken != first.AccessToken {
			t.Fatalf("%v, %v", tok, err)
		}
	}
	if n := e.sim.TokensIssued("skt"); n != 1 {
		t.Fatalf("%d tokens for 21 calls, want 1", n)
	}
	// Another scope set is another token.
	if tok, err := e.cache.ClientToken(ctx, "carrier-billing-refund:refunds:read"); err != nil || tok.AccessToken == first.AccessToken {
		t.Fatalf("%v, %v", tok, err)
	}
	// The sim's tokens live an hour; past it, the cache fetches anew.
	e.clock.Advance(time.Hour)
	again, err := e.cache.ClientToken(ctx, scope)
	if err != nil || again.AccessToken == first.AccessToken {
		t.Fatalf("after expiry: %v, %v", again, err)
	}
	if n := e.sim.TokensIssued("skt"); n != 3 {
		t.Fatalf("%d tokens issued, want 3", n)
	}
}

func TestClientTokenRefreshesInTheBackgroundInItsLeeway(t *testing.T) {
	e := setup(t, secret)
	ctx := context.Background()
	first, err := e.cache.ClientToken(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	// 59m15s on: inside the leeway (at most 60 s, a tenth of the
	// lifetime), still valid. The caller gets the old token at once and a
	// refresh runs behind it.
	e.clock.Advance(59*time.Minute + 15*time.Second)
	tok, err := e.cache.ClientToken(ctx, scope)
	if err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("in the leeway: %v, %v", tok, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		tok, err = e.cache.ClientToken(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken != first.AccessToken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no refreshed token after 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := e.sim.TokensIssued("skt"); n != 2 {
		t.Fatalf("%d tokens issued, want 2", n)
	}
}

func TestConcurrentMissesShareOneFetch(t *testing.T) {
	e := setup(t, secret)
	var wg sync.WaitGroup
	got := make([]string, 50)
	for i := range got {
		wg.Go(func() {
			tok, err := e.cache.ClientToken(context.Background(), scope)
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = tok.AccessToken
		})
	}
	wg.Wait()
	for _, g := range got {
		if g != got[0] {
			t.Fatalf("callers got different tokens: %q and %q", got[0], g)
		}
	}
	// Goroutines that arrive after the shared fetch has landed hit the
	// cache; either way there is one token request.
	if n := e.sim.TokensIssued("skt"); n != 1 {
		t.Fatalf("%d tokens issued for 50 concurrent callers, want 1", n)
	}
}

func TestWrongSecretIsAClientErrorWithoutTheSecret(t *testing.T) {
	e := setup(t, "not-the-secret-0123456")
	_, err := e.cache.ClientToken(context.Background(), scope)
	if !errors.Is(err, tokens.ErrClient) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("%v, want ErrClient invalid_client", err)
	}
	_, err = e.cache.SubscriberToken(context.Background(), phone, "carrier-billing:payments:create")
	if !errors.Is(err, tokens.ErrClient) {
		t.Fatalf("ciba: %v, want ErrClient", err)
	}
	if strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), "1012345678") {
		t.Fatalf("error shows a secret or the number: %v", err)
	}
}

func TestCIBA(t *testing.T) {
	ctx := context.Background()
	t.Run("approved_at_once", func(t *testing.T) {
		e := setup(t, secret)
		tok, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create", "carrier-billing:payments:write")
		if err != nil || tok.AccessToken == "" || len(e.waits) != 0 {
			t.Fatalf("%v, %v, waits %v", tok, err, e.waits)
		}
		// Cached per number and scope set: no second authentication.
		again, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:write", "carrier-billing:payments:create")
		if err != nil || again.AccessToken != tok.AccessToken {
			t.Fatalf("%v, %v", again, err)
		}
		other, err := e.cache.SubscriberToken(ctx, "+821099998888", "carrier-billing:payments:create", "carrier-billing:payments:write")
		if err != nil || other.AccessToken == tok.AccessToken {
			t.Fatalf("another line: %v, %v", other, err)
		}
	})
	t.Run("pending_honours_interval", func(t *testing.T) {
		e := setup(t, secret)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 3, Interval: 2})
		if _, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create"); err != nil {
			t.Fatal(err)
		}
		if len(e.waits) != 3 || e.waits[0] != 2*time.Second || e.waits[2] != 2*time.Second {
			t.Fatalf("waits %v, want three of 2 s", e.waits)
		}
	})
	t.Run("slow_down_adds_five_seconds", func(t *testing.T) {
		// The first wait ends early (the clock does not move), so the
		// second poll is premature and the operator says slow_down.
		e := setupWait(t, secret, func(n int) bool { return n == 1 })
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 3, SlowDown: true, Interval: 2})
		if _, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create"); err != nil {
			t.Fatal(err)
		}
		if len(e.waits) < 3 || e.waits[0] != 2*time.Second || e.waits[1] != 7*time.Second || e.waits[2] != 7*time.Second {
			t.Fatalf("waits %v, want 2 s, then 7 s after slow_down", e.waits)
		}
	})
	t.Run("denied", func(t *testing.T) {
		e := setup(t, secret)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 1, Deny: true})
		_, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create")
		if !errors.Is(err, tokens.ErrDenied) {
			t.Fatalf("%v, want ErrDenied", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := setup(t, secret)
		e.sim.SetCIBA("skt", sim.CIBABehaviour{PendingPolls: 1000, Interval: 5, ExpiresIn: 30})
		_, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create")
		if !errors.Is(err, tokens.ErrExpired) || strings.Contains(err.Error(), "1012345678") {
			t.Fatalf("%v, want ErrExpired without the number", err)
		}
		if len(e.waits) > 6 {
			t.Fatalf("polled %d times for a 30 s request every 5 s", len(e.waits))
		}
	})
	t.Run("no_ciba_endpoint", func(t *testing.T) {
		c, err := tokens.New(tokens.Config{TokenURL: "http://127.0.0.1:1/token", ClientID: "a", ClientSecret: "b"})
		if err != nil {
			t.Fatal(err)
		}
		if c.ThreeLegged() {
			t.Fatal("3-legged without a bc-authorize URL")
		}
		if _, err := c.SubscriberToken(ctx, phone, "x"); !errors.Is(err, tokens.ErrClient) {
			t.Fatalf("%v", err)
		}
	})
}

func TestForgetAccessTokenFetchesAnew(t *testing.T) {
	e := setup(t, secret)
	ctx := context.Background()
	first, err := e.cache.ClientToken(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	e.cache.ForgetAccessToken(first.AccessToken)
	if again, err := e.cache.ClientToken(ctx, scope); err != nil || again.AccessToken == first.AccessToken {
		t.Fatalf("%v, %v", again, err)
	}
}

// A subscriber's token is never refreshed ahead of need: a refresh is a
// login prompt on their phone that nobody asked for. In its leeway the
// cached token is handed out; once it expires, the charge that needs one
// asks, in the foreground, and meets the subscriber's answer of that moment
// (here a refusal). A background refresh started in the leeway would race
// the refusal being set, so this test catches one only when it wins.
func TestSubscriberTokenIsNotRefreshedAhead(t *testing.T) {
	e := setup(t, secret)
	ctx := context.Background()
	first, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(59*time.Minute + 15*time.Second) // inside the leeway, still valid
	tok, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create")
	if err != nil || tok.AccessToken != first.AccessToken {
		t.Fatalf("in the leeway: %v, %v", tok, err)
	}
	e.sim.SetCIBA("skt", sim.CIBABehaviour{Deny: true})
	e.clock.Advance(2 * time.Minute)
	if tok, err := e.cache.SubscriberToken(ctx, phone, "carrier-billing:payments:create"); !errors.Is(err, tokens.ErrDenied) {
		t.Fatalf("after expiry: %v, %v; want the subscriber's refusal of a request made now (a background refresh had fetched a token early)", tok, err)
	}
}

type ctxKey struct{}

// Token requests do not carry the caller's context values: those mark the
// caller's own request (a payment that may be resent, whose outcome a sent
// byte makes uncertain), and a token request is neither.
func TestTokenRequestsDoNotCarryTheCallersValues(t *testing.T) {
	clock := carriertest.NewClock(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	s := sim.New(sim.Options{Carriers: []string{"skt"}, Now: clock.Now, After: clock.After, Seed: 1,
		OAuthClients: map[string]sim.OAuthClient{"skt": {ID: "tollgate", Secret: secret}}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	var mu sync.Mutex
	var seen []any
	client := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r.Context().Value(ctxKey{}))
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	root := srv.URL + "/sim/skt/camara/oauth2"
	c, err := tokens.New(tokens.Config{TokenURL: root + "/token", BCAuthorizeURL: root + "/bc-authorize",
		ClientID: "tollgate", ClientSecret: secret, HTTPClient: client, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), ctxKey{}, "a payment's request")
	if _, err := c.ClientToken(ctx, scope); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubscriberToken(ctx, phone, "carrier-billing:payments:create"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) < 3 {
		t.Fatalf("%d token requests, want a client-credentials one, a bc-authorize and a token poll", len(seen))
	}
	for i, v := range seen {
		if v != nil {
			t.Errorf("token request %d carried the caller's value %v", i, v)
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
