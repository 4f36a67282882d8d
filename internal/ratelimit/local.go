package ratelimit

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"tollgate/internal/clock"
)

// localKeys bounds the memory of a local limit: the least recently seen
// keys are forgotten first (a forgotten key starts again with a full
// bucket, which errs on the side of letting a client through).
const localKeys = 100_000

// Local is one named limit kept in this node's memory.
type Local struct {
	rule  string
	quota Quota
	clock clock.Clock

	mu      sync.Mutex
	buckets *lru.Cache[string, *rate.Limiter]
}

// NewLocal builds a per-node limit; with an off quota it lets everything
// through.
func NewLocal(rule string, q Quota, clk clock.Clock) *Local {
	l := &Local{rule: rule, quota: q, clock: clk}
	if !q.Off() {
		l.buckets, _ = lru.New[string, *rate.Limiter](localKeys) // only fails on a size < 1
	}
	return l
}

func (l *Local) bucket(key string) *rate.Limiter {
	b, ok := l.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(rate.Every(l.quota.interval()), l.quota.Count)
		l.buckets.Add(key, b)
	}
	return b
}

// Take spends one event for key, or returns a *Refused without spending.
func (l *Local) Take(key string) error {
	if l == nil || l.quota.Off() {
		return nil
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.bucket(key).ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return &Refused{Rule: l.rule, RetryAfter: d}
	}
	return nil
}

// Check reports, without spending, whether key's bucket is empty: a
// client address that used up its failed sign-ins is turned away before
// its next key is even looked up.
func (l *Local) Check(key string) error {
	if l == nil || l.quota.Off() {
		return nil
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets.Get(key)
	if !ok {
		return nil
	}
	if missing := 1 - b.TokensAt(now); missing > 0 {
		wait := time.Duration(missing * float64(l.quota.interval()))
		return &Refused{Rule: l.rule, RetryAfter: wait}
	}
	return nil
}
