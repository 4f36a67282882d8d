package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"tollgate/carriers"
	"tollgate/internal/problem"
)

var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return loc
}()

// recurring declares the KR test carriers' window on the bundle's carrier.
func recurring(b *testBundle) {
	b.carrier.SetCapabilities(func(c *carriers.Capabilities) {
		c.Recurring = carriers.Recurring{WindowDays: 5, Location: seoul}
	})
}

func monthly(pm string) SubscriptionParams {
	return SubscriptionParams{PaymentMethod: pm, Amount: i64(9900), Currency: "KRW", Interval: IntervalMonth, Description: "webtoon pass", Category: "content"}
}

// subscribed creates a subscription on number and confirms it with the
// code the subscriber got.
func subscribed(t *testing.T, s *Service, b *testBundle, number string) *Subscription {
	t.Helper()
	ctx := context.Background()
	pm := oneTap(t, s, b, b.merchant, number)
	sub, err := s.CreateSubscription(ctx, b.merchant, newKey(), monthly(pm))
	if err != nil {
		t.Fatal(err)
	}
	if sub, err = s.ConfirmSubscription(ctx, b.merchant, sub.ID, lastCode(t, b)); err != nil {
		t.Fatal(err)
	}
	return sub
}

// renewNow runs the subscription's renewal job for its current period, as
// river would; a snooze (wait, retry later) is not a failure.
func renewNow(t *testing.T, s *Service, id string) *Subscription {
	t.Helper()
	ctx := context.Background()
	sub, err := s.reloadSub(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	err = (&subscriptionRenewalWorker{s: s}).Work(ctx, &river.Job[SubscriptionRenewalArgs]{Args: SubscriptionRenewalArgs{SubscriptionID: id, Period: sub.Period}})
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) {
		t.Fatal(err)
	}
	if sub, err = s.reloadSub(ctx, id); err != nil {
		t.Fatal(err)
	}
	return sub
}

// periodCharges lists the subscription's charges, oldest first.
func periodCharges(t *testing.T, b *testBundle, id string) []Charge {
	t.Helper()
	var out []Charge
	if err := b.store.DB.Where("subscription_id = ?", id).Order("seq").Find(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

func wantStatus(t *testing.T, sub *Subscription, st SubscriptionStatus, reason string) {
	t.Helper()
	if sub.Status != st || deref(sub.CancellationReason) != reason {
		t.Fatalf("subscription is %s (%q), want %s (%q)", sub.Status, deref(sub.CancellationReason), st, reason)
	}
}

func TestPeriodStartKeepsTheAnchorDay(t *testing.T) {
	at := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, seoul) }
	for _, tc := range []struct {
		name     string
		anchor   time.Time
		interval string
		want     []time.Time
	}{
		{"Jan 31, common year", at(2027, 1, 31), IntervalMonth, []time.Time{at(2027, 1, 31), at(2027, 2, 28), at(2027, 3, 31), at(2027, 4, 30)}},
		{"Jan 31, leap year", at(2028, 1, 31), IntervalMonth, []time.Time{at(2028, 1, 31), at(2028, 2, 29), at(2028, 3, 31)}},
		{"Dec 31 into the new year", at(2026, 12, 31), IntervalMonth, []time.Time{at(2026, 12, 31), at(2027, 1, 31), at(2027, 2, 28)}},
		{"the 15th", at(2026, 11, 15), IntervalMonth, []time.Time{at(2026, 11, 15), at(2026, 12, 15), at(2027, 1, 15)}},
		{"weekly across a month", at(2026, 12, 29), IntervalWeek, []time.Time{at(2026, 12, 29), at(2027, 1, 5), at(2027, 1, 12)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n, want := range tc.want {
				if got := periodStart(tc.anchor.UTC(), tc.interval, n, seoul); !got.Equal(want) {
					t.Errorf("period %d starts %s, want %s", n, got.In(seoul), want)
				}
			}
		})
	}
	// The day is the carrier's: 00:30 on Feb 1 in Seoul is Jan 31 in UTC,
	// and the anchor is Feb 1, so March's period starts Mar 1 (not Feb 28).
	a := time.Date(2027, 2, 1, 0, 30, 0, 0, seoul)
	if got := periodStart(a.UTC(), IntervalMonth, 1, seoul); !got.Equal(time.Date(2027, 3, 1, 0, 30, 0, 0, seoul)) {
		t.Fatalf("the next period starts %s, want Mar 1 00:30 in Seoul", got.In(seoul))
	}
}

