package main

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"tollgate/client"
	"tollgate/configs"
)

// countingTransport counts requests and the Idempotency-Keys they carried.
type countingTransport struct {
	mu   sync.Mutex
	keys []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.keys = append(c.keys, r.Header.Get("Idempotency-Key"))
	c.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// What the client's retry rules meet on a real gateway: a per-key limit
// answers before the Idempotency-Key is kept, so a retry after Retry-After
// runs; a per-number limit is the operation's answer, kept with the key, so
// the client's one retry gets the replay (no Retry-After) and stops there.
func TestClientRetriesMeetTheGatewaysLimits(t *testing.T) {
	t.Parallel()
	eachStoreWith(t, func(c *configs.Config) { c.RateLimits.SMSPerNumber = "1/1h" }, func(t *testing.T, g *gw) {
		tr := &countingTransport{}
		c, err := client.New(g.base, g.key, client.WithHTTPClient(&http.Client{Transport: tr, Timeout: 30 * time.Second}),
			client.WithRetries(3, time.Millisecond, 5*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		first, err := c.CreateCharge(ctx, client.ChargeParams{Amount: 1000, Currency: "KRW", MSISDN: "+821033331111", Carrier: "skt"})
		if err != nil || first.Status != "requires_confirmation" {
			t.Fatalf("first charge: %+v %v", first, err)
		}
		tr.keys = nil
		_, err = c.CreateCharge(ctx, client.ChargeParams{Amount: 1000, Currency: "KRW", MSISDN: "+821033331111", Carrier: "skt"})
		var apiErr *client.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests || apiErr.Code != "rate_limited" {
			t.Fatalf("second charge to the number: %v", err)
		}
		if len(tr.keys) != 2 || tr.keys[0] == "" || tr.keys[0] != tr.keys[1] {
			t.Fatalf("requests %q: want the first 429 and one retry with the same key", tr.keys)
		}
		if apiErr.RetryAfter != 0 {
			t.Errorf("the replayed 429 carries Retry-After %d", apiErr.RetryAfter)
		}
		// Nothing more was made: one charge on the number.
		list, err := c.ListCharges(ctx, client.ChargeListParams{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ch := range list.Data {
			if ch.MSISDNMasked == first.MSISDNMasked {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d charges on the number, want 1", n)
		}
	})
}
