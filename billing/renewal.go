package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/internal/auth"
	"tollgate/internal/jobs"
	"tollgate/internal/problem"
)

// How a subscription's periods get charged. Each period has one job,
// SubscriptionRenewalArgs{id, period}, unique while it waits or runs,
// inserted in the transaction that makes the period due (the confirmation,
// or the previous period's bookkeeping); a leader-elected sweep re-inserts
// any that is missing. The job charges through createOneTap under the
// Idempotency-Key "sub_…:period:attempt", so a retried, crashed or
// concurrent job finds the charge it made instead of making another, and
// charges' unique index on (subscription_id, subscription_period) lets no
// period hold two charges that can bill. The bookkeeping after the charge
// is a compare-and-swap on the subscription's (period, attempt).

// SubscriptionRenewalArgs charges one period of a subscription.
type SubscriptionRenewalArgs struct {
	SubscriptionID string `json:"subscription_id"`
	Period         int    `json:"period"`
}

// Kind names the job; frozen once jobs of it exist.
func (SubscriptionRenewalArgs) Kind() string { return "subscription_renewal" }

// InsertOpts: one job per subscription and period while it waits or runs.
func (SubscriptionRenewalArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: oneStatusJob}
}

// SubscriptionExpiryArgs cancels a subscription nobody confirmed in time.
type SubscriptionExpiryArgs struct {
	SubscriptionID string `json:"subscription_id"`
}

// Kind names the job.
func (SubscriptionExpiryArgs) Kind() string { return "subscription_expiry" }

// SubscriptionSweepArgs is the periodic look for due periods without a job.
type SubscriptionSweepArgs struct{}

// Kind names the job.
func (SubscriptionSweepArgs) Kind() string { return "subscription_sweep" }

// sweepEvery is how often the elected leader looks for due periods.
const sweepEvery = time.Minute

// Periodic is the sweep; river's elected leader enqueues periodic jobs, so
// many nodes sweep once.
func (s *Service) Periodic() *river.PeriodicJob {
	return sweeping(SubscriptionSweepArgs{}, sweepEvery)
}

// renewalRetries space a failed period's retries; the last repeats. No
// retry goes past the carrier's window: the window's end cancels.
var renewalRetries = []time.Duration{6 * time.Hour, 24 * time.Hour, 48 * time.Hour}

func renewalBackoff(failed int) time.Duration {
	return renewalRetries[min(failed, len(renewalRetries))-1]
}

// enqueueRenewal inserts the period's job, due at at. A period due already
// (the first one, confirmed without start_at; one that is late) is
// available at once rather than scheduled for now, which would wait for
// the elected leader to promote it.
func (s *Service) enqueueRenewal(ctx context.Context, tx *gorm.DB, id string, period int, at time.Time) error {
	opts := &river.InsertOpts{}
	if at.After(s.now()) {
		opts.ScheduledAt = at
	}
	return jobs.InsertTx(ctx, s.jobs, tx, SubscriptionRenewalArgs{SubscriptionID: id, Period: period}, opts)
}

type subscriptionRenewalWorker struct {
	river.WorkerDefaults[SubscriptionRenewalArgs]
	s *Service
}

func (w *subscriptionRenewalWorker) Work(ctx context.Context, job *river.Job[SubscriptionRenewalArgs]) error {
	return w.s.renew(ctx, job.Args.SubscriptionID, job.Args.Period)
}

// errPeriodMoved: the subscription left the period (or was canceled) while
// its charge was being recorded; that charge is not made.
var errPeriodMoved = errors.New("subscription period moved")

// errPeriodCharged: another job recorded the period's charge first.
var errPeriodCharged = errors.New("subscription period already has a charge")

// periodRef names the subscription period a charge pays for.
type periodRef struct {
	subscription string
	period       int
}

// periodKey is the Idempotency-Key of a period's charge attempt.
func periodKey(sub *Subscription) string {
	return fmt.Sprintf("%s:%d:%d", sub.ID, sub.Period, sub.Attempt)
}

