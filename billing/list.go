package billing

import (
	"context"
	"fmt"
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
	limit, err := pageLimit(in.Limit)
	if err != nil {
		return nil, false, err
	}
	mine := s.db.WithContext(ctx)
	if p.Role != auth.RoleFinance {
		mine = mine.Where("merchant_id = ?", p.MerchantID)
	}
	// A session of its own: q's filters must not reach the cursor's look-up
	// (a chained GORM handle shares its conditions with what chains on it).
	mine = mine.Session(&gorm.Session{})
	q := mine.Model(&Charge{})
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
		// The <> '' names charges_merchant_reference_set's condition, which
		// a parameter alone would not let the planner prove.
		q = q.Where("merchant_reference = ? AND merchant_reference <> ''", in.MerchantReference)
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
	return newestFirst[Charge](q, mine, in.StartingAfter, limit, "starting_after must be the id of one of your charges.")
}
