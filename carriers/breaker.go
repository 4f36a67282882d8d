package carriers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerSettings tune the circuit breaker in front of each carrier.
type BreakerSettings struct {
	// OpenFor is how long an open breaker refuses calls before letting a
	// few through to see whether the carrier is back.
	OpenFor time.Duration
	// ConsecutiveFailures trips the breaker on its own.
	ConsecutiveFailures uint32
	// FailureRatio over at least MinRequests in Window trips it too.
	FailureRatio float64
	MinRequests  uint32
	Window       time.Duration
	// OnStateChange, if set, hears every move (for metrics and logs).
	OnStateChange func(carrier string, to Health)
}

// DefaultBreakerSettings: open after 5 straight carrier faults or half of
// 20+ calls within 30 s failing; probe again after 5 s.
var DefaultBreakerSettings = BreakerSettings{OpenFor: 5 * time.Second, ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, Window: 30 * time.Second}

// Health is a carrier connection's state as GET /v1/carriers shows it.
type Health string

const (
	Available   Health = "available"
	Degraded    Health = "degraded" // half-open: probing whether it is back
	Unavailable Health = "unavailable"
)

// ErrBreakerOpen marks a call refused without reaching the carrier.
var ErrBreakerOpen = errors.New("carrier circuit breaker open")

// Guarded puts a circuit breaker in front of a carrier. It counts carrier
// faults (not sent, no answer, 5xx, rate limited) and never a subscriber's
// decline or a wrong code, which are answers from a healthy carrier.
type Guarded struct {
	inner   Carrier
	cb      *gobreaker.CircuitBreaker[Result]
	openFor time.Duration

	mu       sync.Mutex
	openedAt time.Time
}

var (
	_ Carrier       = (*Guarded)(nil)
	_ SMSSender     = (*Guarded)(nil)
	_ Authorizer    = (*Guarded)(nil)
	_ Canceler      = (*Guarded)(nil)
	_ WebhookParser = (*Guarded)(nil)
	_ ReportSource  = (*Guarded)(nil)
)

// Guard wraps c with a breaker.
func Guard(c Carrier, s BreakerSettings) *Guarded {
	g := &Guarded{inner: c, openFor: s.OpenFor}
	g.cb = gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
		Name:         c.Name(),
		MaxRequests:  3,
		Interval:     s.Window,
		BucketPeriod: s.Window / 6,
		Timeout:      s.OpenFor,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.ConsecutiveFailures >= s.ConsecutiveFailures ||
				(n.Requests >= s.MinRequests && float64(n.TotalFailures) >= s.FailureRatio*float64(n.Requests))
		},
		IsSuccessful: func(err error) bool { return err == nil || !carrierFault(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				g.mu.Lock()
				g.openedAt = time.Now()
				g.mu.Unlock()
			}
			if s.OnStateChange != nil {
				s.OnStateChange(c.Name(), healthOf(to))
			}
		},
	})
	return g
}

// carrierFault says whether an error is the carrier's (or the network's)
// fault, the kind that should open the breaker.
func carrierFault(err error) bool {
	return errors.Is(err, ErrNotSent) || errors.Is(err, ErrOutcomeUnknown) ||
		errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, context.DeadlineExceeded)
}

func healthOf(s gobreaker.State) Health {
	switch s {
	case gobreaker.StateOpen:
		return Unavailable
	case gobreaker.StateHalfOpen:
		return Degraded
	}
	return Available
}

// Health reports the breaker's state.
func (g *Guarded) Health() Health { return healthOf(g.cb.State()) }

// RetryAfter is how long until an open breaker probes the carrier again.
func (g *Guarded) RetryAfter() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	left := time.Until(g.openedAt.Add(g.openFor))
	if left < time.Second {
		return time.Second
	}
	return left
}

// Unwrap returns the adapter behind the breaker.
func (g *Guarded) Unwrap() Carrier { return g.inner }

func (g *Guarded) run(fn func() (Result, error)) (Result, error) {
	res, err := g.cb.Execute(fn)
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return Result{}, &UnavailableError{RetryAfter: g.RetryAfter(), Err: fmt.Errorf("%w: %w", ErrUnavailable, ErrBreakerOpen)}
	}
	return res, err
}

func (g *Guarded) Name() string               { return g.inner.Name() }
func (g *Guarded) Capabilities() Capabilities { return g.inner.Capabilities() }

func (g *Guarded) Charge(ctx context.Context, r ChargeRequest) (Result, error) {
	ctx, uncertain := withUncertainty(ctx)
	return g.run(func() (Result, error) { return settle(g.inner.Charge(ctx, r))(uncertain.Load()) })
}

func (g *Guarded) Refund(ctx context.Context, r RefundRequest) (Result, error) {
	ctx, uncertain := withUncertainty(ctx)
	return g.run(func() (Result, error) { return settle(g.inner.Refund(ctx, r))(uncertain.Load()) })
}

