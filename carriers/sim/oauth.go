package sim

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The simulated operator's authorization server, as the CAMARA security
// profile has operators run one: client credentials for 2-legged tokens,
// OpenID Connect CIBA (poll mode, login_hint=tel:+...) for 3-legged ones.
// Tokens are opaque random strings kept in memory with their scopes, their
// expiry on the simulator's clock and, for CIBA, the phone number they speak
// for. A carrier given an OAuthClient in Options refuses CAMARA calls
// without a valid token (401 UNAUTHENTICATED), with one lacking the
// operation's scope, or speaking for another line (403 PERMISSION_DENIED);
// a carrier without one stays open, as the simulator always was.
//
//	GET  /sim/{carrier}/camara/.well-known/openid-configuration
//	POST /sim/{carrier}/camara/oauth2/token         client_credentials | urn:openid:params:grant-type:ciba
//	POST /sim/{carrier}/camara/oauth2/bc-authorize  scope, login_hint=tel:+<E.164>
//
// Clients authenticate with HTTP Basic (client_secret_basic) or in the form
// (client_secret_post).

// OAuthClient is the one API consumer a simulated operator knows.
type OAuthClient struct {
	ID     string
	Secret string
}

// CIBABehaviour is how the simulated subscribers of a carrier answer
// backchannel authentication requests; the zero value approves at the
// first poll.
type CIBABehaviour struct {
	PendingPolls int  // answer authorization_pending this many polls first
	SlowDown     bool // answer the first premature poll slow_down
	Deny         bool // the subscriber refuses: access_denied
	Interval     int  // seconds between polls the client is told; 0 is 1
	ExpiresIn    int  // seconds the request lives; 0 is 120
}

// Paths of the authorization server under a carrier's CAMARA root.
const (
	oauthToken       = "/oauth2/token"
	oauthBCAuthorize = "/oauth2/bc-authorize"
	oauthDiscovery   = "/.well-known/openid-configuration"

	grantClientCredentials = "client_credentials"
	grantCIBA              = "urn:openid:params:grant-type:ciba"

	tokenLifetime = time.Hour

	codeUnauthenticated  = "UNAUTHENTICATED"
	codePermissionDenied = "PERMISSION_DENIED"
	codeUnnecessaryID    = "UNNECESSARY_IDENTIFIER"
)

// oauthState is one carrier's authorization server.
type oauthState struct {
	client OAuthClient
	ciba   CIBABehaviour
	tokens map[string]*accessToken
	auths  map[string]*authRequest
	issued int // tokens issued, for tests that count fetches
}

type accessToken struct {
	scopes  []string
	phone   string // the subscriber a CIBA token speaks for; empty when 2-legged
	expires time.Time
}

type authRequest struct {
	phone    string
	scopes   []string
	expires  time.Time
	interval time.Duration
	polls    int
	lastPoll time.Time
	slowed   bool
	done     bool
}

func (s *Simulator) routesOAuth(mux *http.ServeMux) {
	mux.HandleFunc("POST "+camaraRoot+oauthToken, s.oauthToken)
	mux.HandleFunc("POST "+camaraRoot+oauthBCAuthorize, s.bcAuthorize)
	mux.HandleFunc("GET "+camaraRoot+oauthDiscovery, s.discovery)
}

// SetCIBA sets how carrier's subscribers answer backchannel authentication.
func (s *Simulator) SetCIBA(carrier string, b CIBABehaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.carriers[carrier]; c != nil && c.oauth != nil {
		c.oauth.ciba = b
	}
}

// TokensIssued is how many access tokens carrier's authorization server
// has issued.
func (s *Simulator) TokensIssued(carrier string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.carriers[carrier]; c != nil && c.oauth != nil {
		return c.oauth.issued
	}
	return 0
}

// oauthError is RFC 6749's error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tollgate-sim"`)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, oauthError{Error: code, Description: desc})
}

// oauthCarrier finds the carrier of r and checks the client's credentials;
// it answers the error itself and returns nil when they do not hold.
// Callers hold s.mu.
func (s *Simulator) oauthCarrier(w http.ResponseWriter, r *http.Request) *carrierState {
	c := s.carriers[r.PathValue("carrier")]
	if c == nil || c.oauth == nil {
		writeOAuthError(w, http.StatusNotFound, "invalid_request", "this operator has no authorization server")
		return nil
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(c.oauth.client.ID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(c.oauth.client.Secret)) != 1 {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return nil
	}
	return c
}

// allowedScopes are the scopes the operator grants its client.
var allowedScopes = []string{
	"openid",
	"carrier-billing:payments:create", "carrier-billing:payments:read", "carrier-billing:payments:write",
	"carrier-billing-refund:refunds:create", "carrier-billing-refund:refunds:read",
}

// parseScopes reads a scope parameter: the allowed scopes, and purpose
// scopes (dpv:...) of CAMARA's commonalities, which the operator accepts
// as given.
func parseScopes(s string) ([]string, bool) {
	scopes := strings.Fields(s)
	for _, sc := range scopes {
		if !slices.Contains(allowedScopes, sc) && !strings.HasPrefix(sc, "dpv:") {
			return nil, false
		}
	}
	return scopes, true
}

// oauthToken is the token endpoint.
func (s *Simulator) oauthToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.oauthCarrier(w, r)
	if c == nil {
		return
	}
	now := s.now()
	switch r.PostForm.Get("grant_type") {
	case grantClientCredentials:
		scopes, ok := parseScopes(r.PostForm.Get("scope"))
		if !ok || slices.Contains(scopes, "openid") {
			writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "a scope is unknown, or not for a 2-legged token")
			return
		}
		s.issue(w, c, scopes, "", now)
	case grantCIBA:
		id := r.PostForm.Get("auth_req_id")
		ar := c.oauth.auths[id]
		switch {
		case ar == nil || ar.done:
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", "unknown auth_req_id")
			return
		case !now.Before(ar.expires):
			delete(c.oauth.auths, id)
			writeOAuthError(w, http.StatusBadRequest, "expired_token", "the authentication request has expired")
			return
		}
		b := c.oauth.ciba
		early := !ar.lastPoll.IsZero() && now.Sub(ar.lastPoll) < ar.interval
		ar.polls++
		ar.lastPoll = now
		switch {
		case b.SlowDown && early && !ar.slowed:
			ar.slowed = true
			ar.interval += 5 * time.Second
			writeOAuthError(w, http.StatusBadRequest, "slow_down", "poll less often")
		case ar.polls <= b.PendingPolls:
			writeOAuthError(w, http.StatusBadRequest, "authorization_pending", "the subscriber has not answered yet")
		case b.Deny:
			ar.done = true
			writeOAuthError(w, http.StatusBadRequest, "access_denied", "the subscriber refused")
		default:
			ar.done = true
			s.issue(w, c, ar.scopes, ar.phone, now)
		}
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials or "+grantCIBA)
	}
}

