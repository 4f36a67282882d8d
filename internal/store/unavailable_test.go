package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

func TestUnavailableSortsOutagesFromBugs(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"bad connection", fmt.Errorf("read charge: %w", driver.ErrBadConn), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{"connection closed", fmt.Errorf("insert: %w", pgconn.ErrConnClosed), true},
		{"server shutting down", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}, true},
		{"server starting", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"server disk full", &pgconn.PgError{Code: "53100"}, true},
		{"connection exception", &pgconn.PgError{Code: "08006"}, true},
		{"a unique violation is a bug or a race, not an outage", &pgconn.PgError{Code: "23505"}, false},
		{"a syntax error is a bug", &pgconn.PgError{Code: "42601"}, false},
		{"no rows is the caller's", gorm.ErrRecordNotFound, false},
		{"anything else", errors.New("boom"), false},
		{"a lost type, a known message", errors.New("database or disk is full (13)"), true},
	} {
		if got := Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

// The real errors, not look-alikes: a PostgreSQL server that is not there,
// and an embedded store that has no room left (max_page_count fails a
// write with SQLITE_FULL exactly as a full disk does).
func TestUnavailableOnRealFailures(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	_, err = Open(ctx, "postgres://postgres@"+addr+"/none?sslmode=disable")
	if err == nil || !Unavailable(err) {
		t.Fatalf("PostgreSQL not listening: %v, Unavailable = %v", err, Unavailable(err))
	}

	path := filepath.Join(t.TempDir(), "full.db")
	s, err := Open(ctx, "sqlite:"+path+"?_pragma=max_page_count(8)")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if full, err := s.Full(ctx); err != nil || full {
		t.Fatalf("an empty store is full: %v %v", full, err)
	}
	if err := s.DB.Exec("CREATE TABLE ballast (b BLOB)").Error; err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = s.DB.Exec("INSERT INTO ballast VALUES (?)", strings.Repeat("x", 2000)).Error
	}
	if werr == nil || !Unavailable(werr) {
		t.Fatalf("writes past max_page_count: %v, Unavailable = %v", werr, Unavailable(werr))
	}
	if full, err := s.Full(ctx); err != nil || !full {
		t.Fatalf("a store that refused a page for room says full = %v (%v)", full, err)
	}
	if err := s.DB.Exec("SELECT * FROM nosuchtable").Error; err == nil || Unavailable(err) {
		t.Fatalf("a query on a missing table is a bug, not an outage: %v", err)
	}
}

func TestWithConnectTimeout(t *testing.T) {
	got := withConnectTimeout("postgres://u@h:5432/db?sslmode=disable")
	if !strings.Contains(got, "connect_timeout=5") || !strings.Contains(got, "sslmode=disable") {
		t.Fatalf("no bound added: %s", got)
	}
	if got := withConnectTimeout("postgres://u@h/db?connect_timeout=2"); got != "postgres://u@h/db?connect_timeout=2" {
		t.Fatalf("an operator's bound replaced: %s", got)
	}
}
