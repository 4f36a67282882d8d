package billing

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"tollgate/internal/batch"
	"tollgate/internal/store"
)

// The intents of one-tap charges that arrive together are recorded in one
// transaction (PostgreSQL): the numbers' risk locks taken in one statement
// and one order, the numbers' velocity counts and subscriber choices read
// under them in one statement each, as screenTx and holdRoomTx read one's, the room of all of them
// reserved in one conditional upsert, the charges inserted in one statement
// and their events emitted together. The batch is all or nothing (but for a
// second charge of one number, which it leaves to the usual way): anything
// a charge alone would be refused for (a risk rule, a blocked category, a
// full bucket, its key already used) fails the batch, each of its charges
// runs it again alone, and the one refused then takes the single path,
// which records the refusal as it always has.

// intentBatchMax bounds one transaction of intents.
const intentBatchMax = 32

// errIntentRefused: a bucket would not take a charge; the single path says
// which and why.
var errIntentRefused = errors.New("a bucket refused the charge")

// intentBatchable says whether ch, a one-tap charge ready to be recorded
// processing, may be recorded by recordIntents: no cash-out screening, no
// subscription period to hold, not a scheduled charge's run, and no cashback
// to spend (a merchant that never had a program).
func (s *Service) intentBatchable(ctx context.Context, ch *Charge) bool {
	if s.intents == nil || ch.riskCashOut != "" || ch.SubscriptionID != nil || ch.ScheduledFor != nil {
		return false
	}
	had, err := s.everHadCashback(s.db.WithContext(ctx), ch.MerchantID, ch.Livemode)
	return err == nil && !had
}

// recordIntents records the charges' intents, or fails as a whole; true
// for each it recorded. Two charges of one number never share a batch: the
// second is left out (false), for its caller to record the usual way, one
// charge of the number after the other as the lock orders them.
func (s *Service) recordIntents(ctx context.Context, chs []*Charge) ([]bool, error) {
	keys := make(map[*Charge]int32, len(chs))
	numbers := make(map[string]bool, len(chs))
	recorded := make([]bool, len(chs))
	var taken []*Charge
	for i, ch := range chs {
		if numbers[ch.MSISDNIndex] {
			continue
		}
		numbers[ch.MSISDNIndex] = true
		key, err := riskLockKey(ch.MSISDNIndex)
		if err != nil {
			return nil, err
		}
		keys[ch] = key
		taken = append(taken, ch)
		recorded[i] = true
	}
	// Month rows are taken in number order, as the success batch takes
	// them (bookSpentTx): in any other order the two could deadlock. The
	// risk locks are ordered by their own statement.
	inOrder := slices.SortedFunc(slices.Values(taken), func(a, b *Charge) int {
		return cmp.Compare(a.MSISDNIndex, b.MSISDNIndex)
	})
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.cfg.Risk.Velocity.On {
			args := []any{riskLockClass}
			for _, ch := range inOrder {
				args = append(args, keys[ch])
			}
			// PostgreSQL evaluates a volatile function of the output after
			// the sort: the locks are taken in key order.
			if err := tx.Exec(`SELECT pg_advisory_xact_lock(?, v.column1) FROM (VALUES `+
				store.Tuples("(CAST(? AS INTEGER))", len(inOrder))+`) AS v ORDER BY v.column1`, args...).Error; err != nil {
				return fmt.Errorf("risk locks: %w", err)
			}
		}
		histories, err := s.velocityHistoriesTx(tx, inOrder)
		if err != nil {
			return err
		}
		indexes := make([]string, len(inOrder))
		for i, ch := range inOrder {
			indexes[i] = ch.MSISDNIndex
		}
		prefs, err := s.preferencesOfTx(tx, indexes)
		if err != nil {
			return err
		}
		var rows []any
		var caps []any
		var want int
		for _, ch := range inOrder {
			if s.cfg.Risk.Velocity.On {
				h := histories[ch.MSISDNIndex]
				if d := s.velocityOf(ch, h.N, h.Sum); d.rule != "" {
					return d
				}
			}
			bs, month, err := s.roomWith(tx, ch, prefs[ch.MSISDNIndex])
			if err != nil {
				return err
			}
			for _, b := range bs {
				rows = append(rows, ch.MSISDNIndex, ch.Currency, month, b.scope, ch.Billed())
				if b.cap > 0 {
					caps = append(caps, ch.MSISDNIndex+"|"+b.scope, b.cap)
				}
			}
			want += len(bs)
		}
		held, err := reserveTx(tx, rows, caps)
		if err != nil {
			return fmt.Errorf("reserve spend: %w", err)
		}
		if len(held) != want {
			return errIntentRefused
		}
		if err := tx.Create(inOrder).Error; err != nil {
			return fmt.Errorf("insert %d charges: %w", len(inOrder), err)
		}
		events := make([]Event, len(inOrder))
		for i, ch := range inOrder {
			events[i] = chargeEventOf(EventChargeProcessing, ch)
		}
		return EmitMany(tx, s.events, events)
	})
	if err != nil {
		return nil, err
	}
	return recorded, nil
}

