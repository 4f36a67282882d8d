package sim

import (
	"net/http"
	"regexp"
	"time"
)

// Token-API wire values. The protocol is tollgate's model of a modern
// token-and-callback carrier API in the style of Fortumo or Boku; its
// definition lives in the package doc of carriers/tokenpay.
const (
	tokenPayRoot = "/sim/{carrier}/tokenpay"

	tpAuthorizations = "/v1/authorizations"
	tpCharges        = "/v1/charges"
	tpRefunds        = "/v1/refunds"
	tpMessages       = "/v1/messages"

	tpSignatureHeader = "Tokenpay-Signature"

	// Authorization statuses.
	tpPINSent  = "pin_sent"
	tpVerified = "verified"
	tpExpired  = "expired"

	// Charge and refund statuses.
	tpAccepted  = "accepted"
	tpSucceeded = "succeeded"
	tpFailed    = "failed"

	// Callback types.
	tpChargeCompleted = "charge.completed"
	tpRefundCompleted = "refund.completed"

	// Failure reasons of a failed charge.
	tpInsufficientFunds = "insufficient_funds"
	tpAccountBarred     = "account_barred"
	tpSpendingLimit     = "spending_limit"

	// Error codes.
	tpCodeInvalidRequest     = "invalid_request"
	tpCodeNotFound           = "not_found"
	tpCodeInvalidPIN         = "invalid_pin"
	tpCodePINExpired         = "pin_expired"
	tpCodeTooManyAttempts    = "too_many_attempts"
	tpCodeInvalidToken       = "invalid_token"
	tpCodeTokenUsed          = "token_used"
	tpCodeAmountNotAllowed   = "amount_not_authorized"
	tpCodeReferenceReused    = "reference_reused"
	tpCodeRefundExceeds      = "refund_exceeds_charge"
	tpCodeChargeNotSucceeded = "charge_not_succeeded"
	tpCodeUnavailable        = "temporarily_unavailable"
)

// Carrier-side rules.
const (
	tpPINValidity  = 5 * time.Minute // on the simulator's clock
	tpMaxWrongPINs = 3
	// tpSlowCallback is how long a 0005 charge stays accepted before it
	// succeeds and is called back, in real time: it models a slow carrier
	// back end, not the books.
	tpSlowCallback = 1500 * time.Millisecond
)

// tpCallbackBackoff is the wait before each retry of a callback that was not
// answered 2xx: six attempts over about 7.5 s, then the carrier gives up and
// only a status query tells the result.
var tpCallbackBackoff = []time.Duration{
	500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
}

var tpPhonePattern = regexp.MustCompile(`^\+[1-9][0-9]{4,14}$`)

// tpError is the protocol's error body.
type tpError struct {
	Error tpErrorInfo `json:"error"`
}

type tpErrorInfo struct {
	Code              string `json:"code"`
	Message           string `json:"message"`
	AttemptsRemaining *int   `json:"attempts_remaining,omitempty"`
}

func tpErrorReply(status int, code, msg string) reply {
	return reply{status: status, body: tpError{Error: tpErrorInfo{Code: code, Message: msg}}}
}

func tpInvalid(msg string) reply {
	return tpErrorReply(http.StatusBadRequest, tpCodeInvalidRequest, msg)
}

func tpNotFound(what string) reply {
	return tpErrorReply(http.StatusNotFound, tpCodeNotFound, "no such "+what)
}

type tpAuthorizationIn struct {
	Reference   string `json:"reference"`
	MSISDN      string `json:"msisdn"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	Merchant    string `json:"merchant"`
	Recurring   bool   `json:"recurring"`
}

type tpAuthorizationOut struct {
	AuthorizationID string    `json:"authorization_id"`
	Reference       string    `json:"reference"`
	Status          string    `json:"status"`
	Recurring       bool      `json:"recurring"`
	ExpiresAt       time.Time `json:"expires_at"` // of the PIN
	Token           string    `json:"token,omitempty"`
}

type tpVerifyIn struct {
	PIN string `json:"pin"`
}

type tpChargeIn struct {
	Token       string `json:"token"`
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description"`
	CallbackURL string `json:"callback_url"`
}

// tpAcceptedOut is the 202 answer to a charge or refund.
type tpAcceptedOut struct {
	ChargeID string `json:"charge_id,omitempty"`
	RefundID string `json:"refund_id,omitempty"`
	Status   string `json:"status"`
}

type tpChargeOut struct {
	ChargeID       string     `json:"charge_id"`
	Reference      string     `json:"reference"`
	Status         string     `json:"status"`
	FailureReason  string     `json:"failure_reason,omitempty"`
	Amount         int64      `json:"amount"`
	Currency       string     `json:"currency"`
	RefundedAmount int64      `json:"refunded_amount"`
	CreatedAt      time.Time  `json:"created_at"`
	CompletedAt    *time.Time `json:"completed_at,omitempty"`
}

type tpRefundIn struct {
	ChargeID    string `json:"charge_id"`
	Reference   string `json:"reference"`
	Amount      *int64 `json:"amount"` // absent: what is left of the charge
	Currency    string `json:"currency"`
	Reason      string `json:"reason"`
	CallbackURL string `json:"callback_url"`
}

type tpRefundOut struct {
	RefundID      string     `json:"refund_id"`
	ChargeID      string     `json:"charge_id"`
	Reference     string     `json:"reference"`
	Status        string     `json:"status"`
	FailureReason string     `json:"failure_reason,omitempty"`
	Amount        int64      `json:"amount"`
	Currency      string     `json:"currency"`
	CreatedAt     time.Time  `json:"created_at"`
	CompletedAt   *time.Time `json:"completed_at,omitempty"`
}

type tpMessageIn struct {
	MSISDN    string `json:"msisdn"`
	Text      string `json:"text"`
	Reference string `json:"reference"`
}

type tpMessageOut struct {
	MessageID string `json:"message_id"`
	Reference string `json:"reference,omitempty"`
	Status    string `json:"status"`
}

// tpCallbackBody is what the carrier POSTs to a callback_url.
type tpCallbackBody struct {
	MessageID     string `json:"message_id"`
	Type          string `json:"type"`
	Reference     string `json:"reference"`
	ChargeID      string `json:"charge_id,omitempty"`
	RefundID      string `json:"refund_id,omitempty"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason,omitempty"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	OccurredAt    string `json:"occurred_at"`
}
