package oneapi

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
)

// SendSMS delivers a text message to a subscriber through OneAPI SMS.
func (c *Client) SendSMS(ctx context.Context, m carriers.SMS) error {
	// The message id doubles as clientCorrelator, so a resent request is
	// delivered once by an operator that honours it.
	id := carriers.RandomID()
	if err := c.sendSMS(ctx, m, id); err != nil {
		return fmt.Errorf("oneapi %s: send sms %s: %w", c.name, id, err)
	}
	return nil
}

func (c *Client) sendSMS(ctx context.Context, m carriers.SMS, id string) error {
	if m.MSISDN == "" || m.Body == "" {
		return fmt.Errorf("%w: an SMS needs a recipient and a body", carriers.ErrInvalidRequest)
	}
	body := outboundSMS{Request: outboundSMSRequest{
		Address:          []string{telPrefix + m.MSISDN},
		SenderAddress:    smsSender,
		Message:          outboundSMSText{Message: m.Body},
		ClientCorrelator: id,
	}}
	a, err := c.send(c.write(ctx), http.MethodPost, smsPath, nil, body)
	if err != nil {
		return err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK {
		return nil
	}
	return answerError(a, true, c.now())
}
