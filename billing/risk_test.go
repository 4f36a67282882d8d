package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
)

// shippedRisk are the rules as configs/default.yaml ships them.
func shippedRisk() RiskSettings {
	return RiskSettings{
		Velocity:    VelocityRule{On: true, Window: 10 * time.Minute, MaxCount: 10, MaxAmount: map[string]int64{"KRW": 200_000}},
		FirstCharge: FirstChargeRule{On: true, MaxAmount: map[string]int64{"KRW": 50_000}},
		CashOut: CashOutRule{On: true, Categories: []string{"voucher", "gift_card", "game_currency"}, MinAmount: map[string]int64{"KRW": 50_000},
			Within: 30 * time.Minute, NearCapPercent: 80, AfterReset: 24 * time.Hour},
	}
}

// only keeps one of the shipped rules on, so a test sees that rule alone.
func only(rule string) RiskSettings {
	r := shippedRisk()
	r.Velocity.On, r.FirstCharge.On, r.CashOut.On = rule == RiskVelocity, rule == RiskFirstCharge, rule == RiskCashOut
	return r
}

// riskCaps are the test carrier's caps: ₩500,000 a month in Seoul.
func riskCaps(t *testing.T) CapRules {
	t.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	return CapRules{Carriers: map[string]CarrierCaps{"skt": {Monthly: map[string]int64{"KRW": 500_000}, Location: seoul}}}
}

var admin = auth.Principal{Role: auth.RoleAdmin}

// charge is an SMS-code charge of amount won on number, in category.
func charge(number string, amount int64, category string) ChargeParams {
	in := krw(amount)
	in.MSISDN, in.Category = number, category
	return in
}

// wantDeclined fails unless err is the risk_declined problem for rule, and
// the charge it names is recorded failed with that rule, before any SMS or
// carrier call was made for it.
func wantDeclined(t *testing.T, s *Service, b *testBundle, err error, rule string, smsBefore, callsBefore int) *Charge {
	t.Helper()
	p := wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodeRiskDeclined)
	id, _ := p.Extra["charge"].(string)
	if p.Extra["risk_rule"] != rule || !strings.HasPrefix(id, "ch_") || !strings.Contains(p.Detail, rule) || !strings.Contains(p.Detail, id) {
		t.Fatalf("problem %+v %v: want risk_rule %s and the charge id, in the detail too", p, p.Extra, rule)
	}
	if strings.Contains(p.Detail, "+82") {
		t.Errorf("the problem repeats the number: %s", p.Detail)
	}
	var ch Charge
	if err := b.store.DB.Where("id = ?", id).Take(&ch).Error; err != nil {
		t.Fatalf("declined charge %s not recorded: %v", id, err)
	}
	if ch.Status != StatusFailed || deref(ch.FailureCode) != carriers.FailureRiskDeclined || deref(ch.RiskRule) != rule || ch.CodeHash != nil {
		t.Fatalf("declined charge: status %s, failure %s, rule %s", ch.Status, deref(ch.FailureCode), deref(ch.RiskRule))
	}
	if got := b.events.types(id); len(got) != 1 || got[0] != EventChargeFailed {
		t.Errorf("events of the declined charge: %v, want [charge.failed]", got)
	}
	if n := len(b.carrier.Outbox()); n != smsBefore {
		t.Errorf("%d SMS sent for a declined charge", n-smsBefore)
	}
	if n := b.carrier.ChargeCalls(); n != callsBefore {
		t.Errorf("the carrier was asked to bill a declined charge (%d calls)", n-callsBefore)
	}
	return &ch
}

// attempt makes a charge expected to be declined and checks it was, by
// rule, with no SMS and no carrier call made for it.
func attempt(t *testing.T, s *Service, b *testBundle, p auth.Principal, in ChargeParams, rule string) *Charge {
	t.Helper()
	sms, calls := len(b.carrier.Outbox()), b.carrier.ChargeCalls()
	ch, err := s.CreateCharge(context.Background(), p, newKey(), in)
	if err == nil {
		t.Fatalf("%d %s charge went through (%s), want declined by %s", *in.Amount, in.Category, ch.Status, rule)
	}
	return wantDeclined(t, s, b, err, rule, sms, calls)
}

func secondShop(t *testing.T, s *Service) auth.Principal {
	t.Helper()
	m, err := s.CreateMerchant(context.Background(), "Shop B", false)
	if err != nil {
		t.Fatal(err)
	}
	return auth.Principal{MerchantID: m.ID, Role: auth.RoleMerchant}
}