func TestSubscriptionNeverChargesBeforeItsOwnConsent(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		sub, err := s.CreateSubscription(ctx, b.merchant, newKey(), monthly(pm))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, sub, SubRequiresConfirmation, "")
		text := b.carrier.Outbox()[len(b.carrier.Outbox())-1]
		for _, want := range []string{"Shop A", "₩9,900", "every month"} {
			if !strings.Contains(text.Body, want) {
				t.Fatalf("the consent text %q does not name %q", text.Body, want)
			}
		}
		if text.Reference != sub.ID {
			t.Fatalf("the text is about %q, want the subscription %s", text.Reference, sub.ID)
		}
		// The one-tap consent is not enough: nothing runs it, not even a
		// renewal job forced through, and the sweep finds nothing due.
		if err := (&subscriptionSweepWorker{s: s}).Work(ctx, &river.Job[SubscriptionSweepArgs]{}); err != nil {
			t.Fatal(err)
		}
		renewNow(t, s, sub.ID)
		if n := len(periodCharges(t, b, sub.ID)); n != 0 || b.carrier.ChargeCalls() != 0 {
			t.Fatalf("%d charges and %d carrier calls before the consent", n, b.carrier.ChargeCalls())
		}
		code := lastCode(t, b)
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		p := wantProblem(t, func() error { _, err := s.ConfirmSubscription(ctx, b.merchant, sub.ID, wrong); return err }(), http.StatusUnprocessableEntity, problem.CodeInvalidConfirmationCode)
		if p.Extra["attempts_remaining"] != 2 {
			t.Fatalf("attempts_remaining %v, want 2", p.Extra["attempts_remaining"])
		}
		sub, err = s.ConfirmSubscription(ctx, b.merchant, sub.ID, code)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, sub, SubActive, "")
		if !sub.NextChargeAt.Equal(b.clock.Now()) {
			t.Fatalf("first charge due %s, want now", sub.NextChargeAt)
		}
		sub = renewNow(t, s, sub.ID)
		chs := periodCharges(t, b, sub.ID)
		if len(chs) != 1 || chs[0].Status != StatusSucceeded || *chs[0].SubscriptionPeriod != 0 || chs[0].Amount != 9900 || deref(chs[0].PaymentMethodID) != pm {
			t.Fatalf("after consent: %+v", chs)
		}
		if sub.Period != 1 || deref(sub.LatestChargeID) != chs[0].ID {
			t.Fatalf("subscription at period %d with latest charge %q", sub.Period, deref(sub.LatestChargeID))
		}
		if got := b.events.types(sub.ID); strings.Join(got, ",") != EventSubscriptionCreated+","+EventSubscriptionRenewed {
			t.Fatalf("events %v", got)
		}
		assertBalanced(t, b)
	})
}

func TestAnUnconfirmedSubscriptionExpires(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		sub, err := s.CreateSubscription(ctx, b.merchant, newKey(), monthly(pm))
		if err != nil {
			t.Fatal(err)
		}
		code := lastCode(t, b)
		w := &subscriptionExpiryWorker{s: s}
		job := &river.Job[SubscriptionExpiryArgs]{Args: SubscriptionExpiryArgs{SubscriptionID: sub.ID}}
		var snooze *river.JobSnoozeError
		if err := w.Work(ctx, job); !errors.As(err, &snooze) {
			t.Fatalf("before the code expired the job answered %v, want a snooze", err)
		}
		b.clock.Advance(5*time.Minute + time.Second)
		if err := w.Work(ctx, job); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSubscription(ctx, b.merchant, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, got, SubCanceled, CancelConfirmationExpired)
		_, err = s.ConfirmSubscription(ctx, b.merchant, sub.ID, code)
		wantProblem(t, err, http.StatusConflict, CodeSubscriptionStateInvalid)
		renewNow(t, s, sub.ID)
		if b.carrier.ChargeCalls() != 0 {
			t.Fatal("an expired subscription charged")
		}
		if got := b.events.types(sub.ID); strings.Join(got, ",") != EventSubscriptionCreated+","+EventSubscriptionCanceled {
			t.Fatalf("events %v", got)
		}
	})
}

