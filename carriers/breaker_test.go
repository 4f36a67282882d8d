package carriers_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/carriers"
)

// scripted is a carrier whose answers the test sets; the breaker's own
// logic is under test here, not a protocol.
type scripted struct {
	calls  atomic.Int64
	answer atomic.Value // func() (carriers.Result, error)
}

func (s *scripted) Name() string                        { return "x" }
func (s *scripted) Capabilities() carriers.Capabilities { return carriers.Capabilities{} }
func (s *scripted) Charge(context.Context, carriers.ChargeRequest) (carriers.Result, error) {
	s.calls.Add(1)
	return s.answer.Load().(func() (carriers.Result, error))()
}
func (s *scripted) Refund(context.Context, carriers.RefundRequest) (carriers.Result, error) {
	return carriers.Result{}, nil
}
func (s *scripted) Status(context.Context, carriers.Reference) (carriers.Result, error) {
	return carriers.Result{}, nil
}

func (s *scripted) set(res carriers.Result, err error) {
	s.answer.Store(func() (carriers.Result, error) { return res, err })
}

var breakerTest = carriers.BreakerSettings{OpenFor: 50 * time.Millisecond, ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, Window: time.Minute}

func TestDeclinesNeverOpenTheBreaker(t *testing.T) {
	in := &scripted{}
	g := carriers.Guard(in, breakerTest)
	in.set(carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureInsufficientBalance}, nil)
	for range 50 {
		_, _ = g.Charge(context.Background(), carriers.ChargeRequest{})
	}
	in.set(carriers.Result{}, fmt.Errorf("bad amount: %w", carriers.ErrInvalidRequest))
	for range 50 {
		_, _ = g.Charge(context.Background(), carriers.ChargeRequest{})
	}
	if g.Health() != carriers.Available || in.calls.Load() != 100 {
		t.Fatalf("health %s after %d calls", g.Health(), in.calls.Load())
	}
}

func TestCarrierFaultsOpenTheBreakerWhichFailsFastAndRecovers(t *testing.T) {
	for _, fault := range []error{carriers.ErrOutcomeUnknown, carriers.ErrNotSent, &carriers.UnavailableError{Err: carriers.ErrUnavailable}, carriers.ErrRateLimited} {
		t.Run(fault.Error(), func(t *testing.T) {
			in := &scripted{}
			var moves []carriers.Health
			s := breakerTest
			s.OnStateChange = func(_ string, to carriers.Health) { moves = append(moves, to) }
			g := carriers.Guard(in, s)
			in.set(carriers.Result{}, fmt.Errorf("charge: %w", fault))
			for range 5 {
				_, _ = g.Charge(context.Background(), carriers.ChargeRequest{})
			}
			if g.Health() != carriers.Unavailable {
				t.Fatalf("health %s after 5 faults", g.Health())
			}
			_, err := g.Charge(context.Background(), carriers.ChargeRequest{})
			var ue *carriers.UnavailableError
			if !errors.As(err, &ue) || !errors.Is(err, carriers.ErrBreakerOpen) || !errors.Is(err, carriers.ErrUnavailable) || ue.RetryAfter <= 0 {
				t.Fatalf("open breaker answered %v", err)
			}
			if in.calls.Load() != 5 {
				t.Fatalf("an open breaker let a call through: %d calls", in.calls.Load())
			}
			// The carrier comes back; after OpenFor the breaker probes and closes.
			in.set(carriers.Result{Outcome: carriers.OutcomeSucceeded}, nil)
			deadline := time.Now().Add(5 * time.Second)
			for g.Health() == carriers.Unavailable && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			for range 3 {
				if _, err := g.Charge(context.Background(), carriers.ChargeRequest{}); err != nil {
					t.Fatalf("probe: %v", err)
				}
			}
			if g.Health() != carriers.Available {
				t.Fatalf("health %s after the carrier came back", g.Health())
			}
			if len(moves) < 3 || moves[0] != carriers.Unavailable || moves[len(moves)-1] != carriers.Available {
				t.Fatalf("state changes %v", moves)
			}
		})
	}
}

func TestImplementsLooksThroughTheBreaker(t *testing.T) {
	g := carriers.Guard(&scripted{}, breakerTest)
	if carriers.Implements[carriers.Authorizer](g) || carriers.Implements[carriers.SMSSender](g) {
		t.Fatal("the breaker claims its carrier implements interfaces it does not")
	}
	if _, err := g.Authorize(context.Background(), carriers.AuthorizeRequest{}); !errors.Is(err, carriers.ErrUnsupported) {
		t.Fatalf("authorize through the breaker: %v", err)
	}
}

// BenchmarkOpenBreaker measures the refusal a merchant gets when a carrier
// is down: no I/O, a lock and an error.
func BenchmarkOpenBreaker(b *testing.B) {
	in := &scripted{}
	g := carriers.Guard(in, carriers.BreakerSettings{OpenFor: time.Hour, ConsecutiveFailures: 1, FailureRatio: 1, MinRequests: 1, Window: time.Hour})
	in.set(carriers.Result{}, carriers.ErrNotSent)
	_, _ = g.Charge(context.Background(), carriers.ChargeRequest{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Charge(context.Background(), carriers.ChargeRequest{}); err == nil {
			b.Fatal("open breaker let a call through")
		}
	}
}
