package camara

import (
	"context"
	"net/http"
	"net/url"
	"regexp"

	"tollgate/carriers"
)

// send makes one request to the carrier (carriers.Send) with the call's
// x-correlator, and a 2-legged access token when the carrier asks for one.
//
// A read is always safe to resend; a POST is only when its caller marked ctx
// carriers.WithResend (it carries a clientCorrelator, or acts on a paymentId
// where a second attempt is answered, not applied, twice).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any, correlator string) (*carriers.Answer, error) {
	return c.sendAs(ctx, "", method, path, query, body, correlator)
}

// sendAs is send for a call about subject's line, which goes with a
// 3-legged token for it when the carrier is configured for CIBA.
//
// An operator that answers 401 refused the token before doing anything
// (revoked, or expired sooner than it said): the token is dropped and the
// call made once more with a fresh one.
func (c *Client) sendAs(ctx context.Context, subject, method, path string, query url.Values, body any, correlator string) (*carriers.Answer, error) {
	if method == http.MethodGet {
		ctx = carriers.WithResend(ctx)
	}
	scope := scopeFor(method, path)
	for attempt := 0; ; attempt++ {
		auth, err := c.authorization(ctx, subject, scope)
		if err != nil {
			return nil, err
		}
		h := http.Header{headerCorrelator: {correlator}}
		if auth != "" {
			h.Set("Authorization", auth)
		}
		a, err := carriers.Send(ctx, c.hc, carriers.Request{
			Method: method, URL: c.base + path, Query: query, Body: body, Header: h,
		})
		if err != nil || a.Status != http.StatusUnauthorized || auth == "" || attempt > 0 {
			return a, err
		}
		c.forget(auth)
	}
}

// correlatorPattern is the x-correlator schema of CAMARA.
var correlatorPattern = regexp.MustCompile(`^[a-zA-Z0-9-_:;./<>{}]{0,256}$`)

// correlatorFor is the x-correlator for a call about ref: the gateway's own id,
// so a carrier's support desk and ours talk about the same thing, or a fresh
// id when ref does not fit the header's schema.
func correlatorFor(ref string) string {
	if ref != "" && correlatorPattern.MatchString(ref) {
		return ref
	}
	return carriers.RandomID()
}
