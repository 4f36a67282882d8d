// Package billingapi is billing's HTTP app layer: it turns merchant API
// requests into calls on the billing domain, makes POSTs safe to retry with
// Idempotency-Key (it owns the idempotency_keys table), and renders domain
// objects as the API's wire shapes.
package billingapi

import (
	"errors"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"tollgate/billing"
	"tollgate/internal/batch"
	"tollgate/internal/clock"
)

// Settings tune the app layer.
type Settings struct {
	// Retention is how long an answer is kept for replay.
	Retention time.Duration
	// Wait is how long a concurrent duplicate waits for the first request.
	Wait time.Duration
}

// API serves billing over HTTP.
type API struct {
	svc   *billing.Service
	db    *gorm.DB
	clock clock.Clock
	cfg   Settings
	log   *slog.Logger

	claims  *batch.Batcher[idempotencyKey, bool]
	answers *batch.Batcher[keptAnswer, struct{}]
}

// New builds the app layer over a billing service.
func New(svc *billing.Service, db *gorm.DB, clk clock.Clock, cfg Settings, log *slog.Logger) (*API, error) {
	if svc == nil || db == nil || clk == nil || log == nil {
		return nil, errors.New("billingapi: service, database, clock and logger are required")
	}
	if cfg.Retention <= 0 || cfg.Wait <= 0 {
		return nil, errors.New("billingapi: idempotency retention and wait must be positive")
	}
	a := &API{svc: svc, db: db, clock: clk, cfg: cfg, log: log}
	a.claims = batch.New(idemBatchMax, a.insertClaims)
	a.answers = batch.New(idemBatchMax, a.storeAnswers)
	return a, nil
}

func (a *API) now() time.Time { return a.clock.Now().UTC() }

// BatchStats are the idempotency batches' counts, by name, for /metrics.
func (a *API) BatchStats() map[string]batch.Stats {
	return map[string]batch.Stats{"idempotency_claim": a.claims.Stats(), "idempotency_answer": a.answers.Stats()}
}
