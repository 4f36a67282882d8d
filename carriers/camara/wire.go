package camara

import "encoding/json"

// Paths under the carrier's API root. CAMARA versions its APIs in the path;
// a carrier moving to a new version is a new adapter release, not a setting.
const (
	paymentsPath = "/carrier-billing/v0.5/payments"
	refundsRoot  = "/carrier-billing-refund/v0.3/payments/" // + {paymentId}/refunds
	// SMS is not part of CAMARA; operators expose GSMA OneAPI SMS for it,
	// with the sender address URL-encoded into the path.
	smsPath   = "/smsmessaging/v1/outbound/tel%3A%2Btollgate/requests"
	smsSender = "tel:+tollgate"

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

	// CAMARA has no code for these two; the simulated operators answer them
	// as vendor extensions under their own prefix (see carriers/sim).
	codeSimInsufficientBalance = "TOLLGATE_SIM.INSUFFICIENT_BALANCE"
	codeSimSubscriberBlocked   = "TOLLGATE_SIM.SUBSCRIBER_BLOCKED"
)

// errorInfo is CAMARA's error body.
type errorInfo struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type createPayment struct {
	AmountTransaction amountTransaction `json:"amountTransaction"`
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

// outboundSMS is the GSMA OneAPI outbound SMS request.
type outboundSMS struct {
	Request outboundSMSRequest `json:"outboundSMSMessageRequest"`
}

type outboundSMSRequest struct {
	Address          []string        `json:"address"`
	SenderAddress    string          `json:"senderAddress"`
	Message          outboundSMSText `json:"outboundSMSTextMessage"`
	ClientCorrelator string          `json:"clientCorrelator,omitempty"`
}

type outboundSMSText struct {
	Message string `json:"message"`
}
