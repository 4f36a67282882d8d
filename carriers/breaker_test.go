package carriers_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
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

var breakerTest = carriers.BreakerSettings{OpenFor: 5 * time.Second, ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20, Window: time.Minute}

// testClock is the gateway's clock in a test: it moves only when told.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestClock() *testClock { return &testClock{t: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)} }

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
			clk := newTestClock()
			s := breakerTest
			s.Now = clk.Now
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
			if !errors.As(err, &ue) || !errors.Is(err, carriers.ErrBreakerOpen) || !errors.Is(err, carriers.ErrUnavailable) || ue.RetryAfter != breakerTest.OpenFor {
				t.Fatalf("open breaker answered %v, want unavailable for %s", err, breakerTest.OpenFor)
			}
			if in.calls.Load() != 5 {
				t.Fatalf("an open breaker let a call through: %d calls", in.calls.Load())
			}
			// The carrier comes back. Until OpenFor has passed on the
			// gateway's clock, however long that takes in real time, the
			// breaker stays open.
			in.set(carriers.Result{Outcome: carriers.OutcomeSucceeded}, nil)
			clk.Advance(breakerTest.OpenFor - 2*time.Second)
			if _, err := g.Charge(context.Background(), carriers.ChargeRequest{}); !errors.As(err, &ue) || ue.RetryAfter != 2*time.Second || in.calls.Load() != 5 {
				t.Fatalf("breaker before OpenFor: %v after %d calls, want refused with 2s to go", err, in.calls.Load())
			}
			clk.Advance(2 * time.Second)
			if g.Health() != carriers.Degraded {
				t.Fatalf("health %s once OpenFor passed, want degraded", g.Health())
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

func TestAHalfOpenBreakerReopensOnAFaultyProbe(t *testing.T) {
	in := &scripted{}
	clk := newTestClock()
	s := breakerTest
	s.Now = clk.Now
	g := carriers.Guard(in, s)
	in.set(carriers.Result{}, carriers.ErrNotSent)
	for range 5 {
		_, _ = g.Charge(context.Background(), carriers.ChargeRequest{})
	}
	clk.Advance(s.OpenFor)
	if _, err := g.Charge(context.Background(), carriers.ChargeRequest{}); !errors.Is(err, carriers.ErrNotSent) || in.calls.Load() != 6 {
		t.Fatalf("probe: %v after %d calls, want the carrier's own fault on call 6", err, in.calls.Load())
	}
	if g.Health() != carriers.Unavailable || g.RetryAfter() != s.OpenFor {
		t.Fatalf("after a failed probe: %s, retry after %s; want open for %s again", g.Health(), g.RetryAfter(), s.OpenFor)
	}
}

// plain is an adapter with no optional interface at all.
type plain struct{ scripted }

// full has every optional interface.
type full struct{ scripted }

func (*full) SendSMS(context.Context, carriers.SMS) error { return nil }
func (*full) Authorize(context.Context, carriers.AuthorizeRequest) (carriers.Authorization, error) {
	return carriers.Authorization{ID: "a1"}, nil
}
func (*full) Verify(context.Context, carriers.VerifyRequest) (carriers.Authorization, error) {
	return carriers.Authorization{}, nil
}
func (*full) CancelAuthorization(context.Context, string) error { return nil }
func (*full) ParseWebhook(http.Header, []byte, time.Time) (carriers.Notification, error) {
	return carriers.Notification{}, nil
}
func (*full) FetchReport(context.Context, string) (io.ReadCloser, error) { return nil, nil }
func (*full) ParseReport(io.Reader, string) carriers.ReportReader        { return nil }

func TestTheBreakerClaimsOnlyWhatItsAdapterDoes(t *testing.T) {
	g := carriers.Guard(&plain{}, breakerTest)
	if _, ok := g.(carriers.Authorizer); ok {
		t.Error("a guarded adapter without Authorizer satisfies carriers.Authorizer")
	}
	if carriers.Implements[carriers.SMSSender](g) || carriers.Implements[carriers.Canceler](g) ||
		carriers.Implements[carriers.WebhookParser](g) || carriers.Implements[carriers.ReportSource](g) {
		t.Error("the breaker claims interfaces its adapter does not have")
	}
	f := carriers.Guard(&full{}, breakerTest)
	a, ok := f.(carriers.Authorizer)
	if !ok || !carriers.Implements[carriers.SMSSender](f) || !carriers.Implements[carriers.Canceler](f) ||
		!carriers.Implements[carriers.WebhookParser](f) || !carriers.Implements[carriers.ReportSource](f) {
		t.Fatal("the breaker hides interfaces its adapter has")
	}
	if auth, err := a.Authorize(context.Background(), carriers.AuthorizeRequest{}); err != nil || auth.ID != "a1" {
		t.Fatalf("authorize through the breaker: %+v, %v", auth, err)
	}
}

func TestBuildRefusesCapabilitiesItsAdapterCannotKeep(t *testing.T) {
	carriers.RegisterProtocol("test-plain", func(s carriers.Settings) (carriers.Carrier, error) {
		return &declared{caps: s.Capabilities}, nil
	})
	for name, caps := range map[string]carriers.Capabilities{
		"carrier confirms": {CarrierConfirms: true},
		"async":            {Async: true},
		"sms code":         {ConfirmationMethods: []string{"sms_code"}},
	} {
		if _, err := carriers.Build("test-plain", carriers.Settings{Name: "x", Capabilities: caps}); err == nil {
			t.Errorf("%s: built an adapter that cannot do what it declares", name)
		}
	}
	if _, err := carriers.Build("test-plain", carriers.Settings{Name: "x", Capabilities: carriers.Capabilities{ConfirmationMethods: []string{"payment_method"}}}); err != nil {
		t.Errorf("plain capabilities: %v", err)
	}
}

// declared is a plain adapter whose capabilities the test declares.
type declared struct {
	scripted
	caps carriers.Capabilities
}

func (d *declared) Capabilities() carriers.Capabilities { return d.caps }

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
