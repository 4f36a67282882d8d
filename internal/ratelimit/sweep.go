package ratelimit

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// SweepArgs is the periodic job that deletes rate-limit rows whose bucket
// has long refilled; without it the table keeps one row per phone number
// ever limited.
type SweepArgs struct{}

func (SweepArgs) Kind() string { return "rate_limit_sweep" }

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	shared *Shared
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.shared.Sweep(ctx)
	return err
}

// RegisterWorkers adds the sweeper to a node's job workers.
func RegisterWorkers(w *river.Workers, s *Shared) { river.AddWorker(w, &sweepWorker{shared: s}) }

// Periodic is the hourly sweep; river runs it on the elected leader only.
func (s *Shared) Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
		return SweepArgs{}, nil
	}, nil)
}
