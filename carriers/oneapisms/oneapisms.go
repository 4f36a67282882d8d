// Package oneapisms is GSMA OneAPI SMS, outbound requests only: OneAPI hubs
// offer it, and CAMARA operators expose it beside CAMARA, which has no
// messaging API. Each adapter posts it with its own transport.
package oneapisms

import (
	"context"
	"fmt"
	"net/http"

	"tollgate/carriers"
)

// Path is the outbound requests resource of the gateway's sender address,
// URL-encoded, under the carrier's API root.
const Path = "/smsmessaging/v1/outbound/tel%3A%2Btollgate/requests"

const sender = "tel:+tollgate"

// outboundSMS is the GSMA OneAPI outbound SMS request.
type outboundSMS struct {
	Request outboundSMSRequest `json:"outboundSMSMessageRequest"`
}

type outboundSMSRequest struct {
	Address          []string        `json:"address"`
	SenderAddress    string          `json:"senderAddress"`
	Message          outboundSMSText `json:"outboundSMSTextMessage"`
	ClientCorrelator string          `json:"clientCorrelator,omitempty"`
}

type outboundSMSText struct {
	Message string `json:"message"`
}

// Post sends body to Path with the adapter's transport; id is the message's
// clientCorrelator, for a transport that also puts it in a header.
type Post func(ctx context.Context, body any, id string) (*carriers.Answer, error)

// Send delivers m through post. refused turns an answer that is not a
// success into the adapter's reading of it. The message id (carriers.MessageID:
// m.Reference and a fresh part) doubles as clientCorrelator, so a resent
// request is delivered once by an operator that honours it; whether to
// resend is the caller's to say on ctx.
func Send(ctx context.Context, m carriers.SMS, post Post, refused func(*carriers.Answer) error) error {
	id := carriers.MessageID(m.Reference)
	if err := send(ctx, m, id, post, refused); err != nil {
		return fmt.Errorf("send sms %s: %w", id, err)
	}
	return nil
}

func send(ctx context.Context, m carriers.SMS, id string, post Post, refused func(*carriers.Answer) error) error {
	if m.MSISDN == "" || m.Body == "" {
		return fmt.Errorf("%w: an SMS needs a recipient and a body", carriers.ErrInvalidRequest)
	}
	body := outboundSMS{Request: outboundSMSRequest{
		Address:          []string{"tel:" + m.MSISDN},
		SenderAddress:    sender,
		Message:          outboundSMSText{Message: m.Body},
		ClientCorrelator: id,
	}}
	a, err := post(ctx, body, id)
	if err != nil {
		return err
	}
	if a.Status == http.StatusCreated || a.Status == http.StatusOK {
		return nil
	}
	return refused(a)
}
