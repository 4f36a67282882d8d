// Package store opens tollgate's database — PostgreSQL in production, an
// embedded pure-Go SQLite by default — and runs the versioned migrations
// embedded for each.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the database behind a store.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is an open database.
type Store struct {
	DB      *gorm.DB
	SQL     *sql.DB
	Dialect Dialect
}

// Open connects to url: postgres://… or sqlite:PATH.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		db      *gorm.DB
		err     error
		dialect Dialect
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = Postgres
		db, err = gorm.Open(postgres.Open(withConnectTimeout(url)), cfg)
	case strings.HasPrefix(url, "sqlite:"):
		dialect = SQLite
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, errors.New("database_url: sqlite: needs a file path")
		}
		// WAL lets readers run beside the writer; immediate transactions take
		// the write lock up front, so two writers queue on busy_timeout
		// instead of failing with SQLITE_BUSY when a read lock upgrades.
		// The wait is long (30 s) because SQLite's busy handler is not fair:
		// under a burst of writers on a loaded machine one of them can lose
		// the lock again and again, and a refusal there is a 500 to a
		// merchant for what is only a queue.
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		dsn := path + sep + "_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = gorm.Open(sqlite.Open(dsn), cfg)
	default:
		return nil, errors.New("database_url: must start with sqlite: or postgres://")
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	if dialect == SQLite {
		sqlDB.SetMaxOpenConns(8)
	} else {
		// As many kept idle as may be open: a pool that closes what it
		// cannot keep reopens it at the next burst, and each PostgreSQL
		// backend start (fork, authentication, a cold catalog cache)
		// stalls the request that waits for it by tens of milliseconds
		// on a busy machine. Idle ones close after a few quiet minutes.
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(32)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("reach %s database: %w", dialect, err)
	}
	return &Store{DB: db, SQL: sqlDB, Dialect: dialect}, nil
}

// connectTimeout bounds each new PostgreSQL connection: with the server
// unreachable behind a silent network, a request (or /readyz) fails in
// seconds with a 503 instead of waiting on the kernel's TCP timeout.
const connectTimeout = "5"

// withConnectTimeout adds connect_timeout to a postgres:// URL that has none.
func withConnectTimeout(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw // pgx reports the bad URL
	}
	q := u.Query()
	if q.Get("connect_timeout") != "" {
		return raw
	}
	q.Set("connect_timeout", connectTimeout)
	u.RawQuery = q.Encode()
	return u.String()
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.SQL.Close() }

func (s *Store) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.Dialect))
	if err != nil {
		return nil, err
	}
	gd := goose.DialectPostgres
	if s.Dialect == SQLite {
		gd = goose.DialectSQLite3
	}
	return goose.NewProvider(gd, s.SQL, sub)
}

// Migrate applies every pending migration and reports how many ran.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger) (int, error) {
	p, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return len(res), nil
}

// Pending reports whether migrations remain to be applied (readiness).
func (s *Store) Pending(ctx context.Context) (bool, error) {
	p, err := s.provider()
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}

// IsUniqueViolation reports whether err is a unique-constraint failure on
// either database; callers use it where a unique index is the behaviour.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "SQLSTATE 23505") || strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}

// Tuples is n copies of tuple joined by commas, the rows of a multi-row
// VALUES list: Tuples("(?, ?)", 3) is "(?, ?), (?, ?), (?, ?)".
func Tuples(tuple string, n int) string {
	return strings.TrimSuffix(strings.Repeat(tuple+", ", n), ", ")
}
