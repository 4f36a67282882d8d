package camara

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tollgate/carriers"
)

// CAMARA's 2-step payment, with the operator owning the subscriber's code:
//
//	Authorize → POST /payments/prepare           → pending_validation, validationInfo{action: validate, authorizationId}
//	                                               (the operator texts the subscriber a code)
//	Verify    → POST /payments/{id}/validate     {"authorizationId", "code"} → 204, reserved
//	Charge    → POST /payments/{id}/confirm      {"phoneNumber"} → 202, then the payment says succeeded or denied
//	CancelAuthorization → POST /payments/{id}/cancel {"phoneNumber"} → 202, cancelled
//
// Authorization.ID is "<paymentId>:<authorizationId>", each part
// query-escaped (so a ':' inside either survives): validate needs the
// authorizationId, everything else the paymentId. A bare paymentId is
// accepted where the authorizationId is not needed.
//
// Every one of these POSTs is safe to resend, and is marked so: prepare
// carries the clientCorrelator, and validate, confirm and cancel act on a
// paymentId, where the operator answers a repeat (409 ALREADY_EXISTS,
// PAYMENT_CONFIRMED, PAYMENT_CANCELLED) instead of applying it twice; those
// answers are read as the success they repeat.

// Authorize prepares the payment: the operator reserves the amount and sends
// the subscriber a code. A Recurring request has no amount, and CAMARA
// prepares exactly one: it is ErrUnsupported.
func (c *Client) Authorize(ctx context.Context, r carriers.AuthorizeRequest) (carriers.Authorization, error) {
	a, err := c.authorize(ctx, r)
	if err != nil {
		return carriers.Authorization{}, fmt.Errorf("camara %s: prepare payment %s: %w", c.name, r.Reference, err)
	}
	return a, nil
}

