package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
)

// submit sends a processing charge to its carrier and applies the answer.
// The merchant's connection may drop meanwhile; the carrier call and the
// bookkeeping after it finish regardless, so nothing is left half-done.
func (s *Service) submit(ctx context.Context, ch *Charge, c carriers.Carrier, req carriers.ChargeRequest) (*Charge, error) {
	ctx = context.WithoutCancel(ctx)
	e164, err := s.vault.Open(ch.MSISDNEnc)
	if err != nil {
		return nil, fmt.Errorf("open msisdn of %s: %w", ch.ID, err)
	}
	merchant, err := s.merchantName(ctx, ch.MerchantID)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CarrierTimeout)
	req.Reference, req.MSISDN, req.Amount, req.Currency = ch.ID, e164, ch.Billed(), ch.Currency
	req.Description, req.Merchant = ch.Description, merchant
	res, cerr := c.Charge(cctx, req)
	cancel()
	out, err := s.applyChargeResult(ctx, ch, res, cerr)
	if err != nil {
		return nil, err
	}
	if out != nil {
		return out, nil // the row as the result moved it
	}
	return s.reload(ctx, ch) // still processing, or moved meanwhile by a callback or status job
}

// ApplyChargeResult records what a carrier said of a processing charge:
// success posts the ledger in the same transaction; a decline or a
// provably-unsent request fails it; an unknown outcome leaves it processing
// for a status query to finish. Applying the same result twice changes
// nothing, and a charge already final is never moved back.
func (s *Service) ApplyChargeResult(ctx context.Context, chargeID string, res carriers.Result, callErr error) error {
	_, err := s.applyChargeResult(ctx, &Charge{ID: chargeID}, res, callErr)
	return err
}

// applyChargeResult applies a result to held, the charge as its caller
// last saw it: when that is processing (submit's, which it just recorded
// or moved there) the result applies to it without reading it again, since
// every move is a compare-and-swap on that status; only when something else
// moved it meanwhile is it read, and the result applied to what is there.
// Any other held charge (an id alone) is read first. out is the charge as
// this result moved it, nil when it did not move it.
func (s *Service) applyChargeResult(ctx context.Context, held *Charge, res carriers.Result, callErr error) (out *Charge, err error) {
	if s.batchable(ctx, held, res, callErr) {
		out, err := s.successes.Do(ctx, success{held: held, res: res})
		if err == nil && out != nil {
			return out, nil
		}
		if err != nil {
			// Rolled back (or, its commit's answer lost, committed: then
			// the single path below finds the charge moved and does nothing).
			s.log.Warn("batched success failed; applying it alone", "charge", held.ID, "error", err)
		}
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if held.Status == StatusProcessing {
			out, err = s.applyChargeResultTx(tx, held, res, callErr)
			if err == nil && out == nil {
				// Undecided after its request's own call: from now on a
				// status job asks the carrier.
				return s.watchTx(ctx, tx, held)
			}
			if !errors.Is(err, errConflict) {
				return err
			}
		}
		var ch Charge
		if err := tx.Where("id = ?", held.ID).Take(&ch).Error; err != nil {
			return fmt.Errorf("load charge %s: %w", held.ID, err)
		}
		out, err = s.applyChargeResultTx(tx, &ch, res, callErr)
		return ignoreConflict(err)
	})
	return out, err
}