func TestASubscriptionNeedsACarrierThatTakesRecurringCharges(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		sent := len(b.carrier.Outbox())
		_, err := s.CreateSubscription(ctx, b.merchant, newKey(), monthly(pm))
		wantProblem(t, err, http.StatusUnprocessableEntity, CodeRecurringNotSupported)
		if len(b.carrier.Outbox()) != sent {
			t.Fatal("a code went out for a subscription the carrier cannot bill")
		}
		recurring(b)
		if _, err := s.CreateSubscription(ctx, b.merchant, newKey(), monthly(pm)); err != nil {
			t.Fatalf("with a recurring window: %v", err)
		}
		// Another merchant's payment method, or a revoked one, carries none.
		other, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		shopB := b.merchant
		shopB.MerchantID = other.ID
		_, err = s.CreateSubscription(ctx, shopB, newKey(), monthly(pm))
		wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodePaymentMethodInvalid)
		for _, bad := range []func(*SubscriptionParams){
			func(p *SubscriptionParams) { p.Interval = "day" },
			func(p *SubscriptionParams) { p.Amount = nil },
			func(p *SubscriptionParams) { p.StartAt = "2026-11-23T00:00:00Z" },
			func(p *SubscriptionParams) { p.StartAt = "tomorrow" },
		} {
			in := monthly(pm)
			bad(&in)
			_, err := s.CreateSubscription(ctx, b.merchant, newKey(), in)
			wantProblem(t, err, http.StatusBadRequest, problem.CodeInvalidParameter)
		}
	})
}

func TestAMonthlySubscriptionFromJan31RenewsAtEachMonthsEnd(t *testing.T) {
	for _, year := range []int{2027, 2028} {
		eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
			recurring(b)
			start := time.Date(year, 1, 31, 10, 0, 0, 0, seoul)
			b.clock.Set(start.UTC())
			sub := subscribed(t, s, b, "+821012345678")
			feb := 28
			if year == 2028 {
				feb = 29
			}
			for n, due := range []time.Time{start, time.Date(year, 2, feb, 10, 0, 0, 0, seoul), time.Date(year, 3, 31, 10, 0, 0, 0, seoul)} {
				if !sub.NextChargeAt.Equal(due) {
					t.Fatalf("period %d due %s, want %s", n, sub.NextChargeAt.In(seoul), due)
				}
				b.clock.Set(due.Add(-time.Minute).UTC())
				if sub = renewNow(t, s, sub.ID); len(periodCharges(t, b, sub.ID)) != n {
					t.Fatalf("period %d charged a minute early", n)
				}
				b.clock.Set(due.UTC())
				sub = renewNow(t, s, sub.ID)
				if got := len(periodCharges(t, b, sub.ID)); got != n+1 {
					t.Fatalf("after period %d's due time: %d charges", n, got)
				}
				if !sub.CurrentPeriodStart.Equal(due) {
					t.Fatalf("current period starts %s, want %s", sub.CurrentPeriodStart.In(seoul), due)
				}
			}
			assertBalanced(t, b)
		})
	}
}

func TestOneChargePerPeriodUnderConcurrentWorkers(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		sub := subscribed(t, s, b, "+821012345678")
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w := &subscriptionRenewalWorker{s: s}
				errs <- w.Work(ctx, &river.Job[SubscriptionRenewalArgs]{Args: SubscriptionRenewalArgs{SubscriptionID: sub.ID, Period: 0}})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			var snooze *river.JobSnoozeError
			if err != nil && !errors.As(err, &snooze) {
				t.Fatal(err)
			}
		}
		sub = renewNow(t, s, sub.ID) // whichever snoozed comes back
		chs := periodCharges(t, b, sub.ID)
		if len(chs) != 1 || b.carrier.ChargeCalls() != 1 {
			t.Fatalf("3 workers made %d charges and %d carrier calls", len(chs), b.carrier.ChargeCalls())
		}
		if sub.Period != 1 {
			t.Fatalf("subscription at period %d, want 1 (charge %s %v)", sub.Period, chs[0].Status, deref(chs[0].FailureCode))
		}
		if n := strings.Count(strings.Join(b.events.types(sub.ID), ","), EventSubscriptionRenewed); n != 1 {
			t.Fatalf("%d renewed events", n)
		}
		assertBalanced(t, b)
	})
}