// Velocity counts one number's charges across merchants: the 11th in ten
// minutes is declined; another number, and the same one once the window
// has passed, go through.
func TestRiskVelocityDeclinesTheEleventhChargeInTheWindow(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Risk = only(RiskVelocity)
		shopB := secondShop(t, s)
		const number = "+821011112222"
		for i := range 10 {
			p := b.merchant
			if i%2 == 1 {
				p = shopB
			}
			if _, err := s.CreateCharge(context.Background(), p, newKey(), charge(number, 1000, "game")); err != nil {
				t.Fatalf("charge %d: %v", i+1, err)
			}
			b.clock.Advance(30 * time.Second)
		}
		attempt(t, s, b, shopB, charge(number, 1000, "game"), RiskVelocity)

		if _, err := s.CreateCharge(context.Background(), b.merchant, newKey(), charge("+821033334444", 1000, "game")); err != nil {
			t.Fatalf("another number: %v", err)
		}
		b.clock.Advance(5*time.Minute + time.Second) // the first charge leaves the window
		if _, err := s.CreateCharge(context.Background(), b.merchant, newKey(), charge(number, 1000, "game")); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

// Failed and canceled charges (declines included) are not counted: a
// subscriber whose attempts did not go through is not locked out by them.
func TestRiskVelocityCountsOnlyChargesThatCanBecomeMoney(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		r := only(RiskVelocity)
		r.Velocity.MaxCount = 3
		s.cfg.Risk = r
		const number = "+821011112222"
		var made []*Charge
		for range 3 {
			ch, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(number, 1000, ""))
			if err != nil {
				t.Fatal(err)
			}
			made = append(made, ch)
		}
		attempt(t, s, b, b.merchant, charge(number, 1000, ""), RiskVelocity)
		if _, err := s.CancelCharge(ctx, b.merchant, made[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(number, 1000, "")); err != nil {
			t.Fatalf("after a cancel, with a decline in the window: %v", err)
		}
	})
}

// The amount in the window counts too: ₩200,000 is allowed, a won more is not.
func TestRiskVelocityBoundsTheAmountInTheWindow(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Risk = only(RiskVelocity)
		const number = "+821011112222"
		for range 3 {
			if _, err := s.CreateCharge(context.Background(), b.merchant, newKey(), charge(number, 60_000, "")); err != nil {
				t.Fatal(err)
			}
		}
		d := attempt(t, s, b, b.merchant, charge(number, 20_001, ""), RiskVelocity)
		if !strings.Contains(deref(d.FailureMessage), "₩200,000") {
			t.Errorf("failure message %q does not say the limit", deref(d.FailureMessage))
		}
		if _, err := s.CreateCharge(context.Background(), b.merchant, newKey(), charge(number, 20_000, "")); err != nil {
			t.Fatalf("exactly ₩200,000 in the window: %v", err)
		}
	})
}

// A number that never paid may be charged at most ₩50,000 at first; once
// it paid, larger charges go through.
func TestRiskFirstChargeLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Risk = only(RiskFirstCharge)
		attempt(t, s, b, b.merchant, krw(50_001), RiskFirstCharge)
		// Waiting for a code is not having paid.
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(10_000)); err != nil {
			t.Fatal(err)
		}
		attempt(t, s, b, b.merchant, krw(60_000), RiskFirstCharge)

		if ch := paid(t, s, b, 50_000); ch.Status != StatusSucceeded {
			t.Fatalf("a first charge of ₩50,000: %s %s", ch.Status, deref(ch.FailureCode))
		}
		if ch := paid(t, s, b, 300_000); ch.Status != StatusSucceeded {
			t.Fatalf("a known number's large charge: %s %s", ch.Status, deref(ch.FailureCode))
		}
	})
}

// The cash-out pattern near the cap: a second ₩50,000 voucher within 30
// minutes that brings the month to 80% of the ₩500,000 cap is declined.
// The same purchases far from the cap, a low-value one, another category,
// or the second one after the window, go through.
func TestRiskCashOutNearTheCap(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = riskCaps(t)
		s.cfg.Risk = only(RiskCashOut)
		const near, far = "+821011112222", "+821033334444"
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(near, 250_000, "music")); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{near, far, far} {
			if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(n, 50_000, "voucher")); err != nil {
				t.Fatalf("voucher on %s: %v", n, err) // far: two in a row, far from the cap
			}
		}
		// near now holds ₩300,000 and a voucher: neither a voucher under
		// ₩50,000 nor a ₩50,000 charge of another category is the pattern.
		for _, c := range []ChargeParams{charge(near, 49_999, "voucher"), charge(near, 50_000, "music")} {
			if _, err := s.CreateCharge(ctx, b.merchant, newKey(), c); err != nil {
				t.Fatalf("%d %s: %v", *c.Amount, c.Category, err)
			}
		}
		d := attempt(t, s, b, b.merchant, charge(near, 50_000, "gift_card"), RiskCashOut)
		// ₩399,999 held: with ₩50,000 more the month passes 80% of ₩500,000.
		if !strings.Contains(deref(d.FailureMessage), "80%") {
			t.Errorf("failure message %q does not say why", deref(d.FailureMessage))
		}
		b.clock.Advance(30*time.Minute + time.Second)
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(near, 50_000, "gift_card")); err != nil {
			t.Fatalf("after the window: %v", err)
		}
	})
}

