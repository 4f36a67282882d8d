package camara

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
	"tollgate/carriers/oneapisms"
)

// SendSMS delivers a text message to a subscriber through the operator's
// GSMA OneAPI SMS endpoint; CAMARA has no messaging API of its own. The
// operator honours clientCorrelator, so a resent request is safe.
func (c *Client) SendSMS(ctx context.Context, m carriers.SMS) error {
	post := func(ctx context.Context, body any, id string) (*carriers.Answer, error) {
		return c.send(ctx, http.MethodPost, oneapisms.Path, nil, body, id)
	}
	refused := func(a *carriers.Answer) error { return answerError(a, true, c.now()) }
	if err := oneapisms.Send(carriers.WithResend(ctx), m, post, refused); err != nil {
		return fmt.Errorf("camara %s: %w", c.name, err)
	}
	return nil
}