func TestACrashBetweenThePeriodsChargeAndItsBookkeepingBillsOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		sub := subscribed(t, s, b, "+821012345678")
		// The charge is made and the process dies before the subscription
		// hears of it.
		ch, refused, err := s.chargePeriod(ctx, sub)
		if err != nil || refused != nil || ch.Status != StatusSucceeded {
			t.Fatalf("charge: %v %v %+v", err, refused, ch)
		}
		if cur, _ := s.reloadSub(ctx, sub.ID); cur.Period != 0 {
			t.Fatal("the bookkeeping ran")
		}
		// river runs the job again after the crash.
		sub = renewNow(t, s, sub.ID)
		sub = renewNow(t, s, sub.ID) // and once more: next period not due
		if chs := periodCharges(t, b, sub.ID); len(chs) != 1 || chs[0].ID != ch.ID || b.carrier.ChargeCalls() != 1 {
			t.Fatalf("after the crash: %d charges, %d carrier calls", len(chs), b.carrier.ChargeCalls())
		}
		if sub.Period != 1 || deref(sub.LatestChargeID) != ch.ID {
			t.Fatalf("subscription at period %d, latest %q", sub.Period, deref(sub.LatestChargeID))
		}
		// And the database refuses a second billing charge for the period,
		// whatever key it comes under.
		dup := *ch
		dup.ID, dup.IdempotencyKey, dup.Seq = newID(prefixCharge), "another-key", 0
		if err := b.store.DB.Create(&dup).Error; err == nil {
			t.Fatal("a second live charge for period 0 was stored")
		}
		assertBalanced(t, b)
	})
}

// declineNumber makes the bundle's carrier decline charges to numbers
// ending 0002 (as the simulator's test number does) while *decline holds.
func declineNumber(b *testBundle, decline *bool, mu *sync.Mutex) {
	b.carrier.SetAnswer(func(r carriers.ChargeRequest) (carriers.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if *decline && strings.HasSuffix(r.MSISDN, "0002") {
			return carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureInsufficientBalance}, nil
		}
		return carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "ref-" + r.Reference}, nil
	})
}

func TestADeclinedRenewalRetriesInsideTheWindowThenIsCanceled(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		recurring(b)
		decline, mu := false, &sync.Mutex{}
		declineNumber(b, &decline, mu)
		sub := subscribed(t, s, b, "+821012340002")
		sub = renewNow(t, s, sub.ID) // period 0 is paid
		due := *sub.NextChargeAt
		mu.Lock()
		decline = true
		mu.Unlock()
		b.clock.Set(due)
		sub = renewNow(t, s, sub.ID)
		wantStatus(t, sub, SubPastDue, "")
		if sub.Period != 1 || sub.Attempt != 1 {
			t.Fatalf("period %d attempt %d", sub.Period, sub.Attempt)
		}
		closes := due.Add(5 * 24 * time.Hour)
		for i := 0; sub.Status == SubPastDue; i++ {
			if i > 10 {
				t.Fatal("the retries never end")
			}
			if sub.NextChargeAt.After(closes) {
				t.Fatalf("a retry at %s, after the window closes at %s", sub.NextChargeAt, closes)
			}
			b.clock.Set(*sub.NextChargeAt)
			sub = renewNow(t, s, sub.ID)
		}
		wantStatus(t, sub, SubCanceled, CancelPaymentFailed)
		if !b.clock.Now().Equal(closes) {
			t.Fatalf("canceled at %s, want the window's end %s", b.clock.Now(), closes)
		}
		chs := periodCharges(t, b, sub.ID)
		failed := 0
		for _, ch := range chs[1:] {
			if ch.Status != StatusFailed || *ch.SubscriptionPeriod != 1 || deref(ch.FailureCode) != carriers.FailureInsufficientBalance {
				t.Fatalf("renewal attempt %+v", ch)
			}
			failed++
		}
		if failed < 3 {
			t.Fatalf("%d attempts inside the window, want the retries", failed)
		}
		want := EventSubscriptionCreated + "," + EventSubscriptionRenewed + "," + EventSubscriptionPastDue + "," + EventSubscriptionCanceled
		if got := strings.Join(b.events.types(sub.ID), ","); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
		assertBalanced(t, b)
	})
}

func TestARetriedRenewalThatSucceedsMakesTheSubscriptionActive(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		recurring(b)
		decline, mu := true, &sync.Mutex{}
		declineNumber(b, &decline, mu)
		sub := subscribed(t, s, b, "+821012340002")
		sub = renewNow(t, s, sub.ID)
		wantStatus(t, sub, SubPastDue, "")
		mu.Lock()
		decline = false
		mu.Unlock()
		b.clock.Set(*sub.NextChargeAt)
		sub = renewNow(t, s, sub.ID)
		wantStatus(t, sub, SubActive, "")
		if sub.Period != 1 || sub.Attempt != 0 {
			t.Fatalf("period %d attempt %d", sub.Period, sub.Attempt)
		}
		// The next period keeps the anchor, not the retry's time.
		if want := periodStart(*sub.AnchorAt, IntervalMonth, 1, seoul); !sub.NextChargeAt.Equal(want) {
			t.Fatalf("next charge %s, want %s", sub.NextChargeAt, want)
		}
	})
}