// Right after the monthly reset in the carrier's zone (Asia/Seoul), a
// second high-value gift card is declined even far from the cap; just
// before the reset, or a day after it, two in a row go through.
func TestRiskCashOutAfterTheMonthlyReset(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = riskCaps(t)
		s.cfg.Risk = only(RiskCashOut)
		twice := func(number, when string) {
			t.Helper()
			for range 2 {
				if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(number, 50_000, "gift_card")); err != nil {
					t.Fatalf("%s: %v", when, err)
				}
			}
		}
		// 2026-11-30 23:00 in Seoul: the end of the month.
		b.clock.Set(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC))
		twice("+821011110000", "the last hour of the month")
		// 2026-12-01 01:00 in Seoul, still November in UTC: a wrong zone
		// would let this through.
		b.clock.Set(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC))
		const number = "+821011112222"
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(number, 50_000, "gift_card")); err != nil {
			t.Fatal(err)
		}
		d := attempt(t, s, b, b.merchant, charge(number, 50_000, "game_currency"), RiskCashOut)
		if !strings.Contains(deref(d.FailureMessage), "monthly reset") {
			t.Errorf("failure message %q does not say why", deref(d.FailureMessage))
		}
		// 2026-12-02 09:00 in Seoul: 33 hours after the reset.
		b.clock.Set(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC))
		twice("+821033334444", "a day after the reset")
	})
}

// A one-tap charge a rule declines never reaches the carrier.
func TestRiskDeclinesOneTapBeforeTheCarrier(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		r := only(RiskVelocity)
		r.Velocity.MaxCount = 2
		s.cfg.Risk = r
		pm, err := s.CreatePaymentMethod(ctx, b.merchant, newKey(), PaymentMethodParams{MSISDN: "+821055556666", Carrier: "skt"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmPaymentMethod(ctx, b.merchant, pm.ID, lastCode(t, b)); err != nil {
			t.Fatal(err)
		}
		tap := ChargeParams{Amount: i64(1000), Currency: "KRW", PaymentMethod: pm.ID}
		for range 2 {
			ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap)
			if err != nil || ch.Status != StatusSucceeded {
				t.Fatalf("one-tap: %v %+v", err, ch)
			}
		}
		d := attempt(t, s, b, b.merchant, tap, RiskVelocity)
		if deref(d.PaymentMethodID) != pm.ID {
			t.Errorf("declined one-tap charge has payment method %q", deref(d.PaymentMethodID))
		}
		if b.carrier.ChargeCalls() != 2 {
			t.Errorf("carrier charged %d times, want 2", b.carrier.ChargeCalls())
		}
	})
}

// A retry with the same Idempotency-Key gets the same answer, and no second
// charge, whether the first is still cached or only its charge remains.
func TestRiskDeclineIsTheSameOnRetry(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Risk = only(RiskFirstCharge)
		key := newKey()
		_, first := s.CreateCharge(ctx, b.merchant, key, krw(90_000))
		p1 := wantProblem(t, first, http.StatusUnprocessableEntity, problem.CodeRiskDeclined)
		_, again := s.CreateCharge(ctx, b.merchant, key, krw(90_000))
		p2 := wantProblem(t, again, http.StatusUnprocessableEntity, problem.CodeRiskDeclined)
		if p1.Detail != p2.Detail || p1.Extra["charge"] != p2.Extra["charge"] {
			t.Errorf("retry answered %v / %s, first %v / %s", p2.Extra, p2.Detail, p1.Extra, p1.Detail)
		}
		var n int64
		if err := b.store.DB.Model(&Charge{}).Count(&n).Error; err != nil || n != 1 {
			t.Fatalf("%d charges after a retry (%v), want 1", n, err)
		}
	})
}

