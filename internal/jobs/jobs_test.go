package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"tollgate/internal/jobs"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

type pingArgs struct {
	N int `json:"n"`
}

func (pingArgs) Kind() string { return "test_ping" }

// pingWorker reports every job it works.
type pingWorker struct {
	river.WorkerDefaults[pingArgs]
	mu   sync.Mutex
	seen map[int]bool
	ran  chan int
}

func (w *pingWorker) Work(_ context.Context, j *river.Job[pingArgs]) error {
	w.mu.Lock()
	w.seen[j.Args.N] = true
	w.mu.Unlock()
	w.ran <- j.Args.N
	return nil
}

func (w *pingWorker) saw(n int) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen[n]
}

// fresh opens a migrated store of dialect d and returns its URL too (the
// listener connects to the same database and schema).
func fresh(t *testing.T, d store.Dialect) (*store.Store, string) {
	t.Helper()
	ctx := context.Background()
	u := storetest.URL(t, d)
	s, err := store.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Migrate(ctx, s); err != nil {
		t.Fatal(err)
	}
	return s, u
}

// started is a working client over s; pollEvery is its fallback poll;
// listenURL, when set, gives it a LISTEN connection.
func started(t *testing.T, s *store.Store, pollEvery time.Duration, listenURL string) (*jobs.Client, *pingWorker) {
	t.Helper()
	return startedWith(t, s, pollEvery, listenURL, nil)
}

func startedWith(t *testing.T, s *store.Store, pollEvery time.Duration, listenURL string, more func(*river.Workers)) (*jobs.Client, *pingWorker) {
	t.Helper()
	w := &pingWorker{seen: map[int]bool{}, ran: make(chan int, 100)}
	workers := river.NewWorkers()
	river.AddWorker(workers, w)
	if more != nil {
		more(workers)
	}
	o := jobs.Options{Workers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxWorkers: 4, PollEvery: pollEvery}
	if listenURL != "" {
		l, err := jobs.OpenListener(listenURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(l.Close)
		o.Listener = l
	}
	c, err := jobs.New(s, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Stop(ctx)
	})
	return c, w
}

func insertTx(t *testing.T, s *store.Store, c *jobs.Client, n int, commit bool) {
	t.Helper()
	errRollback := errors.New("roll back")
	err := s.DB.Transaction(func(tx *gorm.DB) error {
		if err := jobs.InsertTx(context.Background(), c, tx, pingArgs{N: n}, nil); err != nil {
			return err
		}
		if !commit {
			return errRollback
		}
		return nil
	})
	if commit && err != nil || !commit && !errors.Is(err, errRollback) {
		t.Fatalf("insert job %d (commit %v): %v", n, commit, err)
	}
}

// A job inserted in a transaction that rolls back never existed: it never
// runs, while one committed beside it does. (With LISTEN on PostgreSQL the
// NOTIFY is part of the transaction too, so it is dropped with it.)
func TestJobInsertedInARolledBackTransactionNeverRuns(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, u := fresh(t, d)
			if d != store.Postgres {
				u = "" // SQLite polls
			}
			c, w := started(t, s, 50*time.Millisecond, u)
			insertTx(t, s, c, 1, false)
			insertTx(t, s, c, 2, true)
			select {
			case n := <-w.ran:
				if n != 2 {
					t.Fatalf("job %d ran, want the committed job 2 first", n)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the committed job never ran")
			}
			if w.saw(1) {
				t.Fatal("the rolled-back job ran")
			}
			var n int64
			if err := s.DB.Table("river_job").Where("kind = ?", pingArgs{}.Kind()).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Fatalf("%d test jobs in river_job, want only the committed one", n)
			}
		})
	}
}

// On PostgreSQL a committed job wakes an idle node through LISTEN/NOTIFY:
// with the fallback poll an hour away, only the notification can make it
// run before the deadline.
func TestListenWakesANodeForACommittedJob(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		if d != store.Postgres {
			continue
		}
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, u := fresh(t, d)
			c, w := started(t, s, time.Hour, u)
			idle(t, s, c, w)
			// The listener connects in the background after Start; a
			// notification sent before it listens is lost (the job would wait
			// for the hourly poll), so insert again until one is heard. Every
			// insert is its own committed transaction with its NOTIFY.
			deadline := time.After(30 * time.Second)
			for n := 1; ; n++ {
				insertTx(t, s, c, n, true)
				select {
				case <-w.ran:
					return
				case <-time.After(200 * time.Millisecond):
				case <-deadline:
					t.Fatal("no job ran: the node was not woken by LISTEN/NOTIFY")
				}
			}
		})
	}
}