func TestAGatewayDownAcrossADueDateCatchesUpOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		sub := subscribed(t, s, b, "+821012345678")
		sub = renewNow(t, s, sub.ID)
		// Down for two months and two days: two due dates pass unseen.
		b.clock.Set(periodStart(*sub.AnchorAt, IntervalMonth, 2, seoul).Add(2 * 24 * time.Hour))
		for range 3 { // the sweep polls again and again meanwhile
			if err := (&subscriptionSweepWorker{s: s}).Work(ctx, &river.Job[SubscriptionSweepArgs]{}); err != nil {
				t.Fatal(err)
			}
			sub = renewNow(t, s, sub.ID)
		}
		chs := periodCharges(t, b, sub.ID)
		if len(chs) != 2 || *chs[1].SubscriptionPeriod != 2 {
			t.Fatalf("after the outage: %d charges (%+v), want period 0 and one catch-up for period 2", len(chs), chs)
		}
		if sub.Period != 3 {
			t.Fatalf("subscription at period %d, want 3", sub.Period)
		}
	})
}

func TestRevokingThePaymentMethodCancelsItsSubscriptions(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		sub := subscribed(t, s, b, "+821012345678")
		other := subscribed(t, s, b, "+821087654321")
		if _, err := s.RevokePaymentMethod(ctx, b.merchant, sub.PaymentMethodID); err != nil {
			t.Fatal(err)
		}
		got := renewNow(t, s, sub.ID)
		wantStatus(t, got, SubCanceled, CancelPaymentMethodRevoked)
		if len(periodCharges(t, b, sub.ID)) != 0 {
			t.Fatal("a revoked payment method's subscription charged")
		}
		// The other number's subscription is untouched, and the subscriber's
		// own revoke on /my goes through the same revoke.
		if got := renewNow(t, s, other.ID); got.Status != SubActive || len(periodCharges(t, b, other.ID)) != 1 {
			t.Fatalf("the other subscription: %s", got.Status)
		}
		me := subscriber(t, s, "+821087654321")
		if _, err := s.RevokeSubscriberPaymentMethod(ctx, false, me.Index, other.PaymentMethodID); err != nil {
			t.Fatal(err)
		}
		got, _ = s.reloadSub(ctx, other.ID)
		wantStatus(t, got, SubCanceled, CancelPaymentMethodRevoked)
	})
}

func TestCancelingASubscription(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		sub := subscribed(t, s, b, "+821012345678")
		mine := subscribed(t, s, b, "+821087654321")
		// A subscriber cancels only a subscription on their own number.
		me := subscriber(t, s, "+821087654321")
		_, err := s.CancelSubscriptionForSubscriber(ctx, me.Index, sub.ID)
		wantProblem(t, err, http.StatusNotFound, problem.CodeNotFound)
		got, err := s.CancelSubscriptionForSubscriber(ctx, me.Index, mine.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, got, SubCanceled, CancelRequestedBySubscriber)
		// The merchant cancels its own; twice is harmless; another merchant
		// does not find it.
		other, err := s.CreateMerchant(ctx, "Shop B", false)
		if err != nil {
			t.Fatal(err)
		}
		shopB := b.merchant
		shopB.MerchantID = other.ID
		_, err = s.CancelSubscription(ctx, shopB, sub.ID)
		wantProblem(t, err, http.StatusNotFound, problem.CodeNotFound)
		for range 2 {
			if got, err = s.CancelSubscription(ctx, b.merchant, sub.ID); err != nil {
				t.Fatal(err)
			}
			wantStatus(t, got, SubCanceled, CancelRequestedByMerchant)
		}
		renewNow(t, s, sub.ID)
		renewNow(t, s, mine.ID)
		if b.carrier.ChargeCalls() != 0 {
			t.Fatal("a canceled subscription charged")
		}
		if n := strings.Count(strings.Join(b.events.types(sub.ID), ","), EventSubscriptionCanceled); n != 1 {
			t.Fatalf("%d canceled events", n)
		}
		list, more, err := s.ListSubscriptions(ctx, b.merchant, SubscriptionListParams{Limit: "1"})
		if err != nil || len(list) != 1 || !more || list[0].ID != mine.ID {
			t.Fatalf("list: %v %v %v", list, more, err)
		}
		list, more, err = s.ListSubscriptions(ctx, b.merchant, SubscriptionListParams{StartingAfter: mine.ID})
		if err != nil || len(list) != 1 || more || list[0].ID != sub.ID {
			t.Fatalf("second page: %v %v %v", list, more, err)
		}
	})
}

