package tokenpay

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
)

// SendSMS delivers a text message to a subscriber, for codes the gateway
// owns. A fresh reference goes with it (carriers.MessageID, led by
// m.Reference), so a resent request is delivered once.
func (c *Client) SendSMS(ctx context.Context, m carriers.SMS) error {
	id := carriers.MessageID(m.Reference)
	if err := c.sendSMS(carriers.WithResend(ctx), m, id); err != nil {
		return fmt.Errorf("tokenpay %s: send sms %s: %w", c.name, id, err)
	}
	return nil
}

func (c *Client) sendSMS(ctx context.Context, m carriers.SMS, id string) error {
	if m.MSISDN == "" || m.Body == "" {
		return fmt.Errorf("%w: an SMS needs a recipient and a body", carriers.ErrInvalidRequest)
	}
	a, err := c.send(ctx, http.MethodPost, messagesPath, nil, messageRequest{MSISDN: m.MSISDN, Text: m.Body, Reference: id})
	if err != nil {
		return err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK || a.Status == http.StatusAccepted {
		return nil
	}
	return answerError(a, true, c.now())
}
