package billing

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"pgregory.net/rapid"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

// Property tests: random sequences of what merchants, subscribers, carriers
// and time do to charges, refunds, cashback programs and subscriptions keep
// the state machine legal and the books whole after every step, on every
// database of the run. Each run of the property gets a merchant and a
// subscriber of its own in one store per database (a fresh store per run
// costs seconds on PostgreSQL) with a manual clock; the jobs a step would
// leave to the queue (status queries, expiries, renewals, cashback expiry)
// are worked by steps of their own, as the queue would, in any order the
// generator picks.

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
	p      auth.Principal    // this run's merchant
	pm     string            // an active one-tap payment method
	seen   map[string]Status // each charge's status when last looked at
	order  []string          // charge ids, oldest first
	refund []string          // refund ids
	subs   []string          // subscription ids
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
			ch, err := m.s.CreateCharge(m.ctx(), m.p, newKey(), krw(amount))
			if wantOK(rt, "create", err) {
				m.track(ch)
			}
		},
		"one-tap charge": func(rt *rapid.T) {
			amount := rapid.Int64Range(100, 30000).Draw(rt, "amount")
			mode := rapid.SampledFrom(carrierModes).Draw(rt, "carrier")
			m.withCarrier(mode, func() {
				ch, err := m.s.CreateCharge(m.ctx(), m.p, newKey(),
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
				_, err := m.s.ConfirmCharge(m.ctx(), m.p, ch.ID, code)
				wantOK(rt, "confirm", err)
			})
		},
		"cancel": func(rt *rapid.T) {
			ch := m.pick(rt, AllStatuses...)
			_, err := m.s.CancelCharge(m.ctx(), m.p, ch.ID)
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
					m.b.carrier.Bill(ch.ID, ch.Billed())
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
			rf, err := m.s.CreateRefund(m.ctx(), m.p, ch.ID, newKey(), RefundParams{Amount: amount})
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
		"cashback program": func(rt *rapid.T) {
			bps := rapid.Int64Range(1, 2000).Draw(rt, "rate_bps")
			most := rapid.Int64Range(1, 3000).Draw(rt, "max_per_charge")
			days := rapid.Int64Range(1, 60).Draw(rt, "expires_after_days")
			_, err := m.s.CreateCashbackProgram(m.ctx(), m.p, CashbackProgramParams{RateBps: i64(bps), MaxPerCharge: i64(most),
				MinAmount: i64(rapid.Int64Range(0, 5000).Draw(rt, "min_amount")), Currency: "KRW", ExpiresAfterDays: i64(days)})
			wantOK(rt, "cashback program", err) // a second active one is a 409
		},
		"end cashback program": func(rt *rapid.T) {
			progs, err := m.s.ListCashbackPrograms(m.ctx(), m.p)
			if err != nil {
				rt.Fatal(err)
			}
			if len(progs) == 0 {
				rt.Skip("no cashback program")
			}
			_, err = m.s.EndCashbackProgram(m.ctx(), m.p, rapid.SampledFrom(progs).Draw(rt, "program").ID)
			wantOK(rt, "end cashback program", err) // ending twice is a 409
		},
		"days pass, cashback expires": func(rt *rapid.T) {
			m.b.clock.Advance(time.Duration(rapid.IntRange(1, 45).Draw(rt, "days")) * 24 * time.Hour)
			if err := (&cashbackExpiryWorker{s: m.s}).Work(m.ctx(), &river.Job[CashbackExpiryArgs]{}); err != nil {
				rt.Fatalf("cashback expiry: %v", err)
			}
		},
		"subscribe": func(rt *rapid.T) {
			interval := rapid.SampledFrom([]string{IntervalMonth, IntervalWeek}).Draw(rt, "interval")
			sub, err := m.s.CreateSubscription(m.ctx(), m.p, newKey(), SubscriptionParams{PaymentMethod: m.pm,
				Amount: i64(rapid.Int64Range(100, 20000).Draw(rt, "amount")), Currency: "KRW", Interval: interval, Description: "pass"})
			if !wantOK(rt, "subscribe", err) {
				return
			}
			out := m.b.carrier.Outbox()
			code, _, _ := strings.Cut(out[len(out)-1].Body, " ")
			mode := rapid.SampledFrom(carrierModes).Draw(rt, "carrier")
			m.withCarrier(mode, func() { // the first period is charged by its renewal job
				if _, err := m.s.ConfirmSubscription(m.ctx(), m.p, sub.ID, code); wantOK(rt, "confirm subscription", err) {
					m.subs = append(m.subs, sub.ID)
				}
			})
		},
		"renewal": func(rt *rapid.T) {
			if len(m.subs) == 0 {
				rt.Skip("no subscription")
			}
			sub, err := m.s.reloadSub(m.ctx(), rapid.SampledFrom(m.subs).Draw(rt, "subscription"))
			if err != nil {
				rt.Fatal(err)
			}
			// Mostly on time and paid, so runs reach later periods; early
			// (a snooze) and failing (retries, past_due, canceled) too.
			if sub.NextChargeAt != nil && rapid.IntRange(0, 3).Draw(rt, "early") > 0 && sub.NextChargeAt.After(m.b.clock.Now()) {
				m.b.clock.Advance(sub.NextChargeAt.Sub(m.b.clock.Now()) + time.Second)
			}
			mode := rapid.SampledFrom([]carrierMode{carrierOK, carrierOK, carrierOK, carrierDecline, carrierUnknown}).Draw(rt, "carrier")
			// Sometimes the same period's job twice: a retried or duplicated job.
			runs := rapid.IntRange(1, 2).Draw(rt, "runs")
			m.withCarrier(mode, func() {
				for range runs {
					err := (&subscriptionRenewalWorker{s: m.s}).Work(m.ctx(), &river.Job[SubscriptionRenewalArgs]{Args: SubscriptionRenewalArgs{SubscriptionID: sub.ID, Period: sub.Period}})
					var snooze *river.JobSnoozeError
					if err != nil && !errors.As(err, &snooze) {
						rt.Fatalf("renewal of %s period %d: %v", sub.ID, sub.Period, err)
					}
				}
			})
		},
		"cancel subscription": func(rt *rapid.T) {
			if len(m.subs) == 0 {
				rt.Skip("no subscription")
			}
			_, err := m.s.CancelSubscription(m.ctx(), m.p, rapid.SampledFrom(m.subs).Draw(rt, "subscription"))
			wantOK(rt, "cancel subscription", err)
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
	if err := m.b.store.DB.Where("merchant_id = ?", m.p.MerchantID).Order("id").Find(&rows).Error; err != nil {
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
		if ch.RefundedAmount < 0 || ch.RefundedAmount > ch.Billed() || ch.CashbackApplied < 0 || ch.CashbackApplied > ch.Amount {
			rt.Fatalf("charge %s of %d (cashback %d) refunded %d", ch.ID, ch.Amount, ch.CashbackApplied, ch.RefundedAmount)
		}
		billedAmount, billed := m.b.carrier.Billed(ch.ID)
		switch ch.Status {
		case StatusSucceeded, StatusPartiallyRefunded, StatusRefunded:
			if !billed || billedAmount != ch.Billed() {
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
			THEN c.amount - c.cashback_applied - (SELECT COALESCE(SUM(r.amount),0) FROM refunds r WHERE r.charge_id = c.id AND r.status = 'succeeded') ELSE 0 END
		AND c.merchant_id = ?`, m.p.MerchantID).Scan(&wrong).Error
	if err != nil {
		rt.Fatal(err)
	}
	if len(wrong) > 0 {
		rt.Fatalf("charges whose receivable is not amount less cashback and succeeded refunds: %v", wrong)
	}
	// No period of a subscription billed twice: in the gateway's books (at
	// most one charge per period that is not failed or canceled) and in the
	// carrier's (at most one billed charge per period).
	var twice []string
	if err := m.b.store.DB.Raw(`SELECT subscription_id FROM charges WHERE merchant_id = ? AND subscription_id IS NOT NULL AND status NOT IN ('failed','canceled')
		GROUP BY subscription_id, subscription_period HAVING COUNT(*) > 1`, m.p.MerchantID).Scan(&twice).Error; err != nil {
		rt.Fatal(err)
	}
	if len(twice) > 0 {
		rt.Fatalf("subscriptions with a period charged twice: %v", twice)
	}
	periods := map[string]string{}
	for _, ch := range rows {
		if ch.SubscriptionID == nil || ch.SubscriptionPeriod == nil {
			continue
		}
		if _, billed := m.b.carrier.Billed(ch.ID); !billed {
			continue
		}
		period := fmt.Sprintf("%s/%d", *ch.SubscriptionID, *ch.SubscriptionPeriod)
		if other, ok := periods[period]; ok {
			rt.Fatalf("the carrier billed period %s twice: %s and %s", period, other, ch.ID)
		}
		periods[period] = ch.ID
	}
	var negative int64
	if err := m.b.store.DB.Raw(`SELECT COUNT(*) FROM cashback_lots WHERE merchant_id = ? AND (remaining < 0 OR remaining > earned)`, m.p.MerchantID).Scan(&negative).Error; err != nil {
		rt.Fatal(err)
	}
	if negative != 0 {
		rt.Fatalf("%d cashback balances outside 0..earned", negative)
	}
}

// propertyChecks is how many random runs each database gets unless
// -rapid.checks says otherwise: modest, so the package stays well inside
// CI's time: under -race the embedded SQLite (pure Go) is slow, about 10 s
// a run on a loaded two-core machine, PostgreSQL 2 s;
// a longer hunt is -rapid.checks=1000.
var propertyChecks = map[store.Dialect]string{store.SQLite: "20", store.Postgres: "20"}

func TestRandomSequencesKeepTheStateMachineAndTheBooks(t *testing.T) {
	t.Parallel()
	checksSet := false
	flag.Visit(func(f *flag.Flag) { checksSet = checksSet || f.Name == "rapid.checks" })
	for _, d := range storetest.Dialects(t) {
		// One after the other: rapid reads its check count from a flag.
		t.Run(string(d), func(t *testing.T) {
			if !checksSet {
				prev := flag.Lookup("rapid.checks").Value.String()
				_ = flag.Set("rapid.checks", propertyChecks[d])
				t.Cleanup(func() { _ = flag.Set("rapid.checks", prev) })
			}
			s, b := setup(t, d)
			recurring(b)
			runs := 0
			rapid.Check(t, func(rt *rapid.T) {
				runs++
				merchant, err := s.CreateMerchant(context.Background(), fmt.Sprintf("Shop %d", runs), false)
				if err != nil {
					rt.Fatal(err)
				}
				p := auth.Principal{MerchantID: merchant.ID, Role: auth.RoleMerchant}
				m := &machine{s: s, b: b, p: p, seen: map[string]Status{}}
				// A subscriber of the run's own: caps and cashback are per number.
				m.pm = oneTap(t, s, b, p, fmt.Sprintf("+8210%08d", 10000000+runs))
				rt.Repeat(m.actions())
			})
			var seen struct{ Charges, Cashback, Renewals, Refunds, Subscriptions int64 }
			b.store.DB.Raw(`SELECT (SELECT COUNT(*) FROM charges) AS charges,
				(SELECT COUNT(*) FROM charges WHERE cashback_applied > 0) AS cashback,
				(SELECT COUNT(*) FROM charges WHERE subscription_period >= 1) AS renewals,
				(SELECT COUNT(*) FROM refunds) AS refunds,
				(SELECT COUNT(*) FROM subscriptions) AS subscriptions`).Scan(&seen)
			t.Logf("%d runs made %d charges (%d spent cashback, %d renewed a subscription past its first period), %d refunds, %d subscriptions",
				runs, seen.Charges, seen.Cashback, seen.Renewals, seen.Refunds, seen.Subscriptions)
		})
	}
}
