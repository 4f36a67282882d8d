package billing

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"tollgate/carriers"
	"tollgate/internal/auth"
)

// oneTap opts number in with the bundle's merchant (or p) and returns the
// active payment method's id.
func oneTap(t *testing.T, s *Service, b *testBundle, p auth.Principal, number string) string {
	t.Helper()
	ctx := context.Background()
	pm, err := s.CreatePaymentMethod(ctx, p, newKey(), PaymentMethodParams{MSISDN: number, Carrier: "skt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConfirmPaymentMethod(ctx, p, pm.ID, lastCode(t, b)); err != nil {
		t.Fatal(err)
	}
	return pm.ID
}

func tap(pm string, amount int64, category string) ChargeParams {
	return ChargeParams{Amount: i64(amount), Currency: "KRW", PaymentMethod: pm, Description: "gems", Category: category}
}

// spendRow reads one bucket of the subscriber's month.
func spendRow(t *testing.T, s *Service, b *testBundle, number, month, scope string) spendMonth {
	t.Helper()
	var row spendMonth
	err := b.store.DB.Where("msisdn_index = ? AND currency = 'KRW' AND month = ? AND scope = ?", s.vault.Index(number), month, scope).Take(&row).Error
	if err != nil {
		t.Fatalf("spend month %s %s: %v", month, scope, err)
	}
	return row
}

// wantCapDecline checks a refusal names its cap and left nothing behind:
// no charge row beyond chargesBefore and no carrier call beyond callsBefore.
func wantCapDecline(t *testing.T, b *testBundle, err error, code, capName string, chargesBefore int64, callsBefore int) {
	t.Helper()
	p := wantProblem(t, err, http.StatusUnprocessableEntity, code)
	if p.Extra["cap"] != capName {
		t.Fatalf("decline names cap %v, want %s", p.Extra["cap"], capName)
	}
	var n int64
	if err := b.store.DB.Model(&Charge{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != chargesBefore || b.carrier.ChargeCalls() != callsBefore {
		t.Fatalf("after the decline: %d charges (want %d), %d carrier calls (want %d)", n, chargesBefore, b.carrier.ChargeCalls(), callsBefore)
	}
}

func charges(t *testing.T, b *testBundle) int64 {
	t.Helper()
	var n int64
	if err := b.store.DB.Model(&Charge{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Done means, issue 10: 60 concurrent ₩10,000 one-tap charges from one
// number against the ₩500,000 ceiling let exactly 50 through; the other 10
// are refused with carrier_limit_exceeded before the carrier hears of them.
func TestConcurrentOneTapChargesNeverPassTheCarrierCap(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			ok, over, other int
		)
		for range 60 {
			wg.Go(func() {
				ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 10000, ""))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && ch.Status == StatusSucceeded:
					ok++
				case err != nil && strings.Contains(err.Error(), carriers.FailureCarrierLimitExceeded):
					over++
				default:
					other++
					t.Errorf("unexpected answer: %v %v", ch, err)
				}
			})
		}
		wg.Wait()
		if ok != 50 || over != 10 || other != 0 {
			t.Fatalf("%d succeeded, %d over the cap, %d else; want 50, 10, 0", ok, over, other)
		}
		if calls := b.carrier.ChargeCalls(); calls != 50 {
			t.Fatalf("the carrier was called %d times, want 50", calls)
		}
		if n := charges(t, b); n != 50 {
			t.Fatalf("%d charges recorded, want 50 (a refused one leaves nothing)", n)
		}
		row := spendRow(t, s, b, "+821012345678", "2026-11", scopeTotal)
		if row.Reserved != 500000 || row.Spent != 500000 {
			t.Fatalf("month holds %d reserved, %d spent; want 500000 both", row.Reserved, row.Spent)
		}
		assertBalanced(t, b)
	})
}

