package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/store"
	"tollgate/money"
)

// Subscriptions: a merchant's recurring charge on a one-tap payment
// method, with its own consent. The subscriber confirms with a code whose
// text names the merchant, the amount and the interval (a double opt-in:
// one-tap consent is not consent to be billed every month); only then does
// the gateway charge, each period once, through the same one-tap path as a
// merchant's own charges (caps, risk rules, alerts and receipts included).

// SubscriptionStatus is a subscription's state. Wire values, frozen once published.
type SubscriptionStatus string

const (
	SubRequiresConfirmation SubscriptionStatus = "requires_confirmation"
	SubActive               SubscriptionStatus = "active"
	SubPastDue              SubscriptionStatus = "past_due"
	SubCanceled             SubscriptionStatus = "canceled"
)

// AllSubscriptionStatuses lists every status, for validation and docs.
var AllSubscriptionStatuses = []SubscriptionStatus{SubRequiresConfirmation, SubActive, SubPastDue, SubCanceled}

// Intervals a subscription renews at. Wire values.
const (
	IntervalMonth = "month"
	IntervalWeek  = "week"
)

// Why a subscription was canceled (its cancellation_reason). Wire values.
const (
	CancelRequestedByMerchant   = "requested_by_merchant"
	CancelRequestedBySubscriber = "requested_by_subscriber"
	CancelPaymentMethodRevoked  = "payment_method_revoked"
	CancelConfirmationExpired   = "confirmation_expired"
	CancelConfirmationFailed    = "confirmation_failed"
	CancelPaymentFailed         = "payment_failed"
)

// Events of subscriptions. Wire strings, frozen once published.
const (
	EventSubscriptionCreated  = "subscription.created"
	EventSubscriptionRenewed  = "subscription.renewed"
	EventSubscriptionPastDue  = "subscription.past_due"
	EventSubscriptionCanceled = "subscription.canceled"
)

// Problem codes of subscriptions.
const (
	// CodeRecurringNotSupported: the payment method's carrier takes no
	// recurring charges.
	CodeRecurringNotSupported = problem.CodeRecurringNotSupported
	// CodeSubscriptionStateInvalid: the subscription is not in a status
	// that allows the request.
	CodeSubscriptionStateInvalid = problem.CodeSubscriptionStateInvalid
)

// maxStartAhead bounds start_at: a consent given now for a first charge
// further away would be forgotten by the time it bills.
const maxStartAhead = 90 * 24 * time.Hour

// Subscription is a row of subscriptions. The number is kept only as its
// blind index and masked; the sealed number stays on the payment method.
type Subscription struct {
	Seq                int64 `gorm:"->"`
	ID                 string
	MerchantID         string
	IdempotencyKey     string
	Livemode           bool
	Status             SubscriptionStatus
	PaymentMethodID    string
	Carrier            string
	MSISDNIndex        string `gorm:"column:msisdn_index" json:"-"`
	MSISDNMasked       string `gorm:"column:msisdn_masked"`
	Amount             int64
	Currency           string
	Interval           string `gorm:"column:billing_interval"`
	Description        string
	Category           string
	StartAt            *time.Time
	AnchorAt           *time.Time
	Period             int // the period whose charge is next, or being retried
	Attempt            int // failed charges of that period so far
	CurrentPeriodStart *time.Time
	CurrentPeriodEnd   *time.Time
	NextChargeAt       *time.Time
	LatestChargeID     *string
	CodeHash           *string `json:"-"`
	CodeExpiresAt      *time.Time
	CodeAttempts       int
	CancellationReason *string
	CanceledAt         *time.Time
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// SubscriptionParams is the body of POST /v1/subscriptions.
type SubscriptionParams struct {
	PaymentMethod string `json:"payment_method"`
	Amount        *int64 `json:"amount"`
	Currency      string `json:"currency"`
	Interval      string `json:"interval"`
	Description   string `json:"description"`
	Category      string `json:"category"`
	StartAt       string `json:"start_at"`
}

// periodStart is when period n of a subscription anchored at anchor begins,
// counted in the carrier's zone: weeks by the calendar, months keeping the
// anchor's day, or the month's last day where it has none (an anchor on
// Jan 31 renews Feb 28, or 29, then Mar 31).
func periodStart(anchor time.Time, interval string, n int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	a := anchor.In(loc)
	if interval == IntervalWeek {
		return time.Date(a.Year(), a.Month(), a.Day()+7*n, a.Hour(), a.Minute(), a.Second(), a.Nanosecond(), loc).UTC()
	}
	first := time.Date(a.Year(), a.Month()+time.Month(n), 1, 0, 0, 0, 0, loc)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(a.Day(), last), a.Hour(), a.Minute(), a.Second(), a.Nanosecond(), loc).UTC()
}

