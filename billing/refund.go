package billing

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/store"
)

// RefundParams is the body of POST /v1/charges/{id}/refunds.
type RefundParams struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

// CreateRefund refunds all (amount omitted) or part of a succeeded charge.
// The amount is reserved on the charge in one conditional update before the
// carrier is called, so concurrent refunds can never exceed the charge.
func (s *Service) CreateRefund(ctx context.Context, p auth.Principal, chargeID, idemKey string, in RefundParams) (*Refund, error) {
	if err := checkText("reason", in.Reason); err != nil {
		return nil, err
	}
	if in.Amount != nil && *in.Amount <= 0 {
		return nil, problem.Invalid("amount", "amount must be a positive integer of minor units, or omitted to refund the rest.")
	}
	ch, err := s.GetCharge(ctx, p, chargeID)
	if err != nil {
		return nil, err
	}
	var existing Refund
	if err := s.db.WithContext(ctx).Where("merchant_id = ? AND idempotency_key = ?", p.MerchantID, idemKey).Take(&existing).Error; err == nil {
		// Past retention the key still names its refund: refuse it for another.
		if existing.ChargeID != ch.ID || (in.Amount != nil && *in.Amount != existing.Amount) {
			return nil, problem.Unprocessable(problem.CodeIdempotencyKeyReused, "", "This Idempotency-Key already made refund "+existing.ID+"; use a new key for a new refund.")
		}
		return &existing, nil
	}
	if ch.Status != StatusSucceeded && ch.Status != StatusPartiallyRefunded {
		if ch.Status == StatusRefunded {
			return nil, problem.Unprocessable(problem.CodeRefundExceedsCharge, "amount", fmt.Sprintf("Charge %s is already fully refunded.", ch.ID))
		}
		return nil, stateProblem("charge", ch.ID, ch.Status, "only a succeeded charge can be refunded")
	}
	c, ok := s.carriers.Get(ch.Carrier)
	if !ok {
		return nil, fmt.Errorf("charge %s: carrier %s vanished from config", ch.ID, ch.Carrier)
	}
	remaining := ch.Billed() - ch.RefundReserved // cashback is never paid out: at most the billed amount
	amount := remaining
	if in.Amount != nil {
		amount = *in.Amount
	}
	if remaining <= 0 || amount > remaining {
		return nil, exceeds(ch.ID, remaining, ch.Currency)
	}
	caps := c.Capabilities()
	if amount != ch.Billed() && !caps.PartialRefunds {
		return nil, problem.Unprocessable(problem.CodeRefundNotSupported, "amount", fmt.Sprintf(
			"Carrier %s refunds only whole charges. Refund the full %d %s (omit amount), or credit the subscriber another way.", c.Name(), ch.Billed(), ch.Currency))
	}
	if ch.SucceededAt != nil {
		if closes, ok := caps.RefundWindow.Closes(*ch.SucceededAt); ok && !s.now().Before(closes) {
			return nil, problem.Unprocessable(problem.CodeRefundWindowClosed, "", fmt.Sprintf(
				"Carrier %s accepted refunds of this charge until %s; the subscriber has been billed. Refund them outside the phone bill (e.g. store credit or a bank transfer).", c.Name(), closes.UTC().Format("2006-01-02T15:04:05Z")))
		}
	}
	if err := s.ensureAvailable(c.Name()); err != nil {
		return nil, err
	}
	now := s.now()
	rf := &Refund{ID: newID(prefixRefund), ChargeID: ch.ID, MerchantID: ch.MerchantID, IdempotencyKey: idemKey,
		Amount: amount, Currency: ch.Currency, Status: RefundPending, Reason: in.Reason, CreatedAt: now, UpdatedAt: now}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&Charge{}).
			Where("id = ? AND status IN ? AND refund_reserved + ? <= amount - cashback_applied", ch.ID, []Status{StatusSucceeded, StatusPartiallyRefunded}, amount).
			Updates(map[string]any{"refund_reserved": gorm.Expr("refund_reserved + ?", amount), "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("reserve refund on %s: %w", ch.ID, res.Error)
		}
		if res.RowsAffected == 0 {
			return errConflict
		}
		if err := tx.Create(rf).Error; err != nil {
			return err
		}
		return s.enqueue(ctx, tx, RefundStatusArgs{RefundID: rf.ID}, s.statusDelay())
	})
	switch {
	case store.IsUniqueViolation(err):
		if err := s.db.WithContext(ctx).Where("merchant_id = ? AND idempotency_key = ?", p.MerchantID, idemKey).Take(&existing).Error; err != nil {
			return nil, fmt.Errorf("load refund by key: %w", err)
		}
		return &existing, nil
	case errors.Is(err, errConflict):
		cur, rerr := s.reload(ctx, ch)
		if rerr != nil {
			return nil, rerr
		}
		return nil, exceeds(ch.ID, cur.Billed()-cur.RefundReserved, ch.Currency)
	case err != nil:
		return nil, fmt.Errorf("create refund: %w", err)
	}
	return s.submitRefund(ctx, ch, rf, c)
}

