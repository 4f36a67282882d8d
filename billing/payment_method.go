package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/batch"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
	"tollgate/internal/store"
)

// PaymentMethodParams is the body of POST /v1/payment_methods.
type PaymentMethodParams struct {
	MSISDN  string `json:"msisdn"`
	Country string `json:"country"`
	Carrier string `json:"carrier"`
}

// CreatePaymentMethod starts a subscriber's opt-in to one-tap charges: the
// subscriber proves the phone is theirs with a code sent by SMS.
func (s *Service) CreatePaymentMethod(ctx context.Context, p auth.Principal, idemKey string, in PaymentMethodParams) (*PaymentMethod, error) {
	e164, err := parseMSISDN(in.MSISDN, in.Country)
	if err != nil {
		return nil, err
	}
	c, err := s.resolveCarrier(p, in.Carrier, e164, "")
	if err != nil {
		return nil, err
	}
	index := s.vault.Index(e164)
	if idemKey != "" {
		// Only reachable once the stored answer is past retention: the key
		// still names its payment method, and a different number or
		// carrier under it is refused, not answered with the old one.
		if existing, err := s.paymentMethodByKey(ctx, p.MerchantID, idemKey); err == nil {
			return samePaymentMethod(existing, c.Name(), index)
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, err
		}
	}
	if err := s.ensureAvailable(c.Name()); err != nil {
		return nil, err
	}
	if err := s.limit(ctx, LimitSMSPerNumber, index); err != nil {
		return nil, err
	}
	enc, err := s.vault.Seal(e164)
	if err != nil {
		return nil, fmt.Errorf("seal msisdn: %w", err)
	}
	now := s.now()
	code := newCode()
	expires := now.Add(s.cfg.CodeTTL)
	pm := &PaymentMethod{
		ID: newID(prefixPaymentMethod), MerchantID: p.MerchantID, Livemode: p.Livemode, Carrier: c.Name(),
		MSISDNEnc: enc, MSISDNIndex: index, MSISDNMasked: msisdn.Mask(e164),
		Status: PMRequiresConfirmation, CodeExpiresAt: &expires, CreatedAt: now, UpdatedAt: now,
	}
	pm.CodeHash = ptr(s.codeHash(pm.ID, code))
	if idemKey != "" {
		pm.IdempotencyKey = &idemKey
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(pm).Error; err != nil {
			return err
		}
		return s.enqueue(ctx, tx, PaymentMethodExpiryArgs{PaymentMethodID: pm.ID}, s.cfg.CodeTTL+time.Second)
	})
	if store.IsUniqueViolation(err) {
		existing, err := s.paymentMethodByKey(ctx, p.MerchantID, idemKey)
		if err != nil {
			return nil, err
		}
		return samePaymentMethod(existing, c.Name(), index)
	}
	if err != nil {
		return nil, fmt.Errorf("insert payment method: %w", err)
	}
	merchant, err := s.merchantName(ctx, p.MerchantID)
	if err != nil {
		return nil, err
	}
	if err := s.sendOptInCode(ctx, pm, c, e164, merchant, code); err != nil {
		s.log.Warn("opt-in code not sent; payment method withdrawn", "payment_method", pm.ID, "carrier", c.Name(), "msisdn", pm.MSISDNMasked, "error", err)
		// The subscriber got no code, so the payment method could never be
		// confirmed: withdraw it rather than hand the merchant a dead one.
		// The 503 is not kept by the Idempotency-Key middleware, and with
		// the row gone the key is free, so a retry makes a fresh one.
		if derr := s.db.WithContext(context.WithoutCancel(ctx)).Delete(&PaymentMethod{}, "id = ?", pm.ID).Error; derr != nil {
			return nil, fmt.Errorf("withdraw payment method %s: %w", pm.ID, derr)
		}
		_, wait := s.carriers.Available(c.Name())
		pr := carrierUnavailable(c.Name(), wait)
		pr.Detail = fmt.Sprintf("Carrier %s could not send the subscriber the opt-in code; nothing was created. Retry after %d s with the same Idempotency-Key.", c.Name(), pr.RetryAfter)
		return nil, pr
	}
	return s.reloadPM(ctx, pm.ID)
}

func (s *Service) paymentMethodByKey(ctx context.Context, merchantID, idemKey string) (*PaymentMethod, error) {
	var pm PaymentMethod
	err := s.db.WithContext(ctx).Where("merchant_id = ? AND idempotency_key = ?", merchantID, idemKey).Take(&pm).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("load payment method by key: %w", err)
	}
	return &pm, err
}

// samePaymentMethod answers a repeated Idempotency-Key with what it made,
// if it was asked for the same number on the same carrier.
func samePaymentMethod(pm *PaymentMethod, carrier, index string) (*PaymentMethod, error) {
	if pm.Carrier != carrier || pm.MSISDNIndex != index {
		return nil, problem.Unprocessable(problem.CodeIdempotencyKeyReused, "", "This Idempotency-Key already made payment method "+pm.ID+"; use a new key for a new payment method.")
	}
	return pm, nil
}

