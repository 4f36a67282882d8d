package billing

import (
	"context"

	"tollgate/internal/ratelimit"
)

// Limiter is what billing needs of the shared rate limits: Take spends one
// event of a rule for a key, or returns a *ratelimit.Refused. The counts
// live in the database, so every gateway node sees the same phone.
type Limiter interface {
	Take(ctx context.Context, rule, key string) error
}

// The limits billing takes, keyed by the phone number's blind index so the
// number itself is never a key.
const (
	// LimitSMSPerNumber counts confirmation codes sent to one phone,
	// whichever merchant asks: a person's phone is not a merchant's to flood.
	LimitSMSPerNumber = "sms_per_number"
	// LimitChargesPerNumber counts charge attempts on one phone, whichever
	// merchant makes them.
	LimitChargesPerNumber = "charges_per_number"
)

// Limits lists the rules billing takes, for building the limiter.
func Limits() []string { return []string{LimitSMSPerNumber, LimitChargesPerNumber} }

// limit takes one event of rule for a phone's blind index; over the limit
// it is a 429 problem with Retry-After, before anything is written.
func (s *Service) limit(ctx context.Context, rule, index string) error {
	what := "charges on this phone number, from any merchant; nothing was charged"
	if rule == LimitSMSPerNumber {
		what = "confirmation codes sent to this phone number, from any merchant; nothing was sent"
	}
	return ratelimit.Problem(s.limits.Take(ctx, rule, index), what)
}