func exceeds(chargeID string, remaining int64, currency string) error {
	if remaining <= 0 {
		return problem.Unprocessable(problem.CodeRefundExceedsCharge, "amount", fmt.Sprintf("Charge %s has nothing left to refund.", chargeID))
	}
	return problem.Unprocessable(problem.CodeRefundExceedsCharge, "amount", fmt.Sprintf("At most %d %s of charge %s can still be refunded.", remaining, currency, chargeID)).With("refundable_amount", remaining)
}

func (s *Service) submitRefund(ctx context.Context, ch *Charge, rf *Refund, c carriers.Carrier) (*Refund, error) {
	ctx = context.WithoutCancel(ctx)
	e164, err := s.vault.Open(ch.MSISDNEnc)
	if err != nil {
		return nil, fmt.Errorf("open msisdn of %s: %w", ch.ID, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CarrierTimeout)
	res, cerr := c.Refund(cctx, carriers.RefundRequest{
		Reference: rf.ID, ChargeReference: ch.ID, CarrierReference: deref(ch.CarrierReference),
		MSISDN: e164, Amount: rf.Amount, Currency: rf.Currency, Reason: rf.Reason,
	})
	cancel()
	if err := s.ApplyRefundResult(ctx, rf.ID, res, cerr); err != nil {
		return nil, err
	}
	var out Refund
	if err := s.db.WithContext(ctx).Where("id = ?", rf.ID).Take(&out).Error; err != nil {
		return nil, fmt.Errorf("reload refund %s: %w", rf.ID, err)
	}
	return &out, nil
}

// ApplyRefundResult records a carrier's answer to a pending refund: success
// moves the charge's refunded amount and status and posts the ledger in one
// transaction; a decline or unsent request releases the reservation.
func (s *Service) ApplyRefundResult(ctx context.Context, refundID string, res carriers.Result, callErr error) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.applyRefundResultTx(tx, refundID, res, callErr)
	})
}

