package client

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// CreateWebhookEndpoint registers url for events; the answer's Secret
// (whsec_…) is shown this once: keep it to verify deliveries. The gateway
// takes no Idempotency-Key here, so this call is never retried.
func (c *Client) CreateWebhookEndpoint(ctx context.Context, p WebhookEndpointParams) (*WebhookEndpoint, error) {
	var out WebhookEndpoint
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/webhook_endpoints", body: p}, &out)
}

// ListWebhookEndpoints lists the merchant's endpoints.
func (c *Client) ListWebhookEndpoints(ctx context.Context) (*List[WebhookEndpoint], error) {
	var out List[WebhookEndpoint]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/webhook_endpoints"}, &out)
}

// DeleteWebhookEndpoint stops deliveries to an endpoint.
func (c *Client) DeleteWebhookEndpoint(ctx context.Context, id string) error {
	return c.do(ctx, request{method: http.MethodDelete, path: "/v1/webhook_endpoints/" + esc(id)}, nil)
}

// ListEvents reads one page of events, newest first.
func (c *Client) ListEvents(ctx context.Context, p EventListParams) (*List[Event], error) {
	q := p.values()
	if p.Type != "" {
		q.Set("type", p.Type)
	}
	if p.ObjectID != "" {
		q.Set("object_id", p.ObjectID)
	}
	var out List[Event]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/events", query: q}, &out)
}

// Events walks every event matching p, newest first, page after page.
func (c *Client) Events(ctx context.Context, p EventListParams) iter.Seq2[Event, error] {
	return all(ctx, p.ListParams, func(e Event) string { return e.ID }, func(ctx context.Context, lp ListParams) (*List[Event], error) {
		p.ListParams = lp
		return c.ListEvents(ctx, p)
	})
}

// GetEvent reads one event.
func (c *Client) GetEvent(ctx context.Context, id string) (*Event, error) {
	var out Event
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/events/" + esc(id)}, &out)
}

// ErrInvalidSignature is returned by VerifyWebhook for a delivery that is
// not signed with the secret, or whose timestamp is more than five minutes
// from now (a replay).
var ErrInvalidSignature = errors.New("tollgate webhook: invalid signature or timestamp")

// VerifyWebhook checks a delivery's webhook-id, webhook-timestamp and
// webhook-signature headers against the endpoint's whsec_ secret (Standard
// Webhooks, through its reference library) and returns the event. Pass the
// body exactly as received, before any JSON decoding.
func VerifyWebhook(secret string, body []byte, header http.Header) (*Event, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("tollgate webhook: bad secret: %w", err)
	}
	if err := wh.Verify(body, header); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	var ev Event
	if err := unmarshalEvent(body, &ev); err != nil {
		return nil, fmt.Errorf("tollgate webhook: body is not an event: %w", err)
	}
	return &ev, nil
}
