package billing

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"tollgate/carriers"
	"tollgate/internal/problem"
)

func TestNewServiceNamesWhatIsMissing(t *testing.T) {
	t.Parallel()
	_, err := NewService(Deps{}, Settings{})
	if err == nil {
		t.Fatal("a service without dependencies was built")
	}
	for _, want := range []string{"Carriers", "Clock", "DB", "Events", "Jobs", "Log", "Vault"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestCreateChargeRefusesBadInputBeforeAnything(t *testing.T) {
	long := strings.Repeat("x", 256)
	cases := []struct {
		name   string
		edit   func(*ChargeParams)
		status int
		code   string
	}{
		{"no amount", func(p *ChargeParams) { p.Amount = nil }, 400, problem.CodeInvalidParameter},
		{"zero amount", func(p *ChargeParams) { p.Amount = i64(0) }, 400, problem.CodeInvalidParameter},
		{"negative amount", func(p *ChargeParams) { p.Amount = i64(-5) }, 400, problem.CodeInvalidParameter},
		{"no currency", func(p *ChargeParams) { p.Currency = "" }, 400, problem.CodeInvalidParameter},
		{"unknown currency", func(p *ChargeParams) { p.Currency = "krw" }, 422, problem.CodeUnsupportedCurrency},
		{"currency the carrier does not bill", func(p *ChargeParams) { p.Currency = "USD" }, 422, problem.CodeUnsupportedCurrency},
		{"below the carrier's minimum", func(p *ChargeParams) { p.Amount = i64(99) }, 422, problem.CodeAmountTooSmall},
		{"above the carrier's maximum", func(p *ChargeParams) { p.Amount = i64(500_001) }, 422, problem.CodeAmountTooLarge},
		{"no number", func(p *ChargeParams) { p.MSISDN = "" }, 400, problem.CodeInvalidParameter},
		{"number and payment method", func(p *ChargeParams) { p.PaymentMethod = "pm_x" }, 400, problem.CodeInvalidParameter},
		{"not a number", func(p *ChargeParams) { p.MSISDN = "+82 12" }, 422, problem.CodeInvalidMSISDN},
		{"unknown carrier", func(p *ChargeParams) { p.Carrier = "nope" }, 422, problem.CodeUnknownCarrier},
		{"long description", func(p *ChargeParams) { p.Description = long }, 400, problem.CodeInvalidParameter},
		{"invalid UTF-8", func(p *ChargeParams) { p.MerchantReference = "\xff" }, 400, problem.CodeInvalidParameter},
		{"too much metadata", func(p *ChargeParams) {
			p.Metadata = map[string]string{}
			for i := range 21 {
				p.Metadata[string(rune('a'+i))] = "v"
			}
		}, 400, problem.CodeInvalidParameter},
		{"empty metadata key", func(p *ChargeParams) { p.Metadata = map[string]string{"": "v"} }, 400, problem.CodeInvalidParameter},
	}
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		for _, tc := range cases {
			in := krw(5000)
			tc.edit(&in)
			_, err := s.CreateCharge(context.Background(), b.merchant, newKey(), in)
			p := wantProblem(t, err, tc.status, tc.code)
			if strings.Contains(p.Detail, "1012345678") {
				t.Errorf("%s: the problem repeats the number: %s", tc.name, p.Detail)
			}
		}
		wantNothingWritten(t, b, "bad input")
	})
}

func TestChargeWithCodeSucceedsOnceAndBalances(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
		if err != nil {
			t.Fatal(err)
		}
		if ch.Status != StatusRequiresConfirmation || ch.MSISDNMasked == "" || strings.Contains(ch.MSISDNMasked, "1012345678") {
			t.Fatalf("new charge: %s, masked %q", ch.Status, ch.MSISDNMasked)
		}
		if body := b.carrier.Outbox()[0].Body; !strings.Contains(body, "Shop A") || !strings.Contains(body, "5,000") {
			t.Fatalf("the code's SMS does not say who is paid how much: %q", body)
		}
		_, err = s.ConfirmCharge(ctx, b.merchant, ch.ID, "000000")
		if lastCode(t, b) != "000000" {
			wantProblem(t, err, 422, problem.CodeInvalidConfirmationCode)
		}
		out, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, lastCode(t, b))
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != StatusSucceeded || out.CarrierReference == nil || out.SucceededAt == nil {
			t.Fatalf("confirmed charge: %+v", out)
		}
		_, err = s.ConfirmCharge(ctx, b.merchant, ch.ID, lastCode(t, b))
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
		if got := b.carrier.ChargeCalls(); got != 1 {
			t.Fatalf("the carrier was asked to bill %d times", got)
		}
		want := []string{EventChargeRequiresConfirmation, EventChargeProcessing, EventChargeSucceeded}
		if got := b.events.types(ch.ID); !slices.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		assertBalanced(t, b)
	})
}