// applyChargeResultTx applies a result to ch as read in tx, or as its
// caller holds it; errConflict when ch has moved on since.
func (s *Service) applyChargeResultTx(tx *gorm.DB, held *Charge, res carriers.Result, callErr error) (*Charge, error) {
	ch := *held
	if ch.Status != StatusProcessing {
		if ch.Status == StatusFailed && callErr == nil && res.Outcome == carriers.OutcomeSucceeded {
			// Should never happen: we failed a charge the carrier billed.
			// Never flip it silently; settlement reports it, people act.
			s.log.Error("carrier reports success for a failed charge", "charge", ch.ID, "carrier", ch.Carrier, "carrier_reference", res.CarrierReference)
		}
		return nil, nil
	}
	now := s.now()
	if callErr != nil {
		// Fail only on answers that prove nothing was billed; anything
		// else (no answer, 404, an error nobody classified) stays
		// processing for the status query to settle.
		switch {
		case errors.Is(callErr, carriers.ErrOutcomeUnknown):
			s.log.Warn("carrier outcome unknown; charge stays processing", "charge", ch.ID, "carrier", ch.Carrier, "error", callErr)
			return nil, nil
		case errors.Is(callErr, carriers.ErrInvalidRequest):
			return s.moveTx(tx, &ch, StatusFailed, map[string]any{"failure_code": carriers.FailureCarrierDeclined, "failure_message": "The carrier refused the request."})
		case errors.Is(callErr, carriers.ErrNotSent), errors.Is(callErr, carriers.ErrUnavailable), errors.Is(callErr, carriers.ErrRateLimited):
			s.log.Warn("carrier unavailable; charge failed", "charge", ch.ID, "carrier", ch.Carrier, "error", callErr)
			return s.moveTx(tx, &ch, StatusFailed, map[string]any{"failure_code": carriers.FailureCarrierUnavailable, "failure_message": "The carrier could not be reached; nothing was billed."})
		default:
			s.log.Warn("carrier answer unclassified; charge stays processing", "charge", ch.ID, "carrier", ch.Carrier, "error", callErr)
			return nil, nil
		}
	}
	fields := map[string]any{}
	if res.CarrierReference != "" {
		fields["carrier_reference"] = res.CarrierReference
	}
	switch res.Outcome {
	case carriers.OutcomeSucceeded:
		at := succeededAt(&ch, res, now)
		fields["succeeded_at"] = at
		earned, prog, err := s.cashbackToEarnTx(tx, &ch)
		if err != nil {
			return nil, err
		}
		if earned > 0 {
			fields["cashback_earned"] = earned
		}
		out, err := s.moveTx(tx, &ch, StatusSucceeded, fields)
		if err != nil {
			return nil, err
		}
		if err := postCharge(tx, out, at); err != nil {
			return nil, err
		}
		if err := s.earnCashbackTx(tx, out, prog, at); err != nil {
			return nil, err
		}
		return out, s.spentTx(tx, out)
	case carriers.OutcomeDeclined:
		code := res.FailureCode
		if code == "" {
			code = carriers.FailureCarrierDeclined
		}
		fields["failure_code"] = code
		fields["failure_message"] = declineMessage(code, res.Message)
		if res.DeclineCode != "" {
			fields["carrier_decline_code"] = res.DeclineCode
		}
		return s.moveTx(tx, &ch, StatusFailed, fields)
	case carriers.OutcomePending:
		if len(fields) > 0 {
			fields["updated_at"] = now
			return nil, tx.Model(&Charge{}).Where("id = ? AND status = ?", ch.ID, StatusProcessing).Updates(fields).Error
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("charge %s: carrier %s answered unknown outcome %q", ch.ID, ch.Carrier, res.Outcome)
	}
}

// succeededAt is when the carrier billed ch: its own time where that is
// plausible, else now.
func succeededAt(ch *Charge, res carriers.Result, now time.Time) time.Time {
	if !res.BilledAt.IsZero() && res.BilledAt.Before(now) && res.BilledAt.After(ch.CreatedAt.Add(-time.Minute)) {
		return res.BilledAt.UTC()
	}
	return now
}

func declineMessage(code, carrierMsg string) string {
	switch code {
	case carriers.FailureInsufficientBalance:
		return "The subscriber's balance or credit is insufficient."
	case carriers.FailureSubscriberBlocked:
		return "The subscriber's line is barred from carrier billing."
	case carriers.FailureCarrierLimitExceeded:
		return "The charge exceeds the subscriber's carrier billing limit."
	}
	if carrierMsg != "" {
		return "The carrier declined the charge: " + carrierMsg
	}
	return "The carrier declined the charge."
}

// ignoreConflict: another applier (a callback, a status job) moved the
// charge first, inside its own transaction; this result is a repeat.
func ignoreConflict(err error) error {
	if errors.Is(err, errConflict) {
		return nil
	}
	return err
}
