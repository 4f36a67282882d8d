package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/throttled/throttled/v2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"tollgate/internal/clock"
)

// casAttempts bounds how often one decision re-reads a row another node
// changed under it. Past that the thing is under a burst far beyond any
// quota here, and the answer is a refusal, not an error.
const casAttempts = 25

// Shared holds named limits whose counts live in the database.
type Shared struct {
	db    *gorm.DB
	clock clock.Clock
	rules map[string]*throttled.GCRARateLimiterCtx
}

// NewShared builds the named limits; a rule whose quota is off lets
// everything through without touching the database.
func NewShared(db *gorm.DB, clk clock.Clock, rules map[string]Quota) (*Shared, error) {
	if db == nil || clk == nil {
		return nil, errors.New("ratelimit: a database and a clock are required")
	}
	s := &Shared{db: db, clock: clk, rules: map[string]*throttled.GCRARateLimiterCtx{}}
	st := &rowStore{db: db, clock: clk}
	names := make([]string, 0, len(rules))
	for name := range rules {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		q := rules[name]
		if q.Off() {
			s.rules[name] = nil
			continue
		}
		if q.Per <= 0 {
			return nil, fmt.Errorf("ratelimit: rule %s: a positive period is required", name)
		}
		// throttled lets MaxBurst+1 through at once; a quota of Count per
		// Per means Count at once.
		l, err := throttled.NewGCRARateLimiterCtx(st, throttled.RateQuota{MaxRate: throttled.PerDuration(q.Count, q.Per), MaxBurst: q.Count - 1})
		if err != nil {
			return nil, fmt.Errorf("ratelimit: rule %s: %w", name, err)
		}
		l.SetMaxCASAttemptsLimit(casAttempts)
		s.rules[name] = l
	}
	return s, nil
}

// Take spends one event of rule for key (a merchant id, a number's blind
// index; never a phone number in clear). Over the limit it returns a
// *Refused; a database failure is returned as is.
func (s *Shared) Take(ctx context.Context, rule, key string) error {
	l, ok := s.rules[rule]
	if !ok {
		return fmt.Errorf("ratelimit: no rule %q", rule)
	}
	if l == nil {
		return nil
	}
	limited, res, err := l.RateLimitCtx(ctx, rule+":"+key, 1)
	var dbErr *dbError
	if errors.As(err, &dbErr) || err != nil && ctx.Err() != nil {
		return fmt.Errorf("rate limit %s: %w", rule, err)
	}
	if err != nil {
		// throttled gave up after casAttempts lost races: a burst far
		// beyond the quota, so the answer is no.
		return &Refused{Rule: rule, RetryAfter: time.Second}
	}
	if !limited {
		return nil
	}
	wait := res.RetryAfter
	if wait <= 0 {
		wait = time.Second
	}
	return &Refused{Rule: rule, RetryAfter: wait}
}

// Sweep deletes rows that no longer matter; rows are also overwritten in
// place when their key comes back, so this only bounds the table's size.
func (s *Shared) Sweep(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Exec("DELETE FROM rate_limits WHERE expires_at <= ?", s.clock.Now().UnixNano())
	return res.RowsAffected, res.Error
}

// dbError marks errors that came from the database, so Take can tell them
// from throttled's own "too many attempts", which it reports as a plain error.
type dbError struct{ err error }

func (e *dbError) Error() string { return e.err.Error() }
func (e *dbError) Unwrap() error { return e.err }

// rateRow is one limited key.
type rateRow struct {
	Key       string `gorm:"primaryKey"`
	Value     int64
	ExpiresAt int64
}

func (rateRow) TableName() string { return "rate_limits" }

// rowStore is throttled's GCRA store over the rate_limits table. Time is
// the gateway's injected clock, so every node and every test agrees on it.
type rowStore struct {
	db    *gorm.DB
	clock clock.Clock
}

var _ throttled.GCRAStoreCtx = (*rowStore)(nil)

func (st *rowStore) GetWithTime(ctx context.Context, key string) (int64, time.Time, error) {
	now := st.clock.Now()
	var r rateRow
	err := st.db.WithContext(ctx).Where("key = ? AND expires_at > ?", key, now.UnixNano()).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return -1, now, nil
	}
	if err != nil {
		return 0, now, &dbError{err}
	}
	return r.Value, now, nil
}

// SetIfNotExistsWithTTL inserts the key, or takes over a row that expired:
// either way exactly one of several racing nodes wins.
func (st *rowStore) SetIfNotExistsWithTTL(ctx context.Context, key string, value int64, ttl time.Duration) (bool, error) {
	now := st.clock.Now().UnixNano()
	res := st.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "expires_at"}),
		Where:     clause.Where{Exprs: []clause.Expression{clause.Expr{SQL: "rate_limits.expires_at <= ?", Vars: []any{now}}}},
	}).Create(&rateRow{Key: key, Value: value, ExpiresAt: expiry(now, ttl)})
	if res.Error != nil {
		return false, &dbError{res.Error}
	}
	return res.RowsAffected == 1, nil
}

func (st *rowStore) CompareAndSwapWithTTL(ctx context.Context, key string, old, new int64, ttl time.Duration) (bool, error) {
	now := st.clock.Now().UnixNano()
	res := st.db.WithContext(ctx).Model(&rateRow{}).
		Where("key = ? AND value = ? AND expires_at > ?", key, old, now).
		Updates(map[string]any{"value": new, "expires_at": expiry(now, ttl)})
	if res.Error != nil {
		return false, &dbError{res.Error}
	}
	return res.RowsAffected == 1, nil
}

// expiry keeps a row at least a second: throttled asks for a zero TTL when
// the bucket is exactly full again, and a row must outlive its own write.
func expiry(now int64, ttl time.Duration) int64 {
	return now + max(ttl, time.Second).Nanoseconds()
}
