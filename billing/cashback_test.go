package billing

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/problem"
)

func TestCashbackRounding(t *testing.T) {
	for _, tc := range []struct {
		amount, bps, most, want int64
	}{
		{10000, 200, 500, 200},             // 2 % of ₩10,000
		{1049, 200, 500, 20},               // 20.98 → 20: floor, the fraction stays the merchant's
		{1050, 200, 500, 21},               // exactly 21
		{49, 200, 500, 0},                  // 0.98 → nothing
		{50000, 200, 500, 500},             // 1,000 capped at max_per_charge
		{1, 10000, 500, 1},                 // 100 % of one unit
		{9999, 1, 500, 0},                  // 0.9999 → 0
		{10000, 1, 500, 1},                 // 1 bp of 10,000
		{0, 200, 500, 0},                   // nothing billed, nothing earned
		{-5, 200, 500, 0},                  // never negative
		{1 << 62, 10000, 1 << 62, 1 << 62}, // no overflow at the edge of int64
		{(1 << 62) + 3, 5000, 1 << 62, (1 << 61) + 1},
	} {
		if got := CashbackFor(tc.amount, tc.bps, tc.most); got != tc.want {
			t.Errorf("CashbackFor(%d, %d, %d) = %d, want %d", tc.amount, tc.bps, tc.most, got, tc.want)
		}
	}
	for _, tc := range []struct{ x, n, d, want int64 }{
		{200, 2400, 4800, 100}, {200, 4800, 4800, 200}, {3, 1, 2, 1}, {96, 1000, 4800, 20}, {7, 0, 10, 0},
	} {
		if got := mulDiv(tc.x, tc.n, tc.d); got != tc.want {
			t.Errorf("mulDiv(%d, %d, %d) = %d, want %d", tc.x, tc.n, tc.d, got, tc.want)
		}
	}
}

func program(bps, most, least, days int64) CashbackProgramParams {
	return CashbackProgramParams{RateBps: i64(bps), MaxPerCharge: i64(most), MinAmount: i64(least), Currency: "KRW", ExpiresAfterDays: i64(days)}
}

func TestCashbackProgramInputs(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		for _, tc := range []struct {
			name   string
			in     CashbackProgramParams
			status int
			code   string
		}{
			{"no currency", CashbackProgramParams{RateBps: i64(200), MaxPerCharge: i64(500), ExpiresAfterDays: i64(90)}, 400, problem.CodeInvalidParameter},
			{"unknown currency", func() CashbackProgramParams { p := program(200, 500, 0, 90); p.Currency = "krw"; return p }(), 422, problem.CodeUnsupportedCurrency},
			{"no rate", func() CashbackProgramParams { p := program(200, 500, 0, 90); p.RateBps = nil; return p }(), 400, problem.CodeInvalidParameter},
			{"rate 0", program(0, 500, 0, 90), 400, problem.CodeInvalidParameter},
			{"rate over 100 %", program(10001, 500, 0, 90), 400, problem.CodeInvalidParameter},
			{"negative rate", program(-1, 500, 0, 90), 400, problem.CodeInvalidParameter},
			{"no cap", func() CashbackProgramParams { p := program(200, 500, 0, 90); p.MaxPerCharge = nil; return p }(), 400, problem.CodeInvalidParameter},
			{"cap 0", program(200, 0, 0, 90), 400, problem.CodeInvalidParameter},
			{"negative least amount", program(200, 500, -1, 90), 400, problem.CodeInvalidParameter},
			{"no days", func() CashbackProgramParams { p := program(200, 500, 0, 90); p.ExpiresAfterDays = nil; return p }(), 400, problem.CodeInvalidParameter},
			{"0 days", program(200, 500, 0, 0), 400, problem.CodeInvalidParameter},
			{"ten years and a day", program(200, 500, 0, 3651), 400, problem.CodeInvalidParameter},
		} {
			_, err := s.CreateCashbackProgram(ctx, b.merchant, tc.in)
			if p := wantProblem(t, err, tc.status, tc.code); tc.status == 400 && p.Param == "" {
				t.Errorf("%s: the problem names no parameter", tc.name)
			}
		}
		var n int64
		if err := b.store.DB.Model(&CashbackProgram{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("refused programs left %d rows (%v)", n, err)
		}
		first, err := s.CreateCashbackProgram(ctx, b.merchant, program(200, 500, 1000, 90))
		if err != nil || first.Status != CashbackProgramActive {
			t.Fatalf("create: %+v %v", first, err)
		}
		_, err = s.CreateCashbackProgram(ctx, b.merchant, program(300, 500, 1000, 90))
		wantProblem(t, err, 409, CodeCashbackProgramExists)
		ended, err := s.EndCashbackProgram(ctx, b.merchant, first.ID)
		if err != nil || ended.Status != CashbackProgramEnded || ended.EndedAt == nil {
			t.Fatalf("end: %+v %v", ended, err)
		}
		_, err = s.EndCashbackProgram(ctx, b.merchant, first.ID)
		wantProblem(t, err, 409, CodeCashbackProgramStateInvalid)
		second, err := s.CreateCashbackProgram(ctx, b.merchant, program(300, 500, 1000, 90))
		if err != nil {
			t.Fatalf("a new program once the first ended: %v", err)
		}
		list, err := s.ListCashbackPrograms(ctx, b.merchant)
		if err != nil || len(list) != 2 || list[0].ID != second.ID {
			t.Fatalf("list: %+v %v", list, err)
		}
		other, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		pb := b.merchant
		pb.MerchantID = other.ID
		if _, err := s.GetCashbackProgram(ctx, pb, second.ID); err == nil {
			t.Fatal("another merchant read the program")
		}
		_, err = s.EndCashbackProgram(ctx, pb, second.ID)
		wantProblem(t, err, 404, problem.CodeNotFound)
	})
}

