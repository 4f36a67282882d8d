package tokenpay

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
)

// Refund asks the carrier to refund all (Amount 0) or part of a charge. Like
// a charge it is only accepted (OutcomePending); the result comes by
// callback or status query. The refund's reference dedupes at the carrier.
func (c *Client) Refund(ctx context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	res, err := c.refund(carriers.WithResend(ctx), r)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("tokenpay %s: refund %s of charge %s: %w", c.name, r.Reference, r.ChargeReference, err)
	}
	return res, nil
}

func (c *Client) refund(ctx context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	if r.Reference == "" || r.CarrierReference == "" || r.Amount < 0 {
		return carriers.Result{}, fmt.Errorf("%w: a refund needs a reference, the carrier's charge id and an amount >= 0", carriers.ErrInvalidRequest)
	}
	body := refundRequest{
		ChargeID: r.CarrierReference, Reference: r.Reference, Amount: r.Amount,
		Currency: r.Currency, Reason: r.Reason, CallbackURL: c.callbackURL,
	}
	a, err := c.send(ctx, http.MethodPost, refundsPath, nil, body)
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status != http.StatusAccepted && a.Status != http.StatusCreated && a.Status != http.StatusOK {
		return carriers.Result{}, answerError(a, true, c.now())
	}
	var out accepted
	if err := decode(a.Body, &out); err != nil {
		return carriers.Result{}, carriers.UnreadableAnswer(a, err)
	}
	if out.RefundID == "" {
		return carriers.Result{}, fmt.Errorf("%w: refund %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	return outcome(out.RefundID, out.Status, "")
}
