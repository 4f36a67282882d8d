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

	"github.com/jackc/pgx/v5/pgxpool"
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

func driver(st *store.Store, listener *pgxpool.Pool) riverdriver.Driver[*sql.Tx] {
	if st.Dialect == store.SQLite {
		return riversqlite.New(st.SQL)
	}
	if listener != nil {
		// Everything but LISTEN still goes through database/sql, so a job
		// is inserted in the GORM transaction of its state change; only the
		// listening connection comes from pgx.
		return riverdatabasesql.NewWithPgxListener(st.SQL, listener)
	}
	return riverdatabasesql.New(st.SQL)
}

// OpenListener is a pgx pool for river's LISTEN connection on PostgreSQL:
// with it, a committed insert wakes the nodes at once (NOTIFY, sent by the
// inserting transaction when it commits) instead of waiting for their next
// poll. url is the store's (its search_path, if any, must match). The
// listening connection is taken out of the pool for the client's life, so
// the pool holds at most one more; close it after the client stops.
func OpenListener(url string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("job queue listener: %w", err)
	}
	cfg.MinConns = 0
	cfg.MaxConns = 1
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue listener: %w", err)
	}
	return p, nil
}

// Migrate brings river's own tables up to date.
func Migrate(ctx context.Context, st *store.Store) error {
	m, err := rivermigrate.New(driver(st, nil), nil)
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
	Workers    *river.Workers
	Periodic   []*river.PeriodicJob
	Logger     *slog.Logger
	MaxWorkers int
	PollEvery  time.Duration // how often idle nodes look for due jobs
	// Listener, on PostgreSQL, wakes a node as soon as a job is inserted
	// (LISTEN/NOTIFY); PollEvery stays as the fallback. Nil: poll only (SQLite
	// always polls: its driver has no notifications across processes).
	Listener    *pgxpool.Pool
	Time        rivertype.TimeGenerator
	ID          string
	InsertsOnly bool // a client for one-shot commands: inserts, works nothing
}

// rescueStuckJobsAfter must be longer than river's JobTimeout (1 minute).
const rescueStuckJobsAfter = 90 * time.Second

// New builds a river client over the store.
func New(st *store.Store, o Options) (*Client, error) {
	cfg := &river.Config{
		Logger:       o.Logger,
		PeriodicJobs: o.Periodic,
		ID:           o.ID,
		// A job left running by a node that died (kill -9), or whose fetch
		// answer a broken database connection lost, is retried once river's
		// rescuer sees it this old: past river's 1-minute JobTimeout every
		// job but those with a longer Timeout of their own (which the
		// rescuer leaves alone until it passes) has been cancelled. At
		// 5 minutes, the chaos campaign's charges and webhooks waited
		// 5 minutes on a dead node's status queries and deliveries.
		RescueStuckJobsAfter: rescueStuckJobsAfter,
		// Without a pgx listener (SQLite, or database/sql alone) there is
		// no LISTEN: poll.
		PollOnly:          o.Listener == nil || st.Dialect == store.SQLite,
		FetchPollInterval: pollEvery(st, o),
		// A woken node fetches at most this often (and a burst of inserts
		// sends one NOTIFY per cooldown).
		FetchCooldown: min(o.PollEvery/2, 50*time.Millisecond),
		MaxAttempts:   25,
	}
	if o.Time != nil {
		cfg.Test.Time = o.Time
	}
	if o.Logger != nil {
		cfg.Logger = slog.New(routineAtDebug(o.Logger.Handler())) // job counts every 5 s: DEBUG, not INFO
	}
	if !o.InsertsOnly {
		cfg.Workers = o.Workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}}
	}
	c, err := river.NewClient(driver(st, o.Listener), cfg)
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	return c, nil
}

// pollEvery is how often an idle node looks for due jobs. A listening node
// is woken by every commit that inserts one, so its poll is only a fallback
// (a lost connection, a job made due by time alone is promoted by the
// leader, which notifies): once a second at most, instead of the 10 fetches
// a second per node that poll-only mode costs at the default.
func pollEvery(st *store.Store, o Options) time.Duration {
	if o.Listener != nil && st.Dialect == store.Postgres {
		return max(o.PollEvery, time.Second)
	}
	return o.PollEvery
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

// InsertManyTx inserts jobs due now in one statement, inside a GORM
// transaction.
func InsertManyTx(ctx context.Context, c *Client, tx *gorm.DB, args []river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	ctx, sqlTx, err := inTx(ctx, tx)
	if err != nil {
		return fmt.Errorf("insert %d jobs: %w", len(args), err)
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := c.InsertManyTx(ctx, sqlTx, params); err != nil {
		return fmt.Errorf("insert %d jobs: %w", len(args), err)
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
	if err := notifyTx(ctx, tx, sqlTx, res.Job.Queue); err != nil {
		return fmt.Errorf("run %s job %d now: %w", args.Kind(), res.Job.ID, err)
	}
	return nil
}

// RetryNowTx makes the waiting jobs ids due now, inside a GORM transaction,
// with one notification for all of them: a job already running is left
// alone, and a job's arguments and unique key stay as they were.
func RetryNowTx(ctx context.Context, c *Client, tx *gorm.DB, ids []int64) error {
	ctx, sqlTx, err := inTx(ctx, tx)
	if err != nil {
		return fmt.Errorf("run jobs now: %w", err)
	}
	queues := map[string]bool{}
	for _, id := range ids {
		// JobRetryTx: due now on the queue's clock, unless already past.
		job, err := c.JobRetryTx(ctx, sqlTx, id)
		if errors.Is(err, river.ErrNotFound) {
			continue // gone meanwhile (its retention ended): nothing left to do
		}
		if err != nil {
			return fmt.Errorf("run job %d now: %w", id, err)
		}
		queues[job.Queue] = true
	}
	for q := range queues {
		if err := notifyTx(ctx, tx, sqlTx, q); err != nil {
			return fmt.Errorf("run %d jobs now: %w", len(ids), err)
		}
	}
	return nil
}

// notifyTx wakes the listening nodes as an insert would (on commit, on
// river's channel in this schema): river notifies inserts, not retries, so
// a job moved to now would otherwise wait for the fallback poll. Without
// listeners (or on SQLite) it costs nothing.
func notifyTx(ctx context.Context, tx *gorm.DB, sqlTx *sql.Tx, queue string) error {
	if tx.Dialector.Name() != "postgres" {
		return nil
	}
	payload := fmt.Sprintf(`{"queue": %q}`, queue)
	if _, err := sqlTx.ExecContext(ctx, "SELECT pg_notify(concat(current_schema(), '.river_insert'), $1)", payload); err != nil {
		return fmt.Errorf("notify: %w", err)
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