// An admin clears a flagged number: its history before the clearance no
// longer counts and it is no stranger, so the customer can pay again;
// another number stays flagged. Reviews list the declines, newest first,
// and say which number was cleared since.
func TestRiskClearanceLetsTheCustomerPayAgain(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		r := shippedRisk()
		r.Velocity.MaxCount = 2
		s.cfg.Risk = r
		const number, other = "+821011112222", "+821033334444"
		for range 2 {
			if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(number, 1000, "")); err != nil {
				t.Fatal(err)
			}
		}
		velocity := attempt(t, s, b, b.merchant, charge(number, 1000, ""), RiskVelocity)
		b.clock.Advance(time.Second)
		first := attempt(t, s, b, b.merchant, charge(other, 70_000, ""), RiskFirstCharge)

		if _, err := s.ClearNumber(ctx, b.merchant, ClearParams{MSISDN: number}); err == nil {
			t.Fatal("a merchant cleared a number")
		}
		b.clock.Advance(time.Second)
		cl, err := s.ClearNumber(ctx, admin, ClearParams{MSISDN: "010-1111-2222", Country: "KR"})
		if err != nil {
			t.Fatal(err)
		}
		if cl.MSISDNMasked != "+82 10-****-2222" || !cl.ClearedAt.Equal(b.clock.Now()) {
			t.Errorf("clearance %+v", cl)
		}
		if _, err := s.ClearNumber(ctx, admin, ClearParams{MSISDN: "not a number"}); err == nil {
			t.Error("a bad number was cleared")
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), charge(number, 70_000, "")); err != nil {
			t.Fatalf("cleared number (history and first charge): %v", err)
		}
		attempt(t, s, b, b.merchant, charge(other, 70_000, ""), RiskFirstCharge)

		reviews, more, err := s.ListRiskReviews(ctx, admin, ReviewParams{})
		if err != nil || more || len(reviews) != 3 {
			t.Fatalf("reviews: %d, more %v, %v", len(reviews), more, err)
		}
		if reviews[1].Charge.ID != first.ID || reviews[2].Charge.ID != velocity.ID {
			t.Errorf("reviews not newest first: %s %s %s", reviews[0].Charge.ID, reviews[1].Charge.ID, reviews[2].Charge.ID)
		}
		if reviews[2].ClearedAt == nil || reviews[1].ClearedAt != nil || reviews[0].ClearedAt != nil {
			t.Errorf("cleared since: %v %v %v", reviews[0].ClearedAt, reviews[1].ClearedAt, reviews[2].ClearedAt)
		}
		page, more, err := s.ListRiskReviews(ctx, admin, ReviewParams{Limit: "1", StartingAfter: reviews[0].Charge.ID})
		if err != nil || !more || len(page) != 1 || page[0].Charge.ID != first.ID {
			t.Fatalf("second page: %v, more %v, %v", page, more, err)
		}
		byRule, _, err := s.ListRiskReviews(ctx, admin, ReviewParams{RiskRule: RiskVelocity})
		if err != nil || len(byRule) != 1 || byRule[0].Charge.ID != velocity.ID {
			t.Fatalf("velocity reviews: %v, %v", byRule, err)
		}
		for _, bad := range []ReviewParams{{RiskRule: "nope"}, {Limit: "0"}, {StartingAfter: "ch_nope"}} {
			_, _, err := s.ListRiskReviews(ctx, admin, bad)
			wantProblem(t, err, http.StatusBadRequest, problem.CodeInvalidParameter)
		}
		_, _, err = s.ListRiskReviews(ctx, b.merchant, ReviewParams{})
		wantProblem(t, err, http.StatusForbidden, problem.CodeForbidden)
	})
}

// The shipped rules let an ordinary subscriber through: a few small
// purchases at two merchants in a few minutes, paid and refunded, and a
// voucher now and then.
func TestRiskShippedRulesLetTheNormalCustomerThrough(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = riskCaps(t)
		s.cfg.Risk = shippedRisk()
		shopB := secondShop(t, s)
		for i := range 6 {
			p := b.merchant
			if i%2 == 1 {
				p = shopB
			}
			in := krw(5000)
			in.Category = []string{"game", "voucher", "music"}[i%3]
			ch, err := s.CreateCharge(ctx, p, newKey(), in)
			if err != nil {
				t.Fatalf("purchase %d: %v", i+1, err)
			}
			if ch, err = s.ConfirmCharge(ctx, p, ch.ID, lastCode(t, b)); err != nil || ch.Status != StatusSucceeded {
				t.Fatalf("purchase %d: %v %+v", i+1, err, ch)
			}
			b.clock.Advance(time.Minute)
		}
		for _, c := range []ChargeParams{charge("+821012345678", 50_000, "voucher"), charge("+821012345678", 30_000, "gift_card")} {
			if _, err := s.CreateCharge(ctx, b.merchant, newKey(), c); err != nil {
				t.Fatalf("%d %s: %v", *c.Amount, c.Category, err)
			}
		}
	})
}

