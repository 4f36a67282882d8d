package carriers

import (
	"context"
	"errors"
	"fmt"
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
	// OnStateChange, if set, hears every move (for metrics and logs). It is
	// called with the breaker's lock held, so moves are heard in order; it
	// must not call back into the breaker.
	OnStateChange func(carrier string, to Health)
	// Now is the gateway's clock, on which OpenFor runs; nil is the wall
	// clock.
	Now func() time.Time
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

// halfOpenProbes is how many calls a half-open breaker lets through; that
// many successes in a row close it, one fault opens it again.
const halfOpenProbes = 3

// neverOnItsOwn is gobreaker's open timeout: longer than any process lives,
// so gobreaker never moves on its wall-clock timer; the breaker below
// decides when to probe, on the gateway's clock.
const neverOnItsOwn = 10 * 365 * 24 * time.Hour

// breaker is one carrier's circuit breaker. While it is closed, gobreaker
// counts outcomes in its rolling window and decides when to trip. How long
// it then stays open, and the half-open probing after, run on the injected
// clock, so a test that moves the clock decides when the carrier is tried
// again, and a slow machine does not.
//
// It counts carrier faults (not sent, no answer, 5xx, rate limited) and
// never a subscriber's decline or a wrong code, which are answers from a
// healthy carrier.
type breaker struct {
	name string
	s    BreakerSettings
	now  func() time.Time

	mu       sync.Mutex
	state    Health
	gen      uint64 // moves on every change of state; older news is ignored
	openedAt time.Time
	probes   uint32 // calls let through in this half-open spell
	passed   uint32 // of which succeeded
	counter  *gobreaker.CircuitBreaker[Result]
}

func newBreaker(name string, s BreakerSettings) *breaker {
	b := &breaker{name: name, s: s, now: orWallClock(s.Now), state: Available}
	b.counter = b.newCounter(b.gen)
	return b
}

// newCounter returns a fresh closed gobreaker for the closed spell gen.
func (b *breaker) newCounter(gen uint64) *gobreaker.CircuitBreaker[Result] {
	s := b.s
	return gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
		Name:         b.name,
		MaxRequests:  1,
		Interval:     s.Window,
		BucketPeriod: s.Window / 6,
		Timeout:      neverOnItsOwn,
		ReadyToTrip: func(n gobreaker.Counts) bool {
			return n.ConsecutiveFailures >= s.ConsecutiveFailures ||
				(n.Requests >= s.MinRequests && float64(n.TotalFailures) >= s.FailureRatio*float64(n.Requests))
		},
		IsSuccessful: func(err error) bool { return err == nil || !carrierFault(err) },
		IsExcluded:   func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			if to == gobreaker.StateOpen {
				b.trip(gen)
			}
		},
	})
}

// carrierFault says whether an error is the carrier's (or the network's)
// fault, the kind that should open the breaker.
func carrierFault(err error) bool {
	return errors.Is(err, ErrNotSent) || errors.Is(err, ErrOutcomeUnknown) ||
		errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRateLimited) ||
		errors.Is(err, context.DeadlineExceeded)
}

// move changes state and tells the listener. Callers hold b.mu.
func (b *breaker) move(to Health) {
	b.state = to
	b.gen++
	b.probes, b.passed = 0, 0
	switch to {
	case Unavailable:
		b.openedAt = b.now()
	case Available:
		b.counter = b.newCounter(b.gen)
	}
	if b.s.OnStateChange != nil {
		b.s.OnStateChange(b.name, to)
	}
}

// due moves an open breaker to half-open once OpenFor has passed on the
// clock. Callers hold b.mu.
func (b *breaker) due() {
	if b.state == Unavailable && !b.now().Before(b.openedAt.Add(b.s.OpenFor)) {
		b.move(Degraded)
	}
}

// trip opens the breaker when gobreaker's counts say so, unless the closed
// spell it counted for is already over.
func (b *breaker) trip(gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen == b.gen && b.state == Available {
		b.move(Unavailable)
	}
}

// health reports the state, moving to half-open when it is time.
func (b *breaker) health() Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.due()
	return b.state
}

// retryAfter is how long until an open breaker probes the carrier again.
func (b *breaker) retryAfter() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	left := b.openedAt.Add(b.s.OpenFor).Sub(b.now())
	if b.state != Unavailable || left < time.Second {
		return time.Second
	}
	return left
}

func (b *breaker) refuse() (Result, error) {
	return Result{}, &UnavailableError{RetryAfter: b.retryAfter(), Err: fmt.Errorf("%w: %w", ErrUnavailable, ErrBreakerOpen)}
}

// run makes one call through the breaker.
func (b *breaker) run(fn func() (Result, error)) (Result, error) {
	b.mu.Lock()
	b.due()
	switch b.state {
	case Unavailable:
		b.mu.Unlock()
		return b.refuse()
	case Degraded:
		if b.probes >= halfOpenProbes {
			b.mu.Unlock()
			return b.refuse()
		}
		b.probes++
		gen := b.gen
		b.mu.Unlock()
		res, err := fn()
		b.probed(gen, err)
		return res, err
	}
	counter := b.counter
	b.mu.Unlock()
	res, err := counter.Execute(fn)
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return b.refuse() // tripped by another call since the check above
	}
	return res, err
}

// probed records a half-open probe's outcome.
func (b *breaker) probed(gen uint64, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if gen != b.gen {
		return
	}
	switch {
	case errors.Is(err, context.Canceled):
		b.probes-- // the caller gave up: it says nothing about the carrier
	case err == nil || !carrierFault(err):
		b.passed++
		if b.passed >= halfOpenProbes {
			b.move(Available)
		}
	default:
		b.move(Unavailable)
	}
}
