// Package batch runs concurrent calls of one kind together, as a database
// does group commit: while one batch is running, the calls that arrive
// wait and form the next. Nothing waits on a timer, so a lone call runs at
// once and batches only grow when calls overlap, that is with load.
package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Func runs one batch: one output per input, in the same order, or an
// error for the whole batch.
type Func[In, Out any] func(ctx context.Context, ins []In) ([]Out, error)

// Batcher coalesces calls to one Func. The zero value is not usable; see New.
type Batcher[In, Out any] struct {
	run Func[In, Out]
	max int

	mu      sync.Mutex
	queue   []*call[In, Out]
	running bool

	batches, items atomic.Uint64
	waited, ran    atomic.Int64 // nanoseconds: calls queued before their batch; batches running
}

type call[In, Out any] struct {
	in  In
	out Out
	err error
	// lead is set when the call is woken to run the next batch itself
	// rather than with its result.
	lead bool
	done chan struct{}
	// queued is when the call joined, for Stats.Waited.
	queued time.Time
}

// New returns a Batcher running at most max inputs per batch (max >= 1).
func New[In, Out any](max int, run Func[In, Out]) *Batcher[In, Out] {
	if max < 1 {
		max = 1
	}
	return &Batcher[In, Out]{run: run, max: max}
}

// errShared is a batch's error as its calls see it when there were several:
// each then runs alone, so one bad input fails only its own call.
type errShared struct{ err error }

func (e *errShared) Error() string { return "batch failed: " + e.err.Error() }

// Do runs in within the next batch and returns its output. The batch runs
// on the context of the call that leads it, without its cancellation but
// with its deadline: the calls that joined it must not fail because that
// caller went away. A call whose context ends while it waits for the next
// batch leaves with the context's error; once its batch runs, it waits for
// it. When a batch of several fails, each of its calls runs again alone, and
// gets that run's output or error.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	out, err := b.join(ctx, in)
	var shared *errShared
	if !errors.As(err, &shared) {
		return out, err
	}
	began := time.Now()
	outs, panicked, err := b.call(ctx, []In{in})
	b.ran.Add(int64(time.Since(began)))
	b.batches.Add(1)
	b.items.Add(1)
	if panicked != nil {
		panic(panicked)
	}
	if err == nil && len(outs) != 1 {
		err = errors.New("batch: wrong number of outputs")
	}
	if err != nil {
		var zero Out
		return zero, err
	}
	return outs[0], nil
}

func (b *Batcher[In, Out]) join(ctx context.Context, in In) (Out, error) {
	c := &call[In, Out]{in: in, done: make(chan struct{}), queued: time.Now()}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	if b.running {
		b.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			if b.leave(c) {
				var zero Out
				return zero, ctx.Err()
			}
			<-c.done // in a running batch, or just made its leader
		}
		if !c.lead {
			return c.out, c.err
		}
		b.mu.Lock()
	}
	b.running = true
	n := min(len(b.queue), b.max)
	calls := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	bctx := context.WithoutCancel(ctx)
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		bctx, cancel = context.WithDeadline(bctx, deadline)
		defer cancel()
	}
	panicked := b.runBatch(bctx, c, calls)

	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue[0]
		next.lead = true
		close(next.done) // it takes the queue, this caller goes back
	} else {
		b.running = false
		b.queue = nil // let the backing array go
	}
	b.mu.Unlock()
	if panicked != nil {
		panic(panicked)
	}
	return c.out, c.err
}

// leave takes c out of the queue if no batch has taken it, nor made it the
// next leader; false means c must wait for its answer.
func (b *Batcher[In, Out]) leave(c *call[In, Out]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.lead {
		return false
	}
	for i, q := range b.queue {
		if q == c {
			b.queue = append(b.queue[:i:i], b.queue[i+1:]...)
			return true
		}
	}
	return false
}

func (b *Batcher[In, Out]) runBatch(ctx context.Context, leader *call[In, Out], calls []*call[In, Out]) (panicked any) {
	ins := make([]In, len(calls))
	began := time.Now()
	var waited time.Duration
	for i, c := range calls {
		ins[i] = c.in
		waited += began.Sub(c.queued)
	}
	outs, panicked, err := b.call(ctx, ins)
	b.waited.Add(int64(waited))
	b.ran.Add(int64(time.Since(began)))
	if err == nil && len(outs) != len(ins) {
		err = errors.New("batch: wrong number of outputs")
	}
	b.batches.Add(1)
	b.items.Add(uint64(len(calls)))
	for i, c := range calls {
		switch {
		case err != nil && len(calls) > 1:
			c.err = &errShared{err}
		case err != nil:
			c.err = err
		default:
			c.out = outs[i]
		}
		if c != leader { // the leader is not waiting
			close(c.done)
		}
	}
	return panicked
}

// call runs the Func, turning a panic into the batch's error so that the
// calls waiting on it are answered; the leader panics again afterwards.
func (b *Batcher[In, Out]) call(ctx context.Context, ins []In) (outs []Out, panicked any, err error) {
	defer func() {
		if p := recover(); p != nil {
			outs, panicked, err = nil, p, fmt.Errorf("batch panicked: %v", p)
		}
	}()
	outs, err = b.run(ctx, ins)
	return outs, nil, err
}

// Stats count a Batcher's work: Calls / Batches is its mean batch size,
// Waited / Calls how long a call waits for its batch to begin, Ran /
// Batches how long a batch runs.
type Stats struct {
	Batches, Calls uint64
	Waited, Ran    time.Duration
}

// Stats are the statements run so far and the calls they served, the
// retries alone after a failed batch included.
func (b *Batcher[In, Out]) Stats() Stats {
	return Stats{Batches: b.batches.Load(), Calls: b.items.Load(),
		Waited: time.Duration(b.waited.Load()), Ran: time.Duration(b.ran.Load())}
}

// Match lays out rows read for keys in the keys' order, as a Func that
// reads by key answers: a copy of the row for each key (callers may change
// theirs, and a key may be asked twice), nil where no row has it.
func Match[K comparable, R any](keys []K, rows []R, keyOf func(*R) K) []*R {
	byKey := make(map[K]*R, len(rows))
	for i := range rows {
		byKey[keyOf(&rows[i])] = &rows[i]
	}
	out := make([]*R, len(keys))
	for i, k := range keys {
		if r := byKey[k]; r != nil {
			c := *r
			out[i] = &c
		}
	}
	return out
}
