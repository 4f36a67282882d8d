// Package tokenpay is the carrier adapter for token-and-callback carrier
// billing APIs in the style of Fortumo or Boku (protocol "tokenpay"): the
// subscriber authorises once with an SMS PIN, which yields a charging token;
// a charge is only ever "accepted"; every result arrives by a signed callback,
// and a status query tells the truth when a callback does not come.
//
// # Wire protocol
//
// JSON over HTTPS under the carrier's base URL, field names in snake_case,
// money as an integer count of minor units plus an ISO 4217 currency code.
// Errors are {"error": {"code": "...", "message": "..."}} with a 4xx or 5xx
// status.
//
//	POST /v1/authorizations
//	  {"reference", "msisdn", "amount", "currency", "description", "merchant", "recurring"}
//	  → 201 {"authorization_id", "reference", "status": "pin_sent", "expires_at"}
//	  The carrier texts the subscriber a PIN, valid 5 minutes. The same
//	  reference again returns the same authorization and sends no second
//	  PIN. A recurring authorization may have amount 0 (no ceiling per
//	  charge); a one-off one authorises one charge of at most amount.
//	POST /v1/authorizations/{authorization_id}/verify {"pin"}
//	  → 200 {"authorization_id", "status": "verified", "token": "tok_…"}
//	  → 422 invalid_pin (with attempts_remaining); after 3 wrong PINs or
//	    5 minutes → 410 too_many_attempts / pin_expired.
//	POST /v1/charges {"token", "reference", "amount", "currency", "description", "callback_url"}
//	  → 202 {"charge_id", "status": "accepted"}; the same reference again
//	    answers the same and bills once. Unknown token → 422 invalid_token;
//	    a one-off token already spent → 422 token_used; more than
//	    authorised → 422 amount_not_authorized; 503 with Retry-After when
//	    the carrier cannot take the charge now (nothing was accepted).
//	GET /v1/charges?reference=… and GET /v1/charges/{charge_id}
//	  → 200 {"charge_id", "reference", "status": "accepted"|"succeeded"|"failed",
//	         "failure_reason", "amount", "currency", "refunded_amount",
//	         "created_at", "completed_at"}; 404 not_found.
//	POST /v1/refunds {"charge_id", "reference", "amount", "currency", "reason", "callback_url"}
//	  → 202 {"refund_id", "status": "accepted"}; amount left out refunds the
//	    rest; partial refunds allowed; more than is left → 422
//	    refund_exceeds_charge; a charge that has not succeeded → 422
//	    charge_not_succeeded. Same reference → same answer, refunded once.
//	GET /v1/refunds?reference=… and GET /v1/refunds/{refund_id}
//	  → 200 {"refund_id", "charge_id", "reference", "status", "amount", "currency", ...}
//	POST /v1/messages {"msisdn", "text", "reference"}
//	  → 201 {"message_id", "reference", "status": "delivered"}; a reference
//	    seen before is not delivered twice.
//
// Failure reasons of a failed charge: insufficient_funds, account_barred,
// spending_limit; anything else is read as a generic carrier decline.
//
// # Callbacks
//
// When a charge or refund is decided the carrier POSTs to its callback_url:
//
//	{"message_id": "msg_…", "type": "charge.completed"|"refund.completed",
//	 "reference", "charge_id", "refund_id" (refunds), "status": "succeeded"|"failed",
//	 "failure_reason", "amount", "currency", "occurred_at": RFC 3339}
//
// with the header Tokenpay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
// "<t>.<raw body>" keyed with the webhook secret agreed at onboarding>. Any
// answer but 2xx is retried with backoff, the same message_id and body each
// time, freshly signed; receivers dedupe by message_id. Several v1 values may
// be present while a secret is rotated; one matching is enough. A signature
// more than 5 minutes from the receiver's clock, either way, is refused.
//
// The adapter only translates: one carrier request per call, answers mapped
// to a carriers.Result or to the carriers error vocabulary. Retries, breakers
// and timeouts beyond the HTTP client's are a resilience layer's job.
package tokenpay

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/carriers"
)

const protocol = "tokenpay"

var (
	_ carriers.Carrier       = (*Client)(nil)
	_ carriers.SMSSender     = (*Client)(nil)
	_ carriers.Authorizer    = (*Client)(nil)
	_ carriers.WebhookParser = (*Client)(nil)
)

func init() {
	carriers.RegisterProtocol(protocol, func(s carriers.Settings) (carriers.Carrier, error) {
		// Every result of this protocol comes by signed callback: a
		// connection without the secret could never finish a charge.
		if s.WebhookSecret == "" {
			return nil, errors.New("webhook_secret: required: tokenpay carriers report every result by signed callback")
		}
		return New(s)
	})
}

// Client is one carrier connection over the token API.
type Client struct {
	name        string
	base        string
	caps        carriers.Capabilities
	hc          *http.Client
	now         func() time.Time // the gateway's clock
	callbackURL string
	secret      []byte

	carriers.ReportFiles // settlement files (report.go)
}

// New builds a client for the carrier described by s. Without a webhook
// secret the client still charges, but refuses every callback: the
// registered protocol requires one, and an empty key would let anyone sign.
func New(s carriers.Settings) (*Client, error) {
	if s.Name == "" {
		return nil, errors.New("tokenpay: carrier name is empty")
	}
	base, err := carriers.ParseBaseURL(s.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("tokenpay %s: %w", s.Name, err)
	}
	// A copy of the caller's client that takes a 3xx as the answer.
	hc := carriers.SendClient(s.HTTPClient)
	caps := s.Capabilities
	caps.Async = true // every result of this protocol arrives by callback
	reports, err := carriers.NewReportFiles(s, reportLayout)
	if err != nil {
		return nil, fmt.Errorf("tokenpay %s: %w", s.Name, err)
	}
	return &Client{
		ReportFiles: reports, name: s.Name, base: base, caps: caps, hc: hc, now: s.Clock(),
		callbackURL: s.CallbackURL, secret: []byte(s.WebhookSecret),
	}, nil
}

// Name is the carrier's configured name.
func (c *Client) Name() string { return c.name }

// Capabilities are the carrier's declared capabilities; Async is always set.
func (c *Client) Capabilities() carriers.Capabilities { return c.caps }
