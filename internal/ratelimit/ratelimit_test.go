package ratelimit_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tollgate/internal/clock"
	"tollgate/internal/ratelimit"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

var start = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func refused(t *testing.T, err error) *ratelimit.Refused {
	t.Helper()
	var r *ratelimit.Refused
	if !errors.As(err, &r) {
		t.Fatalf("want a refusal, got %v", err)
	}
	return r
}

// The quota is a burst of Count, then one more each Per/Count: five codes at
// once, the sixth waits two minutes, and the window is per key.
func TestSharedLetsTheQuotaThroughThenRefusesUntilItRefills(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewManual(start)
		s, err := ratelimit.NewShared(st.DB, clk, map[string]ratelimit.Quota{"sms": {Count: 5, Per: 10 * time.Minute}})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := range 5 {
			if err := s.Take(ctx, "sms", "number-a"); err != nil {
				t.Fatalf("code %d: %v", i+1, err)
			}
		}
		r := refused(t, s.Take(ctx, "sms", "number-a"))
		if r.Rule != "sms" || r.RetryAfter <= 0 || r.RetryAfter > 2*time.Minute {
			t.Fatalf("refusal %+v: want rule sms, retry within 2m", r)
		}
		if err := s.Take(ctx, "sms", "number-b"); err != nil {
			t.Fatalf("another number shares no bucket: %v", err)
		}
		clk.Advance(r.RetryAfter)
		if err := s.Take(ctx, "sms", "number-a"); err != nil {
			t.Fatalf("after Retry-After: %v", err)
		}
		refused(t, s.Take(ctx, "sms", "number-a"))
		clk.Advance(10 * time.Minute)
		for i := range 5 {
			if err := s.Take(ctx, "sms", "number-a"); err != nil {
				t.Fatalf("a full window later, code %d: %v", i+1, err)
			}
		}
		// number-b's bucket refilled long ago: only its row goes.
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep: %d rows, %v; want number-b's only", n, err)
		}
		refused(t, s.Take(ctx, "sms", "number-a"))
		clk.Advance(time.Hour)
		if n, err := s.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("sweep an hour later: %d rows, %v; want number-a's", n, err)
		}
	})
}

// On PostgreSQL the counters are unlogged: a check waits for no WAL flush
// (the migration's trade: a crash empties them).
func TestSharedCountersAreUnloggedOnPostgres(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		if d != store.Postgres {
			continue
		}
		st := storetest.New(t, d)
		var persistence string
		if err := st.DB.Raw("SELECT relpersistence FROM pg_class WHERE oid = to_regclass('rate_limits')").Scan(&persistence).Error; err != nil {
			t.Fatal(err)
		}
		if persistence != "u" {
			t.Fatalf("rate_limits relpersistence = %q, want u (unlogged)", persistence)
		}
	}
}

// Two gateway nodes on one database share the count: what one spends, the
// other cannot spend again, even when every request races.
func TestSharedHoldsAcrossNodesUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		clk := clock.NewManual(start)
		rules := map[string]ratelimit.Quota{"sms": {Count: 5, Per: 10 * time.Minute}}
		var nodes []*ratelimit.Shared
		for range 2 {
			s, err := ratelimit.NewShared(st.DB, clk, rules)
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, s)
		}
		var allowed, refusedN atomic.Int64
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := nodes[i%2].Take(context.Background(), "sms", "one-number")
				var r *ratelimit.Refused
				switch {
				case err == nil:
					allowed.Add(1)
				case errors.As(err, &r):
					refusedN.Add(1)
				default:
					t.Errorf("take: %v", err)
				}
			}()
		}
		wg.Wait()
		if allowed.Load() != 5 || refusedN.Load() != 35 {
			t.Fatalf("allowed %d, refused %d; want exactly 5 and 35", allowed.Load(), refusedN.Load())
		}
	})
}

func TestSharedOffRuleAndUnknownRule(t *testing.T) {
	st := storetest.New(t, store.SQLite)
	s, err := ratelimit.NewShared(st.DB, clock.NewManual(start), map[string]ratelimit.Quota{"charges": {}})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if err := s.Take(context.Background(), "charges", "k"); err != nil {
			t.Fatalf("an off rule refused: %v", err)
		}
	}
	err = s.Take(context.Background(), "typo", "k")
	var r *ratelimit.Refused
	if err == nil || errors.As(err, &r) {
		t.Fatalf("an unknown rule must be an error, not a pass or a refusal: %v", err)
	}
}

func TestLocalTakeAndCheck(t *testing.T) {
	clk := clock.NewManual(start)
	l := ratelimit.NewLocal("failed_auth", ratelimit.Quota{Count: 3, Per: time.Minute}, clk)
	if err := l.Check("10.0.0.1"); err != nil {
		t.Fatalf("an address never seen is not refused: %v", err)
	}
	for range 3 {
		if err := l.Take("10.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}
	r := refused(t, l.Check("10.0.0.1"))
	if r.RetryAfter <= 0 || r.RetryAfter > 20*time.Second {
		t.Fatalf("retry after %s, want within one interval (20s)", r.RetryAfter)
	}
	refused(t, l.Take("10.0.0.1"))
	if err := l.Check("10.0.0.2"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	clk.Advance(20 * time.Second)
	if err := l.Check("10.0.0.1"); err != nil {
		t.Fatalf("a refusal spends nothing, so one interval later one more passes: %v", err)
	}
	if err := l.Take("10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	refused(t, l.Take("10.0.0.1"))

	off := ratelimit.NewLocal("per_key", ratelimit.Quota{}, clk)
	for range 1000 {
		if err := off.Take("k"); err != nil {
			t.Fatal(err)
		}
	}
}
