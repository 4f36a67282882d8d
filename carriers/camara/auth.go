package camara

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"tollgate/carriers"
	"tollgate/carriers/camara/tokens"
)

// Access tokens. A carrier configured with a client (Options client_id,
// client_secret, token_url) gets an OpenID Connect access token for every
// CAMARA call, with the scope the spec names for the operation:
//
//   - a payment on a subscriber's line (createPayment, preparePayment,
//     confirmPayment) goes with a 3-legged token for that line, by CIBA,
//     when bc_authorize_url is set; the body then names no phoneNumber, as
//     the spec requires;
//   - everything else (validate, cancel, reads, refunds), and payments when
//     no CIBA endpoint is set, goes with a 2-legged client-credentials token
//     and the phoneNumber in the body.
//
// A carrier without a client sends no Authorization, as before.

// Options keys of a carrier's authorization settings (configs: carriers[].auth).
const (
	OptionTokenURL       = "token_url"
	OptionBCAuthorizeURL = "bc_authorize_url"
	OptionClientID       = "client_id"
	OptionClientSecret   = "client_secret"
	// OptionScopes are asked for with every token beside the operation's,
	// space-separated (an operator's purpose scope, dpv:...).
	OptionScopes = "scopes"
)

// Scopes (carrier-billing v0.5, carrier-billing-refund v0.3).
const (
	scopePaymentsCreate = "carrier-billing:payments:create"
	scopePaymentsRead   = "carrier-billing:payments:read"
	scopePaymentsWrite  = "carrier-billing:payments:write"
	scopeRefundsCreate  = "carrier-billing-refund:refunds:create"
	scopeRefundsRead    = "carrier-billing-refund:refunds:read"
)

// subscriberScopes are asked for in one 3-legged token per line: a 2-step
// payment prepares (create) and confirms (write) with the same token, so
// the subscriber is asked once.
var subscriberScopes = []string{scopePaymentsCreate, scopePaymentsWrite}

// CAMARA's authentication and authorization errors (Generic401, Generic403).
const (
	codeUnauthenticated  = "UNAUTHENTICATED"
	codePermissionDenied = "PERMISSION_DENIED"
)

// newTokens builds the token cache from a carrier's options; nil, nil when
// the carrier has no client configured. A URL given as a path is under the
// carrier's API root (a simulated operator serves its authorization server
// beside its APIs).
func newTokens(s carriers.Settings, base string) (*tokens.Cache, error) {
	o := s.Options
	if o[OptionClientID] == "" && o[OptionClientSecret] == "" && o[OptionTokenURL] == "" {
		return nil, nil
	}
	resolve := func(u string) string {
		if strings.HasPrefix(u, "/") {
			return base + u
		}
		return u
	}
	return tokens.New(tokens.Config{
		TokenURL: resolve(o[OptionTokenURL]), BCAuthorizeURL: resolve(o[OptionBCAuthorizeURL]),
		ClientID: o[OptionClientID], ClientSecret: o[OptionClientSecret],
		HTTPClient: s.HTTPClient, Now: s.Clock(),
	})
}

// threeLegged reports whether payments go with a subscriber's token, and
// so without phoneNumber in their bodies.
func (c *Client) threeLegged() bool { return c.tokens != nil && c.tokens.ThreeLegged() }

// scopeFor is the scope the spec names for method on path; "" for what is
// not CAMARA (OneAPI SMS beside it).
func scopeFor(method, path string) string {
	switch {
	case strings.HasPrefix(path, refundsRoot):
		if method == http.MethodGet {
			return scopeRefundsRead
		}
		return scopeRefundsCreate
	case !strings.HasPrefix(path, paymentsPath):
		return ""
	case method == http.MethodGet:
		return scopePaymentsRead
	case path == paymentsPath || path == preparePath:
		return scopePaymentsCreate
	}
	return scopePaymentsWrite
}

// authorization is the Authorization header value for a call about
// subject's line (3-legged; "" for 2-legged) with scope. It returns "" when
// the carrier asks for no token.
func (c *Client) authorization(ctx context.Context, subject, scope string) (string, error) {
	if c.tokens == nil || scope == "" {
		return "", nil
	}
	var (
		tok interface{ Type() string }
		at  string
	)
	if subject != "" && c.threeLegged() {
		t, err := c.tokens.SubscriberToken(ctx, subject, slices.Concat(c.scopes, subscriberScopes)...)
		if err != nil && ctx.Err() != nil && !errors.Is(err, tokens.ErrDenied) {
			// The charge's time ran out while the operator waited on the
			// subscriber to approve: the subscriber's delay, not the
			// operator's fault, so no breaker counts it.
			return "", &declinedError{res: carriers.Result{
				Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureConfirmationExpired, DeclineCode: "authentication_pending",
				Message: "The subscriber did not approve the operator's authentication request in time.",
			}}
		}
		if err != nil {
			return "", tokenError(err)
		}
		tok, at = t, t.AccessToken
	} else {
		t, err := c.tokens.ClientToken(ctx, slices.Concat(c.scopes, []string{scope})...)
		if err != nil {
			return "", tokenError(err)
		}
		tok, at = t, t.AccessToken
	}
	return tok.Type() + " " + at, nil
}

// forget drops the token in an Authorization header the operator refused.
func (c *Client) forget(header string) {
	if c.tokens == nil {
		return
	}
	if _, at, ok := strings.Cut(header, " "); ok {
		c.tokens.ForgetAccessToken(at)
	}
}

// tokenError maps a failure to get a token to the carriers vocabulary.
// The subscriber refusing, or not answering, the operator's request to
// authenticate is a decline; anything else means the call never left, and
// is the connection's fault (a wrong secret opens the breaker, as an
// operator that refuses every call should).
func tokenError(err error) error {
	switch {
	case errors.Is(err, tokens.ErrDenied):
		return &declinedError{res: carriers.Result{
			Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined, DeclineCode: "access_denied",
			Message: "The subscriber refused the operator's authentication request.",
		}}
	case errors.Is(err, tokens.ErrExpired):
		return &declinedError{res: carriers.Result{
			Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureConfirmationExpired, DeclineCode: "expired_token",
			Message: "The subscriber did not answer the operator's authentication request in time.",
		}}
	}
	return fmt.Errorf("%w: access token: %w", carriers.ErrNotSent, err)
}

// asDecline turns a declinedError into the Result a Charge returns.
func asDecline(err error) (carriers.Result, bool) {
	var d *declinedError
	if errors.As(err, &d) {
		return d.res, true
	}
	return carriers.Result{}, false
}
