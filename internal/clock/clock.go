// Package clock is the one source of "now" for everything that depends on it:
// code expiry, retry schedules, webhook tolerance, business days. Tests and
// test mode move it; nothing sleeps to make time pass.
package clock

import (
	"slices"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Timers is a clock that can also wait. Test mode's Offset is one, so
// whatever waits on it (the simulated carriers) moves when it is moved.
type Timers interface {
	Clock
	After(d time.Duration) <-chan time.Time
}

// System is the wall clock.
type System struct{}

// Now returns the current UTC time.
func (System) Now() time.Time { return time.Now().UTC() }

// Offset is a wall clock that can be moved forward, for test mode's
// POST /v1/test_helpers/clock/advance: time keeps flowing, shifted.
type Offset struct {
	mu      sync.RWMutex
	offset  time.Duration
	waiters []*waiter
}

type waiter struct {
	at    time.Time
	ch    chan time.Time
	timer *time.Timer // fires when wall time reaches at; re-armed on Advance
}

// Now returns the wall clock plus every advance so far.
func (o *Offset) Now() time.Time {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return time.Now().UTC().Add(o.offset)
}

// Advance moves the clock forward by d (never backward).
func (o *Offset) Advance(d time.Duration) {
	if d <= 0 {
		return
	}
	o.mu.Lock()
	o.offset += d
	now := time.Now().UTC().Add(o.offset)
	var due []*waiter
	kept := o.waiters[:0]
	for _, w := range o.waiters {
		if w.at.After(now) {
			w.timer.Reset(w.at.Sub(now)) // what is left of it, no longer all of it
			kept = append(kept, w)
		} else {
			w.timer.Stop()
			due = append(due, w)
		}
	}
	o.waiters = kept
	o.mu.Unlock()
	for _, w := range due {
		w.ch <- now
	}
}

// After fires once the clock reaches now+d: when that much wall time has
// passed, or sooner when Advance moves the clock past it. It lets test
// mode's simulated carriers wait on the same clock the merchant moves.
func (o *Offset) After(d time.Duration) <-chan time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := &waiter{at: time.Now().UTC().Add(o.offset).Add(d), ch: make(chan time.Time, 1)}
	w.timer = time.AfterFunc(d, func() { o.release(w) })
	o.waiters = append(o.waiters, w)
	return w.ch
}

// release fires w if Advance has not already.
func (o *Offset) release(w *waiter) {
	o.mu.Lock()
	i := slices.Index(o.waiters, w)
	if i >= 0 {
		o.waiters = slices.Delete(o.waiters, i, i+1)
	}
	o.mu.Unlock()
	if i >= 0 {
		w.ch <- o.Now()
	}
}

// NowOrNil is for river's test time: the shifted time once the clock has
// been advanced, so jobs scheduled on the shifted clock come due; nil
// otherwise, so river keeps using the database's own clock.
func (o *Offset) NowOrNil() *time.Time {
	o.mu.RLock()
	off := o.offset
	o.mu.RUnlock()
	if off == 0 {
		return nil
	}
	t := time.Now().Add(off)
	return &t
}

// Manual is a clock that stands still until a test moves it. It is also
// river's test time, so jobs scheduled on it come due when it is moved.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a clock stopped at t.
func NewManual(t time.Time) *Manual { return &Manual{now: t.UTC()} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// NowOrNil always answers the stubbed time (river's TimeGenerator).
func (m *Manual) NowOrNil() *time.Time {
	t := m.Now()
	return &t
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t.UTC()
	m.mu.Unlock()
}
