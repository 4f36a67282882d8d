package billing

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
)

// ListParams are the query parameters of GET /v1/charges.
type ListParams struct {
	Limit             string
	StartingAfter     string
	Status            string
	Carrier           string
	CreatedGTE        string
	CreatedLT         string
	MerchantReference string
}

// ListCharges returns a page of charges, newest first, and whether more follow.
func (s *Service) ListCharges(ctx context.Context, p auth.Principal, in ListParams) ([]Charge, bool, error) {
	limit := 20
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > 100 {
			return nil, false, problem.Invalid("limit", "limit must be an integer from 1 to 100.")
		}
		limit = n
	}
	q := s.db.WithContext(ctx).Model(&Charge{})
	if p.Role != auth.RoleFinance {
		q = q.Where("merchant_id = ?", p.MerchantID)
	}
	if in.Status != "" {
		ok := false
		for _, st := range AllStatuses {
			ok = ok || string(st) == in.Status
		}
		if !ok {
			return nil, false, problem.Invalid("status", fmt.Sprintf("status must be one of %v.", AllStatuses))
		}
		q = q.Where("status = ?", in.Status)
	}
	if in.Carrier != "" {
		q = q.Where("carrier = ?", in.Carrier)
	}
	if in.MerchantReference != "" {
		q = q.Where("merchant_reference = ?", in.MerchantReference)
	}
	for _, f := range []struct{ param, value, op string }{{"created_gte", in.CreatedGTE, ">="}, {"created_lt", in.CreatedLT, "<"}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.value)
		if err != nil {
			return nil, false, problem.Invalid(f.param, f.param+" must be an RFC 3339 time, e.g. 2026-11-24T00:00:00Z.")
		}
		q = q.Where("created_at "+f.op+" ?", t.UTC())
	}
	if in.StartingAfter != "" {
		var cursor Charge
		cq := s.db.WithContext(ctx).Select("seq").Where("id = ?", in.StartingAfter)
		if p.Role != auth.RoleFinance {
			cq = cq.Where("merchant_id = ?", p.MerchantID)
		}
		err := cq.Take(&cursor).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, problem.Invalid("starting_after", "starting_after must be the id of one of your charges.")
		}
		if err != nil {
			return nil, false, fmt.Errorf("list cursor: %w", err)
		}
		q = q.Where("seq < ?", cursor.Seq)
	}
	var out []Charge
	if err := q.Order("seq DESC").Limit(limit + 1).Find(&out).Error; err != nil {
		return nil, false, fmt.Errorf("list charges: %w", err)
	}
	more := len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}