// cashbackOf is what the subscriber can spend at the bundle's merchant.
func cashbackOf(t *testing.T, s *Service, number string) int64 {
	t.Helper()
	bs, err := s.SubscriberCashback(context.Background(), false, s.vault.Index(number))
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, b := range bs {
		sum += b.Amount
	}
	return sum
}

// assertCashbackBooks checks the cashback side of invariant 3: every
// posting balances (assertBalanced), and what the ledger says the merchant
// owes its subscribers in cashback equals the lots' remaining balances
// plus what charges not yet final hold of them.
func assertCashbackBooks(t *testing.T, b *testBundle) {
	t.Helper()
	assertBalanced(t, b)
	var liability, remaining, held int64
	db := b.store.DB
	if err := db.Raw(`SELECT COALESCE(-SUM(amount), 0) FROM ledger_entries WHERE account = ?`, AccountCashbackLiability).Scan(&liability).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT COALESCE(SUM(remaining), 0) FROM cashback_lots`).Scan(&remaining).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT COALESCE(SUM(u.amount - u.restored), 0) FROM cashback_uses u JOIN charges c ON c.id = u.charge_id WHERE c.status IN ?`,
		[]Status{StatusProcessing, StatusRequiresConfirmation}).Scan(&held).Error; err != nil {
		t.Fatal(err)
	}
	if liability != remaining+held {
		t.Fatalf("cashback liability %d in the ledger, but %d remaining + %d held by pending charges", liability, remaining, held)
	}
	var sums []struct {
		Currency string
		Total    int64
	}
	if err := db.Raw(`SELECT currency, SUM(amount) AS total FROM ledger_entries GROUP BY currency`).Scan(&sums).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range sums {
		if r.Total != 0 {
			t.Fatalf("the ledger sums to %d %s", r.Total, r.Currency)
		}
	}
}

