package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err says the database could not be reached or
// cannot take the write now (PostgreSQL down, restarting or out of
// connections; SQLite's disk full, I/O failing or its lock held past the
// wait), as opposed to a query that is wrong. The first kind is the
// operator's to fix and the client's to retry later, a 503; the second is a
// bug, a 500.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgUnavailable(pgErr.Code)
	}
	var sqliteErr interface{ Code() int }
	if errors.As(err, &sqliteErr) {
		return sqliteUnavailable(sqliteErr.Code())
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, sql.ErrConnDone),
		errors.Is(err, pgconn.ErrConnClosed),
		pgconn.Timeout(err),
		errors.As(err, &netErr),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOSPC):
		return true
	}
	// Drivers that lost the error's type on the way (a wrapper that
	// formatted it with %v): their messages are stable enough to read.
	msg := err.Error()
	for _, s := range []string{"database or disk is full", "disk I/O error", "database is locked", "failed to connect to", "conn closed"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// pgUnavailable: SQLSTATE class 08 (connection exception), 53 (insufficient
// resources: disk full, out of memory, too many connections), 57P01–57P03
// (the server shutting down or starting up), 58 (I/O errors on its side).
func pgUnavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "58"):
		return true
	case code == "57P01", code == "57P02", code == "57P03":
		return true
	}
	return false
}

// SQLite's primary result codes (the low byte of an extended code).
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteNoMem    = 7
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

func sqliteUnavailable(code int) bool {
	switch code & 0xff {
	case sqliteBusy, sqliteLocked, sqliteNoMem, sqliteIOErr, sqliteFull, sqliteCantOpen:
		return true
	}
	return false
}

// Full reports whether the embedded store can take no more pages: SQLite
// answers SQLITE_FULL once a write needs a page past max_page_count (or the
// disk has none), so readiness says so before merchants meet it. It reads
// three pragmas, cheap enough for every /readyz. PostgreSQL: always false
// (a full disk there is its own 53100, seen as Unavailable).
func (s *Store) Full(ctx context.Context) (bool, error) {
	if s.Dialect != SQLite {
		return false, nil
	}
	conn, err := s.SQL.Conn(ctx) // the pragmas are per connection: read them on one
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var pages, free, limit int64
	for _, q := range []struct {
		sql string
		v   *int64
	}{{"PRAGMA page_count", &pages}, {"PRAGMA freelist_count", &free}, {"PRAGMA max_page_count", &limit}} {
		if err := conn.QueryRowContext(ctx, q.sql).Scan(q.v); err != nil {
			return false, err
		}
	}
	return pages-free >= limit, nil
}
