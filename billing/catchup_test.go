package billing

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"tollgate/carriers"
	"tollgate/internal/store"
)

// waitingStates are a job's states before it is done.
var waitingStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// statusJobRows lists the billing status jobs (charges' and refunds') that
// have not finished.
func statusJobRows(t *testing.T, s *Service) []*rivertype.JobRow {
	t.Helper()
	res, err := s.jobs.JobList(context.Background(), river.NewJobListParams().
		Kinds(ChargeStatusArgs{}.Kind(), RefundStatusArgs{}.Kind()).States(waitingStates...).First(10000))
	if err != nil {
		t.Fatal(err)
	}
	return res.Jobs
}

// due reports whether river would hand the job to a worker at now.
func due(j *rivertype.JobRow, now time.Time) bool {
	return j.State == rivertype.JobStateAvailable || !j.ScheduledAt.After(now)
}

// workStatusJob runs one status job's worker as river would and applies
// its result to the job's row as river does: done is removed (river keeps
// it completed; neither counts as waiting), a snooze is scheduled again
// that far ahead on the test's clock.
func workStatusJob(t *testing.T, s *Service, b *testBundle, j *rivertype.JobRow) {
	t.Helper()
	ctx := context.Background()
	var err error
	switch j.Kind {
	case ChargeStatusArgs{}.Kind():
		var args ChargeStatusArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		err = (&chargeStatusWorker{s: s}).Work(ctx, &river.Job[ChargeStatusArgs]{JobRow: j, Args: args})
	case RefundStatusArgs{}.Kind():
		var args RefundStatusArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			t.Fatal(err)
		}
		err = (&refundStatusWorker{s: s}).Work(ctx, &river.Job[RefundStatusArgs]{JobRow: j, Args: args})
	default:
		t.Fatalf("job kind %s is not a status job", j.Kind)
	}
	var snooze *river.JobSnoozeError
	switch {
	case err == nil:
		if _, err := s.jobs.JobDelete(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	case errors.As(err, &snooze):
		reschedule(t, b, j.ID, b.clock.Now().Add(snooze.Duration))
	default:
		t.Fatalf("status job %d: %v (a status job snoozes rather than fail)", j.ID, err)
	}
}

// reschedule puts a job back to wait until at, as river's snooze does.
func reschedule(t *testing.T, b *testBundle, id int64, at time.Time) {
	t.Helper()
	var when any = at.UTC()
	if b.store.Dialect == store.SQLite {
		when = at.UTC().Round(time.Millisecond).Format("2006-01-02 15:04:05.000") // river's SQLite time format
	}
	if err := b.store.DB.Exec(`UPDATE river_job SET state = 'scheduled', scheduled_at = ? WHERE id = ?`, when, id).Error; err != nil {
		t.Fatal(err)
	}
}

// workDueStatusJobs works every status job due at the test clock's now,
// once, and says how many ran.
func workDueStatusJobs(t *testing.T, s *Service, b *testBundle) int {
	t.Helper()
	n := 0
	for _, j := range statusJobRows(t, s) {
		if due(j, b.clock.Now()) {
			workStatusJob(t, s, b, j)
			n++
		}
	}
	return n
}

// outage leaves n charges and one refund of skt undecided, every status
// job having failed to reach the carrier an hour in, so backed off by
// pollBackoff's full 10 minutes. The first half of the charges were in fact
// billed by the carrier before its answers were lost.
func outage(t *testing.T, s *Service, b *testBundle, n int) (billed, unbilled []*Charge, rf *Refund) {
	t.Helper()
	ctx := context.Background()
	before := paid(t, s, b, 3000)
	b.carrier.SetRefundAnswer(func(carriers.RefundRequest) (carriers.Result, error) {
		return carriers.Result{}, carriers.ErrOutcomeUnknown
	})
	rf, err := s.CreateRefund(ctx, b.merchant, before.ID, newKey(), RefundParams{Amount: i64(1000)})
	b.carrier.SetRefundAnswer(nil)
	if err != nil || rf.Status != RefundPending {
		t.Fatalf("refund during the outage: %+v, %v", rf, err)
	}
	for i := range n {
		ch := processing(t, s, b)
		if i < n/2 {
			b.carrier.Bill(ch.ID, ch.Amount)
			billed = append(billed, ch)
		} else {
			unbilled = append(unbilled, ch)
		}
	}
	down := func(carriers.Reference) (carriers.Result, error) {
		return carriers.Result{}, carriers.ErrOutcomeUnknown
	}
	b.carrier.SetStatus(down)
	b.clock.Advance(time.Hour)
	// n charges and the refund: the refunded charge's own job was taken
	// back when its answer made it final.
	if ran := workDueStatusJobs(t, s, b); ran != n+1 {
		t.Fatalf("%d status jobs ran during the outage, want %d", ran, n+1)
	}
	for _, j := range statusJobRows(t, s) {
		if j.State == rivertype.JobStateAvailable || j.ScheduledAt.Before(b.clock.Now().Add(9*time.Minute)) {
			t.Fatalf("status job %d (%s) due at %s during the outage, want backed off 10 minutes", j.ID, j.State, j.ScheduledAt)
		}
	}
	return billed, unbilled, rf
}

