package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"tollgate/carriers"
)

// CIBA (OpenID Connect Client-Initiated Backchannel Authentication Core 1.0),
// poll mode, as the CAMARA security profile uses it:
//
//	POST bc-authorize  scope=openid ...&login_hint=tel:+8210...  → {auth_req_id, expires_in, interval}
//	POST token         grant_type=urn:openid:params:grant-type:ciba&auth_req_id=...
//	                   → 400 authorization_pending | slow_down  (wait interval, poll again)
//	                   → 400 access_denied | expired_token      (stop)
//	                   → 200 {access_token, expires_in, ...}
const (
	grantCIBA = "urn:openid:params:grant-type:ciba"
	// defaultInterval is CIBA's when the server names none.
	defaultInterval = 5 * time.Second
	// slowDownStep is what slow_down adds to the interval (CIBA 11, as in
	// RFC 8628 3.5).
	slowDownStep = 5 * time.Second
	// maxAuthBody bounds the bc-authorize answer read.
	maxAuthBody = 64 << 10
)

// authResponse is bc-authorize's successful answer.
type authResponse struct {
	AuthReqID string `json:"auth_req_id"`
	ExpiresIn int64  `json:"expires_in"`
	Interval  int64  `json:"interval"`
}

// ciba runs one backchannel authentication for phone and polls until the
// subscriber answers, the request expires or ctx ends.
func (c *Cache) ciba(ctx context.Context, phone string, scopes []string) (*oauth2.Token, time.Time, error) {
	ar, err := c.backchannelAuthorize(ctx, phone, scopes)
	if err != nil {
		return nil, time.Time{}, err
	}
	interval := time.Duration(ar.Interval) * time.Second
	if interval <= 0 {
		interval = defaultInterval
	}
	deadline := c.now().Add(time.Duration(ar.ExpiresIn) * time.Second)
	poll := clientcredentials.Config{
		ClientID: c.cfg.ClientID, ClientSecret: c.cfg.ClientSecret, TokenURL: c.cfg.TokenURL,
		AuthStyle: oauth2.AuthStyleInHeader,
		// clientcredentials lets grant_type be replaced, which makes it the
		// token endpoint plumbing for any grant that needs no redirect.
		EndpointParams: url.Values{"grant_type": {grantCIBA}, "auth_req_id": {ar.AuthReqID}},
	}
	for {
		start := c.now()
		tok, err := poll.Token(c.httpContext(ctx))
		if err == nil {
			return tok, expiry(tok, start), nil
		}
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			return nil, time.Time{}, tokenError("ciba token", err)
		}
		switch re.ErrorCode {
		case "authorization_pending":
		case "slow_down":
			interval += slowDownStep
		default:
			return nil, time.Time{}, tokenError("ciba token", err)
		}
		if !c.now().Add(interval).Before(deadline) {
			return nil, time.Time{}, fmt.Errorf("%w: ciba: no answer within the request's %d s", ErrExpired, ar.ExpiresIn)
		}
		if err := c.wait(ctx, interval); err != nil {
			return nil, time.Time{}, fmt.Errorf("%w: ciba: waiting for the subscriber: %w", ErrUnreachable, err)
		}
	}
}

// backchannelAuthorize asks the operator to authenticate the subscriber of
// phone. The client authenticates as at the token endpoint (HTTP Basic,
// RFC 6749 2.3.1: id and secret form-encoded first).
func (c *Cache) backchannelAuthorize(ctx context.Context, phone string, scopes []string) (authResponse, error) {
	form := url.Values{"scope": {strings.Join(scopes, " ")}, "login_hint": {"tel:" + phone}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.BCAuthorizeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return authResponse{}, fmt.Errorf("%w: bc-authorize: %v", ErrClient, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	hc := c.cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL is the operator's, never the number's: safe to show,
		// but the error text goes through redaction all the same.
		return authResponse{}, fmt.Errorf("%w: bc-authorize: %v", ErrUnreachable, carriers.RedactNumbers(err.Error()))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthBody))
	if err != nil {
		return authResponse{}, fmt.Errorf("%w: bc-authorize: reading the answer: %v", ErrUnreachable, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		return authResponse{}, tokenError("bc-authorize", &oauth2.RetrieveError{Response: resp, ErrorCode: e.Error, ErrorDescription: e.Description})
	}
	var ar authResponse
	if err := json.Unmarshal(body, &ar); err != nil || ar.AuthReqID == "" || ar.ExpiresIn <= 0 {
		return authResponse{}, fmt.Errorf("%w: bc-authorize: HTTP 200 without auth_req_id and expires_in", ErrUnreachable)
	}
	return ar, nil
}
