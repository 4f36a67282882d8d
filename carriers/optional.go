package carriers

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// Authorizer is implemented by carriers that send and check the subscriber's
// code themselves: CAMARA's 2-step payment (prepare with validation, then
// validate) and token APIs (authorise once by SMS PIN for a charging token).
// The gateway still counts attempts and expiry; the carrier owns the code.
type Authorizer interface {
	// Authorize asks the carrier to send the subscriber a code. For a
	// Recurring request (a one-tap opt-in, no amount) a carrier that cannot
	// authorise without an amount returns ErrUnsupported.
	Authorize(ctx context.Context, r AuthorizeRequest) (Authorization, error)
	// Verify checks the subscriber's code: a wrong code is ErrWrongCode; a
	// right one returns the authorization, with a Token for token APIs.
	Verify(ctx context.Context, r VerifyRequest) (Authorization, error)
}

// Canceler is implemented by carriers that hold something for an
// authorization (CAMARA reserves the amount) and should be told to let go.
type Canceler interface {
	CancelAuthorization(ctx context.Context, authorizationID string) error
}

// AuthorizeRequest starts a carrier-owned confirmation. Reference is the
// gateway's charge or payment method id.
type AuthorizeRequest struct {
	Reference   string
	MSISDN      string
	Amount      int64 // 0 for Recurring
	Currency    string
	Description string
	Merchant    string
	Recurring   bool
	// SinkToken is as in ChargeRequest: the callback credential for this payment.
	SinkToken string
}

// VerifyRequest carries the subscriber's code for an authorization.
type VerifyRequest struct {
	AuthorizationID string
	Reference       string
	Code            string
}

// Authorization is the carrier's handle on a confirmation in progress or done.
type Authorization struct {
	ID    string // the carrier's id (CAMARA paymentId, token API authorization id)
	Token string // a charging token, once verified, for token APIs; secret
}

// WebhookParser is implemented by carriers that report results by callback:
// it verifies the carrier's signature over the raw bytes and parses them.
type WebhookParser interface {
	// ParseWebhook returns ErrBadSignature for an unsigned, forged or stale
	// message (older than the tolerance at now), and ErrInvalidRequest for a
	// signed message it cannot read.
	ParseWebhook(h http.Header, body []byte, now time.Time) (Notification, error)
}

// Notification is one parsed carrier callback.
type Notification struct {
	MessageID        string // the carrier's message id, for de-duplication
	Kind             string // "charge" or "refund"
	ClientReference  string // the gateway's id sent as the client reference
	CarrierReference string
	Result           Result
	OccurredAt       time.Time
	// Credential is the per-operation secret the sender presented (the
	// SinkToken of the request, CAMARA's sinkCredential token). The adapter
	// cannot judge it; whoever finds the charge compares it with the hash
	// it kept. Empty for protocols that sign with the carrier's own secret.
	Credential string
}

var (
	// ErrWrongCode: the subscriber's code is wrong; the gateway counts the attempt.
	ErrWrongCode = errors.New("confirmation code wrong")
	// ErrUnsupported: the carrier does not offer this operation.
	ErrUnsupported = errors.New("not supported by this carrier")
	// ErrBadSignature: a callback failed verification; nothing may change.
	ErrBadSignature = errors.New("webhook signature invalid")
)
