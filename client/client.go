// Package client is tollgate's Go client for merchants: typed calls for
// charges, one-tap payment methods, refunds, subscriptions, webhook
// endpoints and events, with an Idempotency-Key generated for every call
// that changes something and reused on each of its retries, retries only
// where they cannot charge twice, problems decoded into *Error, and
// verification of the webhooks tollgate signs (Standard Webhooks).
//
//	c, err := client.New("http://127.0.0.1:8080", os.Getenv("TOLLGATE_KEY"))
//	ch, err := c.CreateCharge(ctx, client.ChargeParams{Amount: 1000, Currency: "KRW", PaymentMethod: "pm_…"})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Code == "payment_method_invalid" { … }
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Client calls one gateway with one API key. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	key     string
	http    *retryablehttp.Client
	newKey  func() string
	agent   string
	maxWait time.Duration
}

// Option changes a Client at New.
type Option func(*Client)

// WithHTTPClient sends requests through hc (its Transport and Timeout);
// retries stay the client's.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.http.HTTPClient = hc } }

// WithRetries bounds retries: at most max more attempts, waiting from
// minWait doubling up to maxWait between them (a Retry-After longer than
// maxWait is cut to it). The default is 4 retries, 250 ms to 10 s.
func WithRetries(max int, minWait, maxWait time.Duration) Option {
	return func(c *Client) {
		c.http.RetryMax, c.http.RetryWaitMin, c.http.RetryWaitMax, c.maxWait = max, minWait, maxWait, maxWait
	}
}

// WithIdempotencyKeys replaces the generator of Idempotency-Keys (one per
// call; a call's retries reuse its key).
func WithIdempotencyKeys(gen func() string) Option { return func(c *Client) { c.newKey = gen } }

// New returns a client of the gateway at baseURL (e.g. "https://pay.example.com")
// authenticating with apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tollgate client: base URL must be an absolute http(s) URL, got %q", baseURL)
	}
	if apiKey == "" {
		return nil, errors.New("tollgate client: an API key is required")
	}
	rc := retryablehttp.NewClient()
	rc.Logger = nil
	rc.HTTPClient = &http.Client{Timeout: 70 * time.Second} // the gateway answers within 60 s
	rc.RetryMax, rc.RetryWaitMin, rc.RetryWaitMax = 4, 250*time.Millisecond, 10*time.Second
	c := &Client{base: u, key: apiKey, http: rc, newKey: randomKey, agent: "tollgate-go-client/1", maxWait: rc.RetryWaitMax}
	for _, o := range opts {
		o(c)
	}
	rc.CheckRetry = checkRetry
	rc.Backoff = c.backoff
	// After the last attempt the last answer is returned as it is, so a 503
	// still reads as an *Error with its code rather than "giving up".
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return c, nil
}

// randomKey is a fresh Idempotency-Key: 128 random bits.
func randomKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return "tgc_" + hex.EncodeToString(b)
}

// CallOption changes one call.
type CallOption func(*call)

type call struct{ idemKey string }

// IdempotencyKey sets the call's Idempotency-Key instead of a generated
// one: use your own operation id (an order number) so a retry after your
// process restarts is still the same operation.
func IdempotencyKey(key string) CallOption { return func(c *call) { c.idemKey = key } }

// request describes one API call.
type request struct {
	method, path string
	query        url.Values
	body         any
	// idempotent: the gateway honours an Idempotency-Key on this POST, so
	// the call sends one and may be retried with it.
	idempotent bool
}

type retryableKey struct{}

// do sends r and decodes a 2xx answer into out (when not nil).
func (c *Client) do(ctx context.Context, r request, out any, opts ...CallOption) error {
	var cl call
	for _, o := range opts {
		o(&cl)
	}
	u := *c.base
	u.Path = c.base.Path + r.path
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("tollgate client: encode %s %s: %w", r.method, r.path, err)
		}
	}
	// GET and DELETE change nothing twice; a POST is retried only with an
	// Idempotency-Key the gateway honours, which makes every retry the same
	// operation: the first answer comes back, nothing is charged again.
	retryable := r.method == http.MethodGet || r.method == http.MethodDelete || r.idempotent
	ctx = context.WithValue(ctx, retryableKey{}, retryable)
	var body any
	if payload != nil {
		body = payload
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return fmt.Errorf("tollgate client: %s %s: %w", r.method, r.path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.agent)
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.idempotent {
		key := cl.idemKey
		if key == "" {
			key = c.newKey()
		}
		req.Header.Set("Idempotency-Key", key) // set once: every retry of this call sends it
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("tollgate client: %s %s: %w", r.method, r.path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("tollgate client: %s %s: read answer: %w", r.method, r.path, err)
	}
	if res.StatusCode >= 400 {
		return decodeError(res, raw)
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("tollgate client: %s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}
