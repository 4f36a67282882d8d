package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"tollgate/carriers"
	"tollgate/internal/auth"
	"tollgate/internal/msisdn"
	"tollgate/internal/problem"
	"tollgate/internal/store"
	"tollgate/money"
)

// Risk rules screen every new charge before anything reaches the carrier:
// no carrier call, no SMS code. A rule that declines records the charge as
// failed (failure_code risk_declined) with the rule's name in risk_rule, so
// an admin can review it (GET /v1/risk/reviews) and clear the number.
//
// The rules read the number's history from the charges table by its blind
// index, across merchants, on the injected clock. History is what was
// attempted and not failed: requires_confirmation, processing, succeeded
// and refunded charges count (a pending charge can still become money, and a
// refund does not undo that the attempt was made); failed and canceled ones
// do not, so a declined attempt never locks a subscriber out for longer.
// After an admin clears a number, only its history from the clearance on
// counts.

// Risk rule names, recorded on a declined charge as risk_rule. Wire strings,
// frozen once published.
const (
	// RiskVelocity: too many charges, or too much money, on one number in
	// a short window, whichever merchants made them.
	RiskVelocity = "velocity"
	// RiskFirstCharge: a large first charge on a number that never paid.
	RiskFirstCharge = "first_charge"
	// RiskCashOut: the phone-bill cash-out pattern (Korea's Information and
	// Communications Network Act, art. 72): high-value vouchers, gift cards
	// or game currency bought in quick succession near the cap or right
	// after the monthly reset, to be resold for cash.
	RiskCashOut = "cash_out"
)

// RiskRules lists every rule name.
var RiskRules = []string{RiskVelocity, RiskFirstCharge, RiskCashOut}

// RiskSettings configure the rules; the zero value switches them all off.
// Amounts are minor units per ISO 4217 currency.
type RiskSettings struct {
	Velocity    VelocityRule
	FirstCharge FirstChargeRule
	CashOut     CashOutRule
}

// VelocityRule bounds the charges on one number in a sliding window.
type VelocityRule struct {
	On        bool
	Window    time.Duration
	MaxCount  int              // charges in the window, the new one included; 0: no count limit
	MaxAmount map[string]int64 // money in the window, the new charge included; a currency not named has no amount limit
}

// FirstChargeRule bounds the first charge of a number never seen paying.
type FirstChargeRule struct {
	On        bool
	MaxAmount map[string]int64 // the largest first charge; a currency not named has no limit
}

// CashOutRule declines a high-value charge in a cash-convertible category
// when another one came shortly before, and the subscriber is near the cap
// or the month has just begun.
type CashOutRule struct {
	On         bool
	Categories []string         // e.g. voucher, gift_card, game_currency
	MinAmount  map[string]int64 // high-value from this amount on; a currency not named is never high-value
	Within     time.Duration    // how soon after the previous high-value charge is "quick succession"
	// NearCapPercent: the month's spend with this charge reaches this share
	// of the binding cap (MonthSpend); 0 leaves the condition out.
	NearCapPercent int
	// AfterReset: this soon after the month began in the carrier's zone
	// (the zone of its monthly caps); 0 leaves the condition out.
	AfterReset time.Duration
}

// validate refuses settings a rule cannot run with; configs names the key
// first, this guards other callers.
func (r RiskSettings) validate() error {
	v, f, c := r.Velocity, r.FirstCharge, r.CashOut
	if v.On && (v.Window <= 0 || v.MaxCount < 0 || (v.MaxCount == 0 && len(v.MaxAmount) == 0)) {
		return errors.New("billing: risk velocity needs a positive window and a count or amount limit")
	}
	if f.On && len(f.MaxAmount) == 0 {
		return errors.New("billing: risk first_charge needs an amount per currency")
	}
	if c.On && (len(c.Categories) == 0 || len(c.MinAmount) == 0 || c.Within <= 0 || c.NearCapPercent < 0 || c.NearCapPercent > 100 ||
		c.AfterReset < 0 || (c.NearCapPercent == 0 && c.AfterReset == 0)) {
		return errors.New("billing: risk cash_out needs categories, amounts, a window, and a near-cap percent (1-100) or an after-reset period")
	}
	for _, m := range []map[string]int64{v.MaxAmount, f.MaxAmount, c.MinAmount} {
		for cur, n := range m {
			if n <= 0 {
				return fmt.Errorf("billing: risk amount for %s must be positive", cur)
			}
		}
	}
	return nil
}

