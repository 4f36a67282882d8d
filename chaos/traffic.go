package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// paymentMethod is an active one-tap payment method the traffic charges.
type paymentMethod struct {
	ID, Carrier string
}

// ledgerBook is what the traffic learned from definite answers: every
// accepted charge and refund, and the succeeded charges refunds draw from.
type ledgerBook struct {
	mu        sync.Mutex
	charges   map[string]string // accepted charge id → kind (one_tap, sms_code)
	carrierOf map[string]string
	succeeded []string // charges answered succeeded, candidates for a refund
	refunds   map[string]string
	refused   map[string]int // "422 merchant_limit_exceeded" → charges refused so
}

func newLedgerBook() *ledgerBook {
	return &ledgerBook{charges: map[string]string{}, carrierOf: map[string]string{}, refunds: map[string]string{}, refused: map[string]int{}}
}

func (b *ledgerBook) accept(id, kind, carrier, status string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.charges[id] = kind
	b.carrierOf[id] = carrier
	if status == "succeeded" {
		b.succeeded = append(b.succeeded, id)
	}
}

// counters are the traffic's figures.
type counters struct {
	chargesAttempted, chargesAccepted, chargesUnanswered atomic.Int64
	chargesDeclined                                      atomic.Int64 // definite 4xx: caps, declines, breaker-free refusals
	smsCharges, smsConfirmed, smsAbandoned               atomic.Int64
	refundsAttempted, refundsAccepted, refundsRefused    atomic.Int64
}

// traffic drives merchants' requests from several goroutines until ctx ends.
type traffic struct {
	c    *client
	seed uint64
	pms  []paymentMethod
	book *ledgerBook
	n    counters
	logf func(string, ...any)

	// paused holds new operations back while the test clock moves, and
	// inflight counts the operations under way: a clock tick waits for
	// them, so no charge is in flight while a week passes on the clock.
	paused   atomic.Bool
	inflight atomic.Int64
}

