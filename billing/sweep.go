package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"
)

// ChargeSweepArgs is the periodic look for processing charges that no
// status job asks about: their request recorded the intent and died (a
// crash, a kill, a lost database) before it could apply the carrier's
// answer, which is where an undecided charge gets its job (watchTx).
type ChargeSweepArgs struct{}

// Kind names the job; frozen once jobs of it exist.
func (ChargeSweepArgs) Kind() string { return "charge_sweep" }

// chargeSweepEvery is how often the elected leader sweeps. An orphaned
// charge is asked about at most this long after its status job would
// have been due.
const chargeSweepEvery = 10 * time.Second

// ChargeSweepPeriodic is the sweep; river's elected leader enqueues
// periodic jobs, so many nodes sweep once.
func (s *Service) ChargeSweepPeriodic() *river.PeriodicJob {
	return sweeping(ChargeSweepArgs{}, chargeSweepEvery)
}

// sweeping is the periodic job of a sweep: every so often and once at
// start, one job per period however many nodes enqueue it.
func sweeping(args river.JobArgs, every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every), func() (river.JobArgs, *river.InsertOpts) {
		return args, &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: every}}
	}, &river.PeriodicJobOpts{RunOnStart: true})
}

type chargeSweepWorker struct {
	river.WorkerDefaults[ChargeSweepArgs]
	s *Service
}

func (w *chargeSweepWorker) Work(ctx context.Context, _ *river.Job[ChargeSweepArgs]) error {
	_, err := w.s.SweepCharges(ctx)
	return err
}

// SweepCharges enqueues a status job, due now, for every charge processing
// since before its status job would have been due that has no status job
// waiting or running, and says how many it found. A request still applying
// its answer that late gets a job it did not need: the job finds the
// charge final and ends.
func (s *Service) SweepCharges(ctx context.Context) (int, error) {
	found := 0
	for {
		var ids []string
		err := s.unwatched(ctx, s.now().Add(-s.statusDelay())).Order("c.updated_at").Limit(sweepBatch).Pluck("c.id", &ids).Error
		if err != nil {
			return found, fmt.Errorf("sweep processing charges: %w", err)
		}
		if len(ids) == 0 {
			return found, nil
		}
		params := make([]river.InsertManyParams, len(ids))
		for i, id := range ids {
			// Each is a request that died (a crash, a kill) or failed to
			// record the carrier's answer: worth a look by whoever is on call.
			s.log.Warn("processing charge without a status job; asking the carrier", "charge", id)
			params[i] = river.InsertManyParams{Args: ChargeStatusArgs{ChargeID: id}}
		}
		// One statement for the batch; unique per charge, so a job enqueued
		// meanwhile is left as it is.
		if _, err := s.jobs.InsertMany(ctx, params); err != nil {
			return found, fmt.Errorf("status jobs of %d charges: %w", len(ids), err)
		}
		found += len(ids)
		if len(ids) < sweepBatch {
			return found, nil
		}
	}
}

// UnwatchedCharges counts the charges processing since before or earlier
// that no status job waits for or runs on: what the sweep finds. Older
// than a few sweeps, any such charge means the sweep is not running.
func (s *Service) UnwatchedCharges(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	if err := s.unwatched(ctx, before).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("count unwatched charges: %w", err)
	}
	return n, nil
}

// unwatched selects the charges (as c) processing since before or earlier
// with no status job waiting or running: from the few processing rows
// (charges_processing, whose condition the status names literally so the
// planner can use it) and the waiting status jobs; args->>'x' reads a
// job's JSON arguments on PostgreSQL and SQLite alike.
func (s *Service) unwatched(ctx context.Context, before time.Time) *gorm.DB {
	return s.db.WithContext(ctx).Table("charges AS c").
		Where("c.status = '"+string(StatusProcessing)+"' AND c.updated_at < ?", before).
		Where("NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = ? AND j.state IN ? AND j.args->>'charge_id' = c.id)", ChargeStatusArgs{}.Kind(), waitingJobStates)
}

// waitingJobStates are the states of a job that has yet to end: those
// oneStatusJob keeps unique.
var waitingJobStates = func() []string {
	out := make([]string, len(oneStatusJob.ByState))
	for i, st := range oneStatusJob.ByState {
		out[i] = string(st)
	}
	return out
}()