// countedStatuses are the charges the rules count: attempted and not failed.
var countedStatuses = []Status{StatusRequiresConfirmation, StatusProcessing, StatusSucceeded, StatusPartiallyRefunded, StatusRefunded}

// riskDecision is a rule's verdict: the rule that declined and why, for
// the merchant and the reviewer; an empty rule lets the charge through.
type riskDecision struct {
	rule, why string
}

// Error lets a decision made inside a transaction roll it back.
func (d riskDecision) Error() string { return "declined by the risk rule " + d.rule }

// screen runs the risk rules on a charge about to be recorded (its number
// sealed, nothing written yet). When a rule declines, the charge is recorded
// failed with its rule, and the answer is the 422 risk_declined problem;
// dup is the charge a concurrent request with the same Idempotency-Key
// recorded first, when that one was not declined.
func (s *Service) screen(ctx context.Context, ch *Charge) (dup *Charge, err error) {
	d, err := s.riskDecide(ctx, ch)
	if err != nil || d.rule == "" {
		return nil, err
	}
	return s.decline(ctx, ch, d)
}

// riskDecide runs the rules that need more than the number's recent count
// (first_charge, the cash-out moment), outside any transaction, when the
// charge is one they watch (large, or high-value in a watched category).
// Any other charge is left to screenTx, which counts velocity under the
// number's lock in the transaction that records it anyway: counting here
// too cost a clearance read and a COUNT per charge for an answer screenTx
// gives again.
func (s *Service) riskDecide(ctx context.Context, ch *Charge) (riskDecision, error) {
	r := s.cfg.Risk
	most, large := r.FirstCharge.MaxAmount[ch.Currency]
	firstCharge := r.FirstCharge.On && large && ch.Amount > most
	cashOut := r.CashOut.On && r.CashOut.highValue(ch)
	if !firstCharge && !cashOut {
		return riskDecision{}, nil
	}
	now := s.now()
	cleared, err := s.clearance(s.db.WithContext(ctx), ch.MSISDNIndex)
	if err != nil {
		return riskDecision{}, err
	}
	var since time.Time // history before a clearance does not count
	if cleared != nil {
		since = cleared.ClearedAt
	}
	cur, _ := money.Lookup(ch.Currency)
	// Velocity first, as screenTx would: the rule named is the same either way.
	if d, err := s.velocity(s.db.WithContext(ctx), ch, since, false); err != nil || d.rule != "" {
		return d, err
	}
	if firstCharge && cleared == nil {
		// A number an admin cleared is known: the clearance vouches for it.
		paid, err := s.everPaid(ctx, ch.MSISDNIndex)
		if err != nil {
			return riskDecision{}, err
		}
		if !paid {
			return riskDecision{RiskFirstCharge, fmt.Sprintf("this phone number has never paid through this gateway, and a first charge may be at most %s.",
				cur.Display(most))}, nil
		}
	}
	if cashOut {
		// The moment first (it is kept on ch for screenTx, which counts the
		// succession again under the number's lock), then the succession.
		why, err := s.cashOutMoment(ctx, ch, now)
		if err != nil || why == "" {
			return riskDecision{}, err
		}
		ch.riskCashOut = why
		return s.cashOut(s.db.WithContext(ctx), ch, since)
	}
	return riskDecision{}, nil
}