// history is a number's charges in the velocity window: how many, and
// their sum.
type history struct {
	MSISDNIndex string `gorm:"column:msisdn_index"`
	N, Sum      int64
}

// velocityHistoriesTx counts each number's charges in the velocity window
// in one statement, as riskHistory counts one number's (from its clearance,
// when there is one); none when the rule is off. The charges are of
// distinct numbers.
func (s *Service) velocityHistoriesTx(tx *gorm.DB, chs []*Charge) (map[string]history, error) {
	out := make(map[string]history, len(chs))
	if !s.cfg.Risk.Velocity.On {
		return out, nil
	}
	from := s.now().Add(-s.cfg.Risk.Velocity.Window)
	args := make([]any, 0, 2*len(chs)+3)
	for _, ch := range chs {
		args = append(args, ch.MSISDNIndex, ch.Currency)
	}
	args = append(args, from, from, countedStatuses)
	// The clearance is read once per number, not once per charge counted.
	var rows []history
	err := tx.Raw(`SELECT v.column1 AS msisdn_index, COUNT(*) AS n, COALESCE(SUM(c.amount), 0) AS sum
		FROM (VALUES `+store.Tuples("(?, ?)", len(chs))+`) AS v
		LEFT JOIN risk_clearances AS r ON r.msisdn_index = v.column1
		JOIN charges AS c ON c.msisdn_index = v.column1 AND c.currency = v.column2
			AND c.created_at >= ? AND c.created_at >= COALESCE(r.cleared_at, ?) AND c.status IN ?
		GROUP BY v.column1`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("risk histories: %w", err)
	}
	for _, r := range rows {
		out[r.MSISDNIndex] = r
	}
	return out, nil
}

// reserveTx holds amounts in spend buckets with one conditional upsert
// (rows: number, currency, month, scope, amount, five values a row; caps:
// "number|scope", cap): each row is created holding its amount, or the
// amount is added where it fits under that row's cap, PostgreSQL
// re-checking the WHERE once the row is locked and SQLite's writers
// queueing, so concurrent charges never overshoot a cap. It returns the
// scopes of the rows that took their amount; a row missing is full.
func reserveTx(tx *gorm.DB, rows, caps []any) ([]string, error) {
	q := `INSERT INTO spend_months (msisdn_index, currency, month, scope, reserved, spent) VALUES ` +
		store.Tuples("(?, ?, ?, ?, ?, 0)", len(rows)/5) +
		` ON CONFLICT (msisdn_index, currency, month, scope) DO UPDATE SET reserved = spend_months.reserved + excluded.reserved`
	args := rows
	if len(caps) > 0 {
		q += ` WHERE spend_months.reserved + excluded.reserved <= CASE excluded.msisdn_index || '|' || excluded.scope` +
			strings.Repeat(" WHEN ? THEN ?", len(caps)/2) + ` ELSE spend_months.reserved + excluded.reserved END`
		args = append(slices.Clip(args), caps...)
	}
	var held []string
	err := tx.Raw(q+` RETURNING scope`, args...).Scan(&held).Error
	return held, err
}

// newIntentBatcher is nil where intents are recorded one at a time.
func newIntentBatcher(s *Service) *batch.Batcher[*Charge, bool] {
	if s.db.Dialector.Name() != "postgres" {
		return nil
	}
	return batch.New(intentBatchMax, s.recordIntents)
}
