package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/store"
	"tollgate/money"
)

// Refund requests: a subscriber asks a merchant, from /my, to refund one of
// their charges, with a reason. The merchant approves (the refund is made
// through CreateRefund, with the carrier's rules and windows) or declines
// with a reason; below an amount the merchant sets, a request is approved
// at once. A request left unanswered for RefundRequestOverdueAfter shows as
// overdue to admin keys. The subscriber is known by the blind index only.

// RefundRequestStatus is a refund request's state. Wire values, frozen once published.
type RefundRequestStatus string

const (
	RefundRequestPending  RefundRequestStatus = "pending"
	RefundRequestApproved RefundRequestStatus = "approved"
	RefundRequestDeclined RefundRequestStatus = "declined"
)

// AllRefundRequestStatuses lists every status, for validation and docs.
var AllRefundRequestStatuses = []RefundRequestStatus{RefundRequestPending, RefundRequestApproved, RefundRequestDeclined}

// Who approved a request (its approved_by). Wire values.
const (
	ApprovedByMerchant    = "merchant"
	ApprovedAutomatically = "auto"
)

// Events of refund requests. Wire strings, frozen once published.
const (
	EventRefundRequestCreated  = "refund_request.created"
	EventRefundRequestApproved = "refund_request.approved"
	EventRefundRequestDeclined = "refund_request.declined"
)

// prefixRefundRequest begins a refund request's id; part of the public contract.
const prefixRefundRequest = "rr_"

// RefundRequestOverdueAfter is how long a request may wait for its
// merchant's answer before it is overdue.
const RefundRequestOverdueAfter = 3 * 24 * time.Hour

// maxReason bounds a request's and a decline's reason, in characters: it
// becomes the refund's reason, which holds as much.
const maxReason = maxText

// RefundRequest is a row of refund_requests.
type RefundRequest struct {
	Seq             int64 `gorm:"->"`
	ID              string
	MerchantID      string
	Livemode        bool
	ChargeID        string
	MSISDNIndex     string `gorm:"column:msisdn_index" json:"-"`
	MSISDNMasked    string `gorm:"column:msisdn_masked"`
	Amount          int64  // what was left to refund of the charge when asked
	Currency        string
	Status          RefundRequestStatus
	Reason          string
	DeclineReason   *string
	RefundID        *string
	ApprovedBy      *string
	ApproveAttempts int // refunds of this request the carrier refused
	AnsweredAt      *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Overdue is computed when read: pending for RefundRequestOverdueAfter.
	Overdue bool `gorm:"-"`
}

func (s *Service) markOverdue(rr *RefundRequest) {
	rr.Overdue = rr.Status == RefundRequestPending && !s.now().Before(rr.CreatedAt.Add(RefundRequestOverdueAfter))
}

// checkReason trims a reason and refuses an empty, overlong or unprintable one.
func checkReason(param, v string) (string, error) {
	v = strings.TrimSpace(v)
	if !utf8.ValidString(v) {
		return "", problem.Invalid(param, param+" must be valid UTF-8.")
	}
	if v == "" {
		return "", problem.Invalid(param, param+" is required: say why.")
	}
	if n := utf8.RuneCountInString(v); n > maxReason {
		return "", problem.Invalid(param, fmt.Sprintf("%s must be at most %d characters (it has %d).", param, maxReason, n))
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return "", problem.Invalid(param, param+" must not hold control characters.")
		}
	}
	return v, nil
}