func TestCashbackEarnedAppliedRefundedExpired(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		const me = "+821012340001"
		pm := oneTap(t, s, b, b.merchant, me)
		if _, err := s.CreateCashbackProgram(ctx, b.merchant, program(200, 500, 1000, 90)); err != nil {
			t.Fatal(err)
		}
		// Below min_amount: nothing earned.
		small, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 900, ""))
		if err != nil || small.Status != StatusSucceeded || small.CashbackEarned != 0 || small.CashbackApplied != 0 {
			t.Fatalf("small charge: %+v %v", small, err)
		}
		if got := cashbackOf(t, s, me); got != 0 {
			t.Fatalf("a charge below min_amount earned %d", got)
		}
		// Earned: 2 % of ₩10,000.
		first, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 10000, ""))
		if err != nil {
			t.Fatal(err)
		}
		first, _ = s.GetCharge(ctx, b.merchant, first.ID)
		if first.CashbackEarned != 200 || first.CashbackApplied != 0 {
			t.Fatalf("first charge: earned %d applied %d", first.CashbackEarned, first.CashbackApplied)
		}
		if got := cashbackOf(t, s, me); got != 200 {
			t.Fatalf("balance %d after earning, want 200", got)
		}
		if got := succeededEvent(t, b, first.ID); got.CashbackEarned != 200 {
			t.Fatalf("charge.succeeded says cashback_earned %d, want 200", got.CashbackEarned)
		}
		assertCashbackBooks(t, b)

		// Applied: the next charge is billed ₩4,800; the carrier is asked for that.
		second, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 5000, ""))
		if err != nil {
			t.Fatal(err)
		}
		second, _ = s.GetCharge(ctx, b.merchant, second.ID)
		if second.CashbackApplied != 200 || second.Billed() != 4800 {
			t.Fatalf("second charge: applied %d billed %d", second.CashbackApplied, second.Billed())
		}
		if got, _ := b.carrier.Billed(second.ID); got != 4800 {
			t.Fatalf("the carrier billed %d, want 4800", got)
		}
		if second.CashbackEarned != 96 { // floor(4800 × 2 %)
			t.Fatalf("second charge earned %d, want 96", second.CashbackEarned)
		}
		if got := cashbackOf(t, s, me); got != 96 {
			t.Fatalf("balance %d after spending, want 96", got)
		}
		assertCashbackBooks(t, b)

		// Refunded in part: half of what was billed gives back half of what
		// was applied and takes back half of what it earned.
		rf, err := s.CreateRefund(ctx, b.merchant, second.ID, newKey(), RefundParams{Amount: i64(2400)})
		if err != nil || rf.Status != RefundSucceeded {
			t.Fatalf("partial refund: %+v %v", rf, err)
		}
		if got := cashbackOf(t, s, me); got != 96-48+100 {
			t.Fatalf("balance %d after a half refund, want 148", got)
		}
		assertCashbackBooks(t, b)
		// Never paid out: at most the billed amount goes back to the bill.
		_, err = s.CreateRefund(ctx, b.merchant, second.ID, newKey(), RefundParams{Amount: i64(2401)})
		if p := wantProblem(t, err, 422, problem.CodeRefundExceedsCharge); p.Extra["refundable_amount"] != int64(2400) {
			t.Fatalf("refundable %v, want 2400", p.Extra["refundable_amount"])
		}
		rest, err := s.CreateRefund(ctx, b.merchant, second.ID, newKey(), RefundParams{})
		if err != nil || rest.Amount != 2400 {
			t.Fatalf("refund of the rest: %+v %v", rest, err)
		}
		second, _ = s.GetCharge(ctx, b.merchant, second.ID)
		if second.Status != StatusRefunded || b.carrier.Refunded(second.ID) != 4800 {
			t.Fatalf("after the full refund: %s, carrier refunded %d", second.Status, b.carrier.Refunded(second.ID))
		}
		if got := cashbackOf(t, s, me); got != 200 {
			t.Fatalf("balance %d after the full refund, want the 200 applied back", got)
		}
		assertCashbackBooks(t, b)

		// Expired: 90 days after it was earned, it no longer applies, and
		// the sweep posts its expiry.
		b.clock.Advance(90*24*time.Hour + time.Second)
		if got := cashbackOf(t, s, me); got != 0 {
			t.Fatalf("an expired balance still shows %d", got)
		}
		late, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 800, ""))
		if err != nil || late.CashbackApplied != 0 {
			t.Fatalf("a charge after expiry: %+v %v", late, err)
		}
		n, err := s.ExpireCashback(ctx)
		if err != nil || n != 1 {
			t.Fatalf("expired %d lots (%v), want 1", n, err)
		}
		if n, err := s.ExpireCashback(ctx); err != nil || n != 0 {
			t.Fatalf("a second sweep expired %d (%v)", n, err)
		}
		var expired int64
		b.store.DB.Raw(`SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE kind = ? AND account = ?`, KindCashbackExpired, AccountCashbackLiability).Scan(&expired)
		if expired != 200 {
			t.Fatalf("expiry posted %d, want 200", expired)
		}
		assertCashbackBooks(t, b)
	})
}

