package carriers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// GuardedCarrier is a carrier behind its circuit breaker. It offers exactly
// the optional interfaces (SMSSender, Authorizer, Canceler, WebhookParser,
// ReportSource) of the adapter behind it, so a type assertion on it tells
// the truth.
type GuardedCarrier interface {
	Carrier
	// Health reports the breaker's state.
	Health() Health
	// RetryAfter is how long until an open breaker probes the carrier again.
	RetryAfter() time.Duration
	// Unwrap returns the adapter behind the breaker.
	Unwrap() Carrier
}

// Guarded is the breaker decorator's core: the Carrier methods. Guard
// composes it with one small wrapper per optional interface the adapter has.
type Guarded struct {
	inner Carrier
	b     *breaker
}

var _ GuardedCarrier = (*Guarded)(nil)

// Guard puts a circuit breaker in front of c.
func Guard(c Carrier, s BreakerSettings) GuardedCarrier {
	g := &Guarded{inner: c, b: newBreaker(c.Name(), s)}
	var p parts
	if x, ok := c.(SMSSender); ok {
		p.mask |= hasSMS
		p.sms = guardedSMS{g, x}
	}
	if x, ok := c.(Authorizer); ok {
		p.mask |= hasAuthorizer
		p.auth = guardedAuthorizer{g, x}
	}
	if x, ok := c.(Canceler); ok {
		p.mask |= hasCanceler
		p.cancel = guardedCanceler{g, x}
	}
	if x, ok := c.(WebhookParser); ok {
		p.mask |= hasWebhooks
		p.hooks = guardedWebhooks{x}
	}
	if x, ok := c.(ReportSource); ok {
		p.mask |= hasReports
		p.reports = guardedReports{g, x}
	}
	return compose(g, p)
}

// parts are the optional wrappers Guard chose for one adapter.
type parts struct {
	mask    uint8
	sms     guardedSMS
	auth    guardedAuthorizer
	cancel  guardedCanceler
	hooks   guardedWebhooks
	reports guardedReports
}

// One bit per optional interface; compose (guard_compose.go) has one type
// per combination.
const (
	hasSMS uint8 = 1 << iota
	hasAuthorizer
	hasCanceler
	hasWebhooks
	hasReports
)

func (g *Guarded) Name() string               { return g.inner.Name() }
func (g *Guarded) Capabilities() Capabilities { return g.inner.Capabilities() }
func (g *Guarded) Health() Health             { return g.b.health() }
func (g *Guarded) RetryAfter() time.Duration  { return g.b.retryAfter() }
func (g *Guarded) Unwrap() Carrier            { return g.inner }

func (g *Guarded) Charge(ctx context.Context, r ChargeRequest) (Result, error) {
	ctx, uncertain := withUncertainty(ctx)
	return redacted(g.b.run(func() (Result, error) { return settle(g.inner.Charge(ctx, r))(uncertain.Load()) }))
}

func (g *Guarded) Refund(ctx context.Context, r RefundRequest) (Result, error) {
	ctx, uncertain := withUncertainty(ctx)
	return redacted(g.b.run(func() (Result, error) { return settle(g.inner.Refund(ctx, r))(uncertain.Load()) }))
}

func (g *Guarded) Status(ctx context.Context, ref Reference) (Result, error) {
	return redacted(g.b.run(func() (Result, error) { return g.inner.Status(ctx, ref) }))
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

// call runs fn, which has no Result of its own, through the breaker.
func (g *Guarded) call(fn func() error) error {
	_, err := g.b.run(func() (Result, error) { return Result{}, fn() })
	return redactError(err)
}

type guardedSMS struct {
	g *Guarded
	s SMSSender
}

func (w guardedSMS) SendSMS(ctx context.Context, m SMS) error {
	return w.g.call(func() error { return w.s.SendSMS(ctx, m) })
}

type guardedAuthorizer struct {
	g *Guarded
	a Authorizer
}

func (w guardedAuthorizer) Authorize(ctx context.Context, r AuthorizeRequest) (out Authorization, err error) {
	err = w.g.call(func() (err error) { out, err = w.a.Authorize(ctx, r); return err })
	return out, err
}

func (w guardedAuthorizer) Verify(ctx context.Context, r VerifyRequest) (out Authorization, err error) {
	err = w.g.call(func() (err error) { out, err = w.a.Verify(ctx, r); return err })
	return out, err
}

type guardedCanceler struct {
	g *Guarded
	c Canceler
}

func (w guardedCanceler) CancelAuthorization(ctx context.Context, id string) error {
	return w.g.call(func() error { return w.c.CancelAuthorization(ctx, id) })
}

// guardedWebhooks: verifying and parsing is local work; it does not pass
// the breaker.
type guardedWebhooks struct{ p WebhookParser }

func (w guardedWebhooks) ParseWebhook(h http.Header, body []byte, now time.Time) (Notification, error) {
	return w.p.ParseWebhook(h, body, now)
}

type guardedReports struct {
	g  *Guarded
	rs ReportSource
}

// FetchReport downloads a settlement file through the breaker: a carrier
// that is down for payments is down for files too, and a failing file
// server counts against it.
func (w guardedReports) FetchReport(ctx context.Context, businessDate string) (out io.ReadCloser, err error) {
	err = w.g.call(func() (err error) { out, err = w.rs.FetchReport(ctx, businessDate); return err })
	return out, err
}

// ParseReport is local work; it does not pass the breaker.
func (w guardedReports) ParseReport(r io.Reader, businessDate string) ReportReader {
	return w.rs.ParseReport(r, businessDate)
}

// Implements reports whether c offers the optional interface T. Every
// wrapper in this package offers exactly what its adapter does, so this is
// a type assertion (a plain c.(T) answers the same; use it when the
// value is needed too).
func Implements[T any](c Carrier) bool {
	_, ok := c.(T)
	return ok
}