// RequestRefundForSubscriber is the subscriber's request (/my) for a refund
// of one of their own charges (a charge of another number is not found),
// succeeded or partly refunded, at any merchant. One request per charge is
// open at a time. Below the merchant's auto_approve_below in the charge's
// currency the request is approved at once; if that refund is refused
// (e.g. the carrier's window closed), it stays pending for the merchant.
func (s *Service) RequestRefundForSubscriber(ctx context.Context, livemode bool, index, chargeID, reason string) (*RefundRequest, error) {
	reason, err := checkReason("reason", reason)
	if err != nil {
		return nil, err
	}
	var ch Charge
	err = s.db.WithContext(ctx).Where("id = ? AND msisdn_index = ? AND livemode = ?", chargeID, index, livemode).Take(&ch).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("charge")
	}
	if err != nil {
		return nil, fmt.Errorf("get charge %s: %w", chargeID, err)
	}
	if ch.Status == StatusRefunded {
		return nil, exceeds(ch.ID, 0, ch.Currency)
	}
	if ch.Status != StatusSucceeded && ch.Status != StatusPartiallyRefunded {
		return nil, stateProblem("charge", ch.ID, ch.Status, "only a succeeded charge can be refunded")
	}
	left := ch.Billed() - ch.RefundReserved // what reached the phone bill: cashback is never refunded as money
	if left <= 0 {
		return nil, exceeds(ch.ID, left, ch.Currency)
	}
	now := s.now()
	rr := &RefundRequest{ID: newID(prefixRefundRequest), MerchantID: ch.MerchantID, Livemode: ch.Livemode, ChargeID: ch.ID,
		MSISDNIndex: ch.MSISDNIndex, MSISDNMasked: ch.MSISDNMasked, Amount: left, Currency: ch.Currency,
		Status: RefundRequestPending, Reason: reason, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(rr).Error; err != nil {
			return err
		}
		return s.emitRefundRequest(tx, EventRefundRequestCreated, rr)
	})
	if store.IsUniqueViolation(err) {
		return nil, problem.New(http.StatusConflict, problem.CodeRefundRequestOpen,
			fmt.Sprintf("Charge %s already has a refund request waiting for the merchant's answer.", ch.ID))
	}
	if err != nil {
		return nil, fmt.Errorf("create refund request: %w", err)
	}
	below, err := s.autoApproveBelow(ctx, rr.MerchantID, rr.Currency)
	if err != nil {
		return nil, err
	}
	if rr.Amount < below {
		p := auth.Principal{MerchantID: rr.MerchantID, Role: auth.RoleMerchant, Livemode: rr.Livemode}
		if _, err := s.approve(ctx, p, rr, ApprovedAutomatically); err != nil {
			var pr *problem.Problem
			if !errors.As(err, &pr) {
				return nil, err
			}
			// Refused: the merchant answers it as any other request.
			s.log.Info("refund request not auto-approved; left to the merchant", "refund_request", rr.ID, "code", pr.Code)
		}
	}
	return s.reloadRefundRequest(ctx, rr.ID)
}

func (s *Service) emitRefundRequest(tx *gorm.DB, typ string, rr *RefundRequest) error {
	cp := *rr
	s.markOverdue(&cp)
	return s.emit(tx, Event{MerchantID: rr.MerchantID, Livemode: rr.Livemode, Type: typ, ObjectID: rr.ID, Object: &cp})
}

func (s *Service) reloadRefundRequest(ctx context.Context, id string) (*RefundRequest, error) {
	var rr RefundRequest
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&rr).Error; err != nil {
		return nil, fmt.Errorf("reload refund request %s: %w", id, err)
	}
	s.markOverdue(&rr)
	return &rr, nil
}

// GetRefundRequest returns one of the merchant's refund requests (any
// merchant's to an admin key); anything else is 404.
func (s *Service) GetRefundRequest(ctx context.Context, p auth.Principal, id string) (*RefundRequest, error) {
	var rr RefundRequest
	q := s.db.WithContext(ctx).Where("id = ?", id)
	if p.Role != auth.RoleAdmin {
		q = q.Where("merchant_id = ?", p.MerchantID)
	}
	err := q.Take(&rr).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("refund request")
	}
	if err != nil {
		return nil, fmt.Errorf("get refund request %s: %w", id, err)
	}
	s.markOverdue(&rr)
	return &rr, nil
}

// RefundRequestListParams are the query parameters of GET /v1/refund_requests.
type RefundRequestListParams struct {
	Limit         string
	StartingAfter string
	Status        string
	Overdue       string // "true" or "false"
}

// ListRefundRequests returns a page of refund requests, newest first, and
// whether more follow: the merchant's own, or every merchant's to an admin key.
func (s *Service) ListRefundRequests(ctx context.Context, p auth.Principal, in RefundRequestListParams) ([]RefundRequest, bool, error) {
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, false, err
	}
	scope := func(q *gorm.DB) *gorm.DB {
		if p.Role != auth.RoleAdmin {
			return q.Where("merchant_id = ?", p.MerchantID)
		}
		return q
	}
	q := scope(s.db.WithContext(ctx).Model(&RefundRequest{}))
	if in.Status != "" {
		ok := false
		for _, st := range AllRefundRequestStatuses {
			ok = ok || string(st) == in.Status
		}
		if !ok {
			return nil, false, problem.Invalid("status", fmt.Sprintf("status must be one of %v.", AllRefundRequestStatuses))
		}
		q = q.Where("status = ?", in.Status)
	}
	due := s.now().Add(-RefundRequestOverdueAfter)
	switch in.Overdue {
	case "":
	case "true":
		q = q.Where("status = ? AND created_at <= ?", RefundRequestPending, due)
	case "false":
		q = q.Where("NOT (status = ? AND created_at <= ?)", RefundRequestPending, due)
	default:
		return nil, false, problem.Invalid("overdue", "overdue must be true or false.")
	}
	out, more, err := newestFirst[RefundRequest](q, scope(s.db.WithContext(ctx)), in.StartingAfter, limit, "starting_after must be the id of a refund request this key can see.")
	if err != nil {
		return nil, false, err
	}
	for i := range out {
		s.markOverdue(&out[i])
	}
	return out, more, nil
}

