// Package jobs runs tollgate's durable background work — status queries,
// webhook deliveries, the nightly settlement — on river, in the same
// database as everything else: a job is inserted in the same transaction as
// the state change that needs it, so neither exists without the other.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	"gorm.io/gorm"

	"tollgate/internal/store"
)

// Client is the river client of either database (both use *sql.Tx).
type Client = river.Client[*sql.Tx]

func driver(st *store.Store) riverdriver.Driver[*sql.Tx] {
	if st.Dialect == store.SQLite {
		return riversqlite.New(st.SQL)
	}
	return riverdatabasesql.New(st.SQL)
}

// Migrate brings river's own tables up to date.
func Migrate(ctx context.Context, st *store.Store) error {
	m, err := rivermigrate.New(driver(st), nil)
	if err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue migrations: %w", err)
	}
	return nil
}

// Options configure the client.
type Options struct {
	Workers     *river.Workers
	Periodic    []*river.PeriodicJob
	Logger      *slog.Logger
	MaxWorkers  int
	PollEvery   time.Duration // how often idle nodes look for due jobs
	Time        rivertype.TimeGenerator
	ID          string
	InsertsOnly bool // a client for one-shot commands: inserts, works nothing
}

// New builds a river client over the store.
func New(st *store.Store, o Options) (*Client, error) {
	cfg := &river.Config{
		Logger:               o.Logger,
		PeriodicJobs:         o.Periodic,
		ID:                   o.ID,
		RescueStuckJobsAfter: 5 * time.Minute,
		// The database/sql and SQLite drivers have no LISTEN; poll.
		PollOnly:          true,
		FetchPollInterval: o.PollEvery,
		FetchCooldown:     o.PollEvery / 2,
		MaxAttempts:       25,
	}
	if o.Time != nil {
		cfg.Test.Time = o.Time
	}
	if !o.InsertsOnly {
		cfg.Workers = o.Workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}}
	}
	c, err := river.NewClient(driver(st), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return c, nil
}

// InsertTx inserts a job inside a GORM transaction, so it commits or rolls
// back with the state change it belongs to.
func InsertTx(ctx context.Context, c *Client, tx *gorm.DB, args river.JobArgs, opts *river.InsertOpts) error {
	ctx, sqlTx, err := inTx(ctx, tx)
	if err != nil {
		return fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	if _, err := c.InsertTx(ctx, sqlTx, args, opts); err != nil {
		return fmt.Errorf("insert %s job: %w", args.Kind(), err)
	}
	return nil
}

// RunNowTx makes a unique job due at now, inside a GORM transaction. args
// must declare river UniqueOpts (JobArgsWithInsertOpts): when a job with the
// same unique key is already waiting, that job is moved forward to now
// instead of a second one being added, so asking N times never makes N
// jobs. A job already running is left alone: it is doing the work now.
func RunNowTx(ctx context.Context, c *Client, tx *gorm.DB, args river.JobArgs, now time.Time) error {
	ctx, sqlTx, err := inTx(ctx, tx)
	if err != nil {
		return fmt.Errorf("run %s job now: %w", args.Kind(), err)
	}
	res, err := c.InsertTx(ctx, sqlTx, args, &river.InsertOpts{ScheduledAt: now})
	if err != nil {
		return fmt.Errorf("run %s job now: %w", args.Kind(), err)
	}
	if !res.UniqueSkippedAsDuplicate || res.Job.State == rivertype.JobStateRunning {
		return nil
	}
	// JobRetryTx makes a waiting job available at once (scheduled_at moved
	// to now unless already past) and leaves its args and unique key.
	if _, err := c.JobRetryTx(ctx, sqlTx, res.Job.ID); err != nil {
		return fmt.Errorf("run %s job %d now: %w", args.Kind(), res.Job.ID, err)
	}
	return nil
}

// inTx is the *sql.Tx under a GORM transaction, and a context to use with it.
func inTx(ctx context.Context, tx *gorm.DB) (context.Context, *sql.Tx, error) {
	if ctx == nil {
		ctx = context.Background() // a transaction opened without one
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return ctx, nil, errors.New("not inside a transaction")
	}
	return ctx, sqlTx, nil
}