func TestARefundGivesTheRoomBack(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		first, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 300000, ""))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 200000, "")); err != nil {
			t.Fatal(err)
		}
		n, calls := charges(t, b), b.carrier.ChargeCalls()
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 1000, ""))
		wantCapDecline(t, b, err, carriers.FailureCarrierLimitExceeded, BindingCarrier, n, calls)
		// A partial refund gives back its amount, no more.
		if _, err := s.CreateRefund(ctx, b.merchant, first.ID, newKey(), RefundParams{Amount: i64(50000)}); err != nil {
			t.Fatal(err)
		}
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 50001, ""))
		wantCapDecline(t, b, err, carriers.FailureCarrierLimitExceeded, BindingCarrier, n, calls)
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 50000, "")); err != nil {
			t.Fatalf("the refunded room: %v", err)
		}
		row := spendRow(t, s, b, "+821012345678", "2026-11", scopeTotal)
		if row.Reserved != 500000 || row.Spent != 500000 {
			t.Fatalf("month holds %d reserved, %d spent; want 500000 both", row.Reserved, row.Spent)
		}
		assertBalanced(t, b)
	})
}

func TestAFailedOrCanceledChargeReleasesItsRoom(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		// Waiting for its code, a charge holds its room.
		waiting, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(300000))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(300000)); err == nil {
			t.Fatal("a second ₩300,000 while the first holds its room was accepted")
		}
		if _, err := s.CancelCharge(ctx, b.merchant, waiting.ID); err != nil {
			t.Fatal(err)
		}
		// A carrier decline gives it back too.
		b.carrier.SetAnswer(func(carriers.ChargeRequest) (carriers.Result, error) {
			return carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureInsufficientBalance}, nil
		})
		declined, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(300000))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := s.ConfirmCharge(ctx, b.merchant, declined.ID, lastCode(t, b)); err != nil || out.Status != StatusFailed {
			t.Fatalf("declined charge: %v %v", out, err)
		}
		// An expired code too.
		expiring, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(300000))
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(6 * time.Minute)
		if err := (&chargeExpiryWorker{s: s}).Work(ctx, &river.Job[ChargeExpiryArgs]{Args: ChargeExpiryArgs{ChargeID: expiring.ID}}); err != nil {
			t.Fatal(err)
		}
		if row := spendRow(t, s, b, "+821012345678", "2026-11", scopeTotal); row.Reserved != 0 || row.Spent != 0 {
			t.Fatalf("after cancel, decline and expiry the month holds %d reserved, %d spent; want 0", row.Reserved, row.Spent)
		}
		b.carrier.SetAnswer(nil)
		if c := paid(t, s, b, 500000); c.Status != StatusSucceeded {
			t.Fatalf("the whole ceiling after the releases: %s", c.Status)
		}
	})
}

func TestTheSubscribersOwnCapDeclinesAndAllows(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		if err := s.SetOwnCap(ctx, s.vault.Index("+821012345678"), "KRW", i64(30000)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 30000, "")); err != nil {
			t.Fatalf("up to the own cap: %v", err)
		}
		n, calls := charges(t, b), b.carrier.ChargeCalls()
		_, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, ""))
		wantCapDecline(t, b, err, carriers.FailureSubscriberLimitExceeded, BindingSubscriber, n, calls)
		// An SMS-code charge is refused before the code goes out.
		sms := len(b.carrier.Outbox())
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), krw(100))
		wantCapDecline(t, b, err, carriers.FailureSubscriberLimitExceeded, BindingSubscriber, n, calls)
		if len(b.carrier.Outbox()) != sms {
			t.Fatal("a code was sent for a charge over the cap")
		}
		// Restored: the carrier's ceiling binds again.
		if err := s.SetOwnCap(ctx, s.vault.Index("+821012345678"), "KRW", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, "")); err != nil {
			t.Fatalf("after restoring the cap: %v", err)
		}
	})
}