// idle makes a started node idle with its next poll far away: its first
// fetch, at start, finds job 0, and the fetch a node makes as a job finishes
// is behind us once job 0 is recorded completed.
func idle(t *testing.T, s *store.Store, c *jobs.Client, w *pingWorker) {
	t.Helper()
	insertTx(t, s, c, 0, true)
	select {
	case <-w.ran:
	case <-time.After(30 * time.Second):
		t.Fatal("job 0 never ran")
	}
	for done := time.After(30 * time.Second); ; {
		var n int64
		if err := s.DB.Table("river_job").Where("kind = ? AND state = ?", pingArgs{}.Kind(), "completed").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		select {
		case <-done:
			t.Fatal("job 0 never recorded completed")
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type uniqueArgs struct {
	N int `json:"n"`
}

func (uniqueArgs) Kind() string { return "test_unique" }
func (uniqueArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type uniqueWorker struct {
	river.WorkerDefaults[uniqueArgs]
	ran chan int
}

func (w *uniqueWorker) Work(_ context.Context, j *river.Job[uniqueArgs]) error {
	w.ran <- j.Args.N
	return nil
}

// RunNowTx moves a waiting job to now; river sends no notification for
// that, so RunNowTx does: a listening node runs it without its poll.
func TestRunNowWakesAListeningNode(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		if d != store.Postgres {
			continue
		}
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, u := fresh(t, d)
			uw := &uniqueWorker{ran: make(chan int, 10)}
			c, w := startedWith(t, s, time.Hour, u, func(ws *river.Workers) { river.AddWorker(ws, uw) })
			idle(t, s, c, w)
			if err := s.DB.Transaction(func(tx *gorm.DB) error {
				return jobs.InsertTx(context.Background(), c, tx, uniqueArgs{N: 7}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
			}); err != nil {
				t.Fatal(err)
			}
			// RunNowTx on a job already due changes nothing but notifies.
			askUntilRan(t, s, uw.ran, 1, func(tx *gorm.DB) error {
				return jobs.RunNowTx(context.Background(), c, tx, uniqueArgs{N: 7}, time.Now())
			})
		})
	}
}

// askUntilRan runs ask, which makes waiting jobs due and notifies, in a
// transaction, until want different jobs have run (each sends its number
// on ran). Until the node's listener listens a notification is lost, so it
// asks again every 200 ms, for 30 s at most.
func askUntilRan(t *testing.T, s *store.Store, ran <-chan int, want int, ask func(tx *gorm.DB) error) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	seen := map[int]bool{}
	for len(seen) < want {
		if err := s.DB.Transaction(ask); err != nil {
			t.Fatal(err)
		}
		for waiting := true; waiting && len(seen) < want; {
			select {
			case n := <-ran:
				seen[n] = true
			case <-time.After(200 * time.Millisecond):
				waiting = false
			case <-deadline:
				t.Fatalf("%d of %d jobs moved to now ran: no notification woke the node", len(seen), want)
			}
		}
	}
}

// RetryNowTx (the catch-up after a carrier recovers) moves waiting jobs to
// now with one notification for the batch: a listening node runs them
// without its poll.
func TestRetryNowWakesAListeningNode(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		if d != store.Postgres {
			continue
		}
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, u := fresh(t, d)
			uw := &uniqueWorker{ran: make(chan int, 10)}
			c, w := startedWith(t, s, time.Hour, u, func(ws *river.Workers) { river.AddWorker(ws, uw) })
			idle(t, s, c, w)
			var ids []int64
			for n := range 3 {
				if err := s.DB.Transaction(func(tx *gorm.DB) error {
					return jobs.InsertTx(context.Background(), c, tx, uniqueArgs{N: n}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
				}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.DB.Table("river_job").Where("kind = ?", uniqueArgs{}.Kind()).Order("id").Pluck("id", &ids).Error; err != nil || len(ids) != 3 {
				t.Fatalf("jobs %v: %v", ids, err)
			}
			// A job already due stays due, and is notified again.
			askUntilRan(t, s, uw.ran, 3, func(tx *gorm.DB) error {
				return jobs.RetryNowTx(context.Background(), c, tx, ids)
			})
		})
	}
}

// Asking to run a job that is gone now with the others (the catch-up read
// it just before it went) skips it instead of failing the whole batch, so
// the others still come due.
func TestAVanishedJobIsSkippedWhenTheOthersRunNow(t *testing.T) {
	t.Parallel()
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			s, _ := fresh(t, d)
			c, _ := started(t, s, time.Hour, "") // polls once an hour: nothing here runs
			ctx := context.Background()
			for n := range 2 {
				err := s.DB.Transaction(func(tx *gorm.DB) error {
					return jobs.InsertTx(ctx, c, tx, pingArgs{N: n}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			var ids []int64
			if err := s.DB.Raw("SELECT id FROM river_job WHERE kind = ? ORDER BY id", pingArgs{}.Kind()).Scan(&ids).Error; err != nil || len(ids) != 2 {
				t.Fatalf("jobs %v (%v), want 2", ids, err)
			}
			if err := s.DB.Exec("DELETE FROM river_job WHERE id = ?", ids[0]).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.DB.Transaction(func(tx *gorm.DB) error { return jobs.RetryNowTx(ctx, c, tx, ids) }); err != nil {
				t.Fatalf("run %v now, one taken back: %v", ids, err)
			}
			var rows []struct {
				ID    int64
				State string
			}
			if err := s.DB.Raw("SELECT id, state FROM river_job WHERE kind = ? ORDER BY id", pingArgs{}.Kind()).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].ID != ids[1] || rows[0].State != string(rivertype.JobStateAvailable) {
				t.Fatalf("jobs %+v, want only %d, available", rows, ids[1])
			}
		})
	}
}