func (s *Service) applyRefundResultTx(tx *gorm.DB, refundID string, res carriers.Result, callErr error) error {
	{
		var rf Refund
		if err := tx.Where("id = ?", refundID).Take(&rf).Error; err != nil {
			return fmt.Errorf("load refund %s: %w", refundID, err)
		}
		if rf.Status != RefundPending {
			return nil
		}
		now := s.now()
		var failCode, failMsg string
		switch {
		case errors.Is(callErr, carriers.ErrNotSent), errors.Is(callErr, carriers.ErrUnavailable), errors.Is(callErr, carriers.ErrRateLimited):
			failCode, failMsg = carriers.FailureCarrierUnavailable, "The carrier could not be reached; nothing was refunded."
		case errors.Is(callErr, carriers.ErrInvalidRequest) && !errors.Is(callErr, carriers.ErrOutcomeUnknown):
			failCode, failMsg = carriers.FailureCarrierDeclined, "The carrier refused the refund."
		case callErr != nil:
			s.log.Warn("carrier refund outcome unknown; refund stays pending", "refund", rf.ID, "error", callErr)
			return nil
		case res.Outcome == carriers.OutcomePending:
			if res.CarrierReference != "" {
				return tx.Model(&Refund{}).Where("id = ?", rf.ID).Updates(map[string]any{"carrier_reference": res.CarrierReference, "updated_at": now}).Error
			}
			return nil
		case res.Outcome == carriers.OutcomeDeclined:
			failCode, failMsg = res.FailureCode, declineMessage(res.FailureCode, res.Message)
			if failCode == "" {
				failCode = carriers.FailureCarrierDeclined
			}
		case res.Outcome != carriers.OutcomeSucceeded:
			return fmt.Errorf("refund %s: unknown outcome %q", rf.ID, res.Outcome)
		}
		upd := tx.Model(&Refund{}).Where("id = ? AND status = ?", rf.ID, RefundPending)
		if failCode != "" {
			r := upd.Updates(map[string]any{"status": RefundFailed, "failure_code": failCode, "failure_message": failMsg, "updated_at": now})
			if r.Error != nil {
				return fmt.Errorf("fail refund %s: %w", rf.ID, r.Error)
			}
			if r.RowsAffected == 0 {
				return nil // another applier settled it first
			}
			if err := tx.Model(&Charge{}).Where("id = ?", rf.ChargeID).
				Updates(map[string]any{"refund_reserved": gorm.Expr("refund_reserved - ?", rf.Amount), "updated_at": now}).Error; err != nil {
				return err
			}
			return s.emitRefund(tx, EventRefundFailed, rf.ID)
		}
		fields := map[string]any{"status": RefundSucceeded, "updated_at": now}
		if res.CarrierReference != "" {
			fields["carrier_reference"] = res.CarrierReference
		}
		r0 := upd.Updates(fields)
		if r0.Error != nil {
			return fmt.Errorf("succeed refund %s: %w", rf.ID, r0.Error)
		}
		if r0.RowsAffected == 0 {
			return nil // another applier settled it first: never post twice
		}
		// Both succeeded and partially_refunded may move to either refund
		// status (see transitions), so one conditional update suffices.
		r := tx.Model(&Charge{}).
			Where("id = ? AND status IN ?", rf.ChargeID, []Status{StatusSucceeded, StatusPartiallyRefunded}).
			Updates(map[string]any{
				"refunded_amount": gorm.Expr("refunded_amount + ?", rf.Amount),
				"status":          gorm.Expr("CASE WHEN refunded_amount + ? >= amount - cashback_applied THEN ? ELSE ? END", rf.Amount, StatusRefunded, StatusPartiallyRefunded),
				"updated_at":      now,
			})
		if r.Error != nil {
			return fmt.Errorf("apply refund %s to charge: %w", rf.ID, r.Error)
		}
		if r.RowsAffected != 1 {
			return fmt.Errorf("apply refund %s: charge %s is not refundable", rf.ID, rf.ChargeID)
		}
		var ch Charge
		if err := tx.Where("id = ?", rf.ChargeID).Take(&ch).Error; err != nil {
			return err
		}
		if err := postRefund(tx, &ch, &rf, now); err != nil {
			return err
		}
		if err := s.refundCashbackTx(tx, &ch, &rf, now); err != nil {
			return err
		}
		if err := s.refundedTx(tx, &ch, &rf); err != nil {
			return err
		}
		if err := s.emitRefund(tx, EventRefundSucceeded, rf.ID); err != nil {
			return err
		}
		return s.emitCharge(tx, EventChargeRefunded, &ch)
	}
}

// GetRefund returns one of the merchant's refunds.
func (s *Service) GetRefund(ctx context.Context, p auth.Principal, chargeID, id string) (*Refund, error) {
	var rf Refund
	err := s.db.WithContext(ctx).Where("id = ? AND charge_id = ? AND merchant_id = ?", id, chargeID, p.MerchantID).Take(&rf).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("refund")
	}
	if err != nil {
		return nil, fmt.Errorf("get refund %s: %w", id, err)
	}
	return &rf, nil
}

// ListRefunds returns a charge's refunds, newest first.
func (s *Service) ListRefunds(ctx context.Context, p auth.Principal, chargeID string) ([]Refund, error) {
	if _, err := s.GetCharge(ctx, p, chargeID); err != nil {
		return nil, err
	}
	var out []Refund
	if err := s.db.WithContext(ctx).Where("charge_id = ?", chargeID).Order("seq DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list refunds of %s: %w", chargeID, err)
	}
	return out, nil
}

func (s *Service) emitRefund(tx *gorm.DB, typ, refundID string) error {
	var rf Refund
	if err := tx.Where("id = ?", refundID).Take(&rf).Error; err != nil {
		return fmt.Errorf("reload refund %s: %w", refundID, err)
	}
	var ch Charge
	if err := tx.Select("livemode").Where("id = ?", rf.ChargeID).Take(&ch).Error; err != nil {
		return fmt.Errorf("charge of refund %s: %w", refundID, err)
	}
	return s.emit(tx, Event{MerchantID: rf.MerchantID, Livemode: ch.Livemode, Type: typ, ObjectID: rf.ID, Object: ptr(rf)})
}
