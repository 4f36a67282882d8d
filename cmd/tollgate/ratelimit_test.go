package main

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"tollgate/billing/mypage"
	"tollgate/configs"
	"tollgate/internal/ratelimit"
)

// wantLimited fails unless r is a 429 rate_limited problem with a
// Retry-After of at most maxWait seconds, and returns that wait.
func wantLimited(t *testing.T, r resp, maxWait int) time.Duration {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.str("code") != "rate_limited" {
		t.Fatalf("want 429 rate_limited, got %d %s", r.Status, r.Raw)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > maxWait {
		t.Fatalf("Retry-After %q, want 1..%d seconds", r.Header.Get("Retry-After"), maxWait)
	}
	return time.Duration(secs) * time.Second
}

// One phone gets five codes in ten minutes, whichever merchants ask; the
// sixth request is 429 with Retry-After and makes no charge.
func TestCodesToOneNumberAreLimitedAcrossMerchants(t *testing.T) {
	eachStoreWith(t, func(c *configs.Config) { c.RateLimits.SMSPerNumber = "5/10m" }, func(t *testing.T, g *gw) {
		const phone = "+821033334444"
		for i := range 5 {
			key := []string{g.key, g.other}[i%2]
			g.charge(key, krw(phone, 1000, "kt"))
		}
		r := g.call("POST", "/v1/charges", g.other, newIdem(), krw(phone, 1000, "kt"))
		wait := wantLimited(t, r, 120)
		pm := g.call("POST", "/v1/payment_methods", g.key, newIdem(), map[string]any{"msisdn": phone, "carrier": "kt"})
		wantLimited(t, pm, 120)
		list := g.call("GET", "/v1/charges", g.other, "", nil)
		if n := len(list.Body["data"].([]any)); n != 2 {
			t.Fatalf("Shop B has %d charges, want its 2 allowed ones", n)
		}
		g.charge(g.key, krw("+821033335555", 1000, "kt")) // another phone
		g.clock.Advance(wait)
		g.charge(g.other, krw(phone, 1000, "kt"))
	})
}

// Guessing keys from one address: a few failures, then 429 for every
// request from there, a valid key included, until the wait is over. Other
// keys' own limit is per key.
func TestFailedAuthenticationIsLimitedPerAddress(t *testing.T) {
	eachStoreWith(t, func(c *configs.Config) { c.RateLimits.FailedAuthPerAddress = "3/1h" }, func(t *testing.T, g *gw) {
		for i := range 3 {
			r := g.call("GET", "/v1/charges", fmt.Sprintf("sk_test_guess%d", i), "", nil)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d, want 401", i, r.Status)
			}
		}
		wantLimited(t, g.call("GET", "/v1/charges", "sk_test_guess4", "", nil), 1200)
		wait := wantLimited(t, g.call("GET", "/v1/charges", g.key, "", nil), 1200)
		g.clock.Advance(wait)
		if r := g.call("GET", "/v1/charges", g.key, "", nil); r.Status != http.StatusOK {
			t.Fatalf("after Retry-After a valid key: %d %s", r.Status, r.Raw)
		}
	})
}