func TestTheMerchantCapDeclinesAndAllows(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		caps := krCaps(t)
		caps.Merchant = map[string]map[string]int64{"*": {"KRW": 20000}}
		s.cfg.Caps = caps
		ctx := context.Background()
		shopB, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		pb := auth.Principal{MerchantID: shopB.ID, Role: auth.RoleMerchant}
		pmA := oneTap(t, s, b, b.merchant, "+821012345678")
		pmB := oneTap(t, s, b, pb, "+821012345678")
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pmA, 20000, "")); err != nil {
			t.Fatalf("up to the merchant cap: %v", err)
		}
		n, calls := charges(t, b), b.carrier.ChargeCalls()
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), tap(pmA, 100, ""))
		wantCapDecline(t, b, err, carriers.FailureMerchantLimitExceeded, capMerchant, n, calls)
		// One statement reserves in every bucket: the total had room and took
		// the amount, and the refusal took it back with the rest.
		if row := spendRow(t, s, b, "+821012345678", "2026-11", scopeTotal); row.Reserved != 20000 {
			t.Fatalf("total reserved %d after the merchant cap's refusal, want 20000", row.Reserved)
		}
		// Another merchant has its own room with the same subscriber.
		if _, err := s.CreateCharge(ctx, pb, newKey(), tap(pmB, 20000, "")); err != nil {
			t.Fatalf("another merchant: %v", err)
		}
	})
}

func TestTheCategoryCapDeclinesAndAllows(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		caps := krCaps(t)
		caps.Category = map[string]map[string]int64{"game": {"KRW": 50000}}
		s.cfg.Caps = caps
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 50000, "game")); err != nil {
			t.Fatalf("up to the category cap: %v", err)
		}
		n, calls := charges(t, b), b.carrier.ChargeCalls()
		_, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, "game"))
		wantCapDecline(t, b, err, CodeCategoryLimitExceeded, capCategory, n, calls)
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, "music")); err != nil {
			t.Fatalf("another category: %v", err)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, "")); err != nil {
			t.Fatalf("no category: %v", err)
		}
	})
}

func TestABlockedCategoryIsRefusedBeforeAnything(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		if err := s.SetBlockedCategories(ctx, s.vault.Index("+821012345678"), []string{"voucher"}); err != nil {
			t.Fatal(err)
		}
		calls, sms := b.carrier.ChargeCalls(), len(b.carrier.Outbox())
		_, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 1000, "voucher"))
		wantProblem(t, err, http.StatusUnprocessableEntity, CodeCategoryBlocked)
		_, err = s.CreateCharge(ctx, b.merchant, newKey(), ChargeParams{Amount: i64(1000), Currency: "KRW", MSISDN: "+821012345678", Carrier: "skt", Category: "voucher"})
		wantProblem(t, err, http.StatusUnprocessableEntity, CodeCategoryBlocked)
		if charges(t, b) != 0 || b.carrier.ChargeCalls() != calls || len(b.carrier.Outbox()) != sms {
			t.Fatal("a blocked charge left a charge, a carrier call or a text")
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 1000, "game")); err != nil {
			t.Fatalf("a category not blocked: %v", err)
		}
	})
}

// The month is the carrier's calendar month in Asia/Seoul: 23:59 KST on
// the 30th of November counts in November, 00:00 KST on the 1st in
// December, and a charge that succeeds by status query after the month
// turned stays in the month of its intent.
func TestTheMonthTurnsInTheCarriersZone(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		// 2026-11-30 23:59 KST = 14:59 UTC.
		b.clock.Set(time.Date(2026, 11, 30, 14, 59, 0, 0, time.UTC))
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 490000, "")); err != nil {
			t.Fatal(err)
		}
		// Unknown outcome: it stays processing into December.
		b.carrier.SetAnswer(func(carriers.ChargeRequest) (carriers.Result, error) {
			return carriers.Result{}, carriers.ErrOutcomeUnknown
		})
		late, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 10000, ""))
		if err != nil || late.Status != StatusProcessing {
			t.Fatalf("late charge: %v %v", late, err)
		}
		b.carrier.SetAnswer(nil)
		b.clock.Set(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)) // 00:00 KST, December 1st
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 500000, "")); err != nil {
			t.Fatalf("December's first charge: %v", err)
		}
		b.carrier.SetStatus(func(carriers.Reference) (carriers.Result, error) {
			return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "late"}, nil
		})
		if err := (&chargeStatusWorker{s: s}).Work(ctx, &river.Job[ChargeStatusArgs]{Args: ChargeStatusArgs{ChargeID: late.ID}}); err != nil {
			t.Fatal(err)
		}
		if c, _ := s.reload(ctx, late); c.Status != StatusSucceeded || deref(c.SpendMonth) != "2026-11" {
			t.Fatalf("the late charge: %s in %s, want succeeded in 2026-11", c.Status, deref(c.SpendMonth))
		}
		nov := spendRow(t, s, b, "+821012345678", "2026-11", scopeTotal)
		dec := spendRow(t, s, b, "+821012345678", "2026-12", scopeTotal)
		if nov.Spent != 500000 || dec.Spent != 500000 || nov.Reserved != 500000 || dec.Reserved != 500000 {
			t.Fatalf("November %+v, December %+v; want 500000 spent and reserved in each", nov, dec)
		}
		sp, err := s.MonthSpend(ctx, s.vault.Index("+821012345678"), "KRW")
		if err != nil || sp.Month != "2026-12" || sp.Spent != 500000 {
			t.Fatalf("this month: %+v %v", sp, err)
		}
		assertBalanced(t, b)
	})
}