func TestACarrierBackFromAnOutageSettlesItsProcessingChargesAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		billed, unbilled, rf := outage(t, s, b, 6)
		stuck := append(append([]*Charge{}, billed...), unbilled...)

		// The carrier answers again; the first job to come due (forced here,
		// as if its backoff ended first) gets an answer.
		b.carrier.SetStatus(nil)
		start := b.clock.Now()
		first := jobOf(t, s, stuck[0].ID)
		workStatusJob(t, s, b, first)

		for _, j := range statusJobRows(t, s) {
			if !due(j, b.clock.Now()) {
				t.Fatalf("status job %d still waits until %s after the carrier answered", j.ID, j.ScheduledAt)
			}
		}
		if ran := workDueStatusJobs(t, s, b); ran != len(stuck) { // the other charges and the refund
			t.Fatalf("%d status jobs ran after the catch-up, want %d", ran, len(stuck))
		}
		if left := statusJobRows(t, s); len(left) != 0 {
			t.Fatalf("%d status jobs still waiting", len(left))
		}
		if moved := b.clock.Now().Sub(start); moved != 0 {
			t.Fatalf("the clock moved %s", moved)
		}
		for _, ch := range billed {
			if cur, _ := s.GetCharge(ctx, b.merchant, ch.ID); cur.Status != StatusSucceeded {
				t.Errorf("billed %s is %s, want succeeded", ch.ID, cur.Status)
			}
		}
		for _, ch := range unbilled {
			if cur, _ := s.GetCharge(ctx, b.merchant, ch.ID); cur.Status != StatusFailed {
				t.Errorf("never billed %s is %s, want failed", ch.ID, cur.Status)
			}
		}
		var status RefundStatus
		b.store.DB.Raw(`SELECT status FROM refunds WHERE id = ?`, rf.ID).Scan(&status)
		if status == RefundPending {
			t.Errorf("refund %s still pending", rf.ID)
		}
		assertBalanced(t, b)
	})
}

// jobOf is the waiting status job of a charge.
func jobOf(t *testing.T, s *Service, chargeID string) *rivertype.JobRow {
	t.Helper()
	for _, j := range statusJobRows(t, s) {
		var args ChargeStatusArgs
		if json.Unmarshal(j.EncodedArgs, &args) == nil && args.ChargeID == chargeID {
			return j
		}
	}
	t.Fatalf("no waiting status job for %s", chargeID)
	return nil
}

func TestOnlyARecoveryOfTheSameCarrierMovesStatusJobsForward(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ctx := context.Background()
		billed, _, _ := outage(t, s, b, 4)
		waiting := func() int {
			n := 0
			for _, j := range statusJobRows(t, s) {
				if !due(j, b.clock.Now()) {
					n++
				}
			}
			return n
		}
		want := waiting()

		// Still down: a query that gets no answer moves nothing.
		workStatusJob(t, s, b, jobOf(t, s, billed[0].ID))
		if got := waiting(); got != want {
			t.Fatalf("a failed status query made %d jobs due", want-got)
		}

		// Another carrier recovering moves nothing of skt's.
		if n, err := s.CatchUp(ctx, "kt"); err != nil || n != 0 {
			t.Fatalf("catching up kt: %d, %v; want 0 jobs", n, err)
		}
		if got := waiting(); got != want {
			t.Fatalf("kt's recovery made %d of skt's jobs due", want-got)
		}

		// A fresh charge settled by its first, on-time status query is
		// business as usual, not a recovery.
		b.carrier.SetStatus(nil)
		fresh := processing(t, s, b)
		b.carrier.Bill(fresh.ID, fresh.Amount)
		b.clock.Advance(s.statusDelay())
		workStatusJob(t, s, b, jobOf(t, s, fresh.ID))
		if cur, _ := s.GetCharge(ctx, b.merchant, fresh.ID); cur.Status != StatusSucceeded {
			t.Fatalf("fresh charge %s", cur.Status)
		}
		if got := waiting(); got != want {
			t.Fatalf("an on-time answer made %d of the outage's jobs due", want-got)
		}

		// The breaker closing (the gateway calls CatchUp) moves all of them.
		n, err := s.CatchUp(ctx, "skt")
		if err != nil || n != want {
			t.Fatalf("catching up skt: %d, %v; want %d jobs", n, err, want)
		}
		if got := waiting(); got != 0 {
			t.Fatalf("%d jobs still backed off after the catch-up", got)
		}
		// A second call finds nothing left to move.
		if n, err := s.CatchUp(ctx, "skt"); err != nil || n != 0 {
			t.Fatalf("second catch-up: %d, %v", n, err)
		}
	})
}

// A charge its carrier answered in the request ends with no status job
// left waiting (it was taken back in the transaction that made the charge
// final); one whose answer was lost keeps its job, the only thing that
// will ever settle it.
func TestOnlyAnUndecidedChargeKeepsItsStatusJob(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Service, b *testBundle) {
		ended := paid(t, s, b, 3000)
		undecided := processing(t, s, b)
		if ended.Status != StatusSucceeded || undecided.Status != StatusProcessing {
			t.Fatalf("charges %s and %s, want succeeded and processing", ended.Status, undecided.Status)
		}
		var waitingFor []string
		for _, j := range statusJobRows(t, s) {
			var args ChargeStatusArgs
			if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
				t.Fatal(err)
			}
			waitingFor = append(waitingFor, args.ChargeID)
		}
		if !slices.Equal(waitingFor, []string{undecided.ID}) {
			t.Fatalf("status jobs wait for %v, want only the undecided %s", waitingFor, undecided.ID)
		}
	})
}
