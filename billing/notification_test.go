package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
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
		if after := statusJobs(t, b); after != before {
			t.Fatalf("status jobs %d → %d: want the charge's own one moved to now, not another", before, after)
		}
		if due := waitingStatusJobs(t, s, ChargeStatusArgs{}.Kind(), billed.ID); len(due) != 1 || due[0].ScheduledAt.After(b.clock.Now()) {
			t.Fatalf("waiting status jobs %s: want one, due now", jobsString(due))
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

// jobsString shows jobs by id, state and due time, for failure messages.
func jobsString(js []*rivertype.JobRow) string {
	out := make([]string, 0, len(js))
	for _, j := range js {
		out = append(out, fmt.Sprintf("%d %s due %s", j.ID, j.State, j.ScheduledAt.Format(time.RFC3339)))
	}
	return "[" + strings.Join(out, "; ") + "]"
}

// waitingStatusJobs lists the status jobs of kind for one charge or refund
// that are not done yet (waiting, due or running).
func waitingStatusJobs(t *testing.T, s *Service, kind, id string) []*rivertype.JobRow {
	t.Helper()
	params := river.NewJobListParams().Kinds(kind).First(1000).States(
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled)
	res, err := s.jobs.JobList(context.Background(), params)
	if err != nil {
		t.Fatal(err)
	}
	var out []*rivertype.JobRow
	for _, j := range res.Jobs {
		var args struct {
			ChargeID string `json:"charge_id"`
			RefundID string `json:"refund_id"`
		}
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		if args.ChargeID == id || args.RefundID == id {
			out = append(out, j)
		}
	}
	return out
}

// A failure callback moves the charge's one status job forward; N of them,
// even at once, never make N pollers of one charge.
func TestFailureCallbacksShareOneStatusJob(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch, token := sinkProcessing(t, s, b)
		b.carrier.Bill(ch.ID, ch.Amount) // the carrier's truth: billed
		kind := ChargeStatusArgs{}.Kind()
		first := waitingStatusJobs(t, s, kind, ch.ID)
		if len(first) != 1 || !first[0].ScheduledAt.After(b.clock.Now()) {
			t.Fatalf("after the lost answer: %s, want one status job due after the call's deadline", jobsString(first))
		}

		denied := carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "denied"}
		var wg sync.WaitGroup
		for i := range 5 {
			wg.Go(func() {
				n := carriers.Notification{MessageID: fmt.Sprintf("m_%d", i), Kind: "charge", ClientReference: ch.ID, Result: denied, Credential: token}
				if matched, err := applyNotification(s, b, n); err != nil || !matched {
					t.Errorf("callback %d: %v, %v", i, matched, err)
				}
			})
		}
		wg.Wait()
		for i := range 3 { // and more, one after another
			n := carriers.Notification{MessageID: fmt.Sprintf("m_late_%d", i), Kind: "charge", ClientReference: ch.ID, Result: denied, Credential: token}
			if _, err := applyNotification(s, b, n); err != nil {
				t.Fatal(err)
			}
		}
		due := waitingStatusJobs(t, s, kind, ch.ID)
		if len(due) != 1 || due[0].ID != first[0].ID {
			t.Fatalf("after 8 failure callbacks: waiting status jobs %s, want only job %d", jobsString(due), first[0].ID)
		}
		if due[0].ScheduledAt.After(b.clock.Now()) {
			t.Fatalf("the status job is due at %s, want now (%s)", due[0].ScheduledAt, b.clock.Now())
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, ch.ID); cur.Status != StatusProcessing {
			t.Fatalf("a callback's failure was applied: %s", cur.Status)
		}

		// The one job asks the carrier, whose books say billed.
		var args ChargeStatusArgs
		if err := json.Unmarshal(due[0].EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		if err := (&chargeStatusWorker{s: s}).Work(ctx, &river.Job[ChargeStatusArgs]{JobRow: due[0], Args: args}); err != nil {
			t.Fatal(err)
		}
		if cur, _ := s.GetCharge(ctx, b.merchant, ch.ID); cur.Status != StatusSucceeded {
			t.Fatalf("the charge the carrier billed is %s, want succeeded", cur.Status)
		}
		assertBalanced(t, b)
	})
}

// A refund's failure callback is a hint too: the refund stays pending, its
// one status job is made due now, and only the carrier's status answer
// fails it; a refund the carrier made succeeds whatever the callback said.
func TestARefundCallbackFailureIsOnlyAHint(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		ch := paid(t, s, b, 5000)
		b.carrier.SetRefundAnswer(func(carriers.RefundRequest) (carriers.Result, error) {
			return carriers.Result{}, carriers.ErrOutcomeUnknown
		})
		refund := func(amount int64) *Refund {
			rf, err := s.CreateRefund(ctx, b.merchant, ch.ID, newKey(), RefundParams{Amount: i64(amount)})
			if err != nil || rf.Status != RefundPending {
				t.Fatalf("refund: %+v %v", rf, err)
			}
			return rf
		}
		made, notMade := refund(1500), refund(1000)
		carrierSays := map[string]carriers.Result{
			made.ID:    {Outcome: carriers.OutcomeSucceeded, CarrierReference: "rf-made"},
			notMade.ID: {Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "refund_rejected"},
		}
		b.carrier.SetStatus(func(ref carriers.Reference) (carriers.Result, error) {
			if ref.Kind != "refund" {
				return carriers.Result{}, carriers.ErrNotFound
			}
			return carrierSays[ref.ClientReference], nil
		})
		kind := RefundStatusArgs{}.Kind()
		denied := carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "denied"}
		for _, rf := range []*Refund{made, notMade} {
			for i := range 2 {
				n := carriers.Notification{MessageID: fmt.Sprintf("m_%s_%d", rf.ID, i), Kind: "refund", ClientReference: rf.ID, Result: denied}
				if matched, err := applyNotification(s, b, n); err != nil || !matched {
					t.Fatalf("refund callback: %v, %v", matched, err)
				}
			}
			cur, err := s.GetRefund(ctx, b.merchant, ch.ID, rf.ID)
			if err != nil || cur.Status != RefundPending {
				t.Fatalf("a callback's failure was applied to refund %s: %+v %v", rf.ID, cur, err)
			}
			due := waitingStatusJobs(t, s, kind, rf.ID)
			if len(due) != 1 || due[0].ScheduledAt.After(b.clock.Now()) {
				t.Fatalf("refund %s: waiting status jobs %s, want one, due now", rf.ID, jobsString(due))
			}
			if err := (&refundStatusWorker{s: s}).Work(ctx, &river.Job[RefundStatusArgs]{JobRow: due[0], Args: RefundStatusArgs{RefundID: rf.ID}}); err != nil {
				t.Fatal(err)
			}
		}
		for id, want := range map[string]RefundStatus{made.ID: RefundSucceeded, notMade.ID: RefundFailed} {
			if cur, _ := s.GetRefund(ctx, b.merchant, ch.ID, id); cur.Status != want {
				t.Errorf("refund %s is %s, want %s (the carrier's answer)", id, cur.Status, want)
			}
		}
		cur, _ := s.GetCharge(ctx, b.merchant, ch.ID)
		if cur.Status != StatusPartiallyRefunded || cur.RefundedAmount != 1500 || cur.RefundReserved != 1500 {
			t.Fatalf("charge %s, refunded %d, reserved %d; want partially_refunded, 1500, 1500", cur.Status, cur.RefundedAmount, cur.RefundReserved)
		}
		assertBalanced(t, b)
	})
}