// textJobs lists the texts to subscribers waiting in the queue, oldest first.
func textJobs(t *testing.T, s *Service) []SubscriberTextArgs {
	t.Helper()
	res, err := s.jobs.JobList(context.Background(), river.NewJobListParams().Kinds(SubscriberTextArgs{}.Kind()).First(1000).
		States(rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStatePending))
	if err != nil {
		t.Fatal(err)
	}
	var out []SubscriberTextArgs
	for _, j := range res.Jobs {
		var a SubscriberTextArgs
		if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func textsLike(all []SubscriberTextArgs, prefix string) []SubscriberTextArgs {
	var out []SubscriberTextArgs
	for _, a := range all {
		if strings.HasPrefix(a.What, prefix) {
			out = append(out, a)
		}
	}
	return out
}

func eventsOf(b *testBundle, typ string) []Event {
	b.events.mu.Lock()
	defer b.events.mu.Unlock()
	var out []Event
	for _, e := range b.events.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// Concurrent charges crossing 80 % and then 100 % of the cap alert once
// per threshold: one event to the merchant whose charge reached it and
// one text to the subscriber, in Korean for a Korean line.
func TestThresholdsAlertOnceUnderConcurrency(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() { _, _ = s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 10000, "")) })
		}
		wg.Wait()
		// Applying a success again (a callback, a status job) alerts nothing more.
		var ids []string
		if err := b.store.DB.Model(&Charge{}).Order("seq").Pluck("id", &ids).Error; err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := s.ApplyChargeResult(ctx, id, carriers.Result{Outcome: carriers.OutcomeSucceeded}, nil); err != nil {
				t.Fatal(err)
			}
		}
		evs := eventsOf(b, EventSpendThresholdReached)
		if len(evs) != 2 {
			t.Fatalf("%d threshold events, want 2 (80 and 100)", len(evs))
		}
		got := map[int]SpendThreshold{}
		for _, e := range evs {
			a := *e.Object.(*SpendThreshold)
			got[a.Threshold] = a
			if e.MerchantID != b.merchant.MerchantID || a.Charge != e.ObjectID || a.Month != "2026-11" || a.Cap != 500000 || a.Currency != "KRW" {
				t.Fatalf("event %+v %+v", e, a)
			}
		}
		if got[80].Spent < 400000 || got[80].Spent >= 500000 || got[100].Spent != 500000 {
			t.Fatalf("thresholds at %d and %d spent", got[80].Spent, got[100].Spent)
		}
		jobs := textJobs(t, s)
		alerts := textsLike(jobs, "alert:")
		if len(alerts) != 2 {
			t.Fatalf("%d alert texts, want 2: %+v", len(alerts), alerts)
		}
		var bodies []string
		for _, a := range alerts {
			bodies = append(bodies, a.Body)
		}
		joined := strings.Join(bodies, "\n")
		if !strings.Contains(joined, "한도의 80%를 사용했습니다 (₩400,000 / ₩500,000)") || !strings.Contains(joined, "한도 ₩500,000에 도달했습니다") {
			t.Fatalf("alert texts:\n%s", joined)
		}
		// Each queued text goes out through the carrier to the subscriber.
		before := len(b.carrier.Outbox())
		w := &subscriberTextWorker{s: s}
		for _, a := range alerts {
			if err := w.Work(ctx, &river.Job[SubscriberTextArgs]{Args: a}); err != nil {
				t.Fatal(err)
			}
		}
		out := b.carrier.Outbox()[before:]
		if len(out) != 2 || out[0].MSISDN != "+821012345678" || out[0].Body != alerts[0].Body || out[0].Reference != alerts[0].ChargeID {
			t.Fatalf("texts sent: %+v", out)
		}
	})
}

