package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
)

// Scheduled one-tap charges: a one-tap charge with scheduled_for waits in
// status scheduled, holding no room under any cap, until a job runs it at
// its time like any one-tap charge: rate limits, risk rules and caps are
// checked then, in the transaction that moves it to processing. Until then
// the merchant may cancel it.

// maxScheduleAhead bounds scheduled_for.
const maxScheduleAhead = 30 * 24 * time.Hour

// Failure codes of a scheduled charge refused when it runs, besides the
// caps' and risk rules' own.
const (
	// FailurePaymentMethodInvalid: the payment method was no longer active.
	FailurePaymentMethodInvalid = "payment_method_invalid"
)

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

// runScheduled runs a scheduled charge that is due: the second half of a
// one-tap charge, every rule checked now.
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
	pm, err := s.reloadPM(ctx, deref(ch.PaymentMethodID))
	if err != nil {
		return err
	}
	if pm.Status != PMActive {
		return s.failScheduled(ctx, &ch, FailurePaymentMethodInvalid, fmt.Sprintf("Payment method %s was %s when the charge was due.", pm.ID, pm.Status), nil)
	}
	c, ok := s.carriers.Get(ch.Carrier)
	if !ok {
		return fmt.Errorf("scheduled charge %s: carrier %s is not configured", ch.ID, ch.Carrier)
	}
	if ok, wait := s.carriers.Available(c.Name()); !ok {
		return river.JobSnooze(max(wait, time.Second)) // the breaker is open: wait, nothing sent
	}
	if err := s.limits.Take(ctx, LimitChargesPerNumber, ch.MSISDNIndex); err != nil {
		var refused *ratelimit.Refused
		if errors.As(err, &refused) {
			return river.JobSnooze(max(refused.RetryAfter, time.Second))
		}
		return err
	}
	if d, err := s.riskDecide(ctx, &ch); err != nil {
		return err
	} else if d.rule != "" {
		return s.failScheduled(ctx, &ch, carriers.FailureRiskDeclined, "Declined by the risk rule "+d.rule+": "+d.why, &d.rule)
	}
	var token string
	if pm.TokenEnc != nil {
		if token, err = s.vault.Open(*pm.TokenEnc); err != nil {
			return fmt.Errorf("open token of %s: %w", pm.ID, err)
		}
	}
	sinkToken, sinkHash := newSinkToken()
	// Caps count the month the charge runs in, not the one it was made in.
	run := ch
	run.CreatedAt = now
	var moved *Charge
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.screenTx(tx, &run); err != nil {
			return err
		}
		if err := s.holdRoomTx(tx, &run); err != nil {
			return err
		}
		var err error
		if moved, err = s.moveTx(tx, &ch, StatusProcessing, map[string]any{"spend_month": run.SpendMonth, "sink_token_hash": sinkHash}); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, ChargeStatusArgs{ChargeID: ch.ID}, s.statusDelay())
	})
	if d, ok := declinedBy(err); ok {
		return s.failScheduled(ctx, &ch, carriers.FailureRiskDeclined, "Declined by the risk rule "+d.rule+": "+d.why, &d.rule)
	}
	var refused *problem.Problem
	if errors.As(err, &refused) {
		return s.failScheduled(ctx, &ch, refused.Code, refused.Detail, nil)
	}
	if errors.Is(err, errConflict) {
		return nil // canceled meanwhile
	}
	if err != nil {
		return err
	}
	_, err = s.submit(ctx, moved, c, carriers.ChargeRequest{Token: token, SinkToken: sinkToken})
	return err
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
