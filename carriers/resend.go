package carriers

import "context"

type resendKey struct{}

// WithResend marks a request as safe to resend: it carries an idempotency
// reference the carrier honours (clientCorrelator), or it only reads.
func WithResend(ctx context.Context) context.Context {
	return context.WithValue(ctx, resendKey{}, true)
}

// Resendable reports whether the request's context was marked WithResend.
func Resendable(ctx context.Context) bool {
	v, _ := ctx.Value(resendKey{}).(bool)
	return v
}