func refundRequestState(rr *RefundRequest, wanted string) *problem.Problem {
	return problem.New(http.StatusConflict, problem.CodeRefundRequestStateInvalid, fmt.Sprintf("refund request %s is %s; %s.", rr.ID, rr.Status, wanted))
}

// ApproveRefundRequest refunds what is left of the request's charge through
// CreateRefund, with every rule of the carrier. Refused (window closed,
// carrier down, …), the approval answers that problem and the request
// stays pending; approving an approved request answers it unchanged.
func (s *Service) ApproveRefundRequest(ctx context.Context, p auth.Principal, id string) (*RefundRequest, error) {
	rr, err := s.GetRefundRequest(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.approve(ctx, p, rr, ApprovedByMerchant)
}

func (s *Service) approve(ctx context.Context, p auth.Principal, rr *RefundRequest, by string) (*RefundRequest, error) {
	switch rr.Status {
	case RefundRequestApproved:
		return rr, nil
	case RefundRequestDeclined:
		return nil, refundRequestState(rr, "only a pending request can be approved")
	}
	// One Idempotency-Key per attempt: concurrent approvals make one
	// refund, and after a refund the carrier refused a new approval makes
	// a new one.
	key := fmt.Sprintf("%s:approve:%d", rr.ID, rr.ApproveAttempts)
	rf, err := s.CreateRefund(ctx, p, rr.ChargeID, key, RefundParams{Reason: rr.Reason})
	if err != nil {
		// A concurrent approval may hold the charge's room with this very
		// key (CreateRefund then finds nothing left): answer with its refund.
		var mine Refund
		if s.db.WithContext(ctx).Where("merchant_id = ? AND idempotency_key = ?", rr.MerchantID, key).Take(&mine).Error != nil {
			return nil, err
		}
		if mine.Status == RefundPending {
			return nil, problem.New(http.StatusConflict, problem.CodeIdempotencyInProgress,
				fmt.Sprintf("An approval of refund request %s is under way (refund %s); retry shortly.", rr.ID, mine.ID))
		}
		rf = &mine
	}
	now := s.now()
	if rf.Status == RefundFailed {
		if err := s.db.WithContext(ctx).Model(&RefundRequest{}).
			Where("id = ? AND status = ? AND approve_attempts = ?", rr.ID, RefundRequestPending, rr.ApproveAttempts).
			Updates(map[string]any{"approve_attempts": gorm.Expr("approve_attempts + 1"), "updated_at": now}).Error; err != nil {
			return nil, fmt.Errorf("count refused refund of %s: %w", rr.ID, err)
		}
		return nil, problem.Unprocessable(problem.CodeRefundFailed, "", fmt.Sprintf(
			"The carrier refused refund %s (%s); the request stays pending: approve again to retry, or decline it.", rf.ID, deref(rf.FailureCode))).With("refund", rf.ID)
	}
	var moved bool
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// A refund that went through is what happened: it wins over a
		// decline that raced it.
		res := tx.Model(&RefundRequest{}).Where("id = ? AND status IN ?", rr.ID, []RefundRequestStatus{RefundRequestPending, RefundRequestDeclined}).
			Updates(map[string]any{"status": RefundRequestApproved, "refund_id": rf.ID, "approved_by": by, "answered_at": now, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("approve refund request %s: %w", rr.ID, res.Error)
		}
		if moved = res.RowsAffected == 1; !moved {
			return nil // approved meanwhile, with the same refund
		}
		var out RefundRequest
		if err := tx.Where("id = ?", rr.ID).Take(&out).Error; err != nil {
			return fmt.Errorf("reload refund request %s: %w", rr.ID, err)
		}
		return s.emitRefundRequest(tx, EventRefundRequestApproved, &out)
	})
	if err != nil {
		return nil, err
	}
	return s.reloadRefundRequest(ctx, rr.ID)
}

// DeclineParams is the body of POST /v1/refund_requests/{id}/decline.
type DeclineParams struct {
	Reason string `json:"reason"`
}

