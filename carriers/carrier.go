// Package carriers holds what every mobile-carrier adapter shares: the Carrier
// interface, declared capabilities, the request and result types, the error
// vocabulary at the carrier boundary, and the registry of configured connections.
package carriers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Carrier is one mobile operator connection, spoken through one protocol adapter.
type Carrier interface {
	Name() string
	Capabilities() Capabilities
	Charge(ctx context.Context, r ChargeRequest) (Result, error)
	Refund(ctx context.Context, r RefundRequest) (Result, error)
	Status(ctx context.Context, ref Reference) (Result, error)
}

// SMSSender is implemented by carriers that can deliver a text message to
// their subscribers (confirmation codes, spending alerts).
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) error
}

// SMS is one text message to a subscriber. MSISDN is E.164 and must never be logged.
type SMS struct {
	MSISDN string
	Body   string
	// Reference is the gateway's id of what the message is about (the
	// charge or payment method a code is for), "" for none. It goes out in
	// the message's id (MessageID), so the carrier, and in test mode the
	// simulator, can tell which merchant's payment a text belongs to.
	Reference string
}

// Capabilities are declared per carrier in config; validation and
// GET /v1/carriers read them, nothing guesses them from errors.
type Capabilities struct {
	Currencies          []string
	MinAmount           int64 // minor units, inclusive
	MaxAmount           int64 // minor units, inclusive
	PartialRefunds      bool
	RefundWindow        RefundWindow
	Async               bool // results may arrive later by callback
	ConfirmationMethods []string
	// CarrierConfirms: the carrier sends and checks the subscriber's code
	// (the adapter is an Authorizer); otherwise tollgate does, by SMS.
	CarrierConfirms bool
	Country         string // ISO 3166-1 alpha-2 of the subscribers it serves
	// Recurring is the carrier's rule for charges a subscription makes on
	// its own; the zero value means the carrier allows none.
	Recurring Recurring
}

// Recurring is a carrier's recurring window: a period's charge, always of
// the same amount, may be made from its due day until WindowDays later
// (KR carriers: the same day of the month, give or take five days), in
// Location's calendar. WindowDays 0: no recurring charges.
type Recurring struct {
	WindowDays int
	Location   *time.Location
}

// Allowed reports whether the carrier takes recurring charges.
func (r Recurring) Allowed() bool { return r.WindowDays > 0 }

// SupportsCurrency reports whether the carrier bills in cur.
func (c Capabilities) SupportsCurrency(cur string) bool {
	for _, x := range c.Currencies {
		if x == cur {
			return true
		}
	}
	return false
}

// RefundWindow says until when a succeeded charge can be refunded.
// Kind is "none" (no limit), "days" (Days after the charge) or
// "calendar_month" (until the end of the charge's month in Location).
type RefundWindow struct {
	Kind     string
	Days     int
	Location *time.Location
}

// Closes returns the instant after which a charge made at billedAt can no
// longer be refunded, and false when the window never closes.
func (w RefundWindow) Closes(billedAt time.Time) (time.Time, bool) {
	switch w.Kind {
	case "days":
		return billedAt.Add(time.Duration(w.Days) * 24 * time.Hour), true
	case "calendar_month":
		loc := w.Location
		if loc == nil {
			loc = time.UTC
		}
		t := billedAt.In(loc)
		return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc), true
	default:
		return time.Time{}, false
	}
}

// ChargeRequest asks a carrier to bill a subscriber once. Reference is the
// gateway's own charge id, sent as the protocol's client reference
// (clientCorrelator) so that a retried request is applied at most once.
type ChargeRequest struct {
	Reference   string
	MSISDN      string // E.164
	Amount      int64
	Currency    string
	Description string
	Merchant    string
	// AuthorizationID is the carrier's handle from Authorizer.Verify when
	// the carrier owns the code (CAMARA: confirm the prepared payment).
	AuthorizationID string
	// Token is a charging token from a token API's authorization; secret.
	Token string
	// CallbackURL is where an asynchronous carrier should report the result.
	CallbackURL string
	// SinkToken is a secret the gateway made for this one charge, for a
	// carrier that authenticates its callbacks with a credential the client
	// hands it (CAMARA's sinkCredential). The gateway keeps only its hash;
	// empty means no callback can be authenticated, so none is asked for.
	SinkToken string
}