func (t *traffic) run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(t.seed, uint64(w)+1))
			for i := 0; ctx.Err() == nil; i++ {
				// Requests already sent finish after ctx ends (the merchant
				// keeps retrying them), so they run on their own context.
				work := context.WithoutCancel(ctx)
				for t.paused.Load() && ctx.Err() == nil {
					time.Sleep(50 * time.Millisecond)
				}
				if ctx.Err() != nil {
					break
				}
				t.inflight.Add(1)
				switch p := r.IntN(100); {
				case p < 55:
					t.oneTap(work, r, fmt.Sprintf("w%d-%d", w, i))
				case p < 75:
					t.smsCharge(work, r, fmt.Sprintf("w%d-%d", w, i))
				default:
					t.refund(work, r, fmt.Sprintf("w%d-%d", w, i))
				}
				t.inflight.Add(-1)
				select {
				case <-ctx.Done():
				case <-time.After(time.Duration(50+r.IntN(250)) * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
}

func (t *traffic) idem(kind, id string) string {
	return fmt.Sprintf("chaos-%d-%s-%s", t.seed, kind, id)
}

func amountFor(r *rand.Rand) int64 { return int64(1+r.IntN(5)) * 1000 }

func (t *traffic) oneTap(ctx context.Context, r *rand.Rand, id string) {
	pm := t.pms[r.IntN(len(t.pms))]
	t.n.chargesAttempted.Add(1)
	a, err := t.c.do(ctx, "POST", "/v1/charges", t.idem("ch", id), map[string]any{
		"amount": amountFor(r), "currency": "KRW", "payment_method": pm.ID, "description": "chaos one-tap"})
	t.settle(a, err, "one_tap", pm.Carrier)
}

// settle records a charge's definite answer.
func (t *traffic) settle(a answer, err error, kind, carrier string) string {
	switch {
	case err != nil:
		t.n.chargesUnanswered.Add(1)
		t.logf("charge (%s) unanswered: %v", kind, err)
		return ""
	case a.Status == 201 || a.Status == 200:
		t.n.chargesAccepted.Add(1)
		t.book.accept(a.str("id"), kind, carrier, a.str("status"))
		return a.str("id")
	default:
		t.n.chargesDeclined.Add(1)
		t.book.mu.Lock()
		t.book.refused[fmt.Sprintf("%d %s", a.Status, a.str("code"))]++
		t.book.mu.Unlock()
		return ""
	}
}

// testNumber is a Korean mobile number whose last four digits choose the
// simulator's outcome (0002 declined, 0005 answered later, 0006 billed but
// never answered, else success).
func testNumber(r *rand.Rand, last4 string) string {
	return fmt.Sprintf("+821055%02d%s", r.IntN(100), last4)
}

// outcomes weights the simulator's outcomes on fresh SMS-code numbers.
var outcomes = []string{"1111", "1111", "1111", "1111", "1111", "0002", "0005", "0006"}

func (t *traffic) smsCharge(ctx context.Context, r *rand.Rand, id string) {
	carrier := simCarriers[r.IntN(3)]
	number := testNumber(r, outcomes[r.IntN(len(outcomes))])
	t.n.chargesAttempted.Add(1)
	t.n.smsCharges.Add(1)
	a, err := t.c.do(ctx, "POST", "/v1/charges", t.idem("sms", id), map[string]any{
		"amount": amountFor(r), "currency": "KRW", "msisdn": number, "carrier": carrier, "description": "chaos sms"})
	ch := t.settle(a, err, "sms_code", carrier)
	if ch == "" || a.str("status") != "requires_confirmation" {
		return
	}
	code := t.code(ctx, number, ch)
	if code == "" {
		// The subscriber never got the code (a lost text): the merchant
		// gives up on the charge.
		t.n.smsAbandoned.Add(1)
		_, _ = t.c.do(ctx, "POST", "/v1/charges/"+ch+"/cancel", t.idem("cancel", id), map[string]any{})
		return
	}
	c, err := t.c.do(ctx, "POST", "/v1/charges/"+ch+"/confirm", t.idem("confirm", id), map[string]any{"code": code})
	if err != nil {
		t.logf("confirm %s unanswered: %v", ch, err)
		return
	}
	t.n.smsConfirmed.Add(1)
	if c.str("status") == "succeeded" {
		t.book.mu.Lock()
		t.book.succeeded = append(t.book.succeeded, ch)
		t.book.mu.Unlock()
	}
}

// code reads the subscriber's phone: the newest text with a code about the
// charge, within a bound.
func (t *traffic) code(ctx context.Context, number, ref string) string {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		a, err := t.c.do(ctx, "GET", "/v1/test_helpers/sms?msisdn="+url.QueryEscape(number), "", nil)
		if err == nil && a.Status == 200 {
			data, _ := a.Body["data"].([]any)
			for _, d := range data {
				m, _ := d.(map[string]any)
				if code, _ := m["code"].(string); code != "" && m["reference"] == ref {
					return code
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return ""
}

func (t *traffic) refund(ctx context.Context, r *rand.Rand, id string) {
	t.book.mu.Lock()
	if len(t.book.succeeded) == 0 {
		t.book.mu.Unlock()
		return
	}
	i := r.IntN(len(t.book.succeeded))
	ch := t.book.succeeded[i]
	carrier := t.book.carrierOf[ch]
	// A charge is refunded once by the traffic: drop it from the candidates.
	t.book.succeeded = append(t.book.succeeded[:i], t.book.succeeded[i+1:]...)
	t.book.mu.Unlock()
	body := map[string]any{"reason": "chaos"}
	if carrier != "kt" && r.IntN(2) == 0 { // kt refunds whole charges only
		body["amount"] = 500
	}
	t.n.refundsAttempted.Add(1)
	a, err := t.c.do(ctx, "POST", "/v1/charges/"+ch+"/refunds", t.idem("rf", id), body)
	switch {
	case err != nil:
		t.logf("refund of %s unanswered: %v", ch, err)
	case a.Status == 201 || a.Status == 200:
		t.n.refundsAccepted.Add(1)
		t.book.mu.Lock()
		t.book.refunds[a.str("id")] = ch
		t.book.mu.Unlock()
	default:
		t.n.refundsRefused.Add(1)
	}
}

// setupPaymentMethod makes an active one-tap payment method on number.
func setupPaymentMethod(ctx context.Context, c *client, number, carrier, idem string) (string, error) {
	a, err := c.do(ctx, "POST", "/v1/payment_methods", idem, map[string]any{"msisdn": number, "carrier": carrier})
	if err != nil {
		return "", err
	}
	if a.Status != 201 && a.Status != 200 {
		return "", fmt.Errorf("payment method: %d %s", a.Status, a.Raw)
	}
	pm := a.str("id")
	code, err := waitCode(ctx, c, number, pm)
	if err != nil {
		return "", err
	}
	act, err := c.do(ctx, "POST", "/v1/payment_methods/"+pm+"/confirm", idem+"-confirm", map[string]any{"code": code})
	if err != nil {
		return "", err
	}
	if act.str("status") != "active" {
		return "", fmt.Errorf("activate %s: %d %s", pm, act.Status, act.Raw)
	}
	return pm, nil
}

// setupSubscription makes an active weekly subscription on a payment method.
func setupSubscription(ctx context.Context, c *client, pm, number, idem string) (string, error) {
	a, err := c.do(ctx, "POST", "/v1/subscriptions", idem, map[string]any{
		"payment_method": pm, "amount": 2000, "currency": "KRW", "interval": "week", "description": "chaos weekly"})
	if err != nil {
		return "", err
	}
	if a.Status != 201 && a.Status != 200 {
		return "", fmt.Errorf("subscription: %d %s", a.Status, a.Raw)
	}
	sub := a.str("id")
	code, err := waitCode(ctx, c, number, sub)
	if err != nil {
		return "", err
	}
	act, err := c.do(ctx, "POST", "/v1/subscriptions/"+sub+"/confirm", idem+"-confirm", map[string]any{"code": code})
	if err != nil {
		return "", err
	}
	if act.str("status") != "active" {
		return "", fmt.Errorf("confirm %s: %d %s", sub, act.Status, act.Raw)
	}
	return sub, nil
}

func waitCode(ctx context.Context, c *client, number, ref string) (string, error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a, err := c.do(ctx, "GET", "/v1/test_helpers/sms?msisdn="+url.QueryEscape(number), "", nil)
		if err != nil {
			return "", err
		}
		data, _ := a.Body["data"].([]any)
		for _, d := range data {
			m, _ := d.(map[string]any)
			if code, _ := m["code"].(string); code != "" && m["reference"] == ref {
				return code, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return "", errors.New("no code texted for " + ref)
}
