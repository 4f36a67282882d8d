package tokenpay

// Paths under the carrier's API root.
const (
	authorizationsPath = "/v1/authorizations"
	chargesPath        = "/v1/charges"
	refundsPath        = "/v1/refunds"
	messagesPath       = "/v1/messages"

	referenceParam = "reference"

	// SignatureHeader carries a callback's signature.
	SignatureHeader = "Tokenpay-Signature"
)

// Statuses. Frozen once published: they are the carrier's words.
const (
	statusPINSent   = "pin_sent"
	statusVerified  = "verified"
	statusAccepted  = "accepted"
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
)

// Callback types.
const (
	typeChargeCompleted = "charge.completed"
	typeRefundCompleted = "refund.completed"
)

// Error codes the adapter acts on; every other code is classified by its
// HTTP status alone.
const (
	codeInvalidPIN      = "invalid_pin"
	codePINExpired      = "pin_expired"
	codeTooManyAttempts = "too_many_attempts"
)

// Failure reasons of a failed charge.
const (
	reasonInsufficientFunds = "insufficient_funds"
	reasonAccountBarred     = "account_barred"
	reasonSpendingLimit     = "spending_limit"
)

// errorBody is the protocol's error answer.
type errorBody struct {
	Error struct {
		Code              string `json:"code"`
		Message           string `json:"message"`
		AttemptsRemaining *int   `json:"attempts_remaining"`
	} `json:"error"`
}

type authorizationRequest struct {
	Reference   string `json:"reference"`
	MSISDN      string `json:"msisdn"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency,omitempty"`
	Description string `json:"description,omitempty"`
	Merchant    string `json:"merchant,omitempty"`
	Recurring   bool   `json:"recurring"`
}

// authorization is the answer to creating and verifying an authorization.
type authorization struct {
	AuthorizationID string `json:"authorization_id"`
	Status          string `json:"status"`
	Token           string `json:"token"`
}

type verifyRequest struct {
	PIN string `json:"pin"`
}

type chargeRequest struct {
	Token       string `json:"token"`
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount"`
	Currency    string `json:"currency"`
	Description string `json:"description,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
}

// accepted is the 202 answer to a charge or a refund.
type accepted struct {
	ChargeID string `json:"charge_id"`
	RefundID string `json:"refund_id"`
	Status   string `json:"status"`
}

// charge is a charge as a status query answers it.
type charge struct {
	ChargeID      string `json:"charge_id"`
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
}

type refundRequest struct {
	ChargeID    string `json:"charge_id"`
	Reference   string `json:"reference"`
	Amount      int64  `json:"amount,omitempty"` // left out: the rest of the charge
	Currency    string `json:"currency,omitempty"`
	Reason      string `json:"reason,omitempty"`
	CallbackURL string `json:"callback_url,omitempty"`
}

// refund is a refund as a status query answers it.
type refund struct {
	RefundID      string `json:"refund_id"`
	ChargeID      string `json:"charge_id"`
	Reference     string `json:"reference"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
}

type messageRequest struct {
	MSISDN    string `json:"msisdn"`
	Text      string `json:"text"`
	Reference string `json:"reference,omitempty"`
}

// callback is the body of a signed callback.
type callback struct {
	MessageID     string `json:"message_id"`
	Type          string `json:"type"`
	Reference     string `json:"reference"`
	ChargeID      string `json:"charge_id"`
	RefundID      string `json:"refund_id"`
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	Amount        int64  `json:"amount"`
	Currency      string `json:"currency"`
	OccurredAt    string `json:"occurred_at"`
}