func (s *Service) getPaymentMethod(ctx context.Context, p auth.Principal, id string) (*PaymentMethod, error) {
	pm, err := s.paymentMethods.Do(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("get payment method %s: %w", id, err)
	}
	if pm == nil || pm.MerchantID != p.MerchantID {
		return nil, problem.NotFound("payment method")
	}
	return pm, nil
}

// paymentMethodsByID reads payment methods in one statement, nil for an id
// not found; every one-tap charge reads its own first.
func (s *Service) paymentMethodsByID(ctx context.Context, ids []string) ([]*PaymentMethod, error) {
	var found []PaymentMethod
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&found).Error; err != nil {
		return nil, err
	}
	return batch.Match(ids, found, func(pm *PaymentMethod) string { return pm.ID }), nil
}

// GetPaymentMethod returns one of the merchant's payment methods.
func (s *Service) GetPaymentMethod(ctx context.Context, p auth.Principal, id string) (*PaymentMethod, error) {
	return s.getPaymentMethod(ctx, p, id)
}

func (s *Service) reloadPM(ctx context.Context, id string) (*PaymentMethod, error) {
	var pm PaymentMethod
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&pm).Error; err != nil {
		return nil, fmt.Errorf("reload payment method %s: %w", id, err)
	}
	return &pm, nil
}

