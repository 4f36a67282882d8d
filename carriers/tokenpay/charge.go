package tokenpay

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
)

// Charge asks the carrier to bill a verified token once. The carrier only
// accepts: the answer is always OutcomePending with the carrier's charge id,
// and the result comes by callback (ParseWebhook) or status query. The
// gateway's charge id goes out as the reference, which the carrier dedupes,
// so the request is marked safe to resend.
func (c *Client) Charge(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	res, err := c.charge(carriers.WithResend(ctx), r)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("tokenpay %s: charge %s: %w", c.name, r.Reference, err)
	}
	return res, nil
}

func (c *Client) charge(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	switch {
	case r.Token == "":
		return carriers.Result{}, fmt.Errorf("%w: this carrier charges a token from a verified authorization, and none was given", carriers.ErrInvalidRequest)
	case r.Reference == "" || r.Amount <= 0 || r.Currency == "":
		return carriers.Result{}, fmt.Errorf("%w: a charge needs a reference, a positive amount and a currency", carriers.ErrInvalidRequest)
	}
	cb := r.CallbackURL
	if cb == "" {
		cb = c.callbackURL
	}
	body := chargeRequest{
		Token: r.Token, Reference: r.Reference, Amount: r.Amount, Currency: r.Currency,
		Description: r.Description, CallbackURL: cb,
	}
	a, err := c.send(ctx, http.MethodPost, chargesPath, nil, body)
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
	if out.ChargeID == "" {
		return carriers.Result{}, fmt.Errorf("%w: charge %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	return outcome(out.ChargeID, out.Status, "")
}
