package oneapi

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
	"tollgate/money"
)

// defaultRefundDescription is the billing text of a refund when no reason
// was given; OneAPI requires one.
const defaultRefundDescription = "Refund"

// Refund returns all or part of a charge: an amount transaction asked to be
// "Refunded", naming the charge by its serverReferenceCode
// (originalServerReferenceCode). OneAPI has no "the rest" refund: every
// refund names its amount, so an Amount of 0 is refused here. A carrier
// declared without partial refunds only ever gets the whole charge's amount
// from the gateway.
func (c *Client) Refund(ctx context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	res, err := c.refund(ctx, r)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("oneapi %s: refund %s of charge %s: %w", c.name, r.Reference, r.ChargeReference, err)
	}
	return res, nil
}

func (c *Client) refund(ctx context.Context, r carriers.RefundRequest) (carriers.Result, error) {
	if r.Reference == "" || r.CarrierReference == "" || r.MSISDN == "" || r.Amount <= 0 {
		return carriers.Result{}, fmt.Errorf("%w: a refund needs a reference, the carrier's charge id, the subscriber and a positive amount", carriers.ErrInvalidRequest)
	}
	amount, err := money.Format(r.Amount, r.Currency)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("%w: %v", carriers.ErrInvalidRequest, err)
	}
	desc := r.Reason
	if desc == "" {
		desc = defaultRefundDescription
	}
	body := transactionBody{AmountTransaction: transaction{
		EndUserID:                   telPrefix + r.MSISDN,
		ClientCorrelator:            r.Reference,
		ReferenceCode:               r.Reference,
		OriginalServerReferenceCode: r.CarrierReference,
		PaymentAmount: paymentAmount{
			ChargingInformation: chargingInformation{Amount: decimal(amount), Currency: r.Currency, Description: desc},
		},
		TransactionOperationStatus: statusRefunded,
	}}

	// As for charges, clientCorrelator makes a resent refund apply once.
	a, err := c.send(c.write(ctx), http.MethodPost, transactionsPath(r.MSISDN), nil, body)
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK {
		return created(a, kindRefund, r.Reference, r.Amount, r.Currency)
	}
	if res, ok := decline(a); ok {
		return res, nil
	}
	return carriers.Result{}, answerError(a, true, c.now())
}