func TestWrongCodesSpendAttemptsThenFail(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
		if err != nil {
			t.Fatal(err)
		}
		right := lastCode(t, b)
		wrong := "111111"
		if right == wrong {
			wrong = "222222"
		}
		// Ten guesses at once: the attempts are spent before any code is
		// looked at, so no more than MaxAttempts are ever compared.
		var wg sync.WaitGroup
		errs := make(chan error, 10)
		for range 10 {
			wg.Go(func() {
				_, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, wrong)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		wrongAnswers := 0
		for err := range errs {
			var p *problem.Problem
			if errors.As(err, &p) && p.Code == problem.CodeInvalidConfirmationCode {
				wrongAnswers++
			}
		}
		if wrongAnswers > s.cfg.MaxAttempts-1 {
			t.Fatalf("%d guesses were told the code is wrong; only %d may look", wrongAnswers, s.cfg.MaxAttempts-1)
		}
		_, err = s.ConfirmCharge(ctx, b.merchant, ch.ID, right)
		if err == nil {
			t.Fatal("the right code was accepted after the attempts were spent")
		}
		cur, _ := s.GetCharge(ctx, b.merchant, ch.ID)
		if cur.Status != StatusFailed || deref(cur.FailureCode) != carriers.FailureConfirmationFailed {
			t.Fatalf("charge is %s/%s, want failed/confirmation_failed", cur.Status, deref(cur.FailureCode))
		}
		if b.carrier.ChargeCalls() != 0 {
			t.Fatal("the carrier was asked to bill")
		}
	})
}

func TestTheThirdWrongCodeFailsTheCharge(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, _ := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
		right := lastCode(t, b)
		wrong := "000000"
		if right == wrong {
			wrong = "111111"
		}
		for _, remaining := range []int{2, 1} {
			_, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, wrong)
			p := wantProblem(t, err, 422, problem.CodeInvalidConfirmationCode)
			if p.Extra["attempts_remaining"] != remaining {
				t.Fatalf("attempts_remaining %v, want %d", p.Extra["attempts_remaining"], remaining)
			}
		}
		_, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, wrong)
		wantProblem(t, err, 422, problem.CodeConfirmationFailed)
		_, err = s.ConfirmCharge(ctx, b.merchant, ch.ID, right)
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
	})
}

func TestAnExpiredCodeFailsTheChargeByJobAndByConfirm(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		byJob, _ := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
		byConfirm, _ := s.CreateCharge(ctx, b.merchant, newKey(), krw(6000))
		code := lastCode(t, b)

		w := &chargeExpiryWorker{s: s}
		// Before expiry the job snoozes until the code expires.
		err := w.Work(ctx, &river.Job[ChargeExpiryArgs]{Args: ChargeExpiryArgs{ChargeID: byJob.ID}})
		var snooze *river.JobSnoozeError
		if !errors.As(err, &snooze) {
			t.Fatalf("job before expiry: %v, want a snooze", err)
		}
		b.clock.Advance(s.cfg.CodeTTL + time.Second)
		if err := w.Work(ctx, &river.Job[ChargeExpiryArgs]{Args: ChargeExpiryArgs{ChargeID: byJob.ID}}); err != nil {
			t.Fatal(err)
		}
		_, err = s.ConfirmCharge(ctx, b.merchant, byConfirm.ID, code)
		wantProblem(t, err, 422, problem.CodeConfirmationExpired)
		for _, id := range []string{byJob.ID, byConfirm.ID} {
			cur, _ := s.GetCharge(ctx, b.merchant, id)
			if cur.Status != StatusFailed || deref(cur.FailureCode) != carriers.FailureConfirmationExpired {
				t.Fatalf("%s is %s/%s, want failed/confirmation_expired", id, cur.Status, deref(cur.FailureCode))
			}
		}
	})
}

