package camara

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"tollgate/carriers"
)

// webhookTolerance is how far a notification's time may be from now, either
// way, before it is taken for a replay.
const webhookTolerance = 5 * time.Minute

// ParseWebhook reads a payment notification the operator posted to the sink.
// CAMARA authenticates it with the bearer token we gave as the payment's
// sinkCredential, not with a signature: the token says who sent it, TLS
// keeps the body intact on the way. Each payment has its own token, which
// only the gateway's records can check, so the token is handed on as
// Notification.Credential and one that does not belong to the payment is
// refused there. Here a notification is refused (ErrBadSignature) without a
// bearer token, or when its CloudEvents time is more than webhookTolerance
// from now; one that is authentic-looking but unreadable is ErrInvalidRequest.
//
// The gateway's charge id comes from the clientCorrelator the simulated
// operators add to the event (a vendor extension); from an operator that
// does not, ClientReference is empty and CarrierReference (the paymentId)
// is the one to look the charge up by.
func (c *Client) ParseWebhook(h http.Header, body []byte, now time.Time) (carriers.Notification, error) {
	n, err := c.parseWebhook(h, body, now)
	if err != nil {
		return carriers.Notification{}, fmt.Errorf("camara %s: notification: %w", c.name, err)
	}
	return n, nil
}

func (c *Client) parseWebhook(h http.Header, body []byte, now time.Time) (carriers.Notification, error) {
	scheme, token, _ := strings.Cut(h.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return carriers.Notification{}, fmt.Errorf("%w: missing bearer token", carriers.ErrBadSignature)
	}
	var ev cloudEvent
	if err := decode(body, &ev); err != nil {
		return carriers.Notification{}, fmt.Errorf("%w: not a CloudEvent: %v", carriers.ErrInvalidRequest, err)
	}
	if ev.ID == "" || ev.Time.IsZero() || ev.Data.PaymentID == "" {
		return carriers.Notification{}, fmt.Errorf("%w: event lacks id, time or data.paymentId", carriers.ErrInvalidRequest)
	}
	if ev.Time.Before(now.Add(-webhookTolerance)) || ev.Time.After(now.Add(webhookTolerance)) {
		return carriers.Notification{}, fmt.Errorf("%w: event time %s is more than %s from now (%s)",
			carriers.ErrBadSignature, ev.Time.Format(time.RFC3339), webhookTolerance, now.UTC().Format(time.RFC3339))
	}
	res, err := eventResult(ev)
	if err != nil {
		return carriers.Notification{}, err
	}
	return carriers.Notification{
		MessageID:        ev.ID,
		Kind:             kindCharge,
		ClientReference:  ev.Data.ClientCorrelator,
		CarrierReference: ev.Data.PaymentID,
		Result:           res,
		OccurredAt:       ev.Time,
		Credential:       token,
	}, nil
}

// eventResult maps a payment event to a Result.
func eventResult(ev cloudEvent) (carriers.Result, error) {
	res := carriers.Result{CarrierReference: ev.Data.PaymentID, Message: ev.Data.Description}
	declined := func(code string) {
		res.Outcome = carriers.OutcomeDeclined
		res.FailureCode = carriers.FailureCarrierDeclined
		res.DeclineCode = code
	}
	switch ev.Type {
	case eventPaymentCompleted:
		switch ev.Data.Status {
		case eventStatusSucceeded:
			res.Outcome = carriers.OutcomeSucceeded
		case eventStatusFailed:
			declined(paymentDenied)
		default:
			return carriers.Result{}, fmt.Errorf("%w: payment-completed event with status %q", carriers.ErrInvalidRequest, ev.Data.Status)
		}
	case eventPaymentDenied:
		declined(paymentDenied)
		// denialReason is free text in the spec; an operator that puts one
		// of the decline codes there gets it normalised like an answer.
		if failure, ok := declineFailure(chargeDeclines, ev.Data.DenialReason, ev.Data.Description); ok {
			res.FailureCode, res.DeclineCode = failure, ev.Data.DenialReason
		} else if ev.Data.DenialReason != "" {
			res.Message = ev.Data.DenialReason
		}
	case eventPaymentCancelled:
		declined(paymentCancelled)
	case eventPaymentPendingValidation, eventPaymentReserved:
		res.Outcome = carriers.OutcomePending
	default:
		return carriers.Result{}, fmt.Errorf("%w: unknown event type %q", carriers.ErrInvalidRequest, ev.Type)
	}
	return res, nil
}