// cashOutMoment says why now is a cash-out moment for the subscriber of ch
// (right after the monthly reset in the carrier's zone, or near the cap
// with this charge), "" when it is not.
func (s *Service) cashOutMoment(ctx context.Context, ch *Charge, now time.Time) (string, error) {
	c := s.cfg.Risk.CashOut
	if c.AfterReset > 0 {
		if start := monthStart(now, s.carrierLine(ch.Carrier, ch.Currency).Location); now.Sub(start) < c.AfterReset {
			return fmt.Sprintf("within %s of the monthly reset", span(c.AfterReset)), nil
		}
	}
	if c.NearCapPercent > 0 {
		sp, err := s.MonthSpend(ctx, ch.MSISDNIndex, ch.Currency)
		if err != nil {
			return "", err
		}
		if sp.Cap > 0 && (sp.Spent+ch.Amount)*100 >= sp.Cap*int64(c.NearCapPercent) {
			return fmt.Sprintf("which brings this month's spend to %d%% or more of the subscriber's cap", c.NearCapPercent), nil
		}
	}
	return "", nil
}

// cashOut declines ch, a high-value charge at a cash-out moment
// (ch.riskCashOut says which), when another high-value charge of the
// watched categories came on the number within the window, counted on db.
func (s *Service) cashOut(db *gorm.DB, ch *Charge, since time.Time) (riskDecision, error) {
	c := s.cfg.Risk.CashOut
	n, _, err := s.riskHistory(db, ch, later(s.now().Add(-c.Within), since), c.Categories, c.MinAmount[ch.Currency], false)
	if err != nil || n == 0 {
		return riskDecision{}, err
	}
	cur, _ := money.Lookup(ch.Currency)
	return riskDecision{RiskCashOut, fmt.Sprintf("a second %s or larger %s charge on this phone number within %s, %s: the pattern of turning a phone-bill limit into cash.",
		cur.Display(c.MinAmount[ch.Currency]), ch.Category, span(c.Within), ch.riskCashOut)}, nil
}

// velocity is the velocity rule on db (the service's, or the transaction
// recording ch), counting the number's history from since on at the most.
// With clearedHere, since is ignored: the count starts at the number's
// clearance, if later than the window's start, looked up in the same
// statement.
func (s *Service) velocity(db *gorm.DB, ch *Charge, since time.Time, clearedHere bool) (riskDecision, error) {
	v := s.cfg.Risk.Velocity
	if !v.On {
		return riskDecision{}, nil
	}
	n, sum, err := s.riskHistory(db, ch, later(s.now().Add(-v.Window), since), nil, 0, clearedHere)
	if err != nil {
		return riskDecision{}, err
	}
	return s.velocityOf(ch, n, sum), nil
}

// velocityOf is the velocity rule's verdict on ch, given the number's n
// charges of sum in the window before it.
func (s *Service) velocityOf(ch *Charge, n, sum int64) riskDecision {
	v := s.cfg.Risk.Velocity
	if v.MaxCount > 0 && n+1 > int64(v.MaxCount) {
		return riskDecision{RiskVelocity, fmt.Sprintf("this phone number already has %d charges in the last %s, from any merchant; at most %d are allowed.",
			n, span(v.Window), v.MaxCount)}
	}
	cur, _ := money.Lookup(ch.Currency)
	if most, ok := v.MaxAmount[ch.Currency]; ok && sum+ch.Amount > most {
		return riskDecision{RiskVelocity, fmt.Sprintf("this phone number already has %s of charges in the last %s, from any merchant; with this one it would pass the %s allowed.",
			cur.Display(sum), span(v.Window), cur.Display(most))}
	}
	return riskDecision{}
}

// riskLockClass is the first key of the PostgreSQL advisory locks the risk
// rules take ("risk"), apart from every other lock's.
const riskLockClass int32 = 0x7269736b

