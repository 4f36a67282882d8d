package camara

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"tollgate/carriers"
	"tollgate/money"
)

// defaultDescription is the billing text when the merchant gave none:
// CAMARA requires one, and it is what the subscriber reads on the bill.
const defaultDescription = "Purchase"

// Charge bills the subscriber once. Without an AuthorizationID it is a
// 1-step createPayment: the gateway's charge id goes out as clientCorrelator,
// so a carrier that got an earlier attempt answers with that payment instead
// of billing again. With one (from Authorize and Verify) it confirms the
// prepared payment (confirm.go).
func (c *Client) Charge(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	var (
		res carriers.Result
		err error
	)
	if r.AuthorizationID != "" {
		res, err = c.confirm(ctx, r)
	} else {
		res, err = c.charge(ctx, r)
	}
	if d, ok := asDecline(err); ok {
		return d, nil // the subscriber refused, or did not answer, the operator's authentication
	}
	if err != nil {
		return carriers.Result{}, fmt.Errorf("camara %s: charge %s: %w", c.name, r.Reference, err)
	}
	return res, nil
}

func (c *Client) charge(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	at, err := c.newAmountTransaction(r.Reference, r.MSISDN, r.Amount, r.Currency, r.Description, r.Merchant)
	if err != nil {
		return carriers.Result{}, err
	}
	body := createPayment{AmountTransaction: at}
	body.Sink, body.SinkCredential = c.sink(r.CallbackURL, r.SinkToken)

	// clientCorrelator makes a resent createPayment safe.
	a, err := c.sendAs(carriers.WithResend(ctx), r.MSISDN, http.MethodPost, paymentsPath, nil, body, correlatorFor(r.Reference))
	if err != nil {
		return carriers.Result{}, err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK {
		var p payment
		if err := decode(a.Body, &p); err != nil {
			return carriers.Result{}, carriers.UnreadableAnswer(a, err)
		}
		res, err := paymentResult(p)
		if err != nil {
			return carriers.Result{}, err
		}
		ci := p.AmountTransaction.PaymentAmount.ChargingInformation
		res.Message = carriers.AmountMismatch(string(ci.Amount), ci.Currency, r.Amount, r.Currency)
		return res, nil
	}
	if res, ok := decline(a, chargeDeclines); ok {
		return res, nil
	}
	return carriers.Result{}, answerError(a, true, c.now())
}

// newAmountTransaction is the amountTransaction of createPayment and
// preparePayment: the gateway's id as clientCorrelator and referenceCode.
// With a 3-legged token the subscriber is the token's, and the spec wants
// no phoneNumber beside it.
func (c *Client) newAmountTransaction(ref, msisdn string, minor int64, currency, description, merchant string) (amountTransaction, error) {
	if ref == "" || minor <= 0 {
		return amountTransaction{}, fmt.Errorf("%w: a payment needs a reference and a positive amount", carriers.ErrInvalidRequest)
	}
	amount, err := money.Format(minor, currency)
	if err != nil {
		return amountTransaction{}, fmt.Errorf("%w: %v", carriers.ErrInvalidRequest, err)
	}
	if description == "" {
		description = defaultDescription
	}
	at := amountTransaction{
		PhoneNumber:      msisdn,
		ClientCorrelator: ref,
		ReferenceCode:    ref,
		PaymentAmount: paymentAmount{
			ChargingInformation: chargingInformation{Amount: json.Number(amount), Currency: currency, Description: description},
		},
	}
	if c.threeLegged() {
		if msisdn == "" {
			return amountTransaction{}, fmt.Errorf("%w: a payment needs the subscriber's number for the operator's authentication", carriers.ErrInvalidRequest)
		}
		at.PhoneNumber = ""
	}
	if merchant != "" {
		// merchantIdentifier is how CAMARA lets an aggregator name the real merchant.
		at.PaymentAmount.ChargingMetaData = &chargingMetaData{MerchantIdentifier: merchant}
	}
	return at, nil
}

// paymentResult maps a payment resource to a Result.
func paymentResult(p payment) (carriers.Result, error) {
	if p.PaymentID == "" {
		return carriers.Result{}, fmt.Errorf("%w: payment %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	res := carriers.Result{CarrierReference: p.PaymentID}
	switch p.PaymentStatus {
	case paymentSucceeded:
		res.Outcome = carriers.OutcomeSucceeded
	case paymentProcessing, paymentPendingValidation:
		// Accepted; the final word comes by notification or a later status query.
		res.Outcome = carriers.OutcomePending
	case paymentReserved:
		// Validated but never confirmed (the confirm was lost): pending, and
		// the gateway may confirm again; confirm is idempotent on the payment.
		res.Outcome = carriers.OutcomePending
		res.AwaitingConfirm = true
	case paymentDenied, paymentCancelled:
		res.Outcome = carriers.OutcomeDeclined
		res.FailureCode = carriers.FailureCarrierDeclined
		res.DeclineCode = p.PaymentStatus
	default:
		return carriers.Result{}, fmt.Errorf("%w: payment %s has unknown status %q", carriers.ErrOutcomeUnknown, p.PaymentID, p.PaymentStatus)
	}
	return res, nil
}

// decode reads a JSON answer keeping numbers as their exact decimal text.
func decode(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
