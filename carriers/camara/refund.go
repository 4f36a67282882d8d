package camara

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"tollgate/carriers"
	"tollgate/money"
)

// defaultRefundDescription is the billing text of a partial refund when no
// reason was given; CAMARA requires one.
const defaultRefundDescription = "Refund"

// Refund returns all or part of a charge with createRefund. An Amount of 0
// asks for a total refund. So does any refund on a carrier declared without
// partial refunds: the gateway only sends those for the whole charge, and
// such a carrier would refuse the same refund sent as "partial".
func (c *Client) Refund(ctx context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	res, err := c.refund(ctx, r)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("camara %s: refund %s of charge %s: %w", c.name, r.Reference, r.ChargeReference, err)
	}
	return res, nil
}

func (c *Client) refund(ctx context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	if r.Reference == "" || r.CarrierReference == "" || r.Amount < 0 {
		return carriers.Result{}, fmt.Errorf("%w: a refund needs a reference, the carrier's charge id and an amount >= 0", carriers.ErrInvalidRequest)
	}
	body := createRefund{
		Type:   refundTotal,
		Reason: r.Reason,
		AmountTransaction: refundTransaction{
			ClientCorrelator: r.Reference,
			ReferenceCode:    r.Reference,
		},
	}
	if r.Amount > 0 && c.caps.PartialRefunds {
		amount, err := money.Format(r.Amount, r.Currency)
		if err != nil {
			return carriers.Result{}, fmt.Errorf("%w: %v", carriers.ErrInvalidRequest, err)
		}
		desc := r.Reason
		if desc == "" {
			desc = defaultRefundDescription
		}
		body.Type = refundPartial
		body.AmountTransaction.RefundAmount.ChargingInformation = &chargingInformation{
			Amount: json.Number(amount), Currency: r.Currency, Description: desc,
		}
	}

	// clientCorrelator makes a resent createRefund safe.
	a, err := c.send(carriers.WithResend(ctx), http.MethodPost, refundsPath(r.CarrierReference), nil, body, correlatorFor(r.Reference))
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK {
		var rf refund
		if err := decode(a.Body, &rf); err != nil {
			return carriers.Result{}, carriers.UnreadableAnswer(a, err)
		}
		return refundResult(rf)
	}
	if res, ok := decline(a, refundDeclines); ok {
		return res, nil
	}
	return carriers.Result{}, answerError(a, true, c.now())
}

// refundsPath is the refunds collection of the carrier's payment paymentID.
func refundsPath(paymentID string) string {
	return refundsRoot + url.PathEscape(paymentID) + "/refunds"
}

// refundResult maps a refund resource to a Result.
func refundResult(rf refund) (carriers.Result, error) {
	if rf.RefundID == "" {
		return carriers.Result{}, fmt.Errorf("%w: refund %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	res := carriers.Result{CarrierReference: rf.RefundID}
	switch rf.RefundStatus {
	case refundSucceeded:
		res.Outcome = carriers.OutcomeSucceeded
	case refundProcessing:
		res.Outcome = carriers.OutcomePending
	case refundDenied:
		res.Outcome = carriers.OutcomeDeclined
		res.FailureCode = carriers.FailureCarrierDeclined
		res.DeclineCode = rf.RefundStatus
	default:
		return carriers.Result{}, fmt.Errorf("%w: refund %s has unknown status %q", carriers.ErrOutcomeUnknown, rf.RefundID, rf.RefundStatus)
	}
	return res, nil
}
