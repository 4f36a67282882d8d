package camara

import (
	"encoding/json"
	"time"
)

// Paths under the carrier's API root. CAMARA versions its APIs in the path;
// a carrier moving to a new version is a new adapter release, not a setting.
const (
	paymentsPath = "/carrier-billing/v0.5/payments"
	refundsRoot  = "/carrier-billing-refund/v0.3/payments/" // + {paymentId}/refunds
	// SMS is not part of CAMARA; operators expose GSMA OneAPI SMS
	// (oneapisms) for it.

	headerCorrelator = "x-correlator"

	// correlatorParam filters retrievePayments and retrieveRefunds by the
	// clientCorrelator we sent. CAMARA v0.5 has no such filter; it is a vendor
	// extension the simulator honours. Answers are filtered here as well, so a
	// carrier that ignores the parameter is still read correctly.
	correlatorParam = "clientCorrelator"
	perPageParam    = "perPage"
	listPageSize    = 100
)

// Payment statuses (carrier-billing v0.5).
const (
	paymentProcessing        = "processing"
	paymentPendingValidation = "pending_validation"
	paymentReserved          = "reserved"
	paymentSucceeded         = "succeeded"
	paymentDenied            = "denied"
	paymentCancelled         = "cancelled"
)

// Refund types and statuses (carrier-billing-refund v0.3).
const (
	refundTotal      = "total"
	refundPartial    = "partial"
	refundProcessing = "processing"
	refundSucceeded  = "succeeded"
	refundDenied     = "denied"
)

// Error codes that mean the carrier refused the operation on business
// grounds: a decline, not a fault.
const (
	codePaymentDenied               = "CARRIER_BILLING.PAYMENT_DENIED"
	codeUnauthorizedAmount          = "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"
	codeUserThreshold               = "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED"
	codeAmountThreshold             = "CARRIER_BILLING.AMOUNT_THRESHOLD_OVERPASSED" // the conformance tests' spelling
	codeServiceNotApplicable        = "SERVICE_NOT_APPLICABLE"
	codeIdentifierNotFound          = "IDENTIFIER_NOT_FOUND"
	codeRefundDenied                = "CARRIER_BILLING_REFUND.REFUND_DENIED"
	codePaymentNotEligibleForRefund = "CARRIER_BILLING_REFUND.PAYMENT_NOT_ELIGIBLE_FOR_REFUND"
	codeRefundUnauthorizedAmount    = "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT"
	codeRefundUserThreshold         = "CARRIER_BILLING_REFUND.USER_AMOUNT_THRESHOLD_OVERPASSED"
	codeRefundAmountThreshold       = "CARRIER_BILLING_REFUND.AMOUNT_THRESHOLD_OVERPASSED" // the conformance tests' spelling
	codeRefundInvalidPaymentStatus  = "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS"
)

// errorInfo is CAMARA's error body.
type errorInfo struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type amountTransaction struct {
	PhoneNumber      string        `json:"phoneNumber,omitempty"`
	ClientCorrelator string        `json:"clientCorrelator,omitempty"`
	ReferenceCode    string        `json:"referenceCode"`
	PaymentAmount    paymentAmount `json:"paymentAmount"`
}

type paymentAmount struct {
	ChargingInformation chargingInformation `json:"chargingInformation"`
	ChargingMetaData    *chargingMetaData   `json:"chargingMetaData,omitempty"`
}

type chargingInformation struct {
	Amount      json.Number `json:"amount"`
	Currency    string      `json:"currency"`
	Description string      `json:"description"`
}

type chargingMetaData struct {
	MerchantIdentifier string `json:"merchantIdentifier,omitempty"`
}

// payment is createPayment's and retrievePayment's answer.
type payment struct {
	PaymentID         string            `json:"paymentId"`
	PaymentStatus     string            `json:"paymentStatus"`
	AmountTransaction amountTransaction `json:"amountTransaction"`
}

type createRefund struct {
	Type              string            `json:"type"`
	Reason            string            `json:"reason,omitempty"`
	AmountTransaction refundTransaction `json:"amountTransaction"`
}

type refundTransaction struct {
	ClientCorrelator string       `json:"clientCorrelator,omitempty"`
	ReferenceCode    string       `json:"referenceCode"`
	RefundAmount     refundAmount `json:"refundAmount"`
}

