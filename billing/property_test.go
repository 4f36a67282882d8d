package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"pgregory.net/rapid"

	"tollgate/carriers"
	"tollgate/internal/problem"
	"tollgate/internal/store"
)

// Property tests: random sequences of what merchants, subscribers, carriers
// and time do to charges keep the state machine legal and the books whole
// after every step. Each run of the property gets a fresh store (SQLite:
// a copy of one migrated file) with a manual clock; the jobs a step would
// leave to the queue (status queries, expiries) are worked by steps of
// their own, as the queue would, in any order the generator picks.
//
// Hooks for what is being built now: cashback (spend a balance on a
// one-tap charge, expiry) and subscription renewals (a renewal job on the
// clock, past_due retries) become more actions in machine.actions; the
// invariants stay as they are, plus "no period billed twice" for renewals.

// carrierMode is what the carrier does with the next request.
type carrierMode string

const (
	carrierOK      carrierMode = "ok"
	carrierDecline carrierMode = "decline"
	carrierUnknown carrierMode = "unknown" // sent, no answer: the status job decides
)

var carrierModes = []carrierMode{carrierOK, carrierDecline, carrierUnknown}

func (m carrierMode) charge(r carriers.ChargeRequest) (carriers.Result, error) {
	switch m {
	case carrierDecline:
		return carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "denied"}, nil
	case carrierUnknown:
		return carriers.Result{}, fmt.Errorf("read answer: %w", carriers.ErrOutcomeUnknown)
	}
	return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + r.Reference}, nil
}

// machine is one run: the service under test and what the test has seen.
type machine struct {
	s      *Service
	b      *testBundle
	pm     string            // an active one-tap payment method
	seen   map[string]Status // each charge's status when last looked at
	order  []string          // charge ids, oldest first
	refund []string          // refund ids
}

func (m *machine) ctx() context.Context { return context.Background() }

// wantOK fails unless err is nil or a problem with a 4xx status: a refused
// request is fine, an internal error never is.
func wantOK(rt *rapid.T, what string, err error) bool {
	if err == nil {
		return true
	}
	var p *problem.Problem
	if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 {
		rt.Fatalf("%s: %v (want success or a 4xx problem)", what, err)
	}
	return false
}

func (m *machine) track(ch *Charge) {
	if _, ok := m.seen[ch.ID]; !ok {
		m.order = append(m.order, ch.ID)
		m.seen[ch.ID] = ch.Status
	}
}

// pick draws one tracked charge whose current status is one of want.
func (m *machine) pick(rt *rapid.T, want ...Status) *Charge {
	var ids []string
	for _, id := range m.order {
		if slices.Contains(want, m.seen[id]) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		rt.Skip("no charge in", want)
	}
	id := rapid.SampledFrom(ids).Draw(rt, "charge")
	var ch Charge
	if err := m.b.store.DB.Where("id = ?", id).Take(&ch).Error; err != nil {
		rt.Fatal(err)
	}
	return &ch
}

// codeFor is the newest code texted about a charge.
func (m *machine) codeFor(id string) string {
	out := m.b.carrier.Outbox()
	for i := len(out) - 1; i >= 0; i-- {
		if out[i].Reference == id {
			code, _, _ := strings.Cut(out[i].Body, " ")
			return code
		}
	}
	return ""
}

func (m *machine) withCarrier(mode carrierMode, fn func()) {
	m.b.carrier.SetAnswer(mode.charge)
	defer m.b.carrier.SetAnswer(nil)
	fn()
}