func TestRiskSettingsAreChecked(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*RiskSettings){
		"velocity without window":   func(r *RiskSettings) { r.Velocity.Window = 0 },
		"velocity without limits":   func(r *RiskSettings) { r.Velocity.MaxCount, r.Velocity.MaxAmount = 0, nil },
		"first charge, no amount":   func(r *RiskSettings) { r.FirstCharge.MaxAmount = nil },
		"cash out, no categories":   func(r *RiskSettings) { r.CashOut.Categories = nil },
		"cash out, no condition":    func(r *RiskSettings) { r.CashOut.NearCapPercent, r.CashOut.AfterReset = 0, 0 },
		"cash out, over 100%":       func(r *RiskSettings) { r.CashOut.NearCapPercent = 101 },
		"a zero amount":             func(r *RiskSettings) { r.FirstCharge.MaxAmount = map[string]int64{"KRW": 0} },
		"cash out without a window": func(r *RiskSettings) { r.CashOut.Within = 0 },
	} {
		r := shippedRisk()
		edit(&r)
		if err := r.validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := shippedRisk().validate(); err != nil {
		t.Errorf("shipped rules: %v", err)
	}
	if err := (RiskSettings{}).validate(); err != nil {
		t.Errorf("all off: %v", err)
	}
	var r RiskSettings
	r.Velocity.Window = -1 // off: not looked at
	if err := r.validate(); err != nil {
		t.Errorf("a rule that is off: %v", err)
	}
}

// Twenty charges on one number at once, with at most five in the window:
// exactly five are recorded waiting for their code and fifteen declined,
// on PostgreSQL and SQLite alike. Counting outside the transaction alone
// would let a burst through on a count none of its charges was in yet.
func TestRiskVelocityHoldsUnderConcurrentCharges(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		r := only(RiskVelocity)
		r.Velocity.MaxCount = 5
		s.cfg.Risk = r
		const n = 20
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateCharge(context.Background(), b.merchant, newKey(), charge("+821011112222", 1000, ""))
			}()
		}
		wg.Wait()
		declined := 0
		for _, err := range errs {
			var p *problem.Problem
			switch {
			case err == nil:
			case errors.As(err, &p) && p.Code == problem.CodeRiskDeclined:
				declined++
			default:
				t.Fatalf("a concurrent charge: %v", err)
			}
		}
		var waiting, failed int64
		if err := b.store.DB.Model(&Charge{}).Where("status = ?", StatusRequiresConfirmation).Count(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if err := b.store.DB.Model(&Charge{}).Where("status = ? AND risk_rule = ?", StatusFailed, RiskVelocity).Count(&failed).Error; err != nil {
			t.Fatal(err)
		}
		if waiting != 5 || declined != 15 || failed != 15 {
			t.Fatalf("%d charges waiting, %d declined (%d recorded), want 5 and 15", waiting, declined, failed)
		}
		if sms := len(b.carrier.Outbox()); sms != 5 {
			t.Errorf("%d codes sent, want 5", sms)
		}
	})
}

// Six ₩50,000 gift cards on one number at once right after the monthly
// reset: the first recorded goes through, the other five are the second
// in quick succession and are declined, on both stores.
func TestRiskCashOutHoldsUnderConcurrentCharges(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = riskCaps(t)
		s.cfg.Risk = only(RiskCashOut)
		b.clock.Set(time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)) // 2026-12-01 01:00 in Seoul
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = s.CreateCharge(context.Background(), b.merchant, newKey(), charge("+821011112222", 50_000, "gift_card"))
			}()
		}
		wg.Wait()
		declined := 0
		for _, err := range errs {
			var p *problem.Problem
			switch {
			case err == nil:
			case errors.As(err, &p) && p.Code == problem.CodeRiskDeclined && p.Extra["risk_rule"] == RiskCashOut:
				declined++
			default:
				t.Fatalf("a concurrent charge: %v", err)
			}
		}
		var waiting int64
		if err := b.store.DB.Model(&Charge{}).Where("status = ?", StatusRequiresConfirmation).Count(&waiting).Error; err != nil {
			t.Fatal(err)
		}
		if waiting != 1 || declined != n-1 {
			t.Fatalf("%d gift cards waiting for their code and %d declined, want 1 and %d", waiting, declined, n-1)
		}
	})
}