// screenTx applies the velocity rule, and the cash-out succession when
// screen found ch at a cash-out moment, again inside the transaction that
// records ch, first thing: screen counted outside any transaction, so a
// burst of concurrent charges on one number could each pass on a count
// none of the others was in yet. Here the count runs one charge of the
// number at a time (PostgreSQL: a transaction-scoped advisory lock on the
// blind index; SQLite: transactions are immediate, one writer at a time),
// so it includes every charge committed before. A decline is returned as
// a riskDecision error: the transaction rolls back and the caller records
// it with decline.
func (s *Service) screenTx(tx *gorm.DB, ch *Charge) error {
	if !s.cfg.Risk.Velocity.On && ch.riskCashOut == "" {
		return nil
	}
	if tx.Dialector.Name() == "postgres" {
		key, err := riskLockKey(ch.MSISDNIndex)
		if err != nil {
			return err
		}
		if err := tx.Exec("SELECT pg_advisory_xact_lock(?, ?)", riskLockClass, key).Error; err != nil {
			return fmt.Errorf("risk lock: %w", err)
		}
	}
	if ch.riskCashOut == "" {
		// The usual charge: the velocity count reads the clearance itself.
		d, err := s.velocity(tx, ch, time.Time{}, true)
		if err != nil {
			return err
		}
		if d.rule != "" {
			return d
		}
		return nil
	}
	cleared, err := s.clearance(tx, ch.MSISDNIndex)
	if err != nil {
		return err
	}
	var since time.Time
	if cleared != nil {
		since = cleared.ClearedAt
	}
	d, err := s.velocity(tx, ch, since, false)
	if err == nil && d.rule == "" {
		d, err = s.cashOut(tx, ch, since)
	}
	if err != nil {
		return err
	}
	if d.rule != "" {
		return d
	}
	return nil
}

// riskLockKey is a number's advisory lock key: its blind index's first 32
// bits (numbers that share them share the lock, which only serializes more).
func riskLockKey(index string) (int32, error) {
	key, err := strconv.ParseUint(index[:min(8, len(index))], 16, 32)
	if err != nil {
		return 0, fmt.Errorf("risk lock key: %w", err)
	}
	return int32(uint32(key)), nil
}

// declinedBy reports whether a recording transaction failed because
// screenTx declined the charge.
func declinedBy(err error) (riskDecision, bool) {
	var d riskDecision
	return d, errors.As(err, &d)
}

// highValue reports whether ch is the kind of charge the cash-out rule watches.
func (c CashOutRule) highValue(ch *Charge) bool {
	least, ok := c.MinAmount[ch.Currency]
	return ok && ch.Amount >= least && slices.Contains(c.Categories, ch.Category)
}

// riskHistory counts the number's charges in ch's currency made from on
// (and, clearedHere, from the number's clearance on), and sums their amounts; categories and least narrow it to high-value
// charges of those categories.
func (s *Service) riskHistory(db *gorm.DB, ch *Charge, from time.Time, categories []string, least int64, clearedHere bool) (n, sum int64, err error) {
	q := db.Model(&Charge{}).
		Where("msisdn_index = ? AND currency = ? AND created_at >= ? AND status IN ?", ch.MSISDNIndex, ch.Currency, from, countedStatuses)
	if clearedHere {
		// The number's clearance, when there is one, starts its history.
		q = q.Where("created_at >= COALESCE((SELECT cleared_at FROM risk_clearances WHERE msisdn_index = ?), ?)", ch.MSISDNIndex, from)
	}
	if len(categories) > 0 {
		q = q.Where("category IN ? AND amount >= ?", categories, least)
	}
	var row struct {
		N   int64
		Sum int64
	}
	if err := q.Select("COUNT(*) AS n, COALESCE(SUM(amount), 0) AS sum").Scan(&row).Error; err != nil {
		return 0, 0, fmt.Errorf("risk history: %w", err)
	}
	return row.N, row.Sum, nil
}

