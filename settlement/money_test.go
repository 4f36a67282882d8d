package settlement

import (
	"math"
	"testing"
	"time"
)

func TestFeeRoundsHalfUpOnce(t *testing.T) {
	for _, c := range []struct{ x, bps, want int64 }{
		{0, 300, 0},
		{10000, 300, 300},
		{16, 300, 0},  // 0.48
		{17, 300, 1},  // 0.51
		{50, 100, 1},  // 0.5 exactly: half up
		{149, 100, 1}, // 1.49
		{150, 100, 2}, // 1.5
		{5000, 1500, 750},
		{3333, 1500, 500}, // 499.95
		{1, 10000, 1},
		{100, 0, 0},
		{math.MaxInt64, 10000, math.MaxInt64}, // no overflow in 128 bits
		{math.MaxInt64, 5000, (math.MaxInt64 + 1) / 2},
	} {
		if got := fee(c.x, c.bps); got != c.want {
			t.Errorf("fee(%d, %d) = %d, want %d", c.x, c.bps, got, c.want)
		}
	}
}

func TestDailyNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	for _, c := range []struct {
		name string
		d    Daily
		t    string
		want string
	}{
		{"Seoul, before the hour", Daily{3, seoul}, "2026-11-24T17:59:59Z", "2026-11-24T18:00:00Z"},
		{"Seoul, at the hour: the next day", Daily{3, seoul}, "2026-11-24T18:00:00Z", "2026-11-25T18:00:00Z"},
		{"Seoul, after the hour", Daily{3, seoul}, "2026-11-24T18:00:01Z", "2026-11-25T18:00:00Z"},
		{"Seoul, midnight", Daily{0, seoul}, "2026-12-31T15:00:00Z", "2027-01-01T15:00:00Z"},
		{"Seoul, year end", Daily{3, seoul}, "2026-12-31T19:00:00Z", "2027-01-01T18:00:00Z"},
		{"New York, winter (EST)", Daily{3, ny}, "2026-01-10T12:00:00Z", "2026-01-11T08:00:00Z"},
		{"New York, summer (EDT)", Daily{3, ny}, "2026-07-10T12:00:00Z", "2026-07-11T07:00:00Z"},
		{"New York, spring forward: 02:00 does not exist", Daily{2, ny}, "2026-03-08T05:00:00Z", "2026-03-08T07:00:00Z"},
		{"New York, the day after spring forward", Daily{2, ny}, "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"},
		{"New York, fall back: 01:00 twice, the first", Daily{1, ny}, "2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z"},
		{"New York, fall back: not again an hour later", Daily{1, ny}, "2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z"},
		{"New York, 03:00 on fall-back day", Daily{3, ny}, "2026-11-01T06:00:00Z", "2026-11-01T08:00:00Z"},
	} {
		got := c.d.Next(utc(c.t))
		if !got.Equal(utc(c.want)) {
			t.Errorf("%s: Next(%s) = %s, want %s", c.name, c.t, got.UTC().Format(time.RFC3339), c.want)
		}
	}
}

func TestBusinessDays(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	d, err := businessDay("2026-03-08", ny) // 23 hours
	if err != nil || d.To.Sub(d.From) != 23*time.Hour {
		t.Errorf("spring-forward day: %v %v", d.To.Sub(d.From), err)
	}
	d, _ = businessDay("2026-11-24", seoul)
	if d.From.Format(time.RFC3339) != "2026-11-23T15:00:00Z" || d.To.Format(time.RFC3339) != "2026-11-24T15:00:00Z" {
		t.Errorf("Seoul day: %s – %s", d.From, d.To)
	}
	if got := previousDay(time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC), seoul); got != "2026-11-24" {
		t.Errorf("at 03:00 on the 25th in Seoul the previous day is %s", got)
	}
	if got := previousDay(time.Date(2026, 3, 1, 0, 30, 0, 0, seoul), seoul); got != "2026-02-28" {
		t.Errorf("previous day of March 1st: %s", got)
	}
}