// holdPeriodTx runs first in the transaction that records a subscription's
// charge: it locks the subscription's row while it is still live and in
// the charge's period, so a cancel either commits before (no charge is
// recorded) or waits for the charge. Concurrent jobs of the period queue
// on that lock, and the ones after the first find its charge here, before
// they reserve any room: a loser that reached the caps' rows would wait
// for the first charge's row while holding rows the first one's
// bookkeeping needs (a deadlock on PostgreSQL).
func (s *Service) holdPeriodTx(tx *gorm.DB, ch *Charge) error {
	if ch.SubscriptionID == nil {
		return nil
	}
	res := tx.Model(&Subscription{}).Where("id = ? AND status IN ? AND period = ?", *ch.SubscriptionID, []SubscriptionStatus{SubActive, SubPastDue}, *ch.SubscriptionPeriod).
		Update("updated_at", s.now())
	if res.Error != nil {
		return fmt.Errorf("hold subscription %s: %w", *ch.SubscriptionID, res.Error)
	}
	if res.RowsAffected == 0 {
		return errPeriodMoved
	}
	var live []string
	err := tx.Model(&Charge{}).Where("subscription_id = ? AND subscription_period = ? AND status NOT IN ?", *ch.SubscriptionID, *ch.SubscriptionPeriod, []Status{StatusFailed, StatusCanceled}).
		Limit(1).Pluck("id", &live).Error
	if err != nil {
		return fmt.Errorf("charges of subscription %s: %w", *ch.SubscriptionID, err)
	}
	if len(live) > 0 {
		return errPeriodCharged
	}
	return nil
}

// renew makes the period's charge if it is due and records its outcome.
func (s *Service) renew(ctx context.Context, id string, period int) error {
	sub, err := s.reloadSub(ctx, id)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if (sub.Status != SubActive && sub.Status != SubPastDue) || sub.Period != period || sub.AnchorAt == nil {
		return nil // canceled, or the period is done: nothing to charge
	}
	rec, err := s.recurringOf(sub.Carrier)
	if err != nil {
		return fmt.Errorf("renew %s: %w", sub.ID, err)
	}
	now := s.now()
	if sub.NextChargeAt != nil && now.Before(*sub.NextChargeAt) {
		return river.JobSnooze(sub.NextChargeAt.Sub(now))
	}
	window := time.Duration(rec.WindowDays) * 24 * time.Hour
	if sub.Attempt == 0 {
		// Catch up once: after a gateway outage across due dates, only the
		// latest due period is charged; a period whose window has closed
		// unbilled is skipped (the carrier would refuse it, and billing
		// several periods at once is not what the subscriber agreed to).
		q := sub.Period
		for !periodStart(*sub.AnchorAt, sub.Interval, q+1, rec.Location).After(now) {
			q++
		}
		if q != sub.Period || now.After(periodStart(*sub.AnchorAt, sub.Interval, q, rec.Location).Add(window)) {
			return s.skipTo(ctx, sub, q, now, window, rec.Location)
		}
	} else if start, _ := sub.bounds(rec.Location); !now.Before(start.Add(window)) {
		// The carrier's window closed with the period unpaid.
		_, err := s.cancelSub(ctx, sub, CancelPaymentFailed)
		return err
	}
	ch, refused, err := s.chargePeriod(ctx, sub)
	if errors.Is(err, errPeriodMoved) {
		return nil
	}
	if err != nil {
		return err
	}
	if refused != nil && (refused.Code == problem.CodeRateLimited || refused.Code == problem.CodeCarrierUnavailable) {
		// Nothing was sent and the subscriber declined nothing: not a
		// failed attempt, just later (still inside the window, checked
		// when it runs again).
		return river.JobSnooze(time.Duration(max(refused.RetryAfter, 1)) * time.Second)
	}
	return s.settlePeriod(ctx, sub, ch, refused, window, rec.Location)
}

