package oneapi

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
	"tollgate/carriers/oneapisms"
)

// SendSMS delivers a text message to a subscriber through OneAPI SMS.
func (c *Client) SendSMS(ctx context.Context, m carriers.SMS) error {
	post := func(ctx context.Context, body any, _ string) (*carriers.Answer, error) {
		return c.send(ctx, http.MethodPost, oneapisms.Path, nil, body)
	}
	refused := func(a *carriers.Answer) error { return answerError(a, true, c.now()) }
	if err := oneapisms.Send(c.write(ctx), m, post, refused); err != nil {
		return fmt.Errorf("oneapi %s: %w", c.name, err)
	}
	return nil
}