func TestCancelOnlyWhileWaitingForTheCode(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, _ := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
		out, err := s.CancelCharge(ctx, b.merchant, ch.ID)
		if err != nil || out.Status != StatusCanceled {
			t.Fatalf("cancel: %v %v", out, err)
		}
		_, err = s.CancelCharge(ctx, b.merchant, ch.ID)
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
		_, err = s.ConfirmCharge(ctx, b.merchant, ch.ID, lastCode(t, b))
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
		_, err = s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{})
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)

		done := paid(t, s, b, 5000)
		_, err = s.CancelCharge(ctx, b.merchant, done.ID)
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
		_, err = s.ConfirmCharge(ctx, b.merchant, done.ID, "123456")
		wantProblem(t, err, http.StatusConflict, problem.CodeChargeStateInvalid)
	})
}

func TestAnotherMerchantSeesNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := paid(t, s, b, 5000)
		m, _ := s.CreateMerchant(ctx, "Shop B", false)
		other := b.merchant
		other.MerchantID = m.ID
		_, err := s.GetCharge(ctx, other, ch.ID)
		wantProblem(t, err, 404, problem.CodeNotFound)
		_, err = s.CancelCharge(ctx, other, ch.ID)
		wantProblem(t, err, 404, problem.CodeNotFound)
		_, err = s.CreateRefund(ctx, other, ch.ID, newKey(), RefundParams{})
		wantProblem(t, err, 404, problem.CodeNotFound)
		list, _, err := s.ListCharges(ctx, other, ListParams{})
		if err != nil || len(list) != 0 {
			t.Fatalf("another merchant lists %d charges (%v)", len(list), err)
		}
	})
}

func TestAnOpenBreakerRefusesBeforeAnythingIsWritten(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		b.carriers.SetDown("skt", true)
		_, err := s.CreateCharge(context.Background(), b.merchant, newKey(), krw(5000))
		p := wantProblem(t, err, http.StatusServiceUnavailable, problem.CodeCarrierUnavailable)
		if p.RetryAfter != 3 {
			t.Fatalf("Retry-After %d s, want the breaker's 3 s", p.RetryAfter)
		}
		wantNothingWritten(t, b, "the carrier down")
	})
}

func TestSameKeyNamesItsChargeForever(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		key := newKey()
		first, err := s.CreateCharge(ctx, b.merchant, key, krw(5000))
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.CreateCharge(ctx, b.merchant, key, krw(5000))
		if err != nil || again.ID != first.ID {
			t.Fatalf("a retry with the same key made %v (%v), want %s", again, err, first.ID)
		}
		_, err = s.CreateCharge(ctx, b.merchant, key, krw(7000))
		wantProblem(t, err, 422, problem.CodeIdempotencyKeyReused)
		if len(b.carrier.Outbox()) != 1 {
			t.Fatalf("the subscriber got %d codes for one charge", len(b.carrier.Outbox()))
		}
	})
}

func TestAFailingEventSinkLeavesNoCharge(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		b.events.fail = errors.New("outbox down")
		_, err := s.CreateCharge(context.Background(), b.merchant, newKey(), krw(5000))
		if err == nil {
			t.Fatal("a charge was made although its event could not be recorded")
		}
		wantNothingWritten(t, b, "no event recorded")
	})
}

// A charge holding a carrier's authorization whose carrier no longer checks
// codes itself (its protocol changed in config) is refused, not a panic.
func TestACarrierThatLostItsCodeCheckRefusesTheConfirm(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, _ := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
		if err := b.store.DB.Model(&Charge{}).Where("id = ?", ch.ID).Update("authorization_ref", "auth-1").Error; err != nil {
			t.Fatal(err)
		}
		_, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, lastCode(t, b))
		wantProblem(t, err, 422, problem.CodeConfirmationFailed)
		if b.carrier.ChargeCalls() != 0 {
			t.Fatal("the carrier was asked to bill")
		}
	})
}