func (m *machine) actions() map[string]func(*rapid.T) {
	return map[string]func(*rapid.T){
		"sms charge": func(rt *rapid.T) {
			amount := rapid.Int64Range(100, 30000).Draw(rt, "amount")
			ch, err := m.s.CreateCharge(m.ctx(), m.b.merchant, newKey(), krw(amount))
			if wantOK(rt, "create", err) {
				m.track(ch)
			}
		},
		"one-tap charge": func(rt *rapid.T) {
			amount := rapid.Int64Range(100, 30000).Draw(rt, "amount")
			mode := rapid.SampledFrom(carrierModes).Draw(rt, "carrier")
			m.withCarrier(mode, func() {
				ch, err := m.s.CreateCharge(m.ctx(), m.b.merchant, newKey(),
					ChargeParams{Amount: i64(amount), Currency: "KRW", PaymentMethod: m.pm, Description: "gems"})
				if wantOK(rt, "one-tap", err) {
					m.track(ch)
				}
			})
		},
		"confirm": func(rt *rapid.T) {
			ch := m.pick(rt, StatusRequiresConfirmation)
			code := m.codeFor(ch.ID)
			if rapid.Bool().Draw(rt, "wrong code") {
				code = strings.Repeat("9", len(code)) // not a code the generator makes twice in a row
				if code == m.codeFor(ch.ID) {
					code = strings.Repeat("8", len(code))
				}
			}
			mode := rapid.SampledFrom(carrierModes).Draw(rt, "carrier")
			m.withCarrier(mode, func() {
				_, err := m.s.ConfirmCharge(m.ctx(), m.b.merchant, ch.ID, code)
				wantOK(rt, "confirm", err)
			})
		},
		"cancel": func(rt *rapid.T) {
			ch := m.pick(rt, AllStatuses...)
			_, err := m.s.CancelCharge(m.ctx(), m.b.merchant, ch.ID)
			if ok := wantOK(rt, "cancel", err); ok != (m.seen[ch.ID] == StatusRequiresConfirmation) {
				rt.Fatalf("cancel of a %s charge: %v", m.seen[ch.ID], err)
			}
		},
		"codes expire": func(rt *rapid.T) {
			m.b.clock.Advance(m.s.cfg.CodeTTL + time.Second)
			for _, id := range m.order {
				if m.seen[id] != StatusRequiresConfirmation {
					continue
				}
				err := (&chargeExpiryWorker{s: m.s}).Work(m.ctx(), &river.Job[ChargeExpiryArgs]{Args: ChargeExpiryArgs{ChargeID: id}})
				if err != nil {
					rt.Fatalf("expiry of %s: %v", id, err)
				}
			}
		},
		"status query": func(rt *rapid.T) {
			ch := m.pick(rt, StatusProcessing)
			billed := rapid.Bool().Draw(rt, "the carrier had billed it")
			if billed {
				if _, ok := m.b.carrier.Billed(ch.ID); !ok {
					m.b.carrier.Bill(ch.ID, ch.Amount)
				}
			}
			if rapid.Bool().Draw(rt, "after the grace period") {
				m.b.clock.Advance(m.s.statusDelay() + notSeenAfter + time.Second)
			}
			err := (&chargeStatusWorker{s: m.s}).Work(m.ctx(), &river.Job[ChargeStatusArgs]{Args: ChargeStatusArgs{ChargeID: ch.ID}})
			var snooze *river.JobSnoozeError
			if err != nil && !errors.As(err, &snooze) {
				rt.Fatalf("status job: %v", err)
			}
		},
		"refund": func(rt *rapid.T) {
			ch := m.pick(rt, StatusSucceeded, StatusPartiallyRefunded)
			var amount *int64
			if rapid.Bool().Draw(rt, "partial") {
				amount = i64(rapid.Int64Range(1, ch.Amount).Draw(rt, "amount"))
			}
			mode := rapid.SampledFrom(carrierModes).Draw(rt, "carrier")
			m.b.carrier.SetRefundAnswer(func(r carriers.RefundRequest) (carriers.Result, error) {
				switch mode {
				case carrierDecline:
					return carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "denied"}, nil
				case carrierUnknown:
					return carriers.Result{}, carriers.ErrOutcomeUnknown
				}
				m.b.carrier.Bill(r.Reference, r.Amount) // the carrier's books: status queries find it
				return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + r.Reference}, nil
			})
			defer m.b.carrier.SetRefundAnswer(nil)
			rf, err := m.s.CreateRefund(m.ctx(), m.b.merchant, ch.ID, newKey(), RefundParams{Amount: amount})
			if wantOK(rt, "refund", err) {
				m.refund = append(m.refund, rf.ID)
			}
		},
		"refund status query": func(rt *rapid.T) {
			var pending []string
			for _, id := range m.refund {
				var st RefundStatus
				m.b.store.DB.Raw(`SELECT status FROM refunds WHERE id = ?`, id).Scan(&st)
				if st == RefundPending {
					pending = append(pending, id)
				}
			}
			if len(pending) == 0 {
				rt.Skip("no pending refund")
			}
			id := rapid.SampledFrom(pending).Draw(rt, "refund")
			if rapid.Bool().Draw(rt, "the carrier had refunded it") {
				var amount int64
				m.b.store.DB.Raw(`SELECT amount FROM refunds WHERE id = ?`, id).Scan(&amount)
				if _, ok := m.b.carrier.Billed(id); !ok {
					m.b.carrier.Bill(id, amount)
				}
			}
			if rapid.Bool().Draw(rt, "after the grace period") {
				m.b.clock.Advance(m.s.statusDelay() + notSeenAfter + time.Second)
			}
			err := (&refundStatusWorker{s: m.s}).Work(m.ctx(), &river.Job[RefundStatusArgs]{Args: RefundStatusArgs{RefundID: id}})
			var snooze *river.JobSnoozeError
			if err != nil && !errors.As(err, &snooze) {
				rt.Fatalf("refund status job: %v", err)
			}
		},
		"": m.check,
	}
}

