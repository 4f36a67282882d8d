package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// gate is a Func that records each batch and holds it until released.
type gate struct {
	mu      sync.Mutex
	batches [][]int
	hold    chan struct{}
}

func (g *gate) run(ctx context.Context, ins []int) ([]int, error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(ins))
	g.mu.Unlock()
	if g.hold != nil {
		<-g.hold
	}
	outs := make([]int, len(ins))
	for i, in := range ins {
		outs[i] = in * 10
	}
	return outs, nil
}

// waitQueued yields until n calls wait behind the running batch.
func waitQueued[In, Out any](b *Batcher[In, Out], n int) {
	for {
		b.mu.Lock()
		q := len(b.queue)
		b.mu.Unlock()
		if q >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestALoneCallRunsAtOnceAlone(t *testing.T) {
	g := &gate{}
	b := New(8, g.run)
	for i := 1; i <= 3; i++ {
		out, err := b.Do(context.Background(), i)
		if err != nil || out != i*10 {
			t.Fatalf("Do(%d) = %d, %v", i, out, err)
		}
	}
	if want := [][]int{{1}, {2}, {3}}; !slices.EqualFunc(g.batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", g.batches, want)
	}
}

// Calls that arrive while a batch runs form the next one, at most max at a
// time, and each gets its own output.
func TestCallsArrivingDuringABatchFormTheNext(t *testing.T) {
	g := &gate{hold: make(chan struct{})}
	b := New(3, g.run)
	var wg sync.WaitGroup
	got := make([]int, 8)
	do := func(i int) {
		defer wg.Done()
		out, err := b.Do(context.Background(), i)
		if err != nil {
			t.Errorf("Do(%d): %v", i, err)
		}
		got[i] = out
	}
	wg.Add(1)
	go do(0)
	for { // the first batch is running, alone
		g.mu.Lock()
		n := len(g.batches)
		g.mu.Unlock()
		if n == 1 {
			break
		}
		runtime.Gosched()
	}
	for i := 1; i < 8; i++ {
		wg.Add(1)
		go do(i)
		waitQueued(b, i) // in a known order
	}
	close(g.hold)
	wg.Wait()
	for i, out := range got {
		if out != i*10 {
			t.Errorf("call %d got %d, want %d", i, out, i*10)
		}
	}
	want := [][]int{{0}, {1, 2, 3}, {4, 5, 6}, {7}}
	if !slices.EqualFunc(g.batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", g.batches, want)
	}
	st := b.Stats()
	if st.Batches != 4 || st.Calls != 8 {
		t.Fatalf("Stats() = %+v, want 4 batches of 8 calls", st)
	}
	// Calls 1 to 7 queued behind the held batch: they waited, and it ran.
	if st.Waited <= 0 || st.Ran <= 0 {
		t.Fatalf("Stats() = %+v, want time waited and run", st)
	}
}

// A batch of several that fails runs each call again alone: only the bad
// input fails, with its own error.
func TestAFailedBatchRunsEachCallAlone(t *testing.T) {
	bad := errors.New("bad input")
	hold := make(chan struct{})
	var first sync.Once
	var mu sync.Mutex
	var sizes []int
	b := New(8, func(ctx context.Context, ins []int) ([]int, error) {
		first.Do(func() { <-hold })
		mu.Lock()
		sizes = append(sizes, len(ins))
		mu.Unlock()
		if slices.Contains(ins, 2) {
			return nil, bad
		}
		return ins, nil
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	outs := make([]int, 4)
	do := func(i int) { defer wg.Done(); outs[i], errs[i] = b.Do(context.Background(), i) }
	wg.Add(1)
	go do(0)
	waitRunning(b)
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go do(i)
	}
	waitQueued(b, 3)
	close(hold)
	wg.Wait()
	for i, err := range errs {
		switch {
		case i == 2 && err != bad:
			t.Errorf("the bad input got %v, want its own error", err)
		case i != 2 && (err != nil || outs[i] != i):
			t.Errorf("call %d got %d, %v", i, outs[i], err)
		}
	}
	slices.Sort(sizes)
	if want := []int{1, 1, 1, 1, 3}; !slices.Equal(sizes, want) {
		t.Fatalf("batch sizes %v, want %v (the first, the failed three, each again)", sizes, want)
	}
}

func TestAWrongNumberOfOutputsIsAnError(t *testing.T) {
	b := New(8, func(ctx context.Context, ins []int) ([]int, error) { return nil, nil })
	if _, err := b.Do(context.Background(), 1); err == nil {
		t.Fatal("Do = nil error for a Func that answered nothing")
	}
}

// The leader's caller going away must not cancel the calls batched with it.
func TestTheBatchOutlivesItsLeadersCancellation(t *testing.T) {
	b := New(8, func(ctx context.Context, ins []int) ([]int, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return ins, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out, err := b.Do(ctx, 7); err != nil || out != 7 {
		t.Fatalf("Do = %d, %v; want 7, nil", out, err)
	}
}

// A panic ends the batch: its leader panics, the calls batched with it run
// again alone, and the Batcher stays usable.
func TestAPanicAnswersTheCallsBatchedWithIt(t *testing.T) {
	hold := make(chan struct{})
	var first sync.Once
	b := New(8, func(ctx context.Context, ins []int) ([]int, error) {
		first.Do(func() { <-hold })
		if slices.Contains(ins, 0) {
			panic("bug")
		}
		return ins, nil
	})
	go b.Do(context.Background(), 1) // holds the first batch
	waitRunning(b)
	leader := make(chan any)
	go func() {
		defer func() { leader <- recover() }()
		b.Do(context.Background(), 0)
	}()
	waitQueued(b, 1)
	joined := make(chan error)
	go func() { _, err := b.Do(context.Background(), 2); joined <- err }()
	waitQueued(b, 2)
	close(hold)
	if p := <-leader; p != "bug" {
		t.Fatalf("leader recovered %v, want the panic", p)
	}
	if err := <-joined; err != nil {
		t.Fatalf("the call batched with the panic, run alone, got %v", err)
	}
	if out, err := b.Do(context.Background(), 3); err != nil || out != 3 {
		t.Fatalf("after the panic Do = %d, %v; want 3, nil", out, err)
	}
}

func TestManyConcurrentCallersEachGetTheirOwnOutput(t *testing.T) {
	b := New(16, func(ctx context.Context, ins []int) ([]int, error) {
		outs := make([]int, len(ins))
		for i, in := range ins {
			outs[i] = in + 1
		}
		return outs, nil
	})
	const workers, each = 32, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				in := w*each + i
				if out, err := b.Do(context.Background(), in); err != nil || out != in+1 {
					t.Errorf("Do(%d) = %d, %v", in, out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := b.Stats(); st.Calls != workers*each || st.Batches == 0 || st.Batches > st.Calls {
		t.Fatalf("Stats() = %+v, want %d calls", st, workers*each)
	}
}

// A call whose context ends while it waits for the next batch leaves, and
// its input is not run.
func TestAQueuedCallLeavesWhenItsContextEnds(t *testing.T) {
	g := &gate{hold: make(chan struct{})}
	b := New(8, g.run)
	first := make(chan error)
	go func() { _, err := b.Do(context.Background(), 1); first <- err }()
	waitRunning(b)
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error)
	go func() { _, err := b.Do(ctx, 2); left <- err }()
	waitQueued(b, 1)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the queued call whose context ended got %v", err)
	}
	close(g.hold)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if out, err := b.Do(context.Background(), 3); err != nil || out != 30 {
		t.Fatalf("Do(3) = %d, %v", out, err)
	}
	if want := [][]int{{1}, {3}}; !slices.EqualFunc(g.batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v: the call that left must not run", g.batches, want)
	}
}

// The batch keeps its leader's deadline, so a stalled statement ends.
func TestTheBatchKeepsItsLeadersDeadline(t *testing.T) {
	want := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b := New(8, func(ctx context.Context, ins []int) ([]int, error) {
		if got, ok := ctx.Deadline(); !ok || !got.Equal(want) {
			return nil, fmt.Errorf("deadline %v, %v", got, ok)
		}
		return ins, nil
	})
	ctx, cancel := context.WithDeadline(context.Background(), want)
	defer cancel()
	if _, err := b.Do(ctx, 1); err != nil {
		t.Fatal(err)
	}
}

func waitRunning[In, Out any](b *Batcher[In, Out]) {
	for {
		b.mu.Lock()
		running := b.running
		b.mu.Unlock()
		if running {
			return
		}
		runtime.Gosched()
	}
}

func TestMatchLaysRowsOutInTheKeysOrder(t *testing.T) {
	type row struct {
		id string
		n  int
	}
	got := Match([]string{"b", "x", "a", "b"}, []row{{"a", 1}, {"b", 2}}, func(r *row) string { return r.id })
	if len(got) != 4 || got[0].n != 2 || got[1] != nil || got[2].n != 1 || got[3].n != 2 {
		t.Fatalf("Match = %v", got)
	}
	if got[0] == got[3] {
		t.Fatal("a key asked twice shares one row")
	}
}
