// Package ratelimit says whether one more request, code or charge may go
// now. Shared limits keep their state in the database (table rate_limits),
// so every gateway node on one PostgreSQL counts the same SMS to the same
// phone; the algorithm is GCRA as throttled computes it, one conditional
// upsert per event (shared.go). Local limits
// live in one node's memory (golang.org/x/time/rate) for guards that must
// cost no round trip, such as requests per API key.
package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"tollgate/internal/problem"
)

// Quota is Count events per Per, in a burst of up to Count: "5 per 10
// minutes" lets five through at once, then one every two minutes. A zero
// Count switches the limit off.
type Quota struct {
	Count int
	Per   time.Duration
}

// Off reports whether the quota limits nothing.
func (q Quota) Off() bool { return q.Count <= 0 }

func (q Quota) String() string {
	if q.Off() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", q.Count, q.Per)
}

// interval is the steady pace: one event per interval once the burst is spent.
func (q Quota) interval() time.Duration { return q.Per / time.Duration(q.Count) }

// Refused is the answer over a limit: which one, and when one more would
// be let through.
type Refused struct {
	Rule       string
	RetryAfter time.Duration
}

func (r *Refused) Error() string {
	return fmt.Sprintf("rate limit %s: retry after %s", r.Rule, r.RetryAfter)
}

// RetrySeconds is RetryAfter rounded up to whole seconds, at least one, as
// a Retry-After header says it.
func (r *Refused) RetrySeconds() int {
	s := int((r.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// Problem turns a refusal into the 429 a client sees, saying what was too
// many; any other error (or nil) is returned as it is.
func Problem(err error, tooMany string) error {
	var r *Refused
	if !errors.As(err, &r) {
		return err
	}
	secs := r.RetrySeconds()
	p := problem.New(http.StatusTooManyRequests, problem.CodeRateLimited, fmt.Sprintf("Too many %s. Retry after %d s.", tooMany, secs))
	p.RetryAfter = secs
	return p
}