// recurringOf is the carrier's recurring window, or a problem when it takes
// no recurring charges.
func (s *Service) recurringOf(name string) (carriers.Recurring, error) {
	c, ok := s.carriers.Get(name)
	if !ok {
		return carriers.Recurring{}, fmt.Errorf("carrier %s is not configured", name)
	}
	r := c.Capabilities().Recurring
	if !r.Allowed() {
		return r, problem.Unprocessable(CodeRecurringNotSupported, "payment_method",
			fmt.Sprintf("Carrier %s takes no recurring charges; charge this subscriber one-tap instead.", name))
	}
	return r, nil
}

// bounds sets the period's start and end on sub.
func (sub *Subscription) bounds(loc *time.Location) (start, end time.Time) {
	return periodStart(*sub.AnchorAt, sub.Interval, sub.Period, loc), periodStart(*sub.AnchorAt, sub.Interval, sub.Period+1, loc)
}

func (in SubscriptionParams) check(now time.Time) (*time.Time, error) {
	if in.Amount == nil {
		return nil, problem.Invalid("amount", "amount is required: an integer count of the currency's minor unit.")
	}
	if *in.Amount <= 0 {
		return nil, problem.Invalid("amount", "amount must be a positive integer of minor units.")
	}
	if in.Currency == "" {
		return nil, problem.Invalid("currency", "currency is required: an ISO 4217 code such as KRW.")
	}
	if _, ok := money.Lookup(in.Currency); !ok {
		return nil, problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", fmt.Sprintf("%q is not a supported ISO 4217 currency code (upper case, e.g. KRW).", in.Currency))
	}
	if in.Interval != IntervalMonth && in.Interval != IntervalWeek {
		return nil, problem.Invalid("interval", `interval is required: "month" or "week".`)
	}
	for _, f := range [][2]string{{"description", in.Description}, {"category", in.Category}} {
		if err := checkText(f[0], f[1]); err != nil {
			return nil, err
		}
	}
	if in.PaymentMethod == "" {
		return nil, problem.Invalid("payment_method", "payment_method is required: an active one-tap payment method (pm_…) of yours.")
	}
	if in.StartAt == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, in.StartAt)
	if err != nil {
		return nil, problem.Invalid("start_at", "start_at must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z.")
	}
	t = t.UTC()
	if !t.After(now) {
		return nil, problem.Invalid("start_at", "start_at must be in the future; leave it out to start when the subscriber confirms.")
	}
	if t.Sub(now) > maxStartAhead {
		return nil, problem.Invalid("start_at", "start_at may be at most 90 days ahead.")
	}
	return &t, nil
}

