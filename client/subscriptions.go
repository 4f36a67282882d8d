package client

import (
	"context"
	"iter"
	"net/http"
)

// CreateSubscription asks the subscriber's consent (an SMS code) to charge
// a payment method every interval.
func (c *Client) CreateSubscription(ctx context.Context, p SubscriptionParams, opts ...CallOption) (*Subscription, error) {
	var out Subscription
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/subscriptions", body: p, idempotent: true}, &out, opts...)
}

// ConfirmSubscription sends the code; the first period is charged.
func (c *Client) ConfirmSubscription(ctx context.Context, id, code string, opts ...CallOption) (*Subscription, error) {
	var out Subscription
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/subscriptions/" + esc(id) + "/confirm", body: map[string]string{"code": code}, idempotent: true}, &out, opts...)
}

// CancelSubscription stops future charges.
func (c *Client) CancelSubscription(ctx context.Context, id string, opts ...CallOption) (*Subscription, error) {
	var out Subscription
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/subscriptions/" + esc(id) + "/cancel", body: struct{}{}, idempotent: true}, &out, opts...)
}

// GetSubscription reads a subscription.
func (c *Client) GetSubscription(ctx context.Context, id string) (*Subscription, error) {
	var out Subscription
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/subscriptions/" + esc(id)}, &out)
}

// ListSubscriptions reads one page of subscriptions, newest first; status
// may be empty.
func (c *Client) ListSubscriptions(ctx context.Context, p ListParams, status string) (*List[Subscription], error) {
	q := p.values()
	if status != "" {
		q.Set("status", status)
	}
	var out List[Subscription]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/subscriptions", query: q}, &out)
}

// Subscriptions walks every subscription, page after page.
func (c *Client) Subscriptions(ctx context.Context, p ListParams, status string) iter.Seq2[Subscription, error] {
	return all(ctx, p, func(s Subscription) string { return s.ID }, func(ctx context.Context, lp ListParams) (*List[Subscription], error) {
		return c.ListSubscriptions(ctx, lp, status)
	})
}
