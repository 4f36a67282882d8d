// Package storetest gives each test a fresh, migrated store on every database
// the run has: the embedded SQLite always, PostgreSQL when
// TOLLGATE_TEST_POSTGRES_URL names a server (CI always does; with CI=true a
// missing or unreachable server fails the test instead of skipping it).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"testing"

	"tollgate/internal/jobs"
	"tollgate/internal/store"
)

// EnvPostgres names the PostgreSQL server tests use.
const EnvPostgres = "TOLLGATE_TEST_POSTGRES_URL"

// Each runs fn once per available database, as a subtest named after it.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			fn(t, New(t, d))
		})
	}
}

// Dialects lists the databases this run tests against.
func Dialects(t *testing.T) []store.Dialect {
	t.Helper()
	ds := []store.Dialect{store.SQLite}
	if os.Getenv(EnvPostgres) != "" {
		ds = append(ds, store.Postgres)
	} else if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set, and CI=true requires the PostgreSQL tests to run", EnvPostgres)
	}
	return ds
}

// New opens a fresh store of dialect d with tollgate's and the job queue's
// tables, removed when t ends.
func New(t *testing.T, d store.Dialect) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, URL(t, d))
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := migrate(ctx, s); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return s
}

// URL returns a database URL for a fresh database of dialect d. On SQLite
// it is a copy of a file migrated once per test process (migrating under
// -race costs half a second a test); on PostgreSQL a new empty schema. The
// binary's own start-up migration runs on it either way.
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.Postgres {
		return freshSchema(t)
	}
	tmpl, err := sqliteTemplate()
	if err != nil {
		t.Fatalf("migrated SQLite template: %v", err)
	}
	path := filepath.Join(t.TempDir(), "tollgate.db")
	if err := os.WriteFile(path, tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	return "sqlite:" + path
}

func migrate(ctx context.Context, s *store.Store) error {
	if _, err := s.Migrate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		return err
	}
	return jobs.Migrate(ctx, s)
}

var template struct {
	once sync.Once
	db   []byte
	err  error
}

// sqliteTemplate is the bytes of a fully migrated SQLite database, made once.
func sqliteTemplate() ([]byte, error) {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "tollgate-storetest-")
		if err != nil {
			template.err = err
			return
		}
		defer os.RemoveAll(dir)
		path := filepath.Join(dir, "template.db")
		ctx := context.Background()
		s, err := store.Open(ctx, "sqlite:"+path)
		if err != nil {
			template.err = err
			return
		}
		if err := migrate(ctx, s); err != nil {
			_ = s.Close()
			template.err = err
			return
		}
		// Everything into the main file: the copy is one file, no WAL.
		if err := s.DB.Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error; err != nil {
			_ = s.Close()
			template.err = err
			return
		}
		if err := s.Close(); err != nil {
			template.err = err
			return
		}
		template.db, template.err = os.ReadFile(path)
	})
	return template.db, template.err
}

// freshSchema creates a schema of its own for one test and returns a URL
// whose search_path points at it, so tests never see each other's rows.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	ctx := context.Background()
	admin, err := store.Open(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL at %s is unreachable: %v", EnvPostgres, err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if err := admin.DB.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		c, err := store.Open(ctx, base)
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.DB.Exec("DROP SCHEMA " + schema + " CASCADE").Error
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Queue is a job queue over s that is never started: a test works a job by
// calling its worker, so nothing runs behind its back. Register workers on
// the returned bundle after building the services (river checks a job's
// kind when it is inserted).
func Queue(t *testing.T, s *store.Store, now rivertype.TimeGenerator) (*jobs.Client, *river.Workers) {
	t.Helper()
	workers := river.NewWorkers()
	q, err := jobs.New(s, jobs.Options{Workers: workers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxWorkers: 1, PollEvery: time.Second, Time: now})
	if err != nil {
		t.Fatalf("job queue: %v", err)
	}
	return q, workers
}
