package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/jobs"
)

// ChargeStatusArgs asks the carrier what became of a processing charge.
// One is enqueued in the transaction that applies a carrier's answer that
// left the charge undecided (no answer, pending, unclassified), due after
// the call's deadline; a charge whose request died before any answer was
// applied is found by the sweep (sweep.go), which enqueues its job. A
// charge the answer made final costs no job at all. Either way a
// processing charge always ends with a job asking: no charge is ever lost.
type ChargeStatusArgs struct {
	ChargeID string `json:"charge_id"`
}

// Kind names the job; frozen once jobs of it exist.
func (ChargeStatusArgs) Kind() string { return "charge_status" }

// InsertOpts makes the job unique per charge while it waits or runs.
func (ChargeStatusArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: oneStatusJob}
}

// RefundStatusArgs does the same for a pending refund.
type RefundStatusArgs struct {
	RefundID string `json:"refund_id"`
}

// Kind names the job.
func (RefundStatusArgs) Kind() string { return "refund_status" }

// InsertOpts makes the job unique per refund while it waits or runs.
func (RefundStatusArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: oneStatusJob}
}

// oneStatusJob keeps at most one status job per charge or refund that is
// not yet done: each one polls the carrier until the end, so a second is
// only load, and a carrier (or a forger) sending N failure callbacks would
// otherwise start N pollers. A callback moves the one job forward instead
// (askNowTx). Done jobs do not count: they only exist for a final object.
var oneStatusJob = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}}

// ChargeExpiryArgs fails a charge nobody confirmed once its code expired,
// so it reaches a final status (and the merchant hears of it) without
// anyone calling confirm; enqueued with the charge.
type ChargeExpiryArgs struct {
	ChargeID string `json:"charge_id"`
}

// Kind names the job.
func (ChargeExpiryArgs) Kind() string { return "charge_expiry" }

// RegisterWorkers adds billing's workers to the queue's worker set.
func RegisterWorkers(w *river.Workers, s *Service) {
	river.AddWorker(w, &chargeStatusWorker{s: s})
	river.AddWorker(w, &chargeSweepWorker{s: s})
	river.AddWorker(w, &refundStatusWorker{s: s})
	river.AddWorker(w, &chargeExpiryWorker{s: s})
	river.AddWorker(w, &paymentMethodExpiryWorker{s: s})
	river.AddWorker(w, &subscriberTextWorker{s: s})
	river.AddWorker(w, &subscriptionRenewalWorker{s: s})
	river.AddWorker(w, &subscriptionExpiryWorker{s: s})
	river.AddWorker(w, &subscriptionSweepWorker{s: s})
	river.AddWorker(w, &scheduledChargeWorker{s: s})
	river.AddWorker(w, &cashbackExpiryWorker{s: s})
}

// PaymentMethodExpiryArgs fails an opt-in nobody confirmed in time.
type PaymentMethodExpiryArgs struct {
	PaymentMethodID string `json:"payment_method_id"`
}

// Kind names the job.
func (PaymentMethodExpiryArgs) Kind() string { return "payment_method_expiry" }

type paymentMethodExpiryWorker struct {
	river.WorkerDefaults[PaymentMethodExpiryArgs]
	s *Service
}

func (w *paymentMethodExpiryWorker) Work(ctx context.Context, job *river.Job[PaymentMethodExpiryArgs]) error {
	s := w.s
	pm, err := s.reloadPM(ctx, job.Args.PaymentMethodID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // withdrawn at once: its code never left
	}
	if err != nil {
		return err
	}
	if pm.Status != PMRequiresConfirmation {
		return nil
	}
	if !expired(pm.CodeExpiresAt, s.now()) {
		return river.JobSnooze(pm.CodeExpiresAt.Sub(s.now()) + time.Second)
	}
	_, err = s.movePM(ctx, pm, PMRequiresConfirmation, PMFailed, map[string]any{"failure_code": "confirmation_expired", "code_hash": nil})
	return ignoreConflict(err)
}

type chargeExpiryWorker struct {
	river.WorkerDefaults[ChargeExpiryArgs]
	s *Service
}