// reachable reports whether the state machine's table leads from one
// status to another in zero or more moves (one step may make several:
// a confirm that the carrier answers at once).
func reachable(from, to Status) bool {
	seen := map[Status]bool{from: true}
	todo := []Status{from}
	for len(todo) > 0 {
		s := todo[0]
		todo = todo[1:]
		if s == to {
			return true
		}
		for _, n := range transitions[s] {
			if !seen[n] {
				seen[n] = true
				todo = append(todo, n)
			}
		}
	}
	return false
}

// check is run after every step: every charge moved only along the state
// machine; every posting and every currency's ledger sums to zero; a
// settled charge's receivable is what is left of it; the carrier billed
// every succeeded charge once and no failed or canceled one; no charge is
// refunded beyond its amount.
func (m *machine) check(rt *rapid.T) {
	var rows []Charge
	if err := m.b.store.DB.Order("id").Find(&rows).Error; err != nil {
		rt.Fatal(err)
	}
	for _, ch := range rows {
		prev, ok := m.seen[ch.ID]
		if !ok {
			m.track(&ch)
			prev = ch.Status
		}
		if !reachable(prev, ch.Status) {
			rt.Fatalf("charge %s moved from %s to %s: not in the state machine", ch.ID, prev, ch.Status)
		}
		m.seen[ch.ID] = ch.Status
		if ch.RefundedAmount < 0 || ch.RefundedAmount > ch.Amount {
			rt.Fatalf("charge %s of %d refunded %d", ch.ID, ch.Amount, ch.RefundedAmount)
		}
		billedAmount, billed := m.b.carrier.Billed(ch.ID)
		switch ch.Status {
		case StatusSucceeded, StatusPartiallyRefunded, StatusRefunded:
			if !billed || billedAmount != ch.Amount {
				rt.Fatalf("charge %s is %s but the carrier billed %d (%v)", ch.ID, ch.Status, billedAmount, billed)
			}
		case StatusFailed, StatusCanceled, StatusRequiresConfirmation:
			if billed {
				rt.Fatalf("charge %s is %s but the carrier billed it", ch.ID, ch.Status)
			}
		}
	}
	if twice := m.b.carrier.BilledTwice(); len(twice) > 0 {
		rt.Fatalf("the carrier billed %v more than once", twice)
	}
	var unbalanced []string
	if err := m.b.store.DB.Raw(`SELECT currency FROM ledger_entries GROUP BY currency HAVING SUM(amount) <> 0`).Scan(&unbalanced).Error; err != nil {
		rt.Fatal(err)
	}
	if len(unbalanced) > 0 {
		rt.Fatalf("the ledger does not sum to zero in %v", unbalanced)
	}
	var postings int64
	if err := m.b.store.DB.Raw(`SELECT COUNT(*) FROM (SELECT charge_id, refund_id FROM ledger_entries GROUP BY charge_id, refund_id HAVING SUM(amount) <> 0) x`).Scan(&postings).Error; err != nil {
		rt.Fatal(err)
	}
	if postings != 0 {
		rt.Fatalf("%d postings do not balance", postings)
	}
	var wrong []string
	err := m.b.store.DB.Raw(`SELECT c.id FROM charges c WHERE
		(SELECT COALESCE(SUM(amount),0) FROM ledger_entries l WHERE l.charge_id = c.id AND l.account = 'carrier_receivable')
		<> CASE WHEN c.status IN ('succeeded','partially_refunded','refunded')
			THEN c.amount - (SELECT COALESCE(SUM(r.amount),0) FROM refunds r WHERE r.charge_id = c.id AND r.status = 'succeeded') ELSE 0 END`).Scan(&wrong).Error
	if err != nil {
		rt.Fatal(err)
	}
	if len(wrong) > 0 {
		rt.Fatalf("charges whose receivable is not amount less succeeded refunds: %v", wrong)
	}
}

func TestRandomSequencesKeepTheStateMachineAndTheBooks(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		s, b := setup(t, store.SQLite)
		m := &machine{s: s, b: b, seen: map[string]Status{}}
		m.pm = oneTap(t, s, b, b.merchant, "+821012345678")
		rt.Repeat(m.actions())
	})
}
