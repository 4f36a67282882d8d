package billing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"tollgate/carriers"
	"tollgate/internal/problem"
)

// runDue runs the scheduled charge's job as river would and reloads it; a
// snooze (not yet due) is not a failure.
func runDue(t *testing.T, s *Service, id string) *Charge {
	t.Helper()
	ctx := context.Background()
	err := (&scheduledChargeWorker{s: s}).Work(ctx, &river.Job[ScheduledChargeArgs]{Args: ScheduledChargeArgs{ChargeID: id}})
	var snooze *river.JobSnoozeError
	if err != nil && !errors.As(err, &snooze) {
		t.Fatal(err)
	}
	ch, err := s.reload(ctx, &Charge{ID: id})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func scheduledTap(pm string, amount int64, at time.Time) ChargeParams {
	in := tap(pm, amount, "")
	in.ScheduledFor = at.Format(time.RFC3339)
	return in
}

func TestAScheduledChargeRunsAtItsTime(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = krCaps(t)
		const number = "+821012345678"
		pm := oneTap(t, s, b, b.merchant, number)
		at := b.clock.Now().Add(time.Hour).Truncate(time.Second)
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 5000, at))
		if err != nil {
			t.Fatal(err)
		}
		if ch.Status != StatusScheduled || !ch.ScheduledFor.Equal(at) {
			t.Fatalf("charge is %s for %v", ch.Status, ch.ScheduledFor)
		}
		// Scheduled: nothing sent, and no room held under the caps.
		spend, err := s.MonthSpend(ctx, s.vault.Index(number), "KRW")
		if err != nil {
			t.Fatal(err)
		}
		if spend.Spent != 0 || b.carrier.ChargeCalls() != 0 {
			t.Fatalf("a scheduled charge holds %d and made %d carrier calls", spend.Spent, b.carrier.ChargeCalls())
		}
		b.clock.Advance(59 * time.Minute)
		if got := runDue(t, s, ch.ID); got.Status != StatusScheduled || b.carrier.ChargeCalls() != 0 {
			t.Fatalf("a minute early the charge is %s after %d calls", got.Status, b.carrier.ChargeCalls())
		}
		b.clock.Advance(time.Minute)
		got := runDue(t, s, ch.ID)
		if got.Status != StatusSucceeded {
			t.Fatalf("at its time the charge is %s (%s)", got.Status, deref(got.FailureMessage))
		}
		if got := runDue(t, s, ch.ID); got.Status != StatusSucceeded || b.carrier.ChargeCalls() != 1 {
			t.Fatalf("run twice: %s after %d calls", got.Status, b.carrier.ChargeCalls())
		}
		if spend, _ = s.MonthSpend(ctx, s.vault.Index(number), "KRW"); spend.Spent != 5000 {
			t.Fatalf("spent %d after the run, want 5000", spend.Spent)
		}
		want := EventChargeScheduled + "," + EventChargeProcessing + "," + EventChargeSucceeded
		if got := strings.Join(b.events.types(ch.ID), ","); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
		assertBalanced(t, b)
	})
}

func TestAScheduledChargeIsCancelableUntilItRuns(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		at := b.clock.Now().Add(24 * time.Hour)
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 5000, at))
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.CancelCharge(ctx, b.merchant, ch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusCanceled {
			t.Fatalf("canceled charge is %s", got.Status)
		}
		b.clock.Advance(24 * time.Hour)
		if got := runDue(t, s, ch.ID); got.Status != StatusCanceled || b.carrier.ChargeCalls() != 0 {
			t.Fatalf("a canceled scheduled charge ran: %s, %d calls", got.Status, b.carrier.ChargeCalls())
		}
		// Once it ran, it is an ordinary charge: no cancel.
		ran, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 5000, b.clock.Now().Add(time.Minute)))
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Minute)
		if got := runDue(t, s, ran.ID); got.Status != StatusSucceeded {
			t.Fatalf("ran: %s", got.Status)
		}
		_, err = s.CancelCharge(ctx, b.merchant, ran.ID)
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
	})
}

func TestAScheduledChargeMeetsTheCapsWhenItRuns(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		s.cfg.Caps = krCaps(t) // ₩500,000 a month
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		later, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 300000, b.clock.Now().Add(2*time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		// Scheduled, it holds nothing: this charge still fits.
		now, err := s.CreateCharge(ctx, b.merchant, newKey(), tap(pm, 300000, ""))
		if err != nil {
			t.Fatalf("a charge beside a scheduled one was refused: %v", err)
		}
		if now.Status != StatusSucceeded {
			t.Fatalf("the charge made now is %s", now.Status)
		}
		calls := b.carrier.ChargeCalls()
		b.clock.Advance(2 * time.Hour)
		got := runDue(t, s, later.ID)
		if got.Status != StatusFailed || deref(got.FailureCode) != carriers.FailureCarrierLimitExceeded {
			t.Fatalf("over the cap when it ran, the charge is %s (%s)", got.Status, deref(got.FailureCode))
		}
		if b.carrier.ChargeCalls() != calls {
			t.Fatal("the carrier was called for a charge over the cap")
		}
		if spend, _ := s.MonthSpend(ctx, s.vault.Index("+821012345678"), "KRW"); spend.Spent != 300000 {
			t.Fatalf("spent %d, want only the charge that ran", spend.Spent)
		}
		assertBalanced(t, b)
	})
}

func TestAScheduledChargeRefusesABadTime(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		now := b.clock.Now()
		for name, in := range map[string]ChargeParams{
			"past":          scheduledTap(pm, 5000, now.Add(-time.Minute)),
			"31 days ahead": scheduledTap(pm, 5000, now.Add(31*24*time.Hour)),
			"not RFC 3339":  func() ChargeParams { in := tap(pm, 5000, ""); in.ScheduledFor = "tomorrow"; return in }(),
			"with a number": func() ChargeParams {
				in := krw(5000)
				in.ScheduledFor = now.Add(time.Hour).Format(time.RFC3339)
				return in
			}(),
		} {
			_, err := s.CreateCharge(ctx, b.merchant, newKey(), in)
			p := wantProblem(t, err, http.StatusBadRequest, problem.CodeInvalidParameter)
			if p.Param != "scheduled_for" {
				t.Fatalf("%s: param %q", name, p.Param)
			}
		}
		var n int64
		if err := b.store.DB.Model(&Charge{}).Count(&n).Error; err != nil || n != 0 {
			t.Fatalf("%d charges written by refused requests (%v)", n, err)
		}
		// Thirty days ahead is allowed.
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 5000, now.Add(30*24*time.Hour)))
		if err != nil || ch.Status != StatusScheduled {
			t.Fatalf("30 days ahead: %v", err)
		}
	})
}

func TestAScheduledChargeOnARevokedPaymentMethodFailsWhenDue(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		pm := oneTap(t, s, b, b.merchant, "+821012345678")
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), scheduledTap(pm, 5000, b.clock.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RevokePaymentMethod(ctx, b.merchant, pm); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Hour)
		got := runDue(t, s, ch.ID)
		if got.Status != StatusFailed || deref(got.FailureCode) != problem.CodePaymentMethodInvalid || b.carrier.ChargeCalls() != 0 {
			t.Fatalf("due on a revoked payment method: %s (%s), %d carrier calls", got.Status, deref(got.FailureCode), b.carrier.ChargeCalls())
		}
		want := EventChargeScheduled + "," + EventChargeFailed
		if got := strings.Join(b.events.types(ch.ID), ","); got != want {
			t.Fatalf("events %s, want %s", got, want)
		}
	})
}
