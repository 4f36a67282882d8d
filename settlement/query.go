package settlement

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"tollgate/internal/problem"
)

// Get returns one run.
func (s *Service) Get(ctx context.Context, id string) (*Run, error) {
	var r Run
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("settlement")
	}
	if err != nil {
		return nil, fmt.Errorf("get settlement %s: %w", id, err)
	}
	return &r, nil
}

// ListParams filter GET /v1/settlements.
type ListParams struct {
	BusinessDate  string
	Carrier       string
	Status        string
	Limit         string
	StartingAfter string
}

func parseLimit(v string, def, most int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > most {
		return 0, problem.Invalid("limit", fmt.Sprintf("limit must be an integer from 1 to %d.", most))
	}
	return n, nil
}

// List returns runs newest first.
func (s *Service) List(ctx context.Context, p ListParams) ([]Run, bool, error) {
	limit, err := parseLimit(p.Limit, 20, 100)
	if err != nil {
		return nil, false, err
	}
	q := s.db.WithContext(ctx).Model(&Run{})
	if p.BusinessDate != "" {
		if _, err := businessDay(p.BusinessDate, s.cfg.Location); err != nil {
			return nil, false, err
		}
		q = q.Where("business_date = ?", p.BusinessDate)
	}
	if p.Carrier != "" {
		q = q.Where("carrier = ?", p.Carrier)
	}
	if p.Status != "" {
		switch RunStatus(p.Status) {
		case StatusRunning, StatusCompleted, StatusFailed:
		default:
			return nil, false, problem.Invalid("status", "status must be running, completed or failed.")
		}
		q = q.Where("status = ?", p.Status)
	}
	if p.StartingAfter != "" {
		var seq int64
		if err := s.db.WithContext(ctx).Model(&Run{}).Select("seq").Where("id = ?", p.StartingAfter).Scan(&seq).Error; err != nil || seq == 0 {
			return nil, false, problem.Invalid("starting_after", "starting_after must be the id of a settlement run.")
		}
		q = q.Where("seq < ?", seq)
	}
	var out []Run
	if err := q.Order("seq DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, fmt.Errorf("list settlements: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// discrepancyPrefix makes a discrepancy's public id from its row number.
const discrepancyPrefix = "dsc_"

// DiscrepancyParams page and filter GET /v1/settlements/{id}/discrepancies.
type DiscrepancyParams struct {
	Kind          string
	Limit         string
	StartingAfter string
	All           bool // every row, for CSV; Limit and StartingAfter are ignored
}

// Discrepancies streams a completed run's discrepancies in file order to
// fn; a run that is running or failed has none to show. It reports whether
// more follow the page.
func (s *Service) Discrepancies(ctx context.Context, run *Run, p DiscrepancyParams, fn func(Discrepancy) error) (bool, error) {
	limit, err := parseLimit(p.Limit, 100, 1000)
	if err != nil {
		return false, err
	}
	q := s.db.WithContext(ctx).Model(&Discrepancy{}).Where("run_id = ?", run.ID)
	if p.Kind != "" {
		ok := false
		for _, k := range Kinds {
			ok = ok || k == p.Kind
		}
		if !ok {
			return false, problem.Invalid("kind", "kind must be one of "+strings.Join(Kinds, ", ")+".")
		}
		q = q.Where("kind = ?", p.Kind)
	}
	if p.StartingAfter != "" && !p.All {
		seq, err := strconv.ParseInt(strings.TrimPrefix(p.StartingAfter, discrepancyPrefix), 10, 64)
		if err != nil || !strings.HasPrefix(p.StartingAfter, discrepancyPrefix) {
			return false, problem.Invalid("starting_after", "starting_after must be the id of a discrepancy (dsc_…).")
		}
		q = q.Where("seq > ?", seq)
	}
	if run.Status != StatusCompleted {
		return false, nil
	}
	q = q.Order("seq")
	if !p.All {
		q = q.Limit(limit + 1)
	}
	rows, err := q.Rows()
	if err != nil {
		return false, fmt.Errorf("list discrepancies: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var d Discrepancy
		if err := s.db.ScanRows(rows, &d); err != nil {
			return false, fmt.Errorf("list discrepancies: %w", err)
		}
		if n++; !p.All && n > limit {
			return true, rows.Err()
		}
		if err := fn(d); err != nil {
			return false, err
		}
	}
	return false, rows.Err()
}

// Statements returns a completed run's statements by merchant.
func (s *Service) Statements(ctx context.Context, run *Run) ([]Statement, error) {
	out := []Statement{}
	if run.Status != StatusCompleted {
		return out, nil
	}
	if err := s.db.WithContext(ctx).Where("run_id = ?", run.ID).Order("merchant_id, currency").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list statements: %w", err)
	}
	return out, nil
}
