package settlement

import (
	"fmt"
	"time"

	"tollgate/internal/problem"
)

// day is one business day: [From, To) in UTC.
type day struct {
	Date     string
	From, To time.Time
}

// firstBusinessYear bounds business dates from below: no carrier billing
// happened before it, and a year 0 or 1900 is a typo that would otherwise
// scan the books and fetch a carrier file for nothing. (Days not over yet
// are refused by settleable.)
const firstBusinessYear = 2000

// businessDay parses date (YYYY-MM-DD) as a day in loc.
func businessDay(date string, loc *time.Location) (day, error) {
	t, err := time.ParseInLocation(time.DateOnly, date, loc)
	if err != nil || t.Format(time.DateOnly) != date {
		return day{}, problem.Invalid("business_date", fmt.Sprintf("business_date %q must be a date as YYYY-MM-DD.", date))
	}
	if t.Year() < firstBusinessYear {
		return day{}, problem.Invalid("business_date", fmt.Sprintf("business_date %s is before %d-01-01, the earliest day that can be settled.", date, firstBusinessYear))
	}
	// AddDate keeps the wall clock, so a 23- or 25-hour day in a zone with
	// daylight saving is still one calendar day.
	return day{Date: date, From: t.UTC(), To: t.AddDate(0, 0, 1).UTC()}, nil
}

// settleable checks that the day is over at now: a carrier's file for a
// day that is not over yet would be incomplete.
func (d day) settleable(now time.Time, loc *time.Location) error {
	if now.Before(d.To) {
		return problem.Invalid("business_date", fmt.Sprintf(
			"business_date %s is not over yet in %s; it can be settled from %s.", d.Date, loc, d.To.In(loc).Format(time.RFC3339)))
	}
	return nil
}

// previousDay is the business day before the one now falls on.
func previousDay(now time.Time, loc *time.Location) string {
	l := now.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()-1, 12, 0, 0, 0, loc).Format(time.DateOnly)
}
