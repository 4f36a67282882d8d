// Package carrierfake is an in-process carrier for the tests of packages
// that call carriers (billing and its app layer): it answers at once, as
// the test chooses, sends SMS to an outbox, and keeps its own books, so a
// test can check what the carrier billed rather than what the gateway
// believes. Protocol behaviour is carriertest's and the simulator's job.
package carrierfake

import (
	"context"
	"strings"
	"sync"
	"time"

	"tollgate/carriers"
)

// Carrier is a simulated KR carrier that bills whatever it is asked to
// unless the test says otherwise.
type Carrier struct {
	name string

	mu       sync.Mutex
	caps     carriers.Capabilities
	answer   func(carriers.ChargeRequest) (carriers.Result, error) // nil: bill it
	refundAs func(carriers.RefundRequest) (carriers.Result, error) // nil: refund it
	status   func(carriers.Reference) (carriers.Result, error)     // nil: from the books
	billed   map[string]int64                                      // charge reference → amount
	times    map[string]int                                        // charge reference → billings
	refunded map[string]int64                                      // charge reference → amount
	charges  int
	sms      []carriers.SMS
	smsErr   error // when set, SendSMS fails with it and sends nothing
}

var (
	_ carriers.Carrier   = (*Carrier)(nil)
	_ carriers.SMSSender = (*Carrier)(nil)
)

// New returns a carrier serving KR in KRW, ₩100 to ₩500,000 a charge,
// partial refunds within 30 days, codes sent by the gateway.
func New(name string) *Carrier {
	return &Carrier{name: name, billed: map[string]int64{}, times: map[string]int{}, refunded: map[string]int64{}, caps: carriers.Capabilities{
		Currencies: []string{"KRW"}, MinAmount: 100, MaxAmount: 500_000, PartialRefunds: true, Country: "KR",
		ConfirmationMethods: []string{"sms_code", "payment_method"},
		RefundWindow:        carriers.RefundWindow{Kind: "days", Days: 30},
	}}
}

// Name is the carrier's name.
func (f *Carrier) Name() string { return f.name }

// Capabilities are what the carrier declares.
func (f *Carrier) Capabilities() carriers.Capabilities {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.caps
}

// SetCapabilities changes what the carrier declares.
func (f *Carrier) SetCapabilities(edit func(*carriers.Capabilities)) {
	f.mu.Lock()
	edit(&f.caps)
	f.mu.Unlock()
}

// Charge bills the request, or answers as SetAnswer says.
func (f *Carrier) Charge(_ context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	f.mu.Lock()
	f.charges++
	answer := f.answer
	f.mu.Unlock()
	// The answer runs unlocked: a test may hold a charge in it.
	res, err := carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + r.Reference}, error(nil)
	if answer != nil {
		res, err = answer(r)
	}
	if err == nil && res.Outcome == carriers.OutcomeSucceeded {
		f.mu.Lock()
		f.billed[r.Reference] = r.Amount
		f.times[r.Reference]++
		f.mu.Unlock()
	}
	return res, err
}

// Refund refunds the request, or answers as SetRefundAnswer says.
func (f *Carrier) Refund(_ context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	f.mu.Lock()
	refundAs := f.refundAs
	f.mu.Unlock()
	if refundAs != nil {
		return refundAs(r) // unlocked, as for charges
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refunded[r.ChargeReference] += r.Amount
	return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + r.Reference}, nil
}

// Status answers from the books, or as SetStatus says.
func (f *Carrier) Status(_ context.Context, ref carriers.Reference) (carriers.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != nil {
		return f.status(ref)
	}
	if _, ok := f.billed[ref.ClientReference]; ok {
		return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + ref.ClientReference}, nil
	}
	return carriers.Result{}, carriers.ErrNotFound
}

// SendSMS puts the message in the outbox, or fails as SetSMSError says.
func (f *Carrier) SendSMS(_ context.Context, m carriers.SMS) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.smsErr != nil {
		return f.smsErr
	}
	f.sms = append(f.sms, m)
	return nil
}