func (w *chargeExpiryWorker) Work(ctx context.Context, job *river.Job[ChargeExpiryArgs]) error {
	s := w.s
	var ch Charge
	if err := s.db.WithContext(ctx).Where("id = ?", job.Args.ChargeID).Take(&ch).Error; err != nil {
		return fmt.Errorf("charge expiry %s: %w", job.Args.ChargeID, err)
	}
	if ch.Status != StatusRequiresConfirmation {
		return nil
	}
	if !expired(ch.CodeExpiresAt, s.now()) {
		return river.JobSnooze(ch.CodeExpiresAt.Sub(s.now()) + time.Second)
	}
	if err := s.fail(ctx, &ch, carriers.FailureConfirmationExpired, "The confirmation code expired.", ""); err != nil {
		return ignoreConflict(err)
	}
	if c, ok := s.carriers.Get(ch.Carrier); ok {
		s.releaseAuthorization(ctx, c, ch.AuthorizationRef)
	}
	return nil
}

// statusDelay is when the first status query runs: after the carrier call
// had every chance to answer by itself.
func (s *Service) statusDelay() time.Duration { return s.cfg.CarrierTimeout + 2*time.Second }

func (s *Service) enqueue(ctx context.Context, tx *gorm.DB, args river.JobArgs, after time.Duration) error {
	opts := &river.InsertOpts{}
	if after > 0 {
		opts.ScheduledAt = s.now().Add(after)
	}
	// A job due now goes in without ScheduledAt: river makes any job given
	// one "scheduled", whatever the time, and only its leader's scheduler
	// (every 5 s) makes it available. Receipts waited up to 5 s, then ran
	// in one burst of all of them, stalling the charges of that moment.
	return jobs.InsertTx(ctx, s.jobs, tx, args, opts)
}

// watchTx enqueues the status job of ch, a charge the carrier's answer in
// its request left processing, in the transaction that applies that
// answer: due when a job enqueued with the intent would have been, the
// call's deadline and a margin after ch moved to processing.
func (s *Service) watchTx(ctx context.Context, tx *gorm.DB, ch *Charge) error {
	return s.enqueue(ctx, tx, ChargeStatusArgs{ChargeID: ch.ID}, ch.UpdatedAt.Add(s.statusDelay()).Sub(s.now()))
}

// pollBackoff spaces status queries by how long the operation has been
// undecided — a quarter of its age, from 2 s up to 10 minutes — so a carrier
// incident does not turn every stuck charge into a query every few seconds.
// (river resets a job's attempt count on each snooze, so age is the measure.)
func pollBackoff(age time.Duration) time.Duration {
	return min(max(age/4, 2*time.Second), 10*time.Minute)
}

// notSeenAfter: a carrier that has no record of a charge this long after
// the call's deadline never received it; nothing was billed.
const notSeenAfter = 2 * time.Minute

// keepAsking turns a status job's error into a later try. The status job is
// what makes sure no charge is lost, so it is never discarded after river's
// attempts run out: a busy database or a failed write is retried, logged
// each time for whoever is on call.
func (s *Service) keepAsking(kind, id string, err error) error {
	var snooze *river.JobSnoozeError
	if err == nil || errors.As(err, &snooze) {
		return err
	}
	s.log.Error("status job failed; asking again later", kind, id, "error", err)
	return river.JobSnooze(statusRetry)
}

// statusRetry is how soon a status job that failed runs again.
const statusRetry = 10 * time.Second

type chargeStatusWorker struct {
	river.WorkerDefaults[ChargeStatusArgs]
	s *Service
}

func (w *chargeStatusWorker) Work(ctx context.Context, job *river.Job[ChargeStatusArgs]) error {
	return w.s.keepAsking("charge", job.Args.ChargeID, w.work(ctx, job))
}

