package camara

import (
	"context"
	"net/http"
	"net/url"
	"regexp"

	"tollgate/carriers"
)

// send makes one request to the carrier (carriers.Send) with the call's
// x-correlator.
//
// A read is always safe to resend; a POST is only when its caller marked ctx
// carriers.WithResend (it carries a clientCorrelator, or acts on a paymentId
// where a second attempt is answered, not applied, twice).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any, correlator string) (*carriers.Answer, error) {
	if method == http.MethodGet {
		ctx = carriers.WithResend(ctx)
	}
	return carriers.Send(ctx, c.hc, carriers.Request{
		Method: method, URL: c.base + path, Query: query, Body: body,
		Header: http.Header{headerCorrelator: {correlator}},
	})
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