// SetSMSError makes every SMS fail with err (nil: send them again).
func (f *Carrier) SetSMSError(err error) {
	f.mu.Lock()
	f.smsErr = err
	f.mu.Unlock()
}

// SetAnswer changes how charges are answered (nil: bill them).
func (f *Carrier) SetAnswer(fn func(carriers.ChargeRequest) (carriers.Result, error)) {
	f.mu.Lock()
	f.answer = fn
	f.mu.Unlock()
}

// SetRefundAnswer changes how refunds are answered (nil: refund them).
func (f *Carrier) SetRefundAnswer(fn func(carriers.RefundRequest) (carriers.Result, error)) {
	f.mu.Lock()
	f.refundAs = fn
	f.mu.Unlock()
}

// SetStatus changes how status queries are answered (nil: from the books).
func (f *Carrier) SetStatus(fn func(carriers.Reference) (carriers.Result, error)) {
	f.mu.Lock()
	f.status = fn
	f.mu.Unlock()
}

// Bill records a billing the gateway never heard about (a lost answer).
func (f *Carrier) Bill(reference string, amount int64) {
	f.mu.Lock()
	f.billed[reference] = amount
	f.times[reference]++
	f.mu.Unlock()
}

// BilledTwice lists the references the carrier billed more than once: a
// double charge, the worst bug there is.
func (f *Carrier) BilledTwice() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for ref, n := range f.times {
		if n > 1 {
			out = append(out, ref)
		}
	}
	return out
}

// Billed is what the carrier billed for a charge reference.
func (f *Carrier) Billed(reference string) (int64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.billed[reference]
	return n, ok
}

// Refunded is what the carrier refunded of a charge reference.
func (f *Carrier) Refunded(reference string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refunded[reference]
}

// RefundedAny says whether the carrier refunded anything at all.
func (f *Carrier) RefundedAny() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.refunded) > 0
}

// ChargeCalls is how many charges the carrier was asked for.
func (f *Carrier) ChargeCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.charges
}

// Outbox is every SMS sent, oldest first.
func (f *Carrier) Outbox() []carriers.SMS {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]carriers.SMS(nil), f.sms...)
}

// LastCode is the code in the newest SMS ("" when none was sent): the
// gateway's messages start with it.
func (f *Carrier) LastCode() string {
	out := f.Outbox()
	if len(out) == 0 {
		return ""
	}
	code, _, _ := strings.Cut(out[len(out)-1].Body, " ")
	return code
}

// Set is a carrier registry of fakes whose breakers the test opens.
type Set struct {
	mu      sync.Mutex
	byName  map[string]carriers.Carrier
	down    map[string]bool
	retryIn time.Duration
}

// NewSet holds the given carriers, all available.
func NewSet(cs ...carriers.Carrier) *Set {
	s := &Set{byName: map[string]carriers.Carrier{}, down: map[string]bool{}, retryIn: 3 * time.Second}
	for _, c := range cs {
		s.byName[c.Name()] = c
	}
	return s
}

// Get returns a carrier by name.
func (s *Set) Get(n string) (carriers.Carrier, bool) { c, ok := s.byName[n]; return c, ok }

// Simulated is true: fakes serve test keys.
func (s *Set) Simulated(string) bool { return true }

// Names lists the carriers.
func (s *Set) Names() []string {
	var out []string
	for n := range s.byName {
		out = append(out, n)
	}
	return out
}

// Available is false, with 3 s to wait, while the test holds n down.
func (s *Set) Available(n string) (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down[n] {
		return false, s.retryIn
	}
	return true, 0
}

// Health follows Available.
func (s *Set) Health(n string) carriers.Health {
	if ok, _ := s.Available(n); ok {
		return carriers.Available
	}
	return carriers.Unavailable
}

// SetDown opens (true) or closes (false) n's breaker.
func (s *Set) SetDown(n string, down bool) {
	s.mu.Lock()
	s.down[n] = down
	s.mu.Unlock()
}
