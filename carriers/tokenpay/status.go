package tokenpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"tollgate/carriers"
)

// Reference kinds a status query can ask about.
const (
	kindCharge = "charge"
	kindRefund = "refund"
)

// Status asks the carrier what became of a charge or refund: by the
// carrier's id when known, otherwise by the reference we sent (the request
// that would have returned the id may have timed out). ErrNotFound means the
// carrier has no record of it.
func (c *Client) Status(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	res, err := c.status(carriers.WithResend(ctx), ref)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("tokenpay %s: status of %s %s: %w", c.name, ref.Kind, ref.ClientReference, err)
	}
	return res, nil
}

func (c *Client) status(ctx context.Context, ref carriers.Reference) (carriers.Result, error) {
	var collection string
	switch ref.Kind {
	case kindCharge:
		collection = chargesPath
	case kindRefund:
		collection = refundsPath
	default:
		return carriers.Result{}, fmt.Errorf("%w: unknown reference kind %q", carriers.ErrInvalidRequest, ref.Kind)
	}
	path, query := collection, url.Values{}
	switch {
	case ref.CarrierReference != "":
		path += "/" + url.PathEscape(ref.CarrierReference)
	case ref.ClientReference != "":
		query.Set(referenceParam, ref.ClientReference)
	default:
		return carriers.Result{}, fmt.Errorf("%w: neither a carrier nor a client reference to look up", carriers.ErrInvalidRequest)
	}
	a, err := c.send(ctx, http.MethodGet, path, query, nil)
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status != http.StatusOK {
		return carriers.Result{}, answerError(a, false, c.now())
	}
	if ref.Kind == kindRefund {
		var rf refund
		if err := decode(a.Body, &rf); err != nil {
			return carriers.Result{}, carriers.UnreadableAnswer(a, err)
		}
		if rf.RefundID == "" {
			return carriers.Result{}, fmt.Errorf("%w: refund %v", carriers.ErrOutcomeUnknown, errNoID)
		}
		return outcome(rf.RefundID, rf.Status, rf.FailureReason)
	}
	var ch charge
	if err := decode(a.Body, &ch); err != nil {
		return carriers.Result{}, carriers.UnreadableAnswer(a, err)
	}
	if ch.ChargeID == "" {
		return carriers.Result{}, fmt.Errorf("%w: charge %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	return outcome(ch.ChargeID, ch.Status, ch.FailureReason)
}
