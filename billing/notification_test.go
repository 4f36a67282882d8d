package billing

import (
	"context"
	"errors"
	"testing"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/carriers"
)

// sinkProcessing makes a processing charge (the carrier's answer lost) and
// returns the sink token the carrier was given for it.
func sinkProcessing(t *testing.T, s *Service, b *testBundle) (*Charge, string) {
	t.Helper()
	var token string
	b.carrier.SetAnswer(func(r carriers.ChargeRequest) (carriers.Result, error) {
		token = r.SinkToken
		return carriers.Result{}, carriers.ErrOutcomeUnknown
	})
	defer b.carrier.SetAnswer(nil)
	ctx := context.Background()
	ch, err := s.CreateCharge(ctx, b.merchant, newKey(), krw(5000))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.ConfirmCharge(ctx, b.merchant, ch.ID, lastCode(t, b))
	if err != nil || out.Status != StatusProcessing {
		t.Fatalf("%+v, %v", out, err)
	}
	if len(token) < 40 {
		t.Fatalf("sink token %q: want a random one per charge", token)
	}
	return out, token
}

func applyNotification(s *Service, b *testBundle, n carriers.Notification) (bool, error) {
	var matched bool
	err := b.store.DB.Transaction(func(tx *gorm.DB) error {
		var err error
		matched, err = s.ApplyCarrierResultTx(tx, "skt", n)
		return err
	})
	return matched, err
}

func statusJobs(t *testing.T, b *testBundle) int64 {
	t.Helper()
	var n int64
	if err := b.store.DB.Raw(`SELECT COUNT(*) FROM river_job WHERE kind = ?`, ChargeStatusArgs{}.Kind()).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestACallbackMustPresentTheChargesOwnToken(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, token := sinkProcessing(t, s, b)
		other, otherToken := sinkProcessing(t, s, b)
		if token == otherToken {
			t.Fatal("two charges were given the same sink token")
		}
		var stored string
		b.store.DB.Raw(`SELECT sink_token_hash FROM charges WHERE id = ?`, ch.ID).Scan(&stored)
		if stored != sinkTokenHash(token) || stored == token {
			t.Fatalf("stored %q: want the token's SHA-256, never the token", stored)
		}
		ok := carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: "pay_1"}
		for name, cred := range map[string]string{"another charge's": otherToken, "made up": "skt-webhook-secret"} {
			n := carriers.Notification{MessageID: "m_" + name, Kind: "charge", ClientReference: ch.ID, Result: ok, Credential: cred}
			if _, err := applyNotification(s, b, n); !errors.Is(err, carriers.ErrBadSignature) {
				t.Fatalf("%s token: %v, want ErrBadSignature", name, err)
			}
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, ch.ID); cur.Status != StatusProcessing {
			t.Fatalf("a wrong token moved the charge to %s", cur.Status)
		}
		n := carriers.Notification{MessageID: "m_ok", Kind: "charge", ClientReference: ch.ID, Result: ok, Credential: token}
		if matched, err := applyNotification(s, b, n); err != nil || !matched {
			t.Fatalf("the charge's own token: %v, %v", matched, err)
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, ch.ID); cur.Status != StatusSucceeded {
			t.Fatalf("a verified success left the charge %s", cur.Status)
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, other.ID); cur.Status != StatusProcessing {
			t.Fatalf("the other charge is %s", cur.Status)
		}
		assertBalanced(t, b)
	})
}

func TestACallbackFailureIsOnlyAHint(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		work := func(id string) error {
			return (&chargeStatusWorker{s: s}).Work(ctx, &river.Job[ChargeStatusArgs]{Args: ChargeStatusArgs{ChargeID: id}})
		}
		denied := carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "denied"}

		// The carrier billed it; a verified callback says denied.
		billed, token := sinkProcessing(t, s, b)
		b.carrier.Bill(billed.ID, billed.Amount)
		before := statusJobs(t, b)
		n := carriers.Notification{MessageID: "m_1", Kind: "charge", ClientReference: billed.ID, Result: denied, Credential: token}
		if matched, err := applyNotification(s, b, n); err != nil || !matched {
			t.Fatalf("%v, %v", matched, err)
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, billed.ID); cur.Status != StatusProcessing {
			t.Fatalf("a callback's failure was applied: %s", cur.Status)
		}
		if after := statusJobs(t, b); after != before+1 {
			t.Fatalf("status jobs %d → %d: want one more, to ask the carrier now", before, after)
		}
		if err := work(billed.ID); err != nil {
			t.Fatal(err)
		}

		// The carrier confirms the failure: then it is applied.
		declined, token2 := sinkProcessing(t, s, b)
		n = carriers.Notification{MessageID: "m_2", Kind: "charge", ClientReference: declined.ID, Result: denied, Credential: token2}
		if _, err := applyNotification(s, b, n); err != nil {
			t.Fatal(err)
		}
		b.carrier.SetStatus(func(carriers.Reference) (carriers.Result, error) { return denied, nil })
		if err := work(declined.ID); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]Status{billed.ID: StatusSucceeded, declined.ID: StatusFailed} {
			if cur, _ := s.GetCharge(ctx, b.merchant, id); cur.Status != want {
				t.Errorf("%s is %s, want %s", id, cur.Status, want)
			}
		}
		assertBalanced(t, b)
	})
}
