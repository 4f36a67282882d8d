package sim

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Paging limits for CAMARA list operations.
const (
	defaultPerPage = 10
	maxPerPage     = 100
)

// listSpec names the query parameters of one CAMARA list operation.
type listSpec struct {
	datePrefix  string // paymentCreationDate or refundCreationDate
	statusParam string
	statuses    []string
	rangeCode   string // the API's INVALID_DATE_RANGE code
}

// listQuery is a parsed retrievePayments / retrieveRefunds query.
type listQuery struct {
	page, perPage int
	asc           bool
	gte, lte      *time.Time
	statuses      map[string]bool
	merchant      string
	correlator    string
}

func parseListQuery(v url.Values, spec listSpec, now time.Time) (listQuery, *apiError) {
	q := listQuery{page: 1, perPage: defaultPerPage}
	fail := func(code, msg string) (listQuery, *apiError) {
		return listQuery{}, &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
	}
	var err error
	if s := v.Get("page"); s != "" {
		if q.page, err = strconv.Atoi(s); err != nil || q.page < 1 {
			return fail(codeInvalidArgument, "page must be a positive integer")
		}
	}
	if s := v.Get("perPage"); s != "" {
		if q.perPage, err = strconv.Atoi(s); err != nil || q.perPage < 1 {
			return fail(codeInvalidArgument, "perPage must be a positive integer")
		}
		if q.perPage > maxPerPage {
			return fail(codeOutOfRange, "perPage is at most "+strconv.Itoa(maxPerPage))
		}
	}
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.asc = true
	default:
		return fail(codeInvalidArgument, "order must be asc or desc")
	}
	for _, bound := range []struct {
		name string
		dst  **time.Time
	}{{spec.datePrefix + ".gte", &q.gte}, {spec.datePrefix + ".lte", &q.lte}} {
		s := v.Get(bound.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fail(codeInvalidArgument, bound.name+" must be an RFC 3339 date-time with a time zone")
		}
		*bound.dst = &t
	}
	if q.gte != nil && q.lte == nil {
		q.lte = &now // the spec: only .gte given means up to now
	}
	if q.gte != nil && q.lte != nil && q.gte.After(*q.lte) {
		return fail(spec.rangeCode, "Client specified an invalid date range.")
	}
	for _, raw := range v[spec.statusParam] {
		for _, st := range strings.Split(raw, ",") {
			if !slices.Contains(spec.statuses, st) {
				return fail(codeInvalidArgument, spec.statusParam+" "+strconv.Quote(st)+" is not a status")
			}
			if q.statuses == nil {
				q.statuses = map[string]bool{}
			}
			q.statuses[st] = true
		}
	}
	q.merchant = v.Get("merchantIdentifier")
	q.correlator = v.Get(correlatorParam)
	return q, nil
}

func (q listQuery) match(created time.Time, status, merchant, correlator string) bool {
	switch {
	case q.gte != nil && created.Before(*q.gte):
	case q.lte != nil && created.After(*q.lte):
	case q.statuses != nil && !q.statuses[status]:
	case q.merchant != "" && merchant != q.merchant:
	case q.correlator != "" && correlator != q.correlator:
	default:
		return true
	}
	return false
}

// paginate orders items by creation (newest first unless asc) and cuts the
// requested page, with the spec's X-Total-Count and Content-Last-Key headers.
func paginate[T any](items []T, q listQuery, seq func(T) int64) ([]T, http.Header) {
	slices.SortFunc(items, func(a, b T) int {
		if q.asc {
			return cmp.Compare(seq(a), seq(b))
		}
		return cmp.Compare(seq(b), seq(a))
	})
	h := http.Header{"X-Total-Count": {itoa(len(items))}}
	if q.page-1 >= (len(items)+q.perPage-1)/q.perPage {
		return nil, h // past the last page (also keeps page*perPage from overflowing)
	}
	start := (q.page - 1) * q.perPage
	end := min(start+q.perPage, len(items))
	h.Set("Content-Last-Key", itoa(end))
	return items[start:end], h
}