// pruneAt is how many tokens and auth requests a carrier keeps before
// issuing another one drops those that have expired: a load test asks for
// a CIBA token per number.
const pruneAt = 10_000

// issue answers a new access token. Callers hold s.mu.
func (s *Simulator) issue(w http.ResponseWriter, c *carrierState, scopes []string, phone string, now time.Time) {
	if len(c.oauth.tokens)+len(c.oauth.auths) > pruneAt {
		for k, t := range c.oauth.tokens {
			if !now.Before(t.expires) {
				delete(c.oauth.tokens, k)
			}
		}
		for k, ar := range c.oauth.auths {
			if ar.done || !now.Before(ar.expires) {
				delete(c.oauth.auths, k)
			}
		}
	}
	tok := newID("at_")
	c.oauth.tokens[tok] = &accessToken{scopes: scopes, phone: phone, expires: now.Add(tokenLifetime)}
	c.oauth.issued++
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer",
		"expires_in": int(tokenLifetime / time.Second), "scope": strings.Join(scopes, " "),
	})
}

// bcAuthorize is the CIBA backchannel authentication endpoint.
func (s *Simulator) bcAuthorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.oauthCarrier(w, r)
	if c == nil {
		return
	}
	scopes, ok := parseScopes(r.PostForm.Get("scope"))
	if !ok || !slices.Contains(scopes, "openid") {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", "scope must include openid and only known scopes")
		return
	}
	hint := r.PostForm.Get("login_hint")
	phone, isTel := strings.CutPrefix(hint, "tel:")
	if !isTel || !phonePattern.MatchString(phone) {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "login_hint must be tel:+ and an E.164 number")
		return
	}
	b := c.oauth.ciba
	interval, expires := max(b.Interval, 1), b.ExpiresIn
	if expires <= 0 {
		expires = 120
	}
	id := newID("ar_")
	c.oauth.auths[id] = &authRequest{
		phone: phone, scopes: scopes, expires: s.now().Add(time.Duration(expires) * time.Second),
		interval: time.Duration(interval) * time.Second,
	}
	writeJSON(w, http.StatusOK, map[string]any{"auth_req_id": id, "expires_in": expires, "interval": interval})
}

// discovery is the OpenID provider's metadata, with the simulator's own
// address as the request reached it.
func (s *Simulator) discovery(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	root := scheme + "://" + r.Host + strings.TrimSuffix(r.URL.Path, oauthDiscovery)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                              root,
		"token_endpoint":                      root + oauthToken,
		"backchannel_authentication_endpoint": root + oauthBCAuthorize,
		"backchannel_token_delivery_modes_supported": []string{"poll"},
		"grant_types_supported":                      []string{grantClientCredentials, grantCIBA},
		"token_endpoint_auth_methods_supported":      []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                           allowedScopes,
	})
}

// subjectKey carries the phone number a 3-legged token speaks for to the
// operation, in the request's context.
type subjectKey struct{}

// tokenSubject is the phone number r's access token speaks for; empty for a
// 2-legged token or a carrier that asks for none.
func tokenSubject(r *http.Request) string {
	s, _ := r.Context().Value(subjectKey{}).(string)
	return s
}

// authorized wraps a CAMARA operation with the operator's token check for
// scope. It runs with s.mu held, like the operation.
func (s *Simulator) authorized(scope string, op operation) operation {
	return func(c *carrierState, r *http.Request, body []byte) reply {
		if c.oauth == nil {
			return op(c, r, body)
		}
		h := r.Header.Get("Authorization")
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			raw, ok = strings.CutPrefix(h, "bearer ")
		}
		t := c.oauth.tokens[strings.TrimSpace(raw)]
		if !ok || t == nil || !s.now().Before(t.expires) {
			return errorReply(apiError{Status: http.StatusUnauthorized, Code: codeUnauthenticated,
				Message: "Request not authenticated due to missing, invalid, or expired credentials. A new authentication is required."})
		}
		if !slices.Contains(t.scopes, scope) {
			return errorReply(apiError{Status: http.StatusForbidden, Code: codePermissionDenied,
				Message: "Client does not have sufficient permissions to perform this action."})
		}
		if t.phone != "" {
			r = r.WithContext(context.WithValue(r.Context(), subjectKey{}, t.phone))
		}
		return op(c, r, body)
	}
}

// newOAuthState is a carrier's authorization server for client.
func newOAuthState(client OAuthClient) *oauthState {
	return &oauthState{client: client, tokens: map[string]*accessToken{}, auths: map[string]*authRequest{}}
}