func TestCashbackKeepsTheCarrierMinimumAndComesBackOnFailure(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		const me = "+821012340002"
		pm := oneTap(t, s, b, b.merchant, me)
		if _, err := s.CreateCashbackProgram(ctx, b.merchant, program(1000, 500, 0, 30)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 5000, "")); err != nil { // earns 500
			t.Fatal(err)
		}
		// The carrier bills at least ₩100: a ₩300 charge applies ₩200.
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 300, ""))
		if err != nil || ch.CashbackApplied != 200 || ch.Billed() != 100 {
			t.Fatalf("small charge: %+v %v", ch, err)
		}
		if got, _ := b.carrier.Billed(ch.ID); got != 100 {
			t.Fatalf("the carrier billed %d, want its minimum 100", got)
		}
		// A charge at the carrier's minimum applies nothing.
		least, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, ""))
		if err != nil || least.CashbackApplied != 0 {
			t.Fatalf("a charge at the minimum: %+v %v", least, err)
		}
		// 500 - 200 + 10 + 10 (each ₩100 billed earns 10) left. A declined charge gives back what it reserved.
		before := cashbackOf(t, s, me)
		b.carrier.SetAnswer(func(carriers.ChargeRequest) (carriers.Result, error) {
			return carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureInsufficientBalance}, nil
		})
		failed, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 2000, ""))
		if err != nil || failed.Status != StatusFailed || failed.CashbackApplied != 0 {
			t.Fatalf("declined charge: %+v %v", failed, err)
		}
		if got := cashbackOf(t, s, me); got != before {
			t.Fatalf("balance %d after a declined charge, want %d back", got, before)
		}
		b.carrier.SetAnswer(nil)
		// An SMS-code charge reserves at creation (its text names the billed
		// amount) and gives it back when canceled.
		in := krw(1000)
		in.MSISDN = me
		coded, err := s.CreateCharge(ctx, b.merchant, newKey(), in)
		if err != nil || coded.CashbackApplied != 320 || coded.Billed() != 680 {
			t.Fatalf("code charge: %+v %v", coded, err)
		}
		if body := b.carrier.Outbox()[len(b.carrier.Outbox())-1].Body; !strings.Contains(body, "680") {
			t.Fatalf("the code's text does not name the billed amount: %q", body)
		}
		if got := cashbackOf(t, s, me); got != 0 {
			t.Fatalf("balance %d while the code charge holds it", got)
		}
		assertCashbackBooks(t, b)
		if _, err := s.CancelCharge(ctx, b.merchant, coded.ID); err != nil {
			t.Fatal(err)
		}
		if got := cashbackOf(t, s, me); got != before {
			t.Fatalf("balance %d after cancel, want %d", got, before)
		}
		// Confirmed, the code charge bills the reduced amount.
		coded, err = s.CreateCharge(ctx, b.merchant, newKey(), in)
		if err != nil {
			t.Fatal(err)
		}
		done, err := s.ConfirmCharge(ctx, b.merchant, coded.ID, lastCode(t, b))
		if err != nil || done.Status != StatusSucceeded {
			t.Fatalf("confirm: %+v %v", done, err)
		}
		if got, _ := b.carrier.Billed(coded.ID); got != 680 {
			t.Fatalf("the carrier billed %d, want 680", got)
		}
		// Cashback is per merchant: another merchant's charge to the same number applies none.
		other, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		pb := b.merchant
		pb.MerchantID = other.ID
		in.MSISDN = me
		elsewhere, err := s.CreateCharge(ctx, pb, newKey(), in)
		if err != nil || elsewhere.CashbackApplied != 0 {
			t.Fatalf("another merchant's charge: %+v %v", elsewhere, err)
		}
		assertCashbackBooks(t, b)
	})
}

func TestConcurrentChargesDoNotSpendOneBalanceTwice(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		const me = "+821012340003"
		pm := oneTap(t, s, b, b.merchant, me)
		if _, err := s.CreateCashbackProgram(ctx, b.merchant, program(500, 500, 0, 30)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 10000, "")); err != nil { // earns 500
			t.Fatal(err)
		}
		if _, err := s.EndCashbackProgram(ctx, b.merchant, mustActive(t, s, b)); err != nil { // no more earning: the sums stay exact
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var applied int64
		var errs []error
		for range 8 {
			wg.Go(func() {
				ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 250, ""))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				applied += ch.CashbackApplied
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("concurrent charges failed: %v", errs)
		}
		if applied != 500 { // 150 each (₩250 less the carrier's ₩100) until it runs out
			t.Fatalf("8 concurrent charges applied %d in all from a balance of 500", applied)
		}
		var negative int64
		b.store.DB.Raw(`SELECT COUNT(*) FROM cashback_lots WHERE remaining < 0 OR remaining > earned`).Scan(&negative)
		if negative != 0 || cashbackOf(t, s, me) != 0 {
			t.Fatalf("lots out of bounds: %d, balance %d", negative, cashbackOf(t, s, me))
		}
		assertCashbackBooks(t, b)
	})
}