// CreateSubscription starts a subscription on one of the merchant's active
// payment methods and texts the subscriber a code that names the merchant,
// the amount and the interval. Nothing is charged before that code comes back.
func (s *Service) CreateSubscription(ctx context.Context, p auth.Principal, idemKey string, in SubscriptionParams) (*Subscription, error) {
	now := s.now()
	startAt, err := in.check(now)
	if err != nil {
		return nil, err
	}
	if existing, err := s.subscriptionByKey(ctx, p.MerchantID, idemKey); err == nil {
		// Only reachable once the stored answer is past retention: the key
		// still names its subscription, and a different one is refused.
		if existing.Amount != *in.Amount || existing.Currency != in.Currency || existing.Interval != in.Interval || existing.PaymentMethodID != in.PaymentMethod {
			return nil, problem.Unprocessable(problem.CodeIdempotencyKeyReused, "", "This Idempotency-Key already made subscription "+existing.ID+"; use a new key for a new subscription.")
		}
		return existing, nil
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, err
	}
	pm, err := s.getPaymentMethod(ctx, p, in.PaymentMethod)
	if err != nil {
		var pr *problem.Problem
		if errors.As(err, &pr) && pr.Code == problem.CodeNotFound {
			return nil, problem.Unprocessable(problem.CodePaymentMethodInvalid, "payment_method", "No such payment method.")
		}
		return nil, err
	}
	if pm.Status != PMActive {
		return nil, problem.Unprocessable(problem.CodePaymentMethodInvalid, "payment_method", fmt.Sprintf("Payment method %s is %s; only an active one can carry a subscription.", pm.ID, pm.Status))
	}
	c, ok := s.usable(p, pm.Carrier)
	if !ok {
		return nil, problem.Unprocessable(problem.CodeUnknownCarrier, "payment_method", fmt.Sprintf("Carrier %s is no longer available.", pm.Carrier))
	}
	if _, err := s.recurringOf(c.Name()); err != nil {
		return nil, err
	}
	if err := checkAmount(c, *in.Amount, in.Currency); err != nil {
		return nil, err
	}
	if err := s.ensureAvailable(c.Name()); err != nil {
		return nil, err
	}
	if err := s.limit(ctx, LimitSMSPerNumber, pm.MSISDNIndex); err != nil {
		return nil, err
	}
	e164, err := s.vault.Open(pm.MSISDNEnc)
	if err != nil {
		return nil, fmt.Errorf("open msisdn of %s: %w", pm.ID, err)
	}
	code := newCode()
	expires := now.Add(s.cfg.CodeTTL)
	sub := &Subscription{
		ID: newID(prefixSubscription), MerchantID: p.MerchantID, IdempotencyKey: idemKey, Livemode: p.Livemode,
		Status: SubRequiresConfirmation, PaymentMethodID: pm.ID, Carrier: pm.Carrier,
		MSISDNIndex: pm.MSISDNIndex, MSISDNMasked: pm.MSISDNMasked,
		Amount: *in.Amount, Currency: in.Currency, Interval: in.Interval, Description: in.Description, Category: in.Category,
		StartAt: startAt, CodeExpiresAt: &expires, CreatedAt: now, UpdatedAt: now,
	}
	sub.CodeHash = ptr(s.codeHash(sub.ID, code))
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(sub).Error; err != nil {
			return err
		}
		return s.enqueue(ctx, tx, SubscriptionExpiryArgs{SubscriptionID: sub.ID}, s.cfg.CodeTTL+time.Second)
	})
	if store.IsUniqueViolation(err) {
		return s.subscriptionByKey(ctx, p.MerchantID, idemKey)
	}
	if err != nil {
		return nil, fmt.Errorf("insert subscription: %w", err)
	}
	merchant, err := s.merchantName(ctx, p.MerchantID)
	if err != nil {
		return nil, err
	}
	if err := s.sms(ctx, c, sub.ID, e164, s.consentText(sub, merchant, code)); err != nil {
		s.log.Warn("subscription code not sent; subscription withdrawn", "subscription", sub.ID, "carrier", c.Name(), "msisdn", sub.MSISDNMasked, "error", err)
		// As for a payment method: without its code the subscription could
		// never be confirmed; withdraw it so a retry with the key starts afresh.
		if derr := s.db.WithContext(context.WithoutCancel(ctx)).Delete(&Subscription{}, "id = ?", sub.ID).Error; derr != nil {
			return nil, fmt.Errorf("withdraw subscription %s: %w", sub.ID, derr)
		}
		_, wait := s.carriers.Available(c.Name())
		pr := carrierUnavailable(c.Name(), wait)
		pr.Detail = fmt.Sprintf("Carrier %s could not send the subscriber the code; nothing was created. Retry after %d s with the same Idempotency-Key.", c.Name(), pr.RetryAfter)
		return nil, pr
	}
	// Announced once the code is out: a withdrawn subscription never was.
	err = s.db.WithContext(context.WithoutCancel(ctx)).Transaction(func(tx *gorm.DB) error {
		return s.emitSub(tx, EventSubscriptionCreated, sub)
	})
	if err != nil {
		return nil, err
	}
	return s.reloadSub(ctx, sub.ID)
}

// consentText is the subscription's code message: who, how much, how often.
func (s *Service) consentText(sub *Subscription, merchant, code string) string {
	cur, _ := money.Lookup(sub.Currency)
	every := "month"
	if sub.Interval == IntervalWeek {
		every = "week"
	}
	return fmt.Sprintf("%s is your code to let %s charge %s every %s to your phone bill until you cancel. It expires in %d minutes. Never share it.",
		code, merchant, cur.Display(sub.Amount), every, int(s.cfg.CodeTTL.Minutes()))
}

func (s *Service) emitSub(tx *gorm.DB, typ string, sub *Subscription) error {
	return s.emit(tx, Event{MerchantID: sub.MerchantID, Livemode: sub.Livemode, Type: typ, ObjectID: sub.ID, Object: ptr(*sub)})
}