// Behind a trusted proxy (trusted_proxies), failed authentication is
// counted per client named in X-Forwarded-For, so one client's guesses do
// not lock out everyone behind the proxy; without that setting the header
// is ignored, so a client cannot escape its count by writing it.
func TestFailedAuthenticationBehindATrustedProxyCountsEachClient(t *testing.T) {
	guess := func(t *testing.T, g *gw, forwardedFor string) int {
		t.Helper()
		req, err := http.NewRequest("GET", g.base+"/v1/charges", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer sk_test_guess")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	limited := func(c *configs.Config) { c.RateLimits.FailedAuthPerAddress = "2/1h" }
	t.Run("trusted", func(t *testing.T) {
		eachStoreWith(t, func(c *configs.Config) { limited(c); c.TrustedProxies = []string{"127.0.0.1/32"} }, func(t *testing.T, g *gw) {
			for range 2 {
				if got := guess(t, g, "203.0.113.5"); got != http.StatusUnauthorized {
					t.Fatalf("a guess within the limit: %d, want 401", got)
				}
			}
			if got := guess(t, g, "203.0.113.5"); got != http.StatusTooManyRequests {
				t.Fatalf("the third guess of one client: %d, want 429", got)
			}
			// A spoofed hop before the proxy's own entry changes nothing: the
			// proxy appends the address it saw, and that is the one counted.
			if got := guess(t, g, "198.51.100.1, 203.0.113.5"); got != http.StatusTooManyRequests {
				t.Fatalf("the same client with a spoofed first hop: %d, want 429", got)
			}
			if got := guess(t, g, "203.0.113.6"); got != http.StatusUnauthorized {
				t.Fatalf("another client behind the same proxy: %d, want 401", got)
			}
		})
	})
	t.Run("untrusted", func(t *testing.T) {
		eachStoreWith(t, limited, func(t *testing.T, g *gw) {
			for i := range 2 {
				if got := guess(t, g, fmt.Sprintf("203.0.113.%d", i)); got != http.StatusUnauthorized {
					t.Fatalf("guess %d: %d, want 401", i, got)
				}
			}
			if got := guess(t, g, "203.0.113.99"); got != http.StatusTooManyRequests {
				t.Fatalf("a new X-Forwarded-For from a peer that is no proxy: %d, want 429", got)
			}
		})
	})
}

// Hour-long periods: nothing refills while the test runs, however slow the
// machine.
func TestRequestsAreLimitedPerKey(t *testing.T) {
	eachStoreWith(t, func(c *configs.Config) { c.RateLimits.PerKey = "5/1h" }, func(t *testing.T, g *gw) {
		for i := range 5 {
			if r := g.call("GET", "/v1/charges", g.key, "", nil); r.Status != http.StatusOK {
				t.Fatalf("request %d: %d %s", i+1, r.Status, r.Raw)
			}
		}
		wantLimited(t, g.call("GET", "/v1/charges", g.key, "", nil), 720)
		if r := g.call("GET", "/v1/charges", g.other, "", nil); r.Status != http.StatusOK {
			t.Fatalf("another key: %d %s", r.Status, r.Raw)
		}
	})
}

// A merchant cannot make the gateway send on its say without bound: new
// endpoints and manual redeliveries are limited per merchant.
func TestEndpointsAndRedeliveriesAreLimitedPerMerchant(t *testing.T) {
	eachStoreWith(t, func(c *configs.Config) {
		c.RateLimits.EndpointsPerMerchant = "2/1h"
		c.RateLimits.RedeliveriesPerMerchant = "2/1h"
	}, func(t *testing.T, g *gw) {
		ep := map[string]any{"url": "http://127.0.0.1:9/hook", "enabled_events": []string{"*"}}
		for range 2 {
			if r := g.call("POST", "/v1/webhook_endpoints", g.key, "", ep); r.Status != http.StatusCreated {
				t.Fatalf("endpoint: %d %s", r.Status, r.Raw)
			}
		}
		wantLimited(t, g.call("POST", "/v1/webhook_endpoints", g.key, "", ep), 1800)
		if r := g.call("POST", "/v1/webhook_endpoints", g.other, "", ep); r.Status != http.StatusCreated {
			t.Fatalf("another merchant's endpoint: %d %s", r.Status, r.Raw)
		}

		g.charge(g.key, krw("+821012345678", 1000, "kt"))
		events := g.call("GET", "/v1/events", g.key, "", nil)
		data, _ := events.Body["data"].([]any)
		if len(data) == 0 {
			t.Fatalf("no event to redeliver: %s", events.Raw)
		}
		id := data[0].(map[string]any)["id"].(string)
		for range 2 {
			if r := g.call("POST", "/v1/events/"+id+"/redeliver", g.key, "", map[string]any{}); r.Status >= 300 {
				t.Fatalf("redeliver: %d %s", r.Status, r.Raw)
			}
		}
		wantLimited(t, g.call("POST", "/v1/events/"+id+"/redeliver", g.key, "", map[string]any{}), 1800)
	})
}

// The /my sign-in limits come from the configuration: "off" reaches the
// page as off (a negative count), not as zero, which the page reads as its
// default.
func TestPageLimitsFollowTheConfiguration(t *testing.T) {
	s, err := withPageLimits(mypage.Settings{}, configs.RateLimitsConfig{SignInCodesPerNumber: "off", SignInCodesPerAddress: "7/1m", SignInTriesPerNumber: "2/1h"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.CodesPerNumber.Off() || s.CodesPerNumber.Count == 0 {
		t.Errorf("off became %+v, want a negative count", s.CodesPerNumber)
	}
	if s.CodesPerAddress != (ratelimit.Quota{Count: 7, Per: time.Minute}) || s.TriesPerNumber != (ratelimit.Quota{Count: 2, Per: time.Hour}) {
		t.Errorf("got %+v and %+v", s.CodesPerAddress, s.TriesPerNumber)
	}
	if _, err := withPageLimits(mypage.Settings{}, configs.RateLimitsConfig{SignInCodesPerNumber: "3 a day"}); err == nil || !strings.Contains(err.Error(), "rate_limits.sign_in_codes_per_number") {
		t.Errorf("a bad value: %v, want an error naming the key", err)
	}
}
