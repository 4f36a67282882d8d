package oneapi

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
	"tollgate/money"
)

// defaultDescription is the billing text when the merchant gave none:
// OneAPI requires one, and it is what the subscriber reads on the bill.
const defaultDescription = "Purchase"

// Reference kinds a status query can ask about.
const (
	kindCharge = "charge"
	kindRefund = "refund"
)

// Charge bills the subscriber once: an amount transaction asked to be
// "Charged". The gateway's charge id goes out as clientCorrelator, so a
// carrier that got an earlier attempt answers with that transaction instead
// of billing again; that is also what lets the HTTP layer resend it.
func (c *Client) Charge(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	res, err := c.charge(ctx, r)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("oneapi %s: charge %s: %w", c.name, r.Reference, err)
	}
	return res, nil
}

func (c *Client) charge(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	if r.Reference == "" || r.Amount <= 0 || r.MSISDN == "" {
		return carriers.Result{}, fmt.Errorf("%w: a charge needs a reference, a subscriber and a positive amount", carriers.ErrInvalidRequest)
	}
	amount, err := money.Format(r.Amount, r.Currency)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("%w: %v", carriers.ErrInvalidRequest, err)
	}
	desc := r.Description
	if desc == "" {
		desc = defaultDescription
	}
	body := transactionBody{AmountTransaction: transaction{
		EndUserID:        telPrefix + r.MSISDN,
		ClientCorrelator: r.Reference,
		ReferenceCode:    r.Reference,
		PaymentAmount: paymentAmount{
			ChargingInformation: chargingInformation{Amount: decimal(amount), Currency: r.Currency, Description: desc},
		},
		TransactionOperationStatus: statusCharged,
	}}
	if r.Merchant != "" {
		body.AmountTransaction.PaymentAmount.ChargingMetaData = &chargingMetaData{OnBehalfOf: r.Merchant}
	}

	// A hub that honours clientCorrelator answers a resent charge with the
	// first one's transaction, never bills it twice.
	a, err := c.send(c.write(ctx), http.MethodPost, transactionsPath(r.MSISDN), nil, body)
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK {
		return created(a, kindCharge, r.Reference, r.Amount, r.Currency)
	}
	if res, ok := decline(a); ok {
		return res, nil
	}
	return carriers.Result{}, answerError(a, true, c.now())
}

// created reads the transaction a POST answered for our clientCorrelator.
func created(a *carriers.Answer, kind, correlator string, amount int64, currency string) (carriers.Result, error) {
	var tb transactionBody
	if err := decode(a.Body, &tb); err != nil {
		return carriers.Result{}, carriers.UnreadableAnswer(a, err)
	}
	t := tb.AmountTransaction
	if t.ClientCorrelator != "" && t.ClientCorrelator != correlator {
		return carriers.Result{}, fmt.Errorf("%w: carrier answered transaction %s of clientCorrelator %q",
			carriers.ErrOutcomeUnknown, t.ServerReferenceCode, t.ClientCorrelator)
	}
	res, err := transactionResult(t, kind)
	if err != nil {
		return carriers.Result{}, err
	}
	ci := t.PaymentAmount.ChargingInformation
	res.Message = carriers.AmountMismatch(string(ci.Amount), ci.Currency, amount, currency)
	return res, nil
}