func (s *Service) subscriptionByKey(ctx context.Context, merchantID, key string) (*Subscription, error) {
	var sub Subscription
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND idempotency_key = ?", merchantID, key).Take(&sub).Error
	if err != nil {
		if !errors.Is(err, gorm.ErrRecordNotFound) {
			err = fmt.Errorf("load subscription by key: %w", err)
		}
		return nil, err
	}
	return &sub, nil
}

func (s *Service) reloadSub(ctx context.Context, id string) (*Subscription, error) {
	var sub Subscription
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&sub).Error; err != nil {
		return nil, fmt.Errorf("reload subscription %s: %w", id, err)
	}
	return &sub, nil
}

// GetSubscription returns one of the merchant's subscriptions; anything else is 404.
func (s *Service) GetSubscription(ctx context.Context, p auth.Principal, id string) (*Subscription, error) {
	var sub Subscription
	err := s.db.WithContext(ctx).Where("id = ? AND merchant_id = ?", id, p.MerchantID).Take(&sub).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("subscription")
	}
	if err != nil {
		return nil, fmt.Errorf("get subscription %s: %w", id, err)
	}
	return &sub, nil
}

// SubscriptionListParams are the query parameters of GET /v1/subscriptions.
type SubscriptionListParams struct {
	Limit         string
	StartingAfter string
	Status        string
}

// ListSubscriptions returns a page of the merchant's subscriptions, newest
// first, and whether more follow.
func (s *Service) ListSubscriptions(ctx context.Context, p auth.Principal, in SubscriptionListParams) ([]Subscription, bool, error) {
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, false, err
	}
	mine := s.db.WithContext(ctx).Where("merchant_id = ?", p.MerchantID).Session(&gorm.Session{}) // q's filters stay q's
	q := mine.Model(&Subscription{})
	if in.Status != "" {
		ok := false
		for _, st := range AllSubscriptionStatuses {
			ok = ok || string(st) == in.Status
		}
		if !ok {
			return nil, false, problem.Invalid("status", fmt.Sprintf("status must be one of %v.", AllSubscriptionStatuses))
		}
		q = q.Where("status = ?", in.Status)
	}
	return newestFirst[Subscription](q, mine, in.StartingAfter, limit, "starting_after must be the id of one of your subscriptions.")
}

func subStateProblem(sub *Subscription, wanted string) *problem.Problem {
	return problem.New(http.StatusConflict, CodeSubscriptionStateInvalid, fmt.Sprintf("subscription %s is %s; %s.", sub.ID, sub.Status, wanted))
}

