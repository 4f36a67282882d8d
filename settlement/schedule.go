package settlement

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Daily is the nightly schedule: every day at Hour:00 in Location. It is a
// river.PeriodicSchedule; river runs periodic jobs on its elected leader
// only, so many gateway nodes settle each night once.
type Daily struct {
	Hour     int
	Location *time.Location
}

var _ river.PeriodicSchedule = Daily{}

// Next is the first Hour:00 local time strictly after t. On a day whose
// Hour:00 does not exist (a daylight-saving gap) it is the instant the
// clocks jump to; on a day where it happens twice, the first.
func (d Daily) Next(t time.Time) time.Time {
	l := t.In(d.Location)
	for i := 0; ; i++ {
		c := time.Date(l.Year(), l.Month(), l.Day()+i, d.Hour, 0, 0, 0, d.Location)
		if h := c.Hour(); h != d.Hour {
			// Hour:00 fell in a gap and time.Date picked an offset: step
			// to the edge of the zone it picked, the instant of the jump.
			start, end := c.ZoneBounds()
			if h < d.Hour {
				c = end
			} else {
				c = start
			}
		}
		if c.After(t) {
			return c
		}
	}
}

// NightlyArgs is the nightly job of one carrier and day.
type NightlyArgs struct {
	Carrier      string `json:"carrier"`
	BusinessDate string `json:"business_date"`
}

// Kind is river's name for the job.
func (NightlyArgs) Kind() string { return "settlement_nightly" }

// Periodic returns one periodic job per carrier: at the configured hour,
// settle the previous business day. Each is unique by its arguments, so a
// day is enqueued once however often leaders change.
func (s *Service) Periodic() []*river.PeriodicJob {
	var out []*river.PeriodicJob
	sched := Daily{Hour: s.cfg.Hour, Location: s.cfg.Location}
	for _, name := range s.carriers.Names() {
		out = append(out, river.NewPeriodicJob(sched, func() (river.JobArgs, *river.InsertOpts) {
			return NightlyArgs{Carrier: name, BusinessDate: previousDay(s.now(), s.cfg.Location)},
				&river.InsertOpts{MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
		}, nil))
	}
	return out
}

// RegisterWorkers adds settlement's job workers.
func RegisterWorkers(w *river.Workers, s *Service) {
	river.AddWorker(w, &nightlyWorker{s: s})
}

type nightlyWorker struct {
	river.WorkerDefaults[NightlyArgs]
	s *Service
}

// Timeout: a day of a big carrier takes a while; river's default minute
// would cut it off and retry it forever.
func (w *nightlyWorker) Timeout(*river.Job[NightlyArgs]) time.Duration { return time.Hour }

// Work settles the day. A completed run of the day makes it a no-op; a
// failed run (no file yet, the carrier down) fails the job, and river
// tries again later with backoff.
func (w *nightlyWorker) Work(ctx context.Context, job *river.Job[NightlyArgs]) error {
	run, out, err := w.s.Run(ctx, RunRequest{Carrier: job.Args.Carrier, BusinessDate: job.Args.BusinessDate})
	if err != nil {
		return fmt.Errorf("nightly settlement of %s %s: %w", job.Args.Carrier, job.Args.BusinessDate, err)
	}
	switch {
	case out == InProgress:
		return fmt.Errorf("nightly settlement of %s %s: %s is still running elsewhere", job.Args.Carrier, job.Args.BusinessDate, run.ID)
	case run.Status == StatusFailed:
		msg := ""
		if run.FailureMessage != nil {
			msg = *run.FailureMessage
		}
		return fmt.Errorf("nightly settlement %s of %s %s failed: %w", run.ID, job.Args.Carrier, job.Args.BusinessDate, errors.New(msg))
	}
	return nil
}
