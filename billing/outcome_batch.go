package billing

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/batch"
	"tollgate/internal/jobs"
	"tollgate/internal/store"
)

// The plainest and most frequent result, a one-tap charge the carrier
// billed, is applied for the charges whose answers arrive together in one
// transaction of one statement per kind: the moves to succeeded, the
// ledger's rows, the events (and their deliveries), the months' spend and
// the receipts' jobs (PostgreSQL; the
// embedded store has one writer, which batching would not spread). What it
// writes is what applyChargeResultTx writes for each, in the same
// transaction, so the invariants hold as they do one at a time.

// success is a carrier's success answer to a charge its request holds
// processing.
type success struct {
	held *Charge
	res  carriers.Result
}

// successBatchMax bounds one transaction of successes.
const successBatchMax = 32

// batchable says whether applySuccesses may apply res to held: a success
// for a charge its caller holds processing, with no cashback to spend or
// earn (a merchant that never had a program; cashback.go).
func (s *Service) batchable(ctx context.Context, held *Charge, res carriers.Result, callErr error) bool {
	if s.successes == nil || callErr != nil || res.Outcome != carriers.OutcomeSucceeded ||
		held.Status != StatusProcessing || held.CashbackApplied != 0 {
		return false
	}
	// The same per-node answer cashbackToEarnTx would get (within
	// lookup_cache_ttl of a first program, a charge earns nothing either way).
	had, err := s.everHadCashback(s.db.WithContext(ctx), held.MerchantID, held.Livemode)
	return err == nil && !had
}