// movePM changes a payment method's status with a compare-and-swap.
func (s *Service) movePM(ctx context.Context, pm *PaymentMethod, from, to PaymentMethodStatus, fields map[string]any) (*PaymentMethod, error) {
	upd := map[string]any{"status": to, "updated_at": s.now()}
	for k, v := range fields {
		upd[k] = v
	}
	var out PaymentMethod
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&PaymentMethod{}).Where("id = ? AND status = ?", pm.ID, from).Updates(upd)
		if res.Error != nil {
			return fmt.Errorf("move payment method %s to %s: %w", pm.ID, to, res.Error)
		}
		if res.RowsAffected == 0 {
			return errConflict
		}
		if err := tx.Where("id = ?", pm.ID).Take(&out).Error; err != nil {
			return fmt.Errorf("reload payment method %s: %w", pm.ID, err)
		}
		if to == PMActive {
			return s.emit(tx, Event{MerchantID: out.MerchantID, Livemode: out.Livemode, Type: EventPaymentMethodActivated, ObjectID: out.ID, Object: ptr(out)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func pmStateProblem(pm *PaymentMethod, wanted string) error {
	p := stateProblem("payment method", pm.ID, pm.Status, wanted)
	p.Code = problem.CodePaymentMethodInvalid
	return p
}

// ConfirmPaymentMethod activates a payment method with the subscriber's code.
func (s *Service) ConfirmPaymentMethod(ctx context.Context, p auth.Principal, id, code string) (*PaymentMethod, error) {
	pm, err := s.getPaymentMethod(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if pm.Status != PMRequiresConfirmation {
		return nil, pmStateProblem(pm, "only one that requires_confirmation can be confirmed")
	}
	if err := validCodeFormat(code); err != nil {
		return nil, err
	}
	if expired(pm.CodeExpiresAt, s.now()) {
		if _, err := s.movePM(ctx, pm, PMRequiresConfirmation, PMFailed, map[string]any{"failure_code": "confirmation_expired", "code_hash": nil}); err != nil && !errors.Is(err, errConflict) {
			return nil, err
		}
		return nil, codeExpired("payment method", pm.ID)
	}
	// Spend an attempt before looking at the code (see takeAttempt).
	taken := s.db.WithContext(ctx).Model(&PaymentMethod{}).
		Where("id = ? AND status = ? AND code_attempts < ?", pm.ID, PMRequiresConfirmation, s.cfg.MaxAttempts).
		Updates(map[string]any{"code_attempts": gorm.Expr("code_attempts + 1"), "updated_at": s.now()})
	if taken.Error != nil {
		return nil, fmt.Errorf("count attempt on %s: %w", pm.ID, taken.Error)
	}
	if taken.RowsAffected == 0 {
		cur, err := s.reloadPM(ctx, pm.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status == PMRequiresConfirmation {
			if _, err := s.movePM(ctx, cur, PMRequiresConfirmation, PMFailed, map[string]any{"failure_code": "confirmation_failed", "code_hash": nil}); err != nil && !errors.Is(err, errConflict) {
				return nil, err
			}
			return nil, tooManyWrongCodes("payment method", pm.ID)
		}
		return nil, pmStateProblem(cur, "only one that requires_confirmation can be confirmed")
	}
	fields := map[string]any{"code_hash": nil}
	right := false
	if pm.AuthorizationRef != nil {
		c, ok := s.carriers.Get(pm.Carrier)
		if !ok {
			return nil, fmt.Errorf("payment method %s: carrier %s vanished from config", pm.ID, pm.Carrier)
		}
		if err := s.ensureAvailable(c.Name()); err != nil {
			return nil, err
		}
		a, err := authorizer(c)
		if err != nil {
			return nil, s.verifyFailed(pm.Carrier, err)
		}
		vctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CarrierTimeout)
		authz, err := a.Verify(vctx, carriers.VerifyRequest{AuthorizationID: *pm.AuthorizationRef, Reference: pm.ID, Code: code})
		cancel()
		switch {
		case err == nil:
			right = true
			if authz.Token != "" {
				sealed, err := s.vault.Seal(authz.Token)
				if err != nil {
					return nil, fmt.Errorf("seal token: %w", err)
				}
				fields["token_enc"] = sealed
			}
		case !errors.Is(err, carriers.ErrWrongCode):
			if rerr := s.giveAttemptBack(ctx, &PaymentMethod{}, pm.ID); rerr != nil {
				return nil, rerr
			}
			return nil, s.verifyFailed(pm.Carrier, err)
		}
	} else {
		right = s.codeMatches(pm.ID, code, pm.CodeHash)
	}
	if !right {
		cur, err := s.reloadPM(ctx, pm.ID)
		if err != nil {
			return nil, err
		}
		if cur.CodeAttempts >= s.cfg.MaxAttempts {
			if _, err := s.movePM(ctx, cur, PMRequiresConfirmation, PMFailed, map[string]any{"failure_code": "confirmation_failed", "code_hash": nil}); err != nil && !errors.Is(err, errConflict) {
				return nil, err
			}
			return nil, tooManyWrongCodes("payment method", pm.ID)
		}
		return nil, wrongCode(s.cfg.MaxAttempts - cur.CodeAttempts)
	}
	out, err := s.movePM(ctx, pm, PMRequiresConfirmation, PMActive, fields)
	if errors.Is(err, errConflict) {
		cur, rerr := s.reloadPM(ctx, pm.ID)
		if rerr != nil {
			return nil, rerr
		}
		return nil, pmStateProblem(cur, "only one that requires_confirmation can be confirmed")
	}
	return out, err
}

// RevokePaymentMethod ends an opt-in; revoking twice is harmless.
func (s *Service) RevokePaymentMethod(ctx context.Context, p auth.Principal, id string) (*PaymentMethod, error) {
	pm, err := s.getPaymentMethod(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.revoke(ctx, pm)
}

// revoke ends pm's opt-in and tells its merchant; revoking twice is harmless.
func (s *Service) revoke(ctx context.Context, pm *PaymentMethod) (*PaymentMethod, error) {
	if pm.Status == PMRevoked {
		return pm, nil
	}
	var out PaymentMethod
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&PaymentMethod{}).Where("id = ? AND status <> ?", pm.ID, PMRevoked).
			Updates(map[string]any{"status": PMRevoked, "code_hash": nil, "token_enc": nil, "updated_at": s.now()})
		if res.Error != nil {
			return fmt.Errorf("revoke payment method %s: %w", pm.ID, res.Error)
		}
		if err := tx.Where("id = ?", pm.ID).Take(&out).Error; err != nil {
			return err
		}
		if res.RowsAffected == 0 {
			return nil // revoked meanwhile by another request
		}
		if err := s.cancelSubscriptionsOfTx(tx, pm.ID); err != nil {
			return err // no subscription outlives its payment method
		}
		return s.emit(tx, Event{MerchantID: out.MerchantID, Livemode: out.Livemode, Type: EventPaymentMethodRevoked, ObjectID: out.ID, Object: ptr(out)})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// sendOptInCode has the carrier authorise the subscriber for one-tap
// charges when it owns the code and can do so without an amount (token
// APIs); otherwise tollgate sends its own code by SMS.
func (s *Service) sendOptInCode(ctx context.Context, pm *PaymentMethod, c carriers.Carrier, e164, merchant, code string) error {
	if a, ok := c.(carriers.Authorizer); ok && c.Capabilities().CarrierConfirms {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CarrierTimeout)
		authz, err := a.Authorize(actx, carriers.AuthorizeRequest{Reference: pm.ID, MSISDN: e164, Merchant: merchant, Recurring: true})
		cancel()
		if err == nil {
			err = s.db.WithContext(ctx).Model(&PaymentMethod{}).Where("id = ?", pm.ID).
				Updates(map[string]any{"authorization_ref": authz.ID, "code_hash": nil}).Error
			if err != nil {
				// Nothing of ours points at the carrier's authorization: let it go.
				s.releaseAuthorization(ctx, c, &authz.ID)
				return fmt.Errorf("keep authorization of %s: %w", pm.ID, err)
			}
			return nil
		}
		if !errors.Is(err, carriers.ErrUnsupported) {
			return err
		}
	}
	body := fmt.Sprintf("%s is your code to let %s charge your phone bill without a code each time. It expires in %d minutes. Never share it.",
		code, merchant, int(s.cfg.CodeTTL.Minutes()))
	return s.sms(ctx, c, pm.ID, e164, body)
}
