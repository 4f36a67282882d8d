package billing

import (
	"errors"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	"tollgate/internal/problem"
)

// pageLimit reads a list's limit parameter: 20 when absent, else 1 to 100.
func pageLimit(s string) (int, error) {
	if s == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, problem.Invalid("limit", "limit must be an integer from 1 to 100.")
	}
	return n, nil
}

// newestFirst reads one page of q's rows, newest first, and says whether
// more follow. Pages are keyed on seq, so rows written meanwhile neither
// repeat nor go missing. after is the id the previous page ended with, looked
// up through cursor, the caller's own scope (a merchant's rows): a cursor
// never reveals whether another's row exists, and one outside the scope is
// a 400 saying cursorHelp. q and cursor may share conditions: each is
// used in a session of its own.
func newestFirst[T any](q, cursor *gorm.DB, after string, limit int, cursorHelp string) ([]T, bool, error) {
	q, cursor = q.Session(&gorm.Session{}), cursor.Session(&gorm.Session{})
	if after != "" {
		var at struct{ Seq int64 }
		err := cursor.Model(new(T)).Select("seq").Where("id = ?", after).Take(&at).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, problem.Invalid("starting_after", cursorHelp)
		}
		if err != nil {
			return nil, false, fmt.Errorf("list cursor: %w", err)
		}
		q = q.Where("seq < ?", at.Seq)
	}
	var out []T
	if err := q.Order("seq DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, fmt.Errorf("list %T: %w", out, err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
