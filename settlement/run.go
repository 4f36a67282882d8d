package settlement

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/problem"
	"tollgate/internal/store"
)

// RunRequest asks to settle one carrier's business day.
type RunRequest struct {
	Carrier      string
	BusinessDate string // YYYY-MM-DD in the configured zone
	Rerun        bool   // settle again even if the day has a completed run
	// Report is a file handed over directly (tollgate settle --report);
	// nil reads report_dir when configured, else fetches from the carrier.
	Report     io.Reader
	ReportName string
	// Progress hears how many lines have been read, now and then.
	Progress func(lines int64)
}

// Outcome says what Run did.
type Outcome int

const (
	// Ran: a new run, now completed or failed.
	Ran Outcome = iota
	// Existing: the day's completed run, returned as it is.
	Existing
	// InProgress: another run of the day is running, maybe on another node.
	InProgress
)

// Run settles req's carrier and day: it returns the day's completed run
// unless asked to rerun, the run in progress if there is one, or runs a new
// one. A new run that fails is returned with its error message; only
// invalid requests and database failures are errors.
func (s *Service) Run(ctx context.Context, req RunRequest) (*Run, Outcome, error) {
	c, d, err := s.check(req.Carrier, req.BusinessDate)
	if err != nil {
		return nil, 0, err
	}
	if !req.Rerun {
		if cur, err := s.current(ctx, req.Carrier, d.Date); err != nil || cur != nil {
			return cur, Existing, err
		}
	}
	run, out, err := s.begin(ctx, req, d)
	if err != nil || out != Ran {
		return run, out, err
	}
	log := s.log.With("settlement", run.ID, "carrier", run.Carrier, "business_date", run.BusinessDate)
	started := time.Now()
	if err := s.execute(ctx, run, c, d, req); err != nil {
		log.Warn("settlement failed", "error", err)
		if ferr := s.fail(context.WithoutCancel(ctx), run, err); ferr != nil {
			return nil, 0, ferr
		}
	} else {
		log.Info("settlement completed", "lines", run.LinesRead, "matched", run.MatchedCount,
			"missing_at_carrier", run.MissingAtCarrierCount, "missing_at_gateway", run.MissingAtGatewayCount,
			"amount_mismatch", run.AmountMismatchCount, "status_mismatch", run.StatusMismatchCount,
			"duplicates", run.DuplicateCount, "resolved", run.ResolvedCount, "took_ms", time.Since(started).Milliseconds())
	}
	got, err := s.Get(context.WithoutCancel(ctx), run.ID)
	return got, Ran, err
}

// check validates a request: a configured carrier and a day that is over.
func (s *Service) check(carrier, date string) (carriers.Carrier, day, error) {
	if carrier == "" {
		return nil, day{}, problem.Invalid("carrier", "carrier is required.")
	}
	c, ok := s.carriers.Get(carrier)
	if !ok {
		return nil, day{}, problem.Unprocessable(problem.CodeUnknownCarrier, "carrier", fmt.Sprintf("No carrier %q is configured.", carrier))
	}
	if date == "" {
		return nil, day{}, problem.Invalid("business_date", "business_date is required, as YYYY-MM-DD.")
	}
	d, err := businessDay(date, s.cfg.Location)
	if err != nil {
		return nil, day{}, err
	}
	if err := d.settleable(s.now(), s.cfg.Location); err != nil {
		return nil, day{}, err
	}
	return c, d, nil
}

// current is the day's completed run that nothing superseded, or nil.
func (s *Service) current(ctx context.Context, carrier, date string) (*Run, error) {
	var r Run
	err := s.db.WithContext(ctx).Where("carrier = ? AND business_date = ? AND status = ? AND superseded_by IS NULL", carrier, date, StatusCompleted).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find the current settlement of %s %s: %w", carrier, date, err)
	}
	return &r, nil
}