// everPaid reports whether any charge on the number ever succeeded, refunded
// or not, with any merchant.
func (s *Service) everPaid(ctx context.Context, index string) (bool, error) {
	var ids []string
	if err := s.db.WithContext(ctx).Model(&Charge{}).Where("msisdn_index = ? AND succeeded_at IS NOT NULL", index).Limit(1).Pluck("id", &ids).Error; err != nil {
		return false, fmt.Errorf("risk: earlier payments: %w", err)
	}
	return len(ids) > 0, nil
}

// decline records ch as failed by rule d, before any carrier call or SMS,
// with its charge.failed event, and answers the merchant's problem.
func (s *Service) decline(ctx context.Context, ch *Charge, d riskDecision) (*Charge, error) {
	ch.Status = StatusFailed
	ch.RiskRule = &d.rule
	ch.FailureCode = ptr(carriers.FailureRiskDeclined)
	ch.FailureMessage = ptr("Declined by the risk rule " + d.rule + ": " + d.why)
	ch.CodeHash, ch.CodeExpiresAt, ch.SinkTokenHash, ch.SpendMonth = nil, nil, nil, nil
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.recordTx(tx, ch); err != nil {
			return err
		}
		return s.emitCharge(tx, EventChargeFailed, ch)
	})
	if store.IsUniqueViolation(err) {
		// The same Idempotency-Key recorded a charge first: its answer.
		dup, err := s.chargeByKey(ctx, ch.MerchantID, ch.IdempotencyKey)
		if err != nil {
			return nil, fmt.Errorf("load charge by key: %w", err)
		}
		if p := riskProblem(dup); p != nil {
			return nil, p
		}
		return dup, nil
	}
	if err != nil {
		return nil, fmt.Errorf("record risk-declined charge: %w", err)
	}
	s.log.Info("charge declined by a risk rule", "charge", ch.ID, "merchant", ch.MerchantID, "risk_rule", d.rule, "msisdn", ch.MSISDNMasked)
	return nil, riskProblem(ch)
}

// riskProblem is the merchant's answer about a charge a risk rule declined:
// 422 risk_declined naming the rule and the charge; nil for any other charge.
func riskProblem(ch *Charge) *problem.Problem {
	if ch == nil || ch.RiskRule == nil {
		return nil
	}
	p := problem.Unprocessable(problem.CodeRiskDeclined, "", fmt.Sprintf("Charge %s: %s Nothing was charged and no code was sent; the charge is recorded as failed for review.",
		ch.ID, deref(ch.FailureMessage)))
	return p.With("charge", ch.ID).With("risk_rule", *ch.RiskRule)
}

// RiskClearance is an admin's word that a number is a genuine customer: the
// rules count its history only from ClearedAt on, and its first charge is
// no longer a stranger's.
type RiskClearance struct {
	MSISDNIndex  string `gorm:"column:msisdn_index;primaryKey" json:"-"`
	MSISDNMasked string `gorm:"column:msisdn_masked"`
	ClearedAt    time.Time
}

// TableName is risk_clearances.
func (RiskClearance) TableName() string { return "risk_clearances" }

// ClearParams is the body of POST /v1/risk/clearances: the number in the
// body, never in a URL.
type ClearParams struct {
	MSISDN  string `json:"msisdn"`
	Country string `json:"country"`
}

// ClearNumber clears a number for the risk rules from now on. Admin keys only.
func (s *Service) ClearNumber(ctx context.Context, p auth.Principal, in ClearParams) (*RiskClearance, error) {
	if p.Role != auth.RoleAdmin {
		return nil, problem.New(http.StatusForbidden, problem.CodeForbidden, "Only admin keys may clear a number.")
	}
	e164, err := parseMSISDN(in.MSISDN, in.Country)
	if err != nil {
		return nil, err
	}
	c := &RiskClearance{MSISDNIndex: s.vault.Index(e164), MSISDNMasked: msisdn.Mask(e164), ClearedAt: s.now()}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "msisdn_index"}},
		DoUpdates: clause.AssignmentColumns([]string{"msisdn_masked", "cleared_at"}),
	}).Create(c).Error
	if err != nil {
		return nil, fmt.Errorf("clear number: %w", err)
	}
	s.log.Info("number cleared for the risk rules", "msisdn", c.MSISDNMasked)
	return c, nil
}