// skipTo moves a subscription whose job ran late to period q (the latest
// one due), or past it when q's window is already closed, and lets q's job
// charge it.
func (s *Service) skipTo(ctx context.Context, sub *Subscription, q int, now time.Time, window time.Duration, loc *time.Location) error {
	if now.After(periodStart(*sub.AnchorAt, sub.Interval, q, loc).Add(window)) {
		q++
	}
	due := periodStart(*sub.AnchorAt, sub.Interval, q, loc)
	s.log.Warn("subscription periods missed while the gateway was down; skipping to the latest", "subscription", sub.ID, "from", sub.Period, "to", q)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Subscription{}).Where("id = ? AND period = ? AND attempt = 0 AND status IN ?", sub.ID, sub.Period, []SubscriptionStatus{SubActive, SubPastDue}).
			Updates(map[string]any{"period": q, "next_charge_at": due, "updated_at": now})
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if q == sub.Period {
			return nil
		}
		return s.enqueueRenewal(ctx, tx, sub.ID, q, due)
	})
}

// chargePeriod makes (or finds) the charge of the subscription's current
// period and attempt, through the one-tap path every merchant charge takes.
// refused is the problem when the charge was refused before any carrier
// call and nothing was recorded (a cap, a rate limit, the carrier down).
func (s *Service) chargePeriod(ctx context.Context, sub *Subscription) (ch *Charge, refused *problem.Problem, err error) {
	key := periodKey(sub)
	if ch, err := s.chargeByKey(ctx, sub.MerchantID, key); err == nil {
		return ch, nil, nil // made before a crash or by a concurrent job
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil, fmt.Errorf("charge of %s: %w", key, err)
	}
	p := auth.Principal{MerchantID: sub.MerchantID, Livemode: sub.Livemode, Role: auth.RoleMerchant}
	amount := sub.Amount
	ch, err = s.createOneTap(ctx, p, key, ChargeParams{
		Amount: &amount, Currency: sub.Currency, PaymentMethod: sub.PaymentMethodID,
		Description: sub.Description, Category: sub.Category,
		period: &periodRef{subscription: sub.ID, period: sub.Period},
	})
	if errors.Is(err, errPeriodMoved) {
		return nil, nil, err
	}
	if err != nil {
		// A risk decline records its charge under the key; a concurrent job
		// may have recorded one first: either is the attempt's answer.
		if found, ferr := s.chargeByKey(ctx, sub.MerchantID, key); ferr == nil {
			if !errors.As(err, &refused) && !errors.Is(err, errPeriodCharged) {
				s.log.Warn("subscription charge recorded, its outcome not yet", "subscription", sub.ID, "charge", found.ID, "error", err)
			}
			return found, nil, nil
		}
		if errors.As(err, &refused) {
			return nil, refused, nil
		}
		return nil, nil, fmt.Errorf("charge of %s: %w", key, err)
	}
	return ch, nil, nil
}