func (w *chargeStatusWorker) work(ctx context.Context, job *river.Job[ChargeStatusArgs]) error {
	s := w.s
	var ch Charge
	if err := s.db.WithContext(ctx).Where("id = ?", job.Args.ChargeID).Take(&ch).Error; err != nil {
		return fmt.Errorf("charge status %s: %w", job.Args.ChargeID, err)
	}
	if ch.Status != StatusProcessing {
		return nil
	}
	c, ok := s.carriers.Get(ch.Carrier)
	if !ok {
		return fmt.Errorf("charge %s: carrier %s is not configured", ch.ID, ch.Carrier)
	}
	e164, err := s.vault.Open(ch.MSISDNEnc)
	if err != nil {
		return fmt.Errorf("charge %s: %w", ch.ID, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CarrierTimeout)
	res, err := c.Status(cctx, carriers.Reference{Kind: "charge", ClientReference: ch.ID, CarrierReference: deref(ch.CarrierReference), MSISDN: e164})
	cancel()
	if err == nil && res.AwaitingConfirm && ch.AuthorizationRef != nil {
		// The subscriber validated, we moved to processing, and the confirm
		// never reached the carrier (a crash, a lost request): confirm again.
		s.log.Warn("confirming a charge the carrier still holds reserved", "charge", ch.ID, "carrier", ch.Carrier)
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CarrierTimeout)
		res, err = c.Charge(cctx, carriers.ChargeRequest{Reference: ch.ID, MSISDN: e164, Amount: ch.Billed(), Currency: ch.Currency,
			Description: ch.Description, AuthorizationID: *ch.AuthorizationRef})
		cancel()
		if err != nil {
			// Keep the charge processing whatever the confirm answered; the next query decides.
			s.log.Info("re-confirm did not settle the charge", "charge", ch.ID, "error", err)
			return river.JobSnooze(pollBackoff(s.now().Sub(ch.UpdatedAt)))
		}
	}
	if (err == nil && res.Outcome != carriers.OutcomePending) || errors.Is(err, carriers.ErrNotFound) {
		s.carrierAnswered(ctx, ch.Carrier, ch.UpdatedAt) // back after trouble? its other waiting queries run now
	}
	switch {
	case err == nil && res.Outcome != carriers.OutcomePending:
		return s.ApplyChargeResult(ctx, ch.ID, res, nil)
	case errors.Is(err, carriers.ErrNotFound) && ch.CarrierReference == nil && s.now().Sub(ch.UpdatedAt) > s.statusDelay()+notSeenAfter:
		s.log.Warn("carrier never received the charge; failing it", "charge", ch.ID, "carrier", ch.Carrier)
		return s.ApplyChargeResult(ctx, ch.ID, carriers.Result{}, fmt.Errorf("status query: %w", carriers.ErrNotSent))
	}
	wait := pollBackoff(s.now().Sub(ch.UpdatedAt))
	if err != nil && !errors.Is(err, carriers.ErrNotFound) {
		s.log.Info("charge status unknown; asking again later", "charge", ch.ID, "carrier", ch.Carrier, "error", err)
	} else {
		s.log.Debug("charge still undecided at the carrier; asking again later", "charge", ch.ID, "carrier", ch.Carrier, "not_found", err != nil, "in", wait)
	}
	return river.JobSnooze(wait)
}

type refundStatusWorker struct {
	river.WorkerDefaults[RefundStatusArgs]
	s *Service
}

func (w *refundStatusWorker) Work(ctx context.Context, job *river.Job[RefundStatusArgs]) error {
	return w.s.keepAsking("refund", job.Args.RefundID, w.work(ctx, job))
}

func (w *refundStatusWorker) work(ctx context.Context, job *river.Job[RefundStatusArgs]) error {
	s := w.s
	var rf Refund
	if err := s.db.WithContext(ctx).Where("id = ?", job.Args.RefundID).Take(&rf).Error; err != nil {
		return fmt.Errorf("refund status %s: %w", job.Args.RefundID, err)
	}
	if rf.Status != RefundPending {
		return nil
	}
	var ch Charge
	if err := s.db.WithContext(ctx).Where("id = ?", rf.ChargeID).Take(&ch).Error; err != nil {
		return fmt.Errorf("refund status %s: %w", rf.ID, err)
	}
	c, ok := s.carriers.Get(ch.Carrier)
	if !ok {
		return fmt.Errorf("refund %s: carrier %s is not configured", rf.ID, ch.Carrier)
	}
	e164, err := s.vault.Open(ch.MSISDNEnc)
	if err != nil {
		return fmt.Errorf("refund %s: %w", rf.ID, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CarrierTimeout)
	res, err := c.Status(cctx, carriers.Reference{Kind: "refund", ClientReference: rf.ID, CarrierReference: deref(rf.CarrierReference), ChargeReference: deref(ch.CarrierReference), MSISDN: e164})
	cancel()
	if (err == nil && res.Outcome != carriers.OutcomePending) || errors.Is(err, carriers.ErrNotFound) {
		s.carrierAnswered(ctx, ch.Carrier, rf.CreatedAt)
	}
	switch {
	case err == nil && res.Outcome != carriers.OutcomePending:
		return s.ApplyRefundResult(ctx, rf.ID, res, nil)
	case errors.Is(err, carriers.ErrNotFound) && rf.CarrierReference == nil && s.now().Sub(rf.UpdatedAt) > s.statusDelay()+notSeenAfter:
		return s.ApplyRefundResult(ctx, rf.ID, carriers.Result{}, fmt.Errorf("status query: %w", carriers.ErrNotSent))
	}
	return river.JobSnooze(pollBackoff(s.now().Sub(rf.CreatedAt)))
}
