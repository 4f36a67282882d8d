package camara

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
)

// confirm bills a prepared and validated payment with confirmPayment. The
// spec answers 202 with no body: the payment itself then says what became of
// it (succeeded, processing, denied), so it is read back, unless the
// operator put it in the answer (the simulated ones do). A resent confirm is
// answered 409 PAYMENT_CONFIRMED, and one after a cancel 409
// PAYMENT_CANCELLED; both are read back the same way, so a retry of a charge
// whose answer was lost learns the outcome instead of failing.
func (c *Client) confirm(ctx context.Context, r carriers.ChargeRequest) (carriers.Result, error) {
	paymentID, _, err := parseAuthorizationID(r.AuthorizationID)
	if err != nil {
		return carriers.Result{}, err
	}
	if r.MSISDN == "" {
		return carriers.Result{}, fmt.Errorf("%w: confirmPayment names the subscriber; the charge has no MSISDN", carriers.ErrInvalidRequest)
	}
	body := phoneNumberBody{PhoneNumber: r.MSISDN}
	if c.threeLegged() {
		body.PhoneNumber = "" // the token names the subscriber
	}
	a, err := c.sendAs(carriers.WithResend(ctx), r.MSISDN, http.MethodPost, paymentPath(paymentID)+confirmSuffix, nil, body, correlatorFor(r.Reference))
	if err != nil {
		return carriers.Result{}, err
	}
	e := errorBody(a)
	switch {
	case a.Status == http.StatusAccepted || a.Status == http.StatusOK || a.Status == http.StatusNoContent:
		var p payment
		if decode(a.Body, &p) == nil && p.PaymentID == paymentID {
			if res, err := confirmedResult(p, r); err == nil {
				return res, nil
			}
		}
		return c.readBack(ctx, paymentID, r)
	case a.Status == http.StatusConflict && (e.Code == codePaymentConfirmed || e.Code == codePaymentCancelled):
		return c.readBack(ctx, paymentID, r)
	}
	if res, ok := decline(a, chargeDeclines); ok {
		res.CarrierReference = paymentID
		return res, nil
	}
	return carriers.Result{}, answerError(a, true, c.now())
}

// readBack reads the payment a confirm acted on. The confirm was accepted,
// so a failure to read it leaves the outcome unknown, never "not sent".
func (c *Client) readBack(ctx context.Context, paymentID string, r carriers.ChargeRequest) (carriers.Result, error) {
	p, err := c.payment(ctx, paymentID, r.Reference)
	if err != nil {
		return carriers.Result{}, fmt.Errorf("%w: confirmed payment %s could not be read back: %v", carriers.ErrOutcomeUnknown, paymentID, err)
	}
	return confirmedResult(p, r)
}

// confirmedResult maps a confirmed payment to a Result; a payment still
// reserved has not been billed yet and is pending like processing.
func confirmedResult(p payment, r carriers.ChargeRequest) (carriers.Result, error) {
	res, err := paymentResult(p)
	if err != nil {
		return carriers.Result{}, err
	}
	ci := p.AmountTransaction.PaymentAmount.ChargingInformation
	res.Message = carriers.AmountMismatch(string(ci.Amount), ci.Currency, r.Amount, r.Currency)
	return res, nil
}