// DeclineRefundRequest answers a pending request no, with a reason the
// subscriber reads on /my. Declining a declined request answers it unchanged.
func (s *Service) DeclineRefundRequest(ctx context.Context, p auth.Principal, id string, in DeclineParams) (*RefundRequest, error) {
	reason, err := checkReason("reason", in.Reason)
	if err != nil {
		return nil, err
	}
	rr, err := s.GetRefundRequest(ctx, p, id)
	if err != nil {
		return nil, err
	}
	switch rr.Status {
	case RefundRequestDeclined:
		return rr, nil
	case RefundRequestApproved:
		return nil, refundRequestState(rr, "only a pending request can be declined")
	}
	now := s.now()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&RefundRequest{}).Where("id = ? AND status = ?", rr.ID, RefundRequestPending).
			Updates(map[string]any{"status": RefundRequestDeclined, "decline_reason": reason, "answered_at": now, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("decline refund request %s: %w", rr.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return errConflict
		}
		var out RefundRequest
		if err := tx.Where("id = ?", rr.ID).Take(&out).Error; err != nil {
			return fmt.Errorf("reload refund request %s: %w", rr.ID, err)
		}
		return s.emitRefundRequest(tx, EventRefundRequestDeclined, &out)
	})
	if errors.Is(err, errConflict) {
		cur, rerr := s.reloadRefundRequest(ctx, rr.ID)
		if rerr != nil {
			return nil, rerr
		}
		if cur.Status == RefundRequestDeclined {
			return cur, nil
		}
		return nil, refundRequestState(cur, "only a pending request can be declined")
	}
	if err != nil {
		return nil, err
	}
	return s.reloadRefundRequest(ctx, rr.ID)
}

// RefundRequestSettings is a merchant's refund-request setting in one currency.
type RefundRequestSettings struct {
	MerchantID       string
	Currency         string
	AutoApproveBelow int64
	UpdatedAt        time.Time
}

// TableName is the settings' table.
func (RefundRequestSettings) TableName() string { return "refund_request_settings" }

// RefundRequestSettingsParams is the body of POST /v1/refund_request_settings.
type RefundRequestSettingsParams struct {
	Currency         string `json:"currency"`
	AutoApproveBelow *int64 `json:"auto_approve_below"`
}

// maxAutoApproveBelow bounds auto_approve_below: ten million minor units
// (₩10,000,000, $100,000) is above any carrier-billing charge.
const maxAutoApproveBelow = 10_000_000

// SetRefundRequestSettings sets the merchant's auto-approval amount in a
// currency: requests for less are approved at once; 0 turns it off.
func (s *Service) SetRefundRequestSettings(ctx context.Context, p auth.Principal, in RefundRequestSettingsParams) (*RefundRequestSettings, error) {
	if _, ok := money.Lookup(in.Currency); !ok {
		return nil, problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", "currency must be a supported ISO 4217 code, e.g. KRW.")
	}
	if in.AutoApproveBelow == nil || *in.AutoApproveBelow < 0 || *in.AutoApproveBelow > maxAutoApproveBelow {
		return nil, problem.Invalid("auto_approve_below", fmt.Sprintf("auto_approve_below must be an integer of minor units from 0 (never) to %d.", maxAutoApproveBelow))
	}
	st := RefundRequestSettings{MerchantID: p.MerchantID, Currency: in.Currency, AutoApproveBelow: *in.AutoApproveBelow, UpdatedAt: s.now()}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "merchant_id"}, {Name: "currency"}},
		DoUpdates: clause.AssignmentColumns([]string{"auto_approve_below", "updated_at"}),
	}).Create(&st).Error
	if err != nil {
		return nil, fmt.Errorf("set refund request settings: %w", err)
	}
	return &st, nil
}

// ListRefundRequestSettings returns the merchant's settings, by currency.
func (s *Service) ListRefundRequestSettings(ctx context.Context, p auth.Principal) ([]RefundRequestSettings, error) {
	var out []RefundRequestSettings
	if err := s.db.WithContext(ctx).Where("merchant_id = ?", p.MerchantID).Order("currency").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list refund request settings: %w", err)
	}
	return out, nil
}

func (s *Service) autoApproveBelow(ctx context.Context, merchantID, currency string) (int64, error) {
	var st RefundRequestSettings
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND currency = ?", merchantID, currency).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("refund request settings of %s: %w", merchantID, err)
	}
	return st.AutoApproveBelow, nil
}

// SubscriberRefundRequest is a refund request as its subscriber sees it.
type SubscriberRefundRequest struct {
	ID            string
	ChargeID      string
	MerchantName  string
	Amount        int64
	Currency      string
	Status        RefundRequestStatus
	Reason        string
	DeclineReason string // "" until declined
	CreatedAt     time.Time
}

// SubscriberRefundRequests lists the subscriber's newest refund requests
// (at most limit) across merchants, newest first.
func (s *Service) SubscriberRefundRequests(ctx context.Context, livemode bool, index string, limit int) ([]SubscriberRefundRequest, error) {
	var out []SubscriberRefundRequest
	err := s.db.WithContext(ctx).Table("refund_requests r").
		Select("r.id, r.charge_id, m.name AS merchant_name, r.amount, r.currency, r.status, r.reason, COALESCE(r.decline_reason, '') AS decline_reason, r.created_at").
		Joins("JOIN merchants m ON m.id = r.merchant_id").
		Where("r.msisdn_index = ? AND r.livemode = ?", index, livemode).
		Order("r.seq DESC").Limit(limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("subscriber refund requests: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}