func (c *Client) authorize(ctx context.Context, r carriers.AuthorizeRequest) (carriers.Authorization, error) {
	if r.Recurring {
		return carriers.Authorization{}, fmt.Errorf("%w: CAMARA prepares one payment of one amount; it has no recurring opt-in", carriers.ErrUnsupported)
	}
	at, err := c.newAmountTransaction(r.Reference, r.MSISDN, r.Amount, r.Currency, r.Description, r.Merchant)
	if err != nil {
		return carriers.Authorization{}, err
	}
	body := createPayment{AmountTransaction: at}
	// AuthorizeRequest names no callback URL: the carrier's own one serves.
	body.Sink, body.SinkCredential = c.sink("", r.SinkToken)

	a, err := c.sendAs(carriers.WithResend(ctx), r.MSISDN, http.MethodPost, preparePath, nil, body, correlatorFor(r.Reference))
	if err != nil {
		return carriers.Authorization{}, err
	}
	if a.Status != http.StatusCreated && a.Status != http.StatusOK {
		if res, ok := decline(a, chargeDeclines); ok {
			return carriers.Authorization{}, &declinedError{res: res}
		}
		return carriers.Authorization{}, answerError(a, true, c.now())
	}
	var p prepared
	if err := decode(a.Body, &p); err != nil {
		return carriers.Authorization{}, carriers.UnreadableAnswer(a, err)
	}
	if p.PaymentID == "" {
		return carriers.Authorization{}, fmt.Errorf("%w: prepared payment %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	vi := p.ValidationInfo
	if vi == nil || vi.Action != validationAction || vi.AuthorizationID == "" {
		// The operator reserved without a code (validationInfo absent) or
		// wants the subscriber on a web page ("open"): either way there is
		// no code for the gateway to collect. Let the reservation go.
		c.releaseQuietly(ctx, p.PaymentID, r.MSISDN, r.Reference)
		return carriers.Authorization{}, fmt.Errorf("%w: operator answered prepared payment %s (status %q) without a code to validate", carriers.ErrUnsupported, p.PaymentID, p.PaymentStatus)
	}
	switch p.PaymentStatus {
	case paymentDenied, paymentCancelled:
		// A resent prepare of a payment that has since ended.
		return carriers.Authorization{}, &declinedError{res: carriers.Result{
			Outcome: carriers.OutcomeDeclined, CarrierReference: p.PaymentID,
			FailureCode: carriers.FailureCarrierDeclined, DeclineCode: p.PaymentStatus,
		}}
	}
	return carriers.Authorization{ID: authorizationID(p.PaymentID, vi.AuthorizationID)}, nil
}

// Verify checks the subscriber's code with validatePayment. A wrong code, and
// the operator's "too many wrong codes" (VALIDATION_FAILED, after which the
// payment is denied and no code will do), are ErrWrongCode: the gateway
// counts attempts and decides. A payment validated before (a resent
// validate) is a success.
func (c *Client) Verify(ctx context.Context, r carriers.VerifyRequest) (carriers.Authorization, error) {
	if err := c.verify(ctx, r); err != nil {
		return carriers.Authorization{}, fmt.Errorf("camara %s: validate payment %s: %w", c.name, r.Reference, err)
	}
	return carriers.Authorization{ID: r.AuthorizationID}, nil
}

func (c *Client) verify(ctx context.Context, r carriers.VerifyRequest) error {
	paymentID, authID, err := parseAuthorizationID(r.AuthorizationID)
	if err != nil {
		return err
	}
	if authID == "" {
		return fmt.Errorf("%w: authorization %q carries no authorizationId to validate", carriers.ErrInvalidRequest, r.AuthorizationID)
	}
	body := validatePayment{AuthorizationID: authID, Code: r.Code}
	a, err := c.send(carriers.WithResend(ctx), http.MethodPost, paymentPath(paymentID)+validateSuffix, nil, body, correlatorFor(r.Reference))
	if err != nil {
		return err
	}
	e := errorBody(a)
	switch {
	case a.Status == http.StatusNoContent || a.Status == http.StatusOK:
		return nil
	case a.Status == http.StatusConflict && e.Code == codeAlreadyExists:
		return nil // validated by an earlier attempt whose answer was lost
	case a.Status == http.StatusBadRequest && (e.Code == codeInvalidCode || e.Code == codeValidationFailed):
		return fmt.Errorf("%w: %s", carriers.ErrWrongCode, e.Code)
	}
	// Validating bills nothing, so a fault here is never "outcome unknown".
	return answerError(a, false, c.now())
}

// CancelAuthorization cancels the prepared payment and frees the amount the
// operator reserved. A payment already cancelled or denied holds nothing and
// is a success; one already confirmed cannot be cancelled (refund it).
func (c *Client) CancelAuthorization(ctx context.Context, authorizationID string) error {
	paymentID, _, err := parseAuthorizationID(authorizationID)
	if err == nil {
		err = c.cancel(ctx, paymentID)
	}
	if err != nil {
		return fmt.Errorf("camara %s: cancel payment %s: %w", c.name, paymentID, err)
	}
	return nil
}

func (c *Client) cancel(ctx context.Context, paymentID string) error {
	// cancelPayment names the subscriber (2-legged), and an authorization id
	// never carries a phone number: read it from the payment.
	p, err := c.payment(ctx, paymentID, "")
	if err != nil {
		return err
	}
	switch p.PaymentStatus {
	case paymentCancelled, paymentDenied:
		return nil
	case paymentSucceeded, paymentProcessing:
		return fmt.Errorf("%w: payment %s is already confirmed (%s); refund it instead", carriers.ErrInvalidRequest, paymentID, p.PaymentStatus)
	}
	return c.cancelPhone(ctx, paymentID, p.AmountTransaction.PhoneNumber, p.AmountTransaction.ClientCorrelator)
}

func (c *Client) cancelPhone(ctx context.Context, paymentID, msisdn, correlator string) error {
	a, err := c.send(carriers.WithResend(ctx), http.MethodPost, paymentPath(paymentID)+cancelSuffix, nil, phoneNumberBody{PhoneNumber: msisdn}, correlatorFor(correlator))
	if err != nil {
		return err
	}
	e := errorBody(a)
	switch {
	case a.Status == http.StatusAccepted || a.Status == http.StatusOK || a.Status == http.StatusNoContent:
		return nil
	case a.Status == http.StatusConflict && e.Code == codePaymentCancelled:
		return nil // cancelled by an earlier attempt
	case a.Status == http.StatusConflict && e.Code == codePaymentConfirmed:
		return fmt.Errorf("%w: payment %s is already confirmed; refund it instead", carriers.ErrInvalidRequest, paymentID)
	}
	return answerError(a, true, c.now())
}

// releaseQuietly cancels a payment Authorize cannot hand on, on a best-effort
// basis: the operator expires an unconfirmed reservation anyway.
func (c *Client) releaseQuietly(ctx context.Context, paymentID, msisdn, correlator string) {
	_ = c.cancelPhone(ctx, paymentID, msisdn, correlator)
}

// payment reads one payment with retrievePayment.
func (c *Client) payment(ctx context.Context, paymentID, correlator string) (payment, error) {
	a, err := c.send(ctx, http.MethodGet, paymentPath(paymentID), nil, nil, correlatorFor(correlator))
	if err != nil {
		return payment{}, err
	}
	if a.Status != http.StatusOK {
		return payment{}, answerError(a, false, c.now())
	}
	var p payment
	if err := decode(a.Body, &p); err != nil {
		return payment{}, carriers.UnreadableAnswer(a, err)
	}
	if p.PaymentID == "" {
		return payment{}, fmt.Errorf("%w: payment %v", carriers.ErrOutcomeUnknown, errNoID)
	}
	return p, nil
}

// paymentPath is the resource of the carrier's payment paymentID.
func paymentPath(paymentID string) string {
	return paymentsPath + "/" + url.PathEscape(paymentID)
}

// authorizationID is Authorization.ID for a prepared payment.
func authorizationID(paymentID, authID string) string {
	return url.QueryEscape(paymentID) + ":" + url.QueryEscape(authID)
}

// parseAuthorizationID splits an Authorization.ID; a bare paymentId has no
// authorizationId.
func parseAuthorizationID(id string) (paymentID, authID string, err error) {
	p, a, _ := strings.Cut(id, ":")
	paymentID, err1 := url.QueryUnescape(p)
	authID, err2 := url.QueryUnescape(a)
	if err := errors.Join(err1, err2); err != nil || paymentID == "" {
		return "", "", fmt.Errorf("%w: authorization id %q is not <paymentId>:<authorizationId>", carriers.ErrInvalidRequest, id)
	}
	return paymentID, authID, nil
}

// sinkTokenLifetime is how long the operator may present a payment's sink
// token; the spec wants it to outlive the payment.
const sinkTokenLifetime = 30 * 24 * time.Hour

// sink is the notification address and credential for a payment: the
// request's callback URL or the carrier's, with the token the gateway made
// for this payment as the bearer token. A token per payment, not one per
// carrier, so a leaked or guessed token can speak only for its own payment.
// Without a token nothing could be authenticated, so no sink is given.
// CAMARA accepts only an https sink, and an operator refuses the whole
// payment (INVALID_SINK) for anything else, so a plain-http address is left
// out (results are then read with Status), except on a loopback host, which
// only a simulated operator can reach.
func (c *Client) sink(callbackURL, token string) (string, *sinkCredential) {
	u := callbackURL
	if u == "" {
		u = c.callbackURL
	}
	if token == "" || !notifiable(u) {
		return "", nil
	}
	return u, &sinkCredential{
		CredentialType:        "ACCESSTOKEN",
		AccessToken:           token,
		AccessTokenType:       "bearer",
		AccessTokenExpiresUtc: c.now().Add(sinkTokenLifetime).UTC().Format(time.RFC3339),
	}
}

// notifiable reports whether an operator can be given u as a sink.
func notifiable(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return false
	}
	switch p.Scheme {
	case "https":
		return true
	case "http":
		return isLoopback(p.Hostname())
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// declinedError is a decline answered where the Authorizer interface has no
// Result to carry it (preparePayment refusing the subscriber). It is none of
// the fault errors, so no breaker counts it; DeclineResult gives the decline
// to a caller that asks for it with an interface assertion.
type declinedError struct{ res carriers.Result }

func (e *declinedError) Error() string {
	return fmt.Sprintf("declined: %s (carrier code %s)", e.res.FailureCode, e.res.DeclineCode)
}

// DeclineResult is the decline, as Charge would have returned it.
func (e *declinedError) DeclineResult() carriers.Result { return e.res }