// begin records a running run. The unique index on running runs makes it
// the only one of its carrier and day on every node; a run that stopped
// showing progress is taken over.
func (s *Service) begin(ctx context.Context, req RunRequest, d day) (*Run, Outcome, error) {
	for attempt := 0; ; attempt++ {
		now := s.now()
		run := &Run{ID: newRunID(), Carrier: req.Carrier, BusinessDate: d.Date, TimeZone: s.cfg.Location.String(),
			Status: StatusRunning, Rerun: req.Rerun, CreatedAt: now, HeartbeatAt: now}
		err := s.db.WithContext(ctx).Create(run).Error
		if err == nil {
			if !req.Rerun {
				// A run of the day may have completed between the look
				// for one and this insert: answer that one instead.
				cur, err := s.current(ctx, req.Carrier, d.Date)
				if err != nil || cur != nil {
					if derr := s.db.WithContext(ctx).Delete(&Run{}, "id = ?", run.ID).Error; derr != nil && err == nil {
						err = fmt.Errorf("withdraw settlement %s: %w", run.ID, derr)
					}
					return cur, Existing, err
				}
			}
			return run, Ran, nil
		}
		if !store.IsUniqueViolation(err) {
			return nil, 0, fmt.Errorf("start settlement: %w", err)
		}
		var other Run
		if err := s.db.WithContext(ctx).Where("carrier = ? AND business_date = ? AND status = ?", req.Carrier, d.Date, StatusRunning).Take(&other).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) && attempt < 3 {
				continue // it just finished; try again
			}
			return nil, 0, fmt.Errorf("find the running settlement: %w", err)
		}
		if attempt >= 3 || s.now().Sub(other.HeartbeatAt) < s.cfg.StaleAfter {
			return &other, InProgress, nil
		}
		msg := fmt.Sprintf("abandoned: no progress since %s (the node running it stopped); taken over by a new run", other.HeartbeatAt.UTC().Format(time.RFC3339))
		if err := s.fail(ctx, &other, errors.New(msg)); err != nil {
			return nil, 0, err
		}
	}
}

// execute does the work of a running run.
func (s *Service) execute(ctx context.Context, run *Run, c carriers.Carrier, d day, req RunRequest) error {
	if !carriers.Implements[carriers.ReportSource](c) {
		return fmt.Errorf("carrier %s has no settlement file support", c.Name())
	}
	rs := c.(carriers.ReportSource)
	src, name, err := s.openReport(ctx, rs, run.Carrier, d.Date, req)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := s.db.WithContext(ctx).Model(&Run{}).Where("id = ?", run.ID).Update("source", name).Error; err != nil {
		return fmt.Errorf("record the file's source: %w", err)
	}
	run.Source = name

	ix, err := s.loadIndex(ctx, run.Carrier, d)
	if err != nil {
		return err
	}
	r := &reconciler{s: s, run: run, carrier: run.Carrier, ix: ix, w: newDiscWriter(s.db, s.billing, run.Carrier, s.cfg.BatchSize),
		unknown: map[string]struct{}{}, progress: req.Progress, lastBeat: s.now()}
	if err := r.read(ctx, rs.ParseReport(src, d.Date)); err != nil {
		return err
	}
	r.ix = nil // done with; let the resolution pass run lighter
	// Only a whole, valid file settles anything: the processing charges it
	// lists are resolved after the last line has been read and checked.
	for _, res := range r.resolve {
		result := carriers.Result{Outcome: carriers.OutcomeSucceeded, CarrierReference: res.carrierReference, BilledAt: res.billedAt}
		if !res.billed {
			result = carriers.Result{Outcome: carriers.OutcomeDeclined, FailureCode: carriers.FailureCarrierDeclined,
				CarrierReference: res.carrierReference, Message: "listed as not billed in the carrier's settlement file"}
		}
		if err := s.billing.ApplyChargeResult(ctx, res.chargeID, result, nil); err != nil {
			return fmt.Errorf("settle processing charge %s from the file: %w", res.chargeID, err)
		}
	}
	sts, err := s.statements(ctx, run.ID, run.Carrier, d)
	if err != nil {
		return err
	}
	if len(sts) > 0 {
		if err := s.db.WithContext(ctx).CreateInBatches(&sts, s.cfg.BatchSize).Error; err != nil {
			return fmt.Errorf("write statements: %w", err)
		}
	}
	run.Totals = r.t
	return s.complete(ctx, run)
}