func TestNoAlertBelowEightyPercent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 399900, "")); err != nil {
			t.Fatal(err)
		}
		if n := len(eventsOf(b, EventSpendThresholdReached)); n != 0 {
			t.Fatalf("%d threshold events below 80 %%", n)
		}
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 100, "")); err != nil {
			t.Fatal(err)
		}
		if n := len(eventsOf(b, EventSpendThresholdReached)); n != 1 {
			t.Fatalf("%d threshold events at exactly 80 %%, want 1", n)
		}
	})
}

// Receipts: one text per succeeded charge and refund, with the merchant,
// the amount and what is left this month, where the carrier turns them on;
// none where it does not. Korean for a Korean line, English elsewhere.
// A text due now is available to the workers at once, not "scheduled" for
// river's scheduler to release with all the others a few seconds later.
func TestAReceiptIsDueAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		if _, err := s.CreateCharge(context.Background(), b.merchant, newKey(), tap(pm, 12000, "")); err != nil {
			t.Fatal(err)
		}
		res, err := s.jobs.JobList(context.Background(), river.NewJobListParams().Kinds(SubscriberTextArgs{}.Kind()))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Jobs) != 1 || res.Jobs[0].State != rivertype.JobStateAvailable {
			for _, j := range res.Jobs {
				t.Errorf("text job %d: %s", j.ID, j.State)
			}
			t.Fatalf("%d text jobs, want one receipt, available now", len(res.Jobs))
		}
	})
}

func TestReceiptsFollowTheCarriersConfig(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		s.cfg.Caps = krCaps(t)
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 12000, ""))
		if err != nil {
			t.Fatal(err)
		}
		rf, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(2000)})
		if err != nil {
			t.Fatal(err)
		}
		receipts := textsLike(textJobs(t, s), "receipt:")
		refunds := textsLike(textJobs(t, s), "refund:")
		if len(receipts) != 1 || len(refunds) != 1 || refunds[0].What != "refund:"+rf.ID {
			t.Fatalf("receipts %+v, refunds %+v", receipts, refunds)
		}
		if want := "[tollgate] Shop A ₩12,000 결제가 휴대폰 요금으로 청구되었습니다. 이번 달 남은 한도: ₩488,000"; receipts[0].Body != want {
			t.Fatalf("receipt %q, want %q", receipts[0].Body, want)
		}
		if want := "[tollgate] Shop A ₩2,000 결제가 환불되었습니다. 이번 달 남은 한도: ₩490,000"; refunds[0].Body != want {
			t.Fatalf("refund receipt %q, want %q", refunds[0].Body, want)
		}
		// English where the country has no language of its own.
		b.carrier.SetCapabilities(func(c *carriers.Capabilities) { c.Country = "US" })
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 3000, "")); err != nil {
			t.Fatal(err)
		}
		receipts = textsLike(textJobs(t, s), "receipt:")
		if want := "tollgate: ₩3,000 paid to Shop A on your phone bill. Left this month: ₩487,000."; len(receipts) != 2 || receipts[1].Body != want {
			t.Fatalf("receipts %+v, want the last %q", receipts, want)
		}
		// Off: no receipt.
		caps := krCaps(t)
		cc := caps.Carriers["skt"]
		cc.Receipts = false
		caps.Carriers["skt"] = cc
		s.cfg.Caps = caps
		if _, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 3000, "")); err != nil {
			t.Fatal(err)
		}
		if n := len(textsLike(textJobs(t, s), "receipt:")); n != 2 {
			t.Fatalf("%d receipts with receipts off, want still 2", n)
		}
	})
}