// succeededEvent is the charge as its charge.succeeded event carried it.
func succeededEvent(t *testing.T, b *testBundle, id string) *Charge {
	t.Helper()
	b.events.mu.Lock()
	defer b.events.mu.Unlock()
	for _, e := range b.events.events {
		if e.ObjectID == id && e.Type == EventChargeSucceeded {
			if ch, ok := e.Object.(*Charge); ok {
				return ch
			}
		}
	}
	t.Fatalf("no charge.succeeded event for %s", id)
	return nil
}

func mustActive(t *testing.T, s *Service, b *testBundle) string {
	t.Helper()
	list, err := s.ListCashbackPrograms(context.Background(), b.merchant)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.Status == CashbackProgramActive {
			return p.ID
		}
	}
	t.Fatal("no active program")
	return ""
}

func TestCashbackTotalsForStatements(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		const me = "+821012340004"
		pm := oneTap(t, s, b, b.merchant, me)
		from := b.clock.Now()
		if _, err := s.CreateCashbackProgram(ctx, b.merchant, program(200, 500, 0, 1)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 10000, "")); err != nil { // earns 200
			t.Fatal(err)
		}
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 1000, "")) // applies 200, earns 16
		if err != nil || ch.CashbackApplied != 200 {
			t.Fatalf("%+v %v", ch, err)
		}
		b.clock.Advance(25 * time.Hour)
		if _, err := s.ExpireCashback(ctx); err != nil { // the 16 runs out
			t.Fatal(err)
		}
		got, err := s.books().CashbackTotals(ctx, "skt", from, b.clock.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		want := CashbackTotal{MerchantID: b.merchant.MerchantID, Currency: "KRW", Funded: 216, Applied: 200, Expired: 16}
		if len(got) != 1 || got[0] != want {
			t.Fatalf("cashback totals %+v, want %+v", got, want)
		}
		none, err := s.books().CashbackTotals(ctx, "kt", from, b.clock.Now().Add(time.Second))
		if err != nil || len(none) != 0 {
			t.Fatalf("another carrier's totals: %+v %v", none, err)
		}
		assertCashbackBooks(t, b)
	})
}

// A merchant that never had a cashback program pays no read for it on its
// charges; its first program counts at once on the node that made it and
// within the lookup TTL on the others.
func TestOnlyAMerchantWithAProgramPaysForCashbackReads(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		const ttl = 5 * time.Second
		node := func() *Service {
			n, err := NewService(Deps{DB: s.db, Carriers: s.carriers, Vault: s.vault, Clock: s.clock, Log: s.log, Jobs: s.jobs, Events: s.events, Limits: s.limits},
				Settings{CodeTTL: s.cfg.CodeTTL, MaxAttempts: s.cfg.MaxAttempts, CarrierTimeout: s.cfg.CarrierTimeout, LookupCacheTTL: ttl})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		one, other := node(), node()
		var reads atomic.Int64
		if err := b.store.DB.Callback().Query().After("*").Register("test:cashback_reads", func(db *gorm.DB) {
			if strings.Contains(db.Statement.SQL.String(), "cashback_") {
				reads.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
		pm := oneTap(t, s, b, b.merchant, "+821012340001")
		charge := func(on *Service, wantReads, wantEarned int64) *Charge {
			t.Helper()
			reads.Store(0)
			ch, err := on.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 5000, ""))
			if err != nil || ch.Status != StatusSucceeded {
				t.Fatalf("charge: %+v %v", ch, err)
			}
			if got := reads.Load(); got != wantReads || ch.CashbackEarned != wantEarned {
				t.Fatalf("%d cashback reads and %d earned, want %d and %d", got, ch.CashbackEarned, wantReads, wantEarned)
			}
			return ch
		}
		charge(one, 1, 0)   // learns the merchant has no program
		charge(one, 0, 0)   // and keeps it
		charge(other, 1, 0) // each node on its own
		if _, err := one.CreateCashbackProgram(ctx, b.merchant, program(200, 500, 1000, 90)); err != nil {
			t.Fatal(err)
		}
		charge(one, 3, 100) // at once where it was made: whether, the lots, the program
		if had, err := one.everHadCashback(s.db, b.merchant.MerchantID, true); err != nil || had {
			t.Fatalf("live mode: had a program %v (%v); only test mode has one", had, err)
		}
		charge(other, 0, 0)  // within the TTL elsewhere: not yet
		b.clock.Advance(ttl) // past it, the other node sees it and spends the balance earned on the first
		if ch := charge(other, 3, 98); ch.CashbackApplied != 100 {
			t.Fatalf("applied %d of the balance, want 100", ch.CashbackApplied)
		}
	})
}