// ConfirmSubscription checks the subscriber's code; the right one makes the
// subscription active, its first period due at start_at or now.
func (s *Service) ConfirmSubscription(ctx context.Context, p auth.Principal, id, code string) (*Subscription, error) {
	sub, err := s.GetSubscription(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if sub.Status != SubRequiresConfirmation {
		return nil, subStateProblem(sub, "only a subscription that requires_confirmation can be confirmed")
	}
	if err := validCodeFormat(code); err != nil {
		return nil, err
	}
	now := s.now()
	if expired(sub.CodeExpiresAt, now) {
		if _, err := s.cancelSub(ctx, sub, CancelConfirmationExpired); err != nil {
			return nil, err
		}
		return nil, codeExpired("subscription", sub.ID)
	}
	rec, err := s.recurringOf(sub.Carrier)
	if err != nil {
		return nil, err
	}
	// An attempt is spent before the code is looked at, atomically, so no
	// burst of guesses gets more than MaxAttempts looks.
	res := s.db.WithContext(ctx).Model(&Subscription{}).
		Where("id = ? AND status = ? AND code_attempts < ?", sub.ID, SubRequiresConfirmation, s.cfg.MaxAttempts).
		Updates(map[string]any{"code_attempts": gorm.Expr("code_attempts + 1"), "updated_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("count attempt on %s: %w", sub.ID, res.Error)
	}
	cur, err := s.reloadSub(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	if res.RowsAffected == 0 {
		switch {
		case cur.Status == SubRequiresConfirmation:
			if _, err := s.cancelSub(ctx, cur, CancelConfirmationFailed); err != nil {
				return nil, err
			}
			return nil, tooManyWrongCodes("subscription", sub.ID)
		case deref(cur.CancellationReason) == CancelConfirmationFailed:
			return nil, tooManyWrongCodes("subscription", sub.ID)
		}
		return nil, subStateProblem(cur, "only a subscription that requires_confirmation can be confirmed")
	}
	if !s.codeMatches(sub.ID, code, sub.CodeHash) {
		if cur.CodeAttempts >= s.cfg.MaxAttempts {
			if _, err := s.cancelSub(ctx, cur, CancelConfirmationFailed); err != nil {
				return nil, err
			}
			return nil, tooManyWrongCodes("subscription", sub.ID)
		}
		return nil, wrongCode(s.cfg.MaxAttempts - cur.CodeAttempts)
	}
	anchor := now
	if sub.StartAt != nil && sub.StartAt.After(now) {
		anchor = *sub.StartAt
	}
	sub.AnchorAt, sub.Period = &anchor, 0
	start, end := sub.bounds(rec.Location)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Subscription{}).Where("id = ? AND status = ?", sub.ID, SubRequiresConfirmation).Updates(map[string]any{
			"status": SubActive, "anchor_at": anchor, "period": 0, "attempt": 0, "current_period_start": start,
			"current_period_end": end, "next_charge_at": start, "code_hash": nil, "updated_at": now,
		})
		if res.Error != nil {
			return fmt.Errorf("activate subscription %s: %w", sub.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return errConflict
		}
		return s.enqueueRenewal(ctx, tx, sub.ID, 0, start)
	})
	if errors.Is(err, errConflict) {
		cur, rerr := s.reloadSub(ctx, sub.ID)
		if rerr != nil {
			return nil, rerr
		}
		return nil, subStateProblem(cur, "only a subscription that requires_confirmation can be confirmed")
	}
	if err != nil {
		return nil, err
	}
	return s.reloadSub(ctx, sub.ID)
}

// CancelSubscription is the merchant's cancel: no further period is
// charged. Canceling twice answers the canceled subscription.
func (s *Service) CancelSubscription(ctx context.Context, p auth.Principal, id string) (*Subscription, error) {
	sub, err := s.GetSubscription(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.cancelSub(ctx, sub, CancelRequestedByMerchant)
}

// CancelSubscriptionForSubscriber is the subscriber's own cancel (/my): only
// a subscription on their number (its blind index) is found; the merchant
// hears of it by the same event.
func (s *Service) CancelSubscriptionForSubscriber(ctx context.Context, index, id string) (*Subscription, error) {
	var sub Subscription
	err := s.db.WithContext(ctx).Where("id = ? AND msisdn_index = ?", id, index).Take(&sub).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("subscription")
	}
	if err != nil {
		return nil, fmt.Errorf("get subscription %s: %w", id, err)
	}
	return s.cancelSub(ctx, &sub, CancelRequestedBySubscriber)
}

// liveSubStatuses are the statuses a cancel ends.
var liveSubStatuses = []SubscriptionStatus{SubRequiresConfirmation, SubActive, SubPastDue}

func (s *Service) cancelSub(ctx context.Context, sub *Subscription, reason string) (*Subscription, error) {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.cancelSubTx(tx, sub.ID, reason)
	})
	if err != nil {
		return nil, err
	}
	return s.reloadSub(ctx, sub.ID)
}

// cancelSubTx cancels one subscription unless it already is, with its event.
// A period charge that started before it still finishes (the transaction
// that records such a charge locks the subscription first: see holdPeriodTx).
func (s *Service) cancelSubTx(tx *gorm.DB, id, reason string) error {
	now := s.now()
	res := tx.Model(&Subscription{}).Where("id = ? AND status IN ?", id, liveSubStatuses).Updates(map[string]any{
		"status": SubCanceled, "cancellation_reason": reason, "canceled_at": now, "next_charge_at": nil, "code_hash": nil, "updated_at": now,
	})
	if res.Error != nil {
		return fmt.Errorf("cancel subscription %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // canceled meanwhile
	}
	var out Subscription
	if err := tx.Where("id = ?", id).Take(&out).Error; err != nil {
		return fmt.Errorf("reload subscription %s: %w", id, err)
	}
	return s.emitSub(tx, EventSubscriptionCanceled, &out)
}

// cancelSubscriptionsOfTx cancels every live subscription on a payment
// method being revoked, in the revoke's transaction.
func (s *Service) cancelSubscriptionsOfTx(tx *gorm.DB, pmID string) error {
	var ids []string
	if err := tx.Model(&Subscription{}).Where("payment_method_id = ? AND status IN ?", pmID, liveSubStatuses).Pluck("id", &ids).Error; err != nil {
		return fmt.Errorf("subscriptions of %s: %w", pmID, err)
	}
	for _, id := range ids {
		if err := s.cancelSubTx(tx, id, CancelPaymentMethodRevoked); err != nil {
			return err
		}
	}
	return nil
}