// RefundRequest asks a carrier to refund all or part of a charge it billed.
type RefundRequest struct {
	Reference        string // the gateway's refund id
	ChargeReference  string // the gateway's charge id
	CarrierReference string // the carrier's id of the charge
	MSISDN           string
	Amount           int64
	Currency         string
	Reason           string
}

// Reference names an operation at a carrier for a status query.
type Reference struct {
	Kind             string // "charge" or "refund"
	ClientReference  string
	CarrierReference string
	ChargeReference  string // for refunds: the carrier's id of the charge
	MSISDN           string // E.164, for protocols that address operations by subscriber
}

// Outcome is what a carrier said became of an operation.
type Outcome string

const (
	OutcomeSucceeded Outcome = "succeeded"
	OutcomeDeclined  Outcome = "declined"
	OutcomePending   Outcome = "pending" // accepted, the result comes later
)

// Result is the answer to a charge, refund or status query.
type Result struct {
	Outcome          Outcome
	CarrierReference string
	FailureCode      string // normalised, one of the API's failure codes
	DeclineCode      string // the carrier's raw code, kept for support
	Message          string
	// BilledAt is when the carrier billed, when it says (settlement files
	// do); the charge's succeeded_at and ledger date follow it, so a charge
	// settled late still belongs to the business day it was billed on.
	BilledAt time.Time
	// AwaitingConfirm: the carrier holds a validated payment that was never
	// confirmed (CAMARA "reserved"); confirming it again is safe.
	AwaitingConfirm bool
}

// Errors at the carrier boundary. Adapters wrap one of these with %w; one
// place maps them to HTTP problems and retry decisions.
var (
	// ErrNotSent: the request provably never reached the carrier; safe to retry.
	ErrNotSent = errors.New("carrier request not sent")
	// ErrOutcomeUnknown: the request left and no answer came back; the
	// carrier may have billed. Poll its status, never resend blindly.
	ErrOutcomeUnknown = errors.New("carrier outcome unknown")
	// ErrUnavailable: the carrier answered that it cannot serve now, or its
	// breaker is open; nothing was billed.
	ErrUnavailable = errors.New("carrier unavailable")
	// ErrRateLimited: the carrier asked us to slow down; nothing was billed.
	ErrRateLimited = errors.New("carrier rate limited")
	// ErrInvalidRequest: the carrier refused the request as malformed; a bug
	// on our side or a value the carrier does not accept.
	ErrInvalidRequest = errors.New("carrier rejected request")
	// ErrNotFound: a status query for a reference the carrier does not know.
	ErrNotFound = errors.New("carrier reference not found")
)

// Failure codes the API publishes (API.md). Adapters map raw codes to these.
const (
	FailureInsufficientBalance     = "insufficient_balance"
	FailureSubscriberBlocked       = "subscriber_blocked"
	FailureCarrierLimitExceeded    = "carrier_limit_exceeded"
	FailureSubscriberLimitExceeded = "subscriber_limit_exceeded"
	FailureMerchantLimitExceeded   = "merchant_limit_exceeded"
	FailureRiskDeclined            = "risk_declined"
	FailureConfirmationFailed      = "confirmation_failed"
	FailureConfirmationExpired     = "confirmation_expired"
	FailureCarrierDeclined         = "carrier_declined"
	FailureCarrierUnavailable      = "carrier_unavailable"
)

// UnavailableError carries how long the caller should wait before retrying.
type UnavailableError struct {
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
}

func (e *UnavailableError) Unwrap() error { return e.Err }