// settlePeriod records a period charge's outcome on the subscription.
func (s *Service) settlePeriod(ctx context.Context, sub *Subscription, ch *Charge, refused *problem.Problem, window time.Duration, loc *time.Location) error {
	now := s.now()
	if ch != nil && ch.Status == StatusProcessing {
		// The carrier has not answered yet; its status job will.
		return river.JobSnooze(pollBackoff(now.Sub(ch.CreatedAt)))
	}
	live := []SubscriptionStatus{SubActive, SubPastDue}
	cas := func(tx *gorm.DB, set map[string]any) (bool, error) {
		set["updated_at"] = now
		res := tx.Model(&Subscription{}).Where("id = ? AND period = ? AND attempt = ? AND status IN ?", sub.ID, sub.Period, sub.Attempt, live).Updates(set)
		return res.RowsAffected == 1, res.Error
	}
	if ch != nil && (ch.Status == StatusSucceeded || ch.Status == StatusPartiallyRefunded || ch.Status == StatusRefunded) {
		start, end := sub.bounds(loc)
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			ok, err := cas(tx, map[string]any{"status": SubActive, "period": sub.Period + 1, "attempt": 0, "current_period_start": start,
				"current_period_end": end, "next_charge_at": end, "latest_charge_id": ch.ID})
			if err != nil || !ok {
				return err
			}
			out, err := s.reloadSubTx(tx, sub.ID)
			if err != nil {
				return err
			}
			if err := s.emitSub(tx, EventSubscriptionRenewed, out); err != nil {
				return err
			}
			return s.enqueueRenewal(ctx, tx, sub.ID, sub.Period+1, end)
		})
	}
	// Failed: past_due at once, retried with backoff inside the window; the
	// window's end (when no retry fits) cancels.
	start, _ := sub.bounds(loc)
	closes := start.Add(window)
	retryAt := now.Add(renewalBackoff(sub.Attempt + 1))
	if retryAt.After(closes) {
		retryAt = closes
	}
	if refused != nil {
		s.log.Info("subscription charge refused before the carrier", "subscription", sub.ID, "period", sub.Period, "code", refused.Code)
	}
	set := map[string]any{"status": SubPastDue, "attempt": sub.Attempt + 1, "next_charge_at": retryAt}
	if ch != nil {
		set["latest_charge_id"] = ch.ID
	}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		ok, err := cas(tx, set)
		if err != nil || !ok || sub.Status == SubPastDue {
			return err
		}
		out, err := s.reloadSubTx(tx, sub.ID)
		if err != nil {
			return err
		}
		return s.emitSub(tx, EventSubscriptionPastDue, out)
	})
	if err != nil {
		return err
	}
	return river.JobSnooze(retryAt.Sub(now))
}

func (s *Service) reloadSubTx(tx *gorm.DB, id string) (*Subscription, error) {
	var out Subscription
	if err := tx.Where("id = ?", id).Take(&out).Error; err != nil {
		return nil, fmt.Errorf("reload subscription %s: %w", id, err)
	}
	return &out, nil
}

type subscriptionExpiryWorker struct {
	river.WorkerDefaults[SubscriptionExpiryArgs]
	s *Service
}

func (w *subscriptionExpiryWorker) Work(ctx context.Context, job *river.Job[SubscriptionExpiryArgs]) error {
	s := w.s
	sub, err := s.reloadSub(ctx, job.Args.SubscriptionID)
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil // withdrawn at once: its code never left
	}
	if err != nil {
		return err
	}
	if sub.Status != SubRequiresConfirmation {
		return nil
	}
	if !expired(sub.CodeExpiresAt, s.now()) {
		return river.JobSnooze(sub.CodeExpiresAt.Sub(s.now()) + time.Second)
	}
	_, err = s.cancelSub(ctx, sub, CancelConfirmationExpired)
	return err
}

type subscriptionSweepWorker struct {
	river.WorkerDefaults[SubscriptionSweepArgs]
	s *Service
}

// sweepBatch bounds one sweep; the next takes the rest.
const sweepBatch = 1000

func (w *subscriptionSweepWorker) Work(ctx context.Context, _ *river.Job[SubscriptionSweepArgs]) error {
	s := w.s
	var due []Subscription
	err := s.db.WithContext(ctx).Select("id", "period").
		Where("status IN ? AND next_charge_at <= ?", []SubscriptionStatus{SubActive, SubPastDue}, s.now()).
		Order("next_charge_at").Limit(sweepBatch).Find(&due).Error
	if err != nil {
		return fmt.Errorf("due subscriptions: %w", err)
	}
	for _, sub := range due {
		// Unique per subscription and period: a job already waiting or
		// running is left as it is.
		if _, err := s.jobs.Insert(ctx, SubscriptionRenewalArgs{SubscriptionID: sub.ID, Period: sub.Period}, nil); err != nil {
			return fmt.Errorf("renewal job of %s: %w", sub.ID, err)
		}
	}
	return nil
}