// applySuccesses moves each held charge to succeeded with its bookkeeping.
// A nil output is a charge this batch left alone: moved meanwhile by
// something else, or a second charge of one month's spend (its row is
// booked once per statement); its caller applies the result as usual.
func (s *Service) applySuccesses(ctx context.Context, in []success) ([]*Charge, error) {
	out := make([]*Charge, len(in))
	now := s.now()
	// One charge per spend month; the others go their own way after.
	taken := make([]int, 0, len(in))
	months := map[monthKey]bool{}
	for i, sc := range in {
		if m := sc.held.SpendMonth; m != nil {
			key := monthKey{sc.held.MSISDNIndex, sc.held.Currency, *m}
			if months[key] {
				continue
			}
			months[key] = true
		}
		taken = append(taken, i)
	}
	// In id order, for a plan that follows the list; the lock order does
	// not matter here: a charge is in one batch only, and a status job or
	// callback on it waits for its row, then finds it moved.
	slices.SortFunc(taken, func(a, b int) int { return cmp.Compare(in[a].held.ID, in[b].held.ID) })

	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		moved, err := s.moveSucceededTx(tx, in, taken, now)
		if err != nil {
			return err
		}
		var entries []LedgerEntry
		var events []Event
		for _, ch := range moved {
			entries = append(entries, legs(ch.MerchantID, ch.ID, nil, ch.Billed(), ch.Currency, *ch.SucceededAt, AccountCarrierReceivable, AccountMerchantPayable, "")...)
			events = append(events, chargeEventOf(EventChargeSucceeded, ch))
		}
		if err := EmitMany(tx, s.events, events); err != nil {
			return fmt.Errorf("record %d %s events: %w", len(events), EventChargeSucceeded, err)
		}
		if len(entries) > 0 {
			if err := tx.Create(&entries).Error; err != nil {
				return fmt.Errorf("post %d charges: %w", len(moved), err)
			}
		}
		receipts, err := s.bookSpentTx(tx, moved)
		if err != nil {
			return err
		}
		if err := jobs.InsertManyTx(ctx, s.jobs, tx, receipts); err != nil {
			return err
		}
		for i, sc := range in {
			out[i] = moved[sc.held.ID]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// moveSucceededTx moves the taken charges from processing to succeeded in
// one statement; the ones it returns are the ones it moved.
func (s *Service) moveSucceededTx(tx *gorm.DB, in []success, taken []int, now time.Time) (map[string]*Charge, error) {
	args := []any{StatusSucceeded, now}
	for _, i := range taken {
		sc := in[i]
		args = append(args, sc.held.ID, sc.res.CarrierReference, succeededAt(sc.held, sc.res, now))
	}
	args = append(args, StatusProcessing)
	var rows []Charge
	err := tx.Raw(`UPDATE charges AS c SET status = ?, updated_at = ?, succeeded_at = v.column3,
		carrier_reference = CASE WHEN v.column2 = '' THEN c.carrier_reference ELSE v.column2 END
		FROM (VALUES `+store.Tuples("(?, ?, CAST(? AS TIMESTAMPTZ))", len(taken))+`) AS v
		WHERE c.id = v.column1 AND c.status = ? RETURNING c.*`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("move %d charges to succeeded: %w", len(taken), err)
	}
	moved := make(map[string]*Charge, len(rows))
	for i := range rows {
		moved[rows[i].ID] = &rows[i]
	}
	return moved, nil
}

// bookSpentTx books each moved charge as spent in its month's total
// bucket, the rows locked in one order first, and returns the receipts to
// queue; thresholds reached are alerted as spentTx does.
func (s *Service) bookSpentTx(tx *gorm.DB, moved map[string]*Charge) ([]river.JobArgs, error) {
	var booked []*Charge
	for _, ch := range moved {
		if ch.SpendMonth != nil {
			booked = append(booked, ch)
		}
	}
	if len(booked) == 0 {
		return nil, nil
	}
	slices.SortFunc(booked, func(a, b *Charge) int {
		return cmp.Or(cmp.Compare(a.MSISDNIndex, b.MSISDNIndex), cmp.Compare(a.Currency, b.Currency), cmp.Compare(*a.SpendMonth, *b.SpendMonth))
	})
	values := store.Tuples("(?, ?, ?, CAST(? AS BIGINT))", len(booked))
	args := make([]any, 0, 4*len(booked)+1)
	for _, ch := range booked {
		args = append(args, ch.MSISDNIndex, ch.Currency, *ch.SpendMonth, ch.Billed())
	}
	args = append(args, scopeTotal)
	if len(booked) > 1 {
		if err := tx.Exec(`SELECT 1 FROM spend_months AS m JOIN (VALUES `+values+`) AS v
			ON m.msisdn_index = v.column1 AND m.currency = v.column2 AND m.month = v.column3 WHERE m.scope = ?
			ORDER BY m.msisdn_index, m.currency, m.month FOR UPDATE OF m`, args...).Error; err != nil {
			return nil, fmt.Errorf("lock %d spend months: %w", len(booked), err)
		}
	}
	var rows []monthRow
	err := tx.Raw(`UPDATE spend_months AS m SET spent = m.spent + v.column4 FROM (VALUES `+values+`) AS v
		WHERE m.msisdn_index = v.column1 AND m.currency = v.column2 AND m.month = v.column3 AND m.scope = ?
		RETURNING m.msisdn_index, m.currency, m.month, m.reserved, m.spent,
			(SELECT c.amount FROM subscriber_caps c WHERE c.msisdn_index = m.msisdn_index AND c.currency = m.currency) AS own_cap`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("book spend of %d charges: %w", len(booked), err)
	}
	if len(rows) != len(booked) {
		// A month row missing, or two charges on one (which the batch
		// keeps apart): each goes alone, which books or fails it exactly.
		return nil, fmt.Errorf("book spend of %d charges: %d month rows", len(booked), len(rows))
	}
	byMonth := make(map[monthKey]monthRow, len(rows))
	for _, r := range rows {
		byMonth[monthKey{r.MSISDNIndex, r.Currency, r.Month}] = r
	}
	var receipts []river.JobArgs
	for _, ch := range booked {
		row, ok := byMonth[monthKey{ch.MSISDNIndex, ch.Currency, *ch.SpendMonth}]
		if !ok {
			return nil, fmt.Errorf("book spend of %s: %w", ch.ID, gorm.ErrRecordNotFound)
		}
		total, prefs := row.of(ch)
		receipt, err := s.bookedTx(tx, ch, total, prefs)
		if err != nil {
			return nil, err
		}
		if receipt != nil {
			receipts = append(receipts, *receipt)
		}
	}
	return receipts, nil
}

// newSuccessBatcher is nil where successes are applied one at a time.
func newSuccessBatcher(s *Service) *batch.Batcher[success, *Charge] {
	if s.db.Dialector.Name() != "postgres" {
		return nil
	}
	return batch.New(successBatchMax, s.applySuccesses)
}
