package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"tollgate/internal/clock"
)

// Shared holds named limits whose counts live in the database.
type Shared struct {
	db    *gorm.DB
	clock clock.Clock
	rules map[string]*gcra
}

// gcra is one rule's generic cell-rate algorithm, as throttled's
// GCRARateLimiter computes it for a quota of Count per Per in a burst of
// Count: each event moves the key's theoretical arrival time (TAT) on by
// one emission interval (Per/Count) from the later of the TAT and now, and
// is refused when that would put the TAT more than Per (the tolerance)
// past now.
type gcra struct {
	emission  time.Duration
	tolerance time.Duration
}

// NewShared builds the named limits; a rule whose quota is off lets
// everything through without touching the database.
func NewShared(db *gorm.DB, clk clock.Clock, rules map[string]Quota) (*Shared, error) {
	if db == nil || clk == nil {
		return nil, errors.New("ratelimit: a database and a clock are required")
	}
	s := &Shared{db: db, clock: clk, rules: map[string]*gcra{}}
	for name, q := range rules {
		if q.Off() {
			s.rules[name] = nil
			continue
		}
		if q.Per <= 0 || q.interval() <= 0 {
			return nil, fmt.Errorf("ratelimit: rule %s: a positive period of at least a nanosecond per event is required", name)
		}
		s.rules[name] = &gcra{emission: q.interval(), tolerance: q.interval() * time.Duration(q.Count)}
	}
	return s, nil
}

// takeSQL spends one event in one statement, both stores: the row is
// inserted (a new key: its burst is full), or its TAT moved on where the
// event fits. base is the later of the stored TAT and now (an expired row
// counts as none); the event fits while base is at most now + tolerance -
// emission. PostgreSQL re-checks the WHERE on the row as it is once locked,
// and SQLite's writers queue, so racing nodes each see the other's event:
// no read, and no compare-and-swap to retry.
const takeSQL = `INSERT INTO rate_limits (key, value, expires_at) VALUES (@key, @fresh_tat, @fresh_expiry)
	ON CONFLICT (key) DO UPDATE SET
		value = ` + baseSQL + ` + @emission,
		expires_at = CASE WHEN ` + baseSQL + ` + @emission > @min_expiry THEN ` + baseSQL + ` + @emission ELSE @min_expiry END
	WHERE ` + baseSQL + ` <= @latest_base`

const baseSQL = `(CASE WHEN rate_limits.expires_at > @now AND rate_limits.value > @now THEN rate_limits.value ELSE @now END)`

// minTTL keeps a row at least a second: a row must outlive its own write.
const minTTL = time.Second

// Take spends one event of rule for key (a merchant id, a number's blind
// index; never a phone number in clear). Over the limit it returns a
// *Refused; a database failure is returned as is.
func (s *Shared) Take(ctx context.Context, rule, key string) error {
	g, ok := s.rules[rule]
	if !ok {
		return fmt.Errorf("ratelimit: no rule %q", rule)
	}
	if g == nil {
		return nil
	}
	key = rule + ":" + key
	now := s.clock.Now().UnixNano()
	res := s.db.WithContext(ctx).Exec(takeSQL, map[string]any{"key": key, "now": now, "emission": int64(g.emission),
		"fresh_tat": now + int64(g.emission), "fresh_expiry": now + int64(max(g.emission, minTTL)),
		"min_expiry": now + int64(minTTL), "latest_base": now + int64(g.tolerance-g.emission)})
	if res.Error != nil {
		return fmt.Errorf("rate limit %s: %w", rule, res.Error)
	}
	if res.RowsAffected == 1 {
		return nil
	}
	// Refused: when the event would fit is only read now, on this rarer path.
	var r rateRow
	err := s.db.WithContext(ctx).Where("key = ? AND expires_at > ?", key, now).Take(&r).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("rate limit %s: %w", rule, err)
	}
	wait := time.Duration(max(r.Value, now) + int64(g.emission) - int64(g.tolerance) - now)
	if wait <= 0 {
		wait = time.Second // it came free meanwhile; a retry will tell
	}
	return &Refused{Rule: rule, RetryAfter: wait}
}

// Sweep deletes rows that no longer matter; rows are also overwritten in
// place when their key comes back, so this only bounds the table's size.
func (s *Shared) Sweep(ctx context.Context) (int64, error) {
	res := s.db.WithContext(ctx).Exec("DELETE FROM rate_limits WHERE expires_at <= ?", s.clock.Now().UnixNano())
	return res.RowsAffected, res.Error
}

// rateRow is one limited key: value is its TAT in Unix nanoseconds.
type rateRow struct {
	Key       string `gorm:"primaryKey"`
	Value     int64
	ExpiresAt int64
}

func (rateRow) TableName() string { return "rate_limits" }
