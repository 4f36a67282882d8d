package settlement

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"tollgate/internal/problem"
)

// Business dates are bounded: not before 2000, not a day that is not over
// in the settlement zone. The HTTP handler and the settle command both go
// through Run, so both are held to it.
func TestBusinessDatesOutsideTheSaneRangeAreRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		for _, date := range []string{"0000-01-01", "1900-01-01", "1999-12-31", "2026-11-25", "2026-11-26", "9999-12-31", "2026-13-01", "26-11-24"} {
			_, _, err := e.svc.Run(context.Background(), RunRequest{Carrier: "lgu", BusinessDate: date})
			var p *problem.Problem
			if !errors.As(err, &p) || p.Status != http.StatusBadRequest || p.Param != "business_date" {
				t.Errorf("%s: got %v, want a 400 about business_date", date, err)
			}
		}
		var runs int64
		if err := e.st.DB.Model(&Run{}).Count(&runs).Error; err != nil {
			t.Fatal(err)
		}
		if runs != 0 {
			t.Fatalf("%d runs recorded for refused dates", runs)
		}
	})
}

func TestBusinessDayBounds(t *testing.T) {
	for date, ok := range map[string]bool{"1999-12-31": false, "2000-01-01": true, "2026-11-24": true, "0000-01-01": false} {
		if _, err := businessDay(date, seoul); (err == nil) != ok {
			t.Errorf("%s: %v", date, err)
		}
	}
}
