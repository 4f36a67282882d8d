package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// esc escapes an id for a path segment.
func esc(id string) string { return url.PathEscape(id) }

// CreateCharge creates a charge with a fresh Idempotency-Key (or the one
// given with IdempotencyKey); a retry after a timeout charges nothing again.
func (c *Client) CreateCharge(ctx context.Context, p ChargeParams, opts ...CallOption) (*Charge, error) {
	var out Charge
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/charges", body: p, idempotent: true}, &out, opts...)
}

// ConfirmCharge sends the SMS code the subscriber typed.
func (c *Client) ConfirmCharge(ctx context.Context, id, code string, opts ...CallOption) (*Charge, error) {
	var out Charge
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/charges/" + esc(id) + "/confirm", body: map[string]string{"code": code}, idempotent: true}, &out, opts...)
}

// CancelCharge cancels a charge still waiting for its code or its time.
func (c *Client) CancelCharge(ctx context.Context, id string, opts ...CallOption) (*Charge, error) {
	var out Charge
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/charges/" + esc(id) + "/cancel", body: struct{}{}, idempotent: true}, &out, opts...)
}

// GetCharge reads a charge.
func (c *Client) GetCharge(ctx context.Context, id string) (*Charge, error) {
	var out Charge
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/charges/" + esc(id)}, &out)
}

// ListCharges reads one page of charges, newest first.
func (c *Client) ListCharges(ctx context.Context, p ChargeListParams) (*List[Charge], error) {
	q := p.values()
	for k, v := range map[string]string{"status": p.Status, "carrier": p.Carrier, "merchant_reference": p.MerchantReference} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !p.CreatedGTE.IsZero() {
		q.Set("created_gte", p.CreatedGTE.Format(time.RFC3339))
	}
	if !p.CreatedLT.IsZero() {
		q.Set("created_lt", p.CreatedLT.Format(time.RFC3339))
	}
	var out List[Charge]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/charges", query: q}, &out)
}

// Charges walks every charge matching p, page after page.
func (c *Client) Charges(ctx context.Context, p ChargeListParams) iter.Seq2[Charge, error] {
	return all(ctx, p.ListParams, func(ch Charge) string { return ch.ID }, func(ctx context.Context, lp ListParams) (*List[Charge], error) {
		p.ListParams = lp
		return c.ListCharges(ctx, p)
	})
}

// CreateRefund refunds part (Amount) or the rest (zero Amount) of a charge.
func (c *Client) CreateRefund(ctx context.Context, chargeID string, p RefundParams, opts ...CallOption) (*Refund, error) {
	var out Refund
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/charges/" + esc(chargeID) + "/refunds", body: p, idempotent: true}, &out, opts...)
}

// ListRefunds lists a charge's refunds.
func (c *Client) ListRefunds(ctx context.Context, chargeID string) (*List[Refund], error) {
	var out List[Refund]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/charges/" + esc(chargeID) + "/refunds"}, &out)
}

// GetRefund reads one refund of a charge.
func (c *Client) GetRefund(ctx context.Context, chargeID, refundID string) (*Refund, error) {
	var out Refund
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/charges/" + esc(chargeID) + "/refunds/" + esc(refundID)}, &out)
}

// CreatePaymentMethod starts a one-tap opt-in: the subscriber is texted a code.
func (c *Client) CreatePaymentMethod(ctx context.Context, p PaymentMethodParams, opts ...CallOption) (*PaymentMethod, error) {
	var out PaymentMethod
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/payment_methods", body: p, idempotent: true}, &out, opts...)
}

// ConfirmPaymentMethod sends the code; the method becomes active.
func (c *Client) ConfirmPaymentMethod(ctx context.Context, id, code string, opts ...CallOption) (*PaymentMethod, error) {
	var out PaymentMethod
	return &out, c.do(ctx, request{method: http.MethodPost, path: "/v1/payment_methods/" + esc(id) + "/confirm", body: map[string]string{"code": code}, idempotent: true}, &out, opts...)
}

// GetPaymentMethod reads a payment method.
func (c *Client) GetPaymentMethod(ctx context.Context, id string) (*PaymentMethod, error) {
	var out PaymentMethod
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/payment_methods/" + esc(id)}, &out)
}

// RevokePaymentMethod ends the one-tap consent.
func (c *Client) RevokePaymentMethod(ctx context.Context, id string) (*PaymentMethod, error) {
	var out PaymentMethod
	return &out, c.do(ctx, request{method: http.MethodDelete, path: "/v1/payment_methods/" + esc(id)}, &out)
}

// Carriers lists the carriers this key may charge through, with their
// amounts, refund rules and live state.
func (c *Client) Carriers(ctx context.Context) (*List[Carrier], error) {
	var out List[Carrier]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/carriers"}, &out)
}

// TestSMS lists the texts the simulated carriers sent to msisdn about this
// merchant's charges and payment methods, newest first (test keys only).
func (c *Client) TestSMS(ctx context.Context, msisdn string) (*List[TestSMS], error) {
	var out List[TestSMS]
	return &out, c.do(ctx, request{method: http.MethodGet, path: "/v1/test_helpers/sms", query: url.Values{"msisdn": {msisdn}}}, &out)
}
