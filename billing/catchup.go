package billing

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"tollgate/internal/jobs"
)

// Catch-up after a carrier recovers. A status job backs off with the age
// of what it asks about (pollBackoff, up to 10 minutes), so a charge left
// processing by an outage would wait out that backoff after the carrier
// answers again, while a merchant's customer waits on it. When the carrier
// is seen answering again (its breaker closes, or a status query on a
// charge or refund that an earlier query could not settle gets an answer),
// every waiting status job of that carrier's undecided charges and refunds
// is made due now instead.

// catchUpEvery is how often one node catches one carrier up at most: the
// status jobs a catch-up makes due answer in a burst, and each answer is a
// sign of recovery too; one catch-up already moved them all.
const catchUpEvery = 10 * time.Second

// catchUpBatch is how many jobs are moved forward per transaction, so a
// large backlog never holds one long write.
const catchUpBatch = 200

// catchUpThrottle remembers, per carrier, when this node last caught it
// up. Its zero value is ready to use.
type catchUpThrottle struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// take reports whether carrier may be caught up at now, and if so counts it.
func (t *catchUpThrottle) take(carrier string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if last, ok := t.last[carrier]; ok && now.Sub(last) < catchUpEvery && now.Sub(last) >= 0 {
		return false
	}
	if t.last == nil {
		t.last = map[string]time.Time{}
	}
	t.last[carrier] = now
	return true
}

// CatchUp makes every waiting status job of carrier's processing charges
// and pending refunds due now, and says how many it moved. It is safe to
// call at any time and from any node: a job already due or running is left
// alone, and a job's unique key and arguments stay as they were. The
// gateway calls it when the carrier's circuit breaker closes.
func (s *Service) CatchUp(ctx context.Context, carrier string) (int, error) {
	// Driven from river_job's few waiting rows (its state index), joined to
	// the object by primary key: no scan of the charges table. args->>'x'
	// reads the job's JSON arguments on PostgreSQL and SQLite alike.
	var ids []int64
	err := s.db.WithContext(ctx).Raw(`
		SELECT j.id FROM river_job j JOIN charges c ON c.id = j.args->>'charge_id'
		WHERE j.state IN ('scheduled', 'retryable') AND j.kind = ? AND c.carrier = ? AND c.status = ?
		UNION ALL
		SELECT j.id FROM river_job j JOIN refunds r ON r.id = j.args->>'refund_id' JOIN charges c ON c.id = r.charge_id
		WHERE j.state IN ('scheduled', 'retryable') AND j.kind = ? AND c.carrier = ? AND r.status = ?`,
		ChargeStatusArgs{}.Kind(), carrier, StatusProcessing, RefundStatusArgs{}.Kind(), carrier, RefundPending).Scan(&ids).Error
	if err != nil {
		return 0, fmt.Errorf("catch up carrier %s: %w", carrier, err)
	}
	moved := 0
	for len(ids) > 0 {
		batch := ids[:min(len(ids), catchUpBatch)]
		ids = ids[len(batch):]
		// Due now, and one notification per batch: on PostgreSQL the
		// listening nodes run them at once, not at their fallback poll.
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return jobs.RetryNowTx(ctx, s.jobs, tx, batch)
		})
		if err != nil {
			return moved, fmt.Errorf("catch up carrier %s: %w", carrier, err)
		}
		moved += len(batch)
	}
	if moved > 0 {
		s.log.Info("carrier answers again; its pending status queries are due now", "carrier", carrier, "jobs", moved)
	}
	return moved, nil
}

// carrierAnswered is called by a status job when the carrier answered a
// query about an operation undecided since since. An answer about one that
// an earlier query already failed to settle (older than two first-query
// delays) means the carrier is back after trouble: its other waiting status
// jobs are made due now, at most once per catchUpEvery per carrier on this
// node. An answer about a fresh operation is business as usual and costs
// nothing.
func (s *Service) carrierAnswered(ctx context.Context, carrier string, since time.Time) {
	now := s.now()
	if now.Sub(since) <= 2*s.statusDelay() || !s.catchUp.take(carrier, now) {
		return
	}
	if _, err := s.CatchUp(ctx, carrier); err != nil {
		// Not this job's failure: the others still run on their backoff.
		s.log.Error("catching up a carrier's status queries", "carrier", carrier, "error", err)
	}
}