// clearance is the number's clearance, nil when it has none.
func (s *Service) clearance(db *gorm.DB, index string) (*RiskClearance, error) {
	var c RiskClearance
	err := db.Where("msisdn_index = ?", index).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("risk clearance: %w", err)
	}
	return &c, nil
}

// RiskReview is a charge a risk rule declined, as an admin reviews it.
type RiskReview struct {
	Charge Charge
	// ClearedAt is when the number was cleared, if that came after this
	// decline: the subscriber may pay again.
	ClearedAt *time.Time
}

// ReviewParams are the query parameters of GET /v1/risk/reviews.
type ReviewParams struct {
	Limit         string
	StartingAfter string
	RiskRule      string
}

// ListRiskReviews pages through risk-declined charges of every merchant,
// newest first. Admin keys only.
func (s *Service) ListRiskReviews(ctx context.Context, p auth.Principal, in ReviewParams) ([]RiskReview, bool, error) {
	if p.Role != auth.RoleAdmin {
		return nil, false, problem.New(http.StatusForbidden, problem.CodeForbidden, "Only admin keys may review risk declines.")
	}
	limit := 20
	if in.Limit != "" {
		n, err := strconv.Atoi(in.Limit)
		if err != nil || n < 1 || n > 100 {
			return nil, false, problem.Invalid("limit", "limit must be an integer from 1 to 100.")
		}
		limit = n
	}
	q := s.db.WithContext(ctx).Model(&Charge{}).Where("risk_rule IS NOT NULL")
	if in.RiskRule != "" {
		if !slices.Contains(RiskRules, in.RiskRule) {
			return nil, false, problem.Invalid("risk_rule", fmt.Sprintf("risk_rule must be one of %v.", RiskRules))
		}
		q = q.Where("risk_rule = ?", in.RiskRule)
	}
	if in.StartingAfter != "" {
		var cursor Charge
		err := s.db.WithContext(ctx).Select("seq").Where("id = ? AND risk_rule IS NOT NULL", in.StartingAfter).Take(&cursor).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, false, problem.Invalid("starting_after", "starting_after must be the id of a charge in this list.")
		}
		if err != nil {
			return nil, false, fmt.Errorf("review cursor: %w", err)
		}
		q = q.Where("seq < ?", cursor.Seq)
	}
	var rows []Charge
	if err := q.Order("seq DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return nil, false, fmt.Errorf("list risk reviews: %w", err)
	}
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	var indexes []string
	for _, ch := range rows {
		if !slices.Contains(indexes, ch.MSISDNIndex) {
			indexes = append(indexes, ch.MSISDNIndex)
		}
	}
	cleared := map[string]time.Time{}
	if len(indexes) > 0 {
		var cs []RiskClearance
		if err := s.db.WithContext(ctx).Where("msisdn_index IN ?", indexes).Find(&cs).Error; err != nil {
			return nil, false, fmt.Errorf("list risk clearances: %w", err)
		}
		for _, c := range cs {
			cleared[c.MSISDNIndex] = c.ClearedAt
		}
	}
	out := make([]RiskReview, len(rows))
	for i, ch := range rows {
		out[i].Charge = ch
		if at, ok := cleared[ch.MSISDNIndex]; ok && !at.Before(ch.CreatedAt) {
			out[i].ClearedAt = &at
		}
	}
	return out, more, nil
}

// monthStart is the first instant of t's calendar month in loc (UTC if nil).
func monthStart(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, loc)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// span says a duration the way people do: "10 minutes", "24 hours".
func span(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	case d%time.Second == 0:
		return plural(int64(d/time.Second), "second")
	}
	return d.String()
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