func TestARenewalTheCarrierCannotTakeNowWaitsWithoutFailing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		recurring(b)
		sub := subscribed(t, s, b, "+821012345678")
		b.carriers.SetDown("skt", true) // the breaker is open: nothing can be sent
		sub = renewNow(t, s, sub.ID)
		if sub.Status != SubActive || sub.Attempt != 0 || len(periodCharges(t, b, sub.ID)) != 0 {
			t.Fatalf("with the carrier down: %s, attempt %d", sub.Status, sub.Attempt)
		}
		b.carriers.SetDown("skt", false)
		if sub = renewNow(t, s, sub.ID); sub.Period != 1 || len(periodCharges(t, b, sub.ID)) != 1 {
			t.Fatalf("with the carrier back: period %d", sub.Period)
		}
	})
}

func TestASubscriptionWithStartAtChargesFirstThen(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		start := b.clock.Now().Add(72 * time.Hour).Truncate(time.Second)
		in := monthly(pm)
		in.StartAt = start.Format(time.RFC3339)
		sub, err := s.CreateSubscription(ctx, b.merchant, newKey(), in)
		if err != nil {
			t.Fatal(err)
		}
		if sub, err = s.ConfirmSubscription(ctx, b.merchant, sub.ID, lastCode(t, b)); err != nil {
			t.Fatal(err)
		}
		if !sub.NextChargeAt.Equal(start) || !sub.CurrentPeriodStart.Equal(start) {
			t.Fatalf("first period at %s, want start_at %s", sub.NextChargeAt, start)
		}
		if sub = renewNow(t, s, sub.ID); len(periodCharges(t, b, sub.ID)) != 0 {
			t.Fatal("charged before start_at")
		}
		b.clock.Set(start)
		if sub = renewNow(t, s, sub.ID); len(periodCharges(t, b, sub.ID)) != 1 || sub.Period != 1 {
			t.Fatalf("at start_at: period %d", sub.Period)
		}
	})
}

func TestASubscriptionsIdempotencyKeyNamesItForever(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		recurring(b)
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		key := newKey()
		first, err := s.CreateSubscription(ctx, b.merchant, key, monthly(pm))
		if err != nil {
			t.Fatal(err)
		}
		sent := len(b.carrier.Outbox())
		again, err := s.CreateSubscription(ctx, b.merchant, key, monthly(pm))
		if err != nil || again.ID != first.ID || len(b.carrier.Outbox()) != sent {
			t.Fatalf("the same request again: %v, %v, %d texts more", again, err, len(b.carrier.Outbox())-sent)
		}
		other := monthly(pm)
		other.Interval = IntervalWeek
		_, err = s.CreateSubscription(ctx, b.merchant, key, other)
		wantProblem(t, err, http.StatusUnprocessableEntity, problem.CodeIdempotencyKeyReused)
	})
}

func TestARenewalMeetsTheSubscribersCapsLikeAnyCharge(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = krCaps(t)
		recurring(b)
		const number = "+821012345678"
		sub := subscribed(t, s, b, number)
		if err := s.SetOwnCap(ctx, s.vault.Index(number), "KRW", i64(5000)); err != nil {
			t.Fatal(err)
		}
		calls := b.carrier.ChargeCalls()
		sub = renewNow(t, s, sub.ID)
		wantStatus(t, sub, SubPastDue, "")
		if len(periodCharges(t, b, sub.ID)) != 0 || b.carrier.ChargeCalls() != calls {
			t.Fatal("a renewal over the subscriber's own cap reached the carrier")
		}
		// The subscriber restores the cap: the retry goes through.
		if err := s.SetOwnCap(ctx, s.vault.Index(number), "KRW", nil); err != nil {
			t.Fatal(err)
		}
		b.clock.Set(*sub.NextChargeAt)
		sub = renewNow(t, s, sub.ID)
		wantStatus(t, sub, SubActive, "")
		if spend, _ := s.MonthSpend(ctx, s.vault.Index(number), "KRW"); spend.Spent != 9900 {
			t.Fatalf("the renewal counts %d in the month, want 9900", spend.Spent)
		}
	})
}