// refundAmount is empty for a total refund and carries the amount for a
// partial one.
type refundAmount struct {
	ChargingInformation *chargingInformation `json:"chargingInformation,omitempty"`
}

// refund is createRefund's and retrieveRefund's answer.
type refund struct {
	RefundID          string            `json:"refundId"`
	RefundStatus      string            `json:"refundStatus"`
	Type              string            `json:"type"`
	AmountTransaction refundTransaction `json:"amountTransaction"`
}

// 2-step payments (carrier-billing v0.5, "Two Step Payment").
const (
	preparePath = paymentsPath + "/prepare"
	// Suffixes of paymentsPath + "/" + {paymentId}.
	validateSuffix = "/validate"
	confirmSuffix  = "/confirm"
	cancelSuffix   = "/cancel"

	// validationAction is ValidationInfo's action when the operator sent the
	// subscriber a code to check with validatePayment. The other action,
	// "open", is a web page the subscriber visits; tollgate has no use for it.
	validationAction = "validate"

	codeInvalidCode      = "CARRIER_BILLING.INVALID_CODE"
	codeValidationFailed = "CARRIER_BILLING.VALIDATION_FAILED"
	codePaymentConfirmed = "CARRIER_BILLING.PAYMENT_CONFIRMED"
	codePaymentCancelled = "CARRIER_BILLING.PAYMENT_CANCELLED"
	codeAlreadyExists    = "ALREADY_EXISTS"
)

// createPayment is createPayment's and preparePayment's body.
type createPayment struct {
	AmountTransaction amountTransaction `json:"amountTransaction"`
	Sink              string            `json:"sink,omitempty"`
	SinkCredential    *sinkCredential   `json:"sinkCredential,omitempty"`
}

// sinkCredential is the spec's AccessTokenCredential: the bearer token the
// operator presents when it posts a notification to the sink.
type sinkCredential struct {
	CredentialType        string `json:"credentialType"` // ACCESSTOKEN
	AccessToken           string `json:"accessToken"`
	AccessTokenExpiresUtc string `json:"accessTokenExpiresUtc"`
	AccessTokenType       string `json:"accessTokenType"` // bearer
}

// prepared is preparePayment's answer.
type prepared struct {
	payment
	ValidationInfo *validationInfo `json:"validationInfo"`
}

type validationInfo struct {
	Action          string `json:"action"`
	AuthorizationID string `json:"authorizationId"`
	ValidationURL   string `json:"validationURL"`
}

// validatePayment is validatePayment's body.
type validatePayment struct {
	AuthorizationID string `json:"authorizationId"`
	Code            string `json:"code"`
}

// phoneNumberBody is confirmPayment's and cancelPayment's body. With a
// 2-legged token the subscriber is named here; with a 3-legged one it is
// empty ({}), the token naming the subscriber.
type phoneNumberBody struct {
	PhoneNumber string `json:"phoneNumber,omitempty"`
}

// Notifications: CloudEvents 1.0 (the spec's createPaymentNotification and
// preparePaymentNotification callbacks).
const (
	eventPaymentPendingValidation = "org.camaraproject.carrier-billing.v0.payment-pending-validation"
	eventPaymentReserved          = "org.camaraproject.carrier-billing.v0.payment-reserved"
	eventPaymentCompleted         = "org.camaraproject.carrier-billing.v0.payment-completed"
	eventPaymentCancelled         = "org.camaraproject.carrier-billing.v0.payment-cancelled"
	eventPaymentDenied            = "org.camaraproject.carrier-billing.v0.payment-denied"

	eventStatusSucceeded = "succeeded"
	eventStatusFailed    = "failed"
)

// cloudEvent is a notification as the operator posts it.
type cloudEvent struct {
	ID          string       `json:"id"`
	Source      string       `json:"source"`
	Type        string       `json:"type"`
	SpecVersion string       `json:"specversion"`
	Time        time.Time    `json:"time"`
	Data        paymentEvent `json:"data"`
}

// paymentEvent is the spec's BasicEvent with the fields of the completed and
// denied events. ClientCorrelator is a vendor extension (the simulated
// operators send it): the clientCorrelator of the request that made the
// payment, our own charge id.
type paymentEvent struct {
	PaymentID        string `json:"paymentId"`
	Status           string `json:"status"`
	Description      string `json:"description"`
	DenialReason     string `json:"denialReason"`
	ClientCorrelator string `json:"clientCorrelator"`
}