// openReport opens the day's file: the one handed over, else report_dir's,
// else the carrier's.
func (s *Service) openReport(ctx context.Context, rs carriers.ReportSource, carrier, date string, req RunRequest) (io.ReadCloser, string, error) {
	if req.Report != nil {
		name := req.ReportName
		if name == "" {
			name = "upload"
		}
		return io.NopCloser(req.Report), "file:" + name, nil
	}
	if s.cfg.ReportDir != "" {
		path := filepath.Join(s.cfg.ReportDir, carrier+"-"+date+".csv")
		f, err := os.Open(path)
		if err != nil {
			return nil, "", fmt.Errorf("settlement file %s: %w", path, err)
		}
		return f, "file:" + filepath.Base(path), nil
	}
	rc, err := rs.FetchReport(ctx, date)
	if err != nil {
		return nil, "", fmt.Errorf("fetch the file from carrier %s: %w", carrier, err)
	}
	return rc, "carrier:" + carrier, nil
}

// complete closes a run: it supersedes the day's previous completed run
// and records its totals, in one transaction.
func (s *Service) complete(ctx context.Context, run *Run) error {
	now := s.now()
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var prev Run
		err := tx.Where("carrier = ? AND business_date = ? AND status = ? AND superseded_by IS NULL AND id <> ?",
			run.Carrier, run.BusinessDate, StatusCompleted, run.ID).Take(&prev).Error
		switch {
		case err == nil:
			if err := tx.Model(&Run{}).Where("id = ? AND superseded_by IS NULL", prev.ID).Update("superseded_by", run.ID).Error; err != nil {
				return fmt.Errorf("supersede %s: %w", prev.ID, err)
			}
			run.Supersedes = &prev.ID
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("find the run to supersede: %w", err)
		}
		t := run.Totals
		res := tx.Model(&Run{}).Where("id = ? AND status = ?", run.ID, StatusRunning).Updates(map[string]any{
			"status": StatusCompleted, "supersedes": run.Supersedes, "completed_at": now, "heartbeat_at": now,
			"lines_read": t.LinesRead, "matched_count": t.MatchedCount, "matched_amount": t.MatchedAmount,
			"missing_at_carrier_count": t.MissingAtCarrierCount, "missing_at_carrier_amount": t.MissingAtCarrierAmount,
			"missing_at_gateway_count": t.MissingAtGatewayCount, "missing_at_gateway_amount": t.MissingAtGatewayAmount,
			"amount_mismatch_count": t.AmountMismatchCount, "amount_mismatch_amount": t.AmountMismatchAmount,
			"status_mismatch_count": t.StatusMismatchCount, "status_mismatch_amount": t.StatusMismatchAmount,
			"duplicate_count": t.DuplicateCount, "duplicate_amount": t.DuplicateAmount,
			"resolved_count": t.ResolvedCount, "resolved_amount": t.ResolvedAmount,
		})
		if res.Error != nil {
			return fmt.Errorf("complete settlement %s: %w", run.ID, res.Error)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("complete settlement %s: it is no longer running (taken over?)", run.ID)
		}
		run.Status = StatusCompleted
		return nil
	})
}

// fail closes a run as failed: whatever it wrote goes, its error stays.
func (s *Service) fail(ctx context.Context, run *Run, cause error) error {
	msg := failureMessage(cause)
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("run_id = ?", run.ID).Delete(&Discrepancy{}).Error; err != nil {
			return fmt.Errorf("withdraw discrepancies of %s: %w", run.ID, err)
		}
		if err := tx.Where("run_id = ?", run.ID).Delete(&Statement{}).Error; err != nil {
			return fmt.Errorf("withdraw statements of %s: %w", run.ID, err)
		}
		now := s.now()
		if err := tx.Model(&Run{}).Where("id = ? AND status = ?", run.ID, StatusRunning).
			Updates(map[string]any{"status": StatusFailed, "failure_message": msg, "completed_at": now, "heartbeat_at": now}).Error; err != nil {
			return fmt.Errorf("fail settlement %s: %w", run.ID, err)
		}
		run.Status, run.FailureMessage = StatusFailed, &msg
		return nil
	})
}

// failureMessage says why a run failed in words finance can act on,
// without internals.
func failureMessage(err error) string {
	var p *problem.Problem
	switch {
	case errors.Is(err, carriers.ErrBadReport):
		return "the settlement file was refused: " + err.Error()
	case errors.Is(err, carriers.ErrReportNotFound):
		return "the carrier has no settlement file for this day yet"
	case errors.Is(err, carriers.ErrUnavailable):
		return "the carrier could not be reached for its settlement file: " + err.Error()
	case errors.Is(err, os.ErrNotExist):
		return "no settlement file: " + err.Error()
	case errors.As(err, &p) && p.Status < http.StatusInternalServerError:
		return p.Detail
	}
	return err.Error()
}
