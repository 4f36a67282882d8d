package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/store"
)

// Scheduled one-tap charges: a one-tap charge with scheduled_for waits in
// status scheduled, holding no room under any cap, until a job runs it at
// its time through createOneTap like any one-tap charge: rate limits, risk
// rules and caps are checked then, in the transaction that moves it to
// processing. Until then the merchant may cancel it. Refused when it runs,
// it fails with the code a merchant's charge would have been refused with
// (e.g. carrier_limit_exceeded, payment_method_invalid).

// maxScheduleAhead bounds scheduled_for.
const maxScheduleAhead = 30 * 24 * time.Hour

// ScheduledChargeArgs runs a scheduled charge at its time.
type ScheduledChargeArgs struct {
	ChargeID string `json:"charge_id"`
}

// Kind names the job; frozen once jobs of it exist.
func (ScheduledChargeArgs) Kind() string { return "scheduled_charge" }

// InsertOpts: one job per charge while it waits or runs.
func (ScheduledChargeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: oneStatusJob}
}

func parseScheduledFor(v string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, problem.Invalid("scheduled_for", "scheduled_for must be an RFC 3339 time, e.g. 2026-12-01T09:00:00+09:00.")
	}
	t = t.UTC()
	if !t.After(now) {
		return time.Time{}, problem.Invalid("scheduled_for", "scheduled_for must be in the future; leave it out to charge now.")
	}
	if t.Sub(now) > maxScheduleAhead {
		return time.Time{}, problem.Invalid("scheduled_for", "scheduled_for may be at most 30 days ahead.")
	}
	return t, nil
}

// schedule records a validated one-tap charge as scheduled, with the job
// that runs it, in one transaction. Nothing is reserved or screened yet.
func (s *Service) schedule(ctx context.Context, ch *Charge, pm *PaymentMethod, when string) (*Charge, error) {
	at, err := parseScheduledFor(when, s.now())
	if err != nil {
		return nil, err
	}
	ch.Status, ch.ScheduledFor, ch.PaymentMethodID = StatusScheduled, &at, &pm.ID
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(ch).Error; err != nil {
			return err
		}
		if err := s.emitCharge(tx, EventChargeScheduled, ch); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, ScheduledChargeArgs{ChargeID: ch.ID}, at.Sub(s.now()))
	})
	if store.IsUniqueViolation(err) {
		return s.chargeByKey(ctx, ch.MerchantID, ch.IdempotencyKey)
	}
	if err != nil {
		return nil, fmt.Errorf("insert scheduled charge: %w", err)
	}
	return s.reload(ctx, ch)
}

type scheduledChargeWorker struct {
	river.WorkerDefaults[ScheduledChargeArgs]
	s *Service
}

func (w *scheduledChargeWorker) Work(ctx context.Context, job *river.Job[ScheduledChargeArgs]) error {
	return w.s.runScheduled(ctx, job.Args.ChargeID)
}

// runScheduled runs a scheduled charge that is due through createOneTap,
// the path of every one-tap charge: the payment method, the carrier, the
// rate limit, the risk rules and the caps are checked now, and the charge's
// own row leaves scheduled in the transaction that holds its room
// (recordTx). A refusal that a merchant would get as a problem fails it.
func (s *Service) runScheduled(ctx context.Context, id string) error {
	var ch Charge
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&ch).Error; err != nil {
		return fmt.Errorf("scheduled charge %s: %w", id, err)
	}
	if ch.Status != StatusScheduled {
		return nil // canceled, or already run
	}
	now := s.now()
	if ch.ScheduledFor != nil && now.Before(*ch.ScheduledFor) {
		return river.JobSnooze(ch.ScheduledFor.Sub(now))
	}
	p := auth.Principal{MerchantID: ch.MerchantID, Livemode: ch.Livemode, Role: auth.RoleMerchant}
	amount := ch.Amount
	_, err := s.createOneTap(ctx, p, ch.IdempotencyKey, ChargeParams{
		Amount: &amount, Currency: ch.Currency, PaymentMethod: deref(ch.PaymentMethodID), Carrier: ch.Carrier,
		Description: ch.Description, MerchantReference: ch.MerchantReference, Category: ch.Category, due: &ch,
	})
	var refused *problem.Problem
	switch {
	case err == nil, errors.Is(err, errConflict):
		return nil // run (the carrier's answer is recorded), or canceled meanwhile
	case !errors.As(err, &refused):
		return err
	case refused.Code == problem.CodeRateLimited || refused.Code == problem.CodeCarrierUnavailable:
		// Nothing was sent: wait, as a merchant would be told to.
		return river.JobSnooze(time.Duration(max(refused.RetryAfter, 1)) * time.Second)
	case refused.Code == problem.CodeRiskDeclined:
		return nil // recorded failed with its rule by the risk screen
	}
	return s.failScheduled(ctx, &ch, refused.Code, refused.Detail, nil)
}

// recordTx writes a one-tap charge's intent in the transaction that holds
// its room: a new row, or, for a scheduled charge that is due, its own row
// moved out of scheduled (a cancel that came first wins: errConflict).
func (s *Service) recordTx(tx *gorm.DB, ch *Charge) error {
	if ch.ScheduledFor == nil {
		return tx.Create(ch).Error
	}
	if !CanTransition(StatusScheduled, ch.Status) {
		return ErrTransition{From: StatusScheduled, To: ch.Status}
	}
	ch.UpdatedAt = s.now()
	res := tx.Model(&Charge{}).Where("id = ? AND status = ?", ch.ID, StatusScheduled).
		Select("status", "spend_month", "sink_token_hash", "risk_rule", "failure_code", "failure_message", "cashback_applied", "updated_at").Updates(ch)
	if res.Error != nil {
		return fmt.Errorf("run scheduled charge %s: %w", ch.ID, res.Error)
	}
	if res.RowsAffected == 0 {
		return errConflict
	}
	return tx.Where("id = ?", ch.ID).Take(ch).Error
}

// failScheduled fails a scheduled charge refused when it ran, before any
// carrier call; a cancel that came first wins.
func (s *Service) failScheduled(ctx context.Context, ch *Charge, code, message string, rule *string) error {
	fields := map[string]any{"failure_code": code, "failure_message": message}
	if rule != nil {
		fields["risk_rule"] = *rule
	}
	_, err := s.move(ctx, ch, StatusFailed, fields)
	return ignoreConflict(err)
}
