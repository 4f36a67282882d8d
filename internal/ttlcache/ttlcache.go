// Package ttlcache keeps per-node copies of rows that every request reads
// and that rarely change (a merchant's name, its webhook endpoints), for a
// bounded time on the injected clock. A change made on this node drops the
// copy at once (Forget); a change made on another node is seen here once
// the copy is older than the TTL: no message between nodes is needed, and
// the TTL is the bound.
package ttlcache

import (
	"sync"
	"time"

	"tollgate/internal/clock"
)

// Cache maps K to V for at most TTL. The zero TTL (a nil *Cache) keeps
// nothing: every Get misses, so callers read the database each time.
type Cache[K comparable, V any] struct {
	ttl   time.Duration
	max   int
	clock clock.Clock
	mu    sync.Mutex
	gen   uint64 // moved by every Forget, so a read that raced one is not kept
	m     map[K]entry[V]
}

type entry[V any] struct {
	v      V
	stored time.Time
}

// New keeps up to max entries for ttl each; ttl <= 0 is no cache (nil).
// Past max the cache starts over, which bounds what a flood of distinct
// keys can take.
func New[K comparable, V any](ttl time.Duration, max int, clk clock.Clock) *Cache[K, V] {
	if ttl <= 0 {
		return nil
	}
	return &Cache[K, V]{ttl: ttl, max: max, clock: clk, m: make(map[K]entry[V])}
}

// Get returns the copy of k while it is younger than the TTL, and a token
// to hand to Put with what the caller reads on a miss.
func (c *Cache[K, V]) Get(k K) (v V, ok bool, token uint64) {
	if c == nil {
		return v, false, 0
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	// The clock may move backwards in test mode: a copy never lives longer
	// than one TTL from when it was stored, seen from either side.
	if ok && (now.Sub(e.stored) >= c.ttl || e.stored.Sub(now) >= c.ttl) {
		delete(c.m, k)
		ok = false
	}
	return e.v, ok, c.gen
}

// Put keeps v for k, unless a Forget came since the Get that gave token:
// what the caller read may be from before that change.
func (c *Cache[K, V]) Put(k K, v V, token uint64) {
	if c == nil {
		return
	}
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if token != c.gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = entry[V]{v: v, stored: now}
}

// Load returns k's copy, or what read answers, kept unless a Forget came
// while it read. A failed read is not kept. A nil cache reads every time.
func (c *Cache[K, V]) Load(k K, read func() (V, error)) (V, error) {
	v, ok, token := c.Get(k)
	if ok {
		return v, nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	c.Put(k, v, token)
	return v, nil
}

// Forget drops k's copy, after a change to it committed on this node.
func (c *Cache[K, V]) Forget(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, k)
}
