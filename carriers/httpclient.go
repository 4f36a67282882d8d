package carriers

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// HTTPOptions tune the one HTTP client every adapter uses.
type HTTPOptions struct {
	AttemptTimeout time.Duration // one try, connect to last byte
	MaxRetries     int
	WaitMin        time.Duration // first backoff
	WaitMax        time.Duration // longest backoff, and longest Retry-After honoured
	// Now is the gateway's clock, which a Retry-After date is read against;
	// nil is the wall clock.
	Now func() time.Time
}

// DefaultHTTPOptions suit carrier APIs that answer in well under a second.
var DefaultHTTPOptions = HTTPOptions{AttemptTimeout: 2 * time.Second, MaxRetries: 4, WaitMin: 100 * time.Millisecond, WaitMax: 2 * time.Second}

// NewHTTPClient returns the resilient client all adapters share. The total
// deadline is the caller's context (billing gives each carrier operation a
// few seconds), so a merchant always gets an answer in time.
func NewHTTPClient(o HTTPOptions) *http.Client {
	base := &http.Client{
		Timeout: o.AttemptTimeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: o.AttemptTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 128,
			IdleConnTimeout:     90 * time.Second,
		},
		// A redirect on a payment call is an answer, not an instruction.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	policy := retryPolicy{now: orWallClock(o.Now)}
	rc := &retryablehttp.Client{
		HTTPClient:   base,
		Logger:       nil,
		RetryWaitMin: o.WaitMin,
		RetryWaitMax: o.WaitMax,
		RetryMax:     o.MaxRetries,
		CheckRetry:   policy.check,
		Backoff:      policy.backoff,
		// Hand the last answer or error to the adapter as it is, so it can
		// classify it (declined, unavailable, outcome unknown).
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	return rc.StandardClient()
}

// CheckRetry is the payment-safe retry policy. go-retryablehttp's default
// retries any request on any connection error or 5xx, POSTs included, which
// would bill a subscriber twice on a carrier that applied the first attempt.
// Here a request is tried again only when:
//   - it provably never reached the carrier (dial or DNS failure), or
//   - it carries an idempotency reference the carrier honours, or only
//     reads (the adapter marked its context WithResend), and the failure is
//     transient: a timeout, a reset, 429, 502, 503 or 504.
func CheckRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	return retryPolicy{now: time.Now}.check(ctx, resp, err)
}

// retryPolicy is CheckRetry on the gateway's clock.
type retryPolicy struct{ now func() time.Time }

func (p retryPolicy) check(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	resend := Resendable(ctx)
	if err != nil {
		if NeverSent(err) {
			return true, nil
		}
		markUncertain(ctx)
		return resend, nil
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		markUncertain(ctx) // a 500, 502 or 504 does not say nothing was done
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if !resend {
			return false, nil
		}
		// Do not wait past the caller's deadline for a Retry-After. The
		// deadline is the context's, on the wall clock, as its timer is.
		if wait, ok := retryAfter(resp, p.now()); ok {
			if dl, has := ctx.Deadline(); has && time.Until(dl) < wait {
				return false, nil
			}
		}
		return true, nil
	case http.StatusInternalServerError:
		return resend, nil
	}
	return false, nil
}

// NeverSent reports whether err proves the request never left: no
// connection was made, so the carrier cannot have seen it.
func NeverSent(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// Backoff honours Retry-After on 429/503 and otherwise waits an exponential
// time with full jitter, so many gateways do not retry in lockstep.
func Backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	return retryPolicy{now: time.Now}.backoff(min, max, attempt, resp)
}

func (p retryPolicy) backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if wait, ok := retryAfter(resp, p.now()); ok {
			if wait > max {
				wait = max
			}
			return wait
		}
	}
	ceil := min << attempt
	if ceil > max || ceil <= 0 {
		ceil = max
	}
	return min + rand.N(ceil-min+1)
}

// retryAfter is the wait a 429 or 503 asks for; ok is false for any other
// answer, or one without a readable Retry-After.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil || (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) {
		return 0, false
	}
	return retryAfterHeader(resp.Header, now)
}