// settle: when an earlier try of the same operation may have reached the
// carrier, the last try's answer speaks only for itself. Anything but a
// success ("503, nothing done", "404", "400 correlator reused", even a
// decline caused by the first try's charge) leaves the outcome unknown, for
// the status query to settle.
func settle(res Result, err error) func(uncertain bool) (Result, error) {
	return func(uncertain bool) (Result, error) {
		if !uncertain || errors.Is(err, ErrOutcomeUnknown) {
			return res, err
		}
		if err != nil {
			return Result{}, fmt.Errorf("%w: an earlier try may have reached the carrier; the last one answered: %v", ErrOutcomeUnknown, err)
		}
		if res.Outcome == OutcomeDeclined {
			return Result{}, fmt.Errorf("%w: an earlier try may have reached the carrier; the last one was declined (%s)", ErrOutcomeUnknown, res.DeclineCode)
		}
		return res, nil
	}
}

func (g *Guarded) Status(ctx context.Context, ref Reference) (Result, error) {
	return g.run(func() (Result, error) { return g.inner.Status(ctx, ref) })
}

func (g *Guarded) SendSMS(ctx context.Context, m SMS) error {
	s, ok := g.inner.(SMSSender)
	if !ok {
		return fmt.Errorf("carrier %s: SMS: %w", g.Name(), ErrUnsupported)
	}
	_, err := g.run(func() (Result, error) { return Result{}, s.SendSMS(ctx, m) })
	return err
}

func (g *Guarded) Authorize(ctx context.Context, r AuthorizeRequest) (Authorization, error) {
	a, ok := g.inner.(Authorizer)
	if !ok {
		return Authorization{}, fmt.Errorf("carrier %s: authorize: %w", g.Name(), ErrUnsupported)
	}
	var out Authorization
	_, err := g.run(func() (Result, error) {
		var err error
		out, err = a.Authorize(ctx, r)
		return Result{}, err
	})
	return out, err
}

func (g *Guarded) Verify(ctx context.Context, r VerifyRequest) (Authorization, error) {
	a, ok := g.inner.(Authorizer)
	if !ok {
		return Authorization{}, fmt.Errorf("carrier %s: verify: %w", g.Name(), ErrUnsupported)
	}
	var out Authorization
	_, err := g.run(func() (Result, error) {
		var err error
		out, err = a.Verify(ctx, r)
		return Result{}, err
	})
	return out, err
}

func (g *Guarded) CancelAuthorization(ctx context.Context, id string) error {
	c, ok := g.inner.(Canceler)
	if !ok {
		return nil // nothing held, nothing to release
	}
	_, err := g.run(func() (Result, error) { return Result{}, c.CancelAuthorization(ctx, id) })
	return err
}

// ParseWebhook is local work (verify and parse); it does not pass the breaker.
func (g *Guarded) ParseWebhook(h http.Header, body []byte, now time.Time) (Notification, error) {
	p, ok := g.inner.(WebhookParser)
	if !ok {
		return Notification{}, fmt.Errorf("carrier %s: webhooks: %w", g.Name(), ErrUnsupported)
	}
	return p.ParseWebhook(h, body, now)
}

// FetchReport downloads a settlement file through the breaker: a carrier
// that is down for payments is down for files too, and a failing file
// server counts against it.
func (g *Guarded) FetchReport(ctx context.Context, businessDate string) (io.ReadCloser, error) {
	rs, ok := g.inner.(ReportSource)
	if !ok {
		return nil, fmt.Errorf("carrier %s: settlement files: %w", g.Name(), ErrUnsupported)
	}
	var out io.ReadCloser
	_, err := g.run(func() (Result, error) {
		var err error
		out, err = rs.FetchReport(ctx, businessDate)
		return Result{}, err
	})
	return out, err
}

// ParseReport is local work; it does not pass the breaker.
func (g *Guarded) ParseReport(r io.Reader, businessDate string) ReportReader {
	rs, ok := g.inner.(ReportSource)
	if !ok {
		return errReader{fmt.Errorf("carrier %s: settlement files: %w", g.Name(), ErrUnsupported)}
	}
	return rs.ParseReport(r, businessDate)
}

type errReader struct{ err error }

func (e errReader) Next() (ReportLine, error) { return ReportLine{}, e.err }

// Implements reports whether the adapter behind c (through any wrappers)
// implements the optional interface T; wrappers implement every optional
// interface, so a type assertion on them alone would say yes for all.
func Implements[T any](c Carrier) bool {
	for {
		u, ok := c.(interface{ Unwrap() Carrier })
		if !ok {
			break
		}
		c = u.Unwrap()
	}
	_, ok := c.(T)
	return ok
}
