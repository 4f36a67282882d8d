package billing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/problem"
	"tollgate/money"
)

// CapRules are the monthly spending caps from config. Every cap counts per
// subscriber (the blind index of the number), currency and calendar month
// in the carrier's zone; a currency without an entry has no such cap.
type CapRules struct {
	// Carriers holds each carrier's rules by name.
	Carriers map[string]CarrierCaps
	// Merchant: merchant id → currency → what one subscriber may spend with
	// that merchant in a month; "*" applies to merchants without an entry.
	Merchant map[string]map[string]int64
	// Category: category → currency → what one subscriber may spend in that
	// category (as merchants send it on charges) in a month.
	Category map[string]map[string]int64
}

// CarrierCaps are one carrier's subscriber-protection rules.
type CarrierCaps struct {
	// Monthly is the carrier's ceiling per currency for one line.
	Monthly map[string]int64
	// Location is the zone of the carrier's calendar month (nil: UTC).
	Location *time.Location
	// Receipts: text the subscriber a receipt for every succeeded charge
	// and refund.
	Receipts bool
}

// Caps that bind a subscriber's month ("binding" in Spend, "cap" in a
// decline's problem). Wire strings, frozen once published.
const (
	BindingCarrier    = "carrier"
	BindingSubscriber = "subscriber"
	capMerchant       = "merchant"
	capCategory       = "category"
)

// CodeCategoryLimitExceeded: the charge would take the subscriber's month
// in its category over the configured category cap. The three other caps
// decline with carriers' failure codes (carrier_limit_exceeded,
// subscriber_limit_exceeded, merchant_limit_exceeded).
const CodeCategoryLimitExceeded = problem.CodeCategoryLimitExceeded

// Scopes of spend_months rows.
const scopeTotal = "total"

func scopeMerchant(id string) string { return "merchant:" + id }
func scopeCategory(c string) string  { return "category:" + c }
func monthOf(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01")
}

// line is what caps a subscriber's line in one currency.
type line struct {
	Carrier  string
	Ceiling  int64 // 0: no ceiling
	Location *time.Location
	Receipts bool
}

func (s *Service) carrierLine(carrier, currency string) line {
	cc := s.cfg.Caps.Carriers[carrier]
	loc := cc.Location
	if loc == nil {
		loc = time.UTC
	}
	return line{Carrier: carrier, Ceiling: cc.Monthly[currency], Location: loc, Receipts: cc.Receipts}
}

// lineOf finds the carrier of the subscriber's line for a currency: the one
// of their newest charge in it, else of their newest payment method, else
// the first configured carrier (by name) billing in it.
func (s *Service) lineOf(ctx context.Context, index, currency string) (line, error) {
	db := s.db.WithContext(ctx)
	var names []string
	if err := db.Model(&Charge{}).Where("msisdn_index = ? AND currency = ?", index, currency).Order("seq DESC").Limit(1).Pluck("carrier", &names).Error; err != nil {
		return line{}, fmt.Errorf("carrier of subscriber: %w", err)
	}
	if len(names) == 0 {
		if err := db.Model(&PaymentMethod{}).Where("msisdn_index = ?", index).Order("seq DESC").Pluck("carrier", &names).Error; err != nil {
			return line{}, fmt.Errorf("carrier of subscriber: %w", err)
		}
	}
	all := s.carriers.Names()
	sort.Strings(all)
	for _, n := range append(names, all...) {
		if c, ok := s.carriers.Get(n); ok && c.Capabilities().SupportsCurrency(currency) {
			return s.carrierLine(n, currency), nil
		}
	}
	return line{Location: time.UTC}, nil
}

// binding is the cap that binds a month: the lower of the carrier's
// ceiling and the subscriber's own cap (0: none).
func binding(l line, prefs Preferences, currency string) (int64, string) {
	own, ok := prefs.OwnCaps[currency]
	if ok && own > 0 && (l.Ceiling == 0 || own < l.Ceiling) {
		return own, BindingSubscriber
	}
	return l.Ceiling, BindingCarrier
}

// Spend is one subscriber's month in one currency: what is spent (reserved
// included), the binding cap and which it is. Cap 0 means no cap applies.
type Spend struct {
	Month    string // "2026-12" in the carrier's zone
	Currency string
	Spent    int64
	Cap      int64
	Binding  string // "carrier" | "subscriber"
}

// MonthSpend is the subscriber's current month in currency on their line:
// Spent counts every charge that holds room (succeeded, or still waiting
// for its code or the carrier), net of refunds.
func (s *Service) MonthSpend(ctx context.Context, index, currency string) (Spend, error) {
	if index == "" {
		return Spend{}, errors.New("month spend: empty subscriber index")
	}
	if _, ok := money.Lookup(currency); !ok {
		return Spend{}, problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", fmt.Sprintf("%q is not a supported ISO 4217 currency code.", currency))
	}
	l, err := s.lineOf(ctx, index, currency)
	if err != nil {
		return Spend{}, err
	}
	prefs, err := s.Preferences(ctx, index)
	if err != nil {
		return Spend{}, err
	}
	out := Spend{Month: monthOf(s.now(), l.Location), Currency: currency}
	out.Cap, out.Binding = binding(l, prefs, currency)
	var rows []spendMonth
	if err := s.db.WithContext(ctx).Where("msisdn_index = ? AND currency = ? AND month = ? AND scope = ?", index, currency, out.Month, scopeTotal).Find(&rows).Error; err != nil {
		return Spend{}, fmt.Errorf("month spend: %w", err)
	}
	if len(rows) == 1 {
		out.Spent = rows[0].Reserved
	}
	return out, nil
}

// spendMonth is a row of spend_months.
type spendMonth struct {
	MSISDNIndex string `gorm:"column:msisdn_index"`
	Currency    string
	Month       string
	Scope       string
	Reserved    int64
	Spent       int64
}

func (spendMonth) TableName() string { return "spend_months" }

// bucket is one spend_months row a charge counts in and its cap (0: none).
type bucket struct {
	scope string
	cap   int64
	code  string // the decline when the cap would be passed
	what  string // the cap in a decline's detail
}

// buckets are the rows a charge counts in; every charge counts in the same
// ones whatever caps are configured, so a cap added later never releases
// room that was never held.
func (s *Service) buckets(ch *Charge, l line, prefs Preferences) []bucket {
	cap, which := binding(l, prefs, ch.Currency)
	total := bucket{scope: scopeTotal, cap: cap, code: carriers.FailureCarrierLimitExceeded, what: "the carrier's monthly limit for this line"}
	if which == BindingSubscriber {
		total.code, total.what = carriers.FailureSubscriberLimitExceeded, "the monthly limit the subscriber set"
	}
	mcaps, ok := s.cfg.Caps.Merchant[ch.MerchantID]
	if !ok {
		mcaps = s.cfg.Caps.Merchant["*"]
	}
	out := []bucket{total, {scope: scopeMerchant(ch.MerchantID), cap: mcaps[ch.Currency], code: carriers.FailureMerchantLimitExceeded, what: "the monthly limit per subscriber at this merchant"}}
	if ch.Category != "" {
		out = append(out, bucket{scope: scopeCategory(ch.Category), cap: s.cfg.Caps.Category[ch.Category][ch.Currency], code: CodeCategoryLimitExceeded,
			what: fmt.Sprintf("the monthly limit per subscriber in category %q", ch.Category)})
	}
	return out
}

// holdRoomTx is every subscriber rule a charge passes in the transaction
// (caps count the billed amount, what reaches the phone bill)
// that records its intent, before it is inserted: a blocked category is
// refused, and the charge's amount is reserved in all of its month's
// buckets with one conditional upsert, so concurrent charges can never
// overshoot a cap (PostgreSQL re-checks each row's WHERE after its lock;
// SQLite's writers queue). A cap that would be passed is a 422 problem
// naming it, and the caller's transaction rolls back: nothing is left.
func (s *Service) holdRoomTx(tx *gorm.DB, ch *Charge) error {
	bs, month, err := s.roomTx(tx, ch)
	if err != nil {
		return err
	}
	// One statement (reserveTx); the rows are locked in the order of bs,
	// total first, as every other writer of them does.
	var rows, caps []any
	for _, b := range bs {
		rows = append(rows, ch.MSISDNIndex, ch.Currency, month, b.scope, ch.Billed())
		if b.cap > 0 {
			caps = append(caps, ch.MSISDNIndex+"|"+b.scope, b.cap)
		}
	}
	held, err := reserveTx(tx, rows, caps)
	if err != nil {
		return fmt.Errorf("reserve spend of %s: %w", ch.ID, err)
	}
	for _, b := range bs {
		if !slices.Contains(held, b.scope) {
			return s.overCapTx(tx, b, ch, month)
		}
	}
	return nil
}

// roomTx reads the subscriber's choices and names the buckets ch must fit
// in this month (ch.SpendMonth), refusing it where a category is blocked or
// the charge alone is over a cap.
func (s *Service) roomTx(tx *gorm.DB, ch *Charge) ([]bucket, string, error) {
	prefs, err := s.preferencesTx(tx, ch.MSISDNIndex)
	if err != nil {
		return nil, "", err
	}
	return s.roomWith(tx, ch, prefs)
}

// roomWith is roomTx with the subscriber's choices already read.
func (s *Service) roomWith(tx *gorm.DB, ch *Charge, prefs Preferences) ([]bucket, string, error) {
	if err := checkBlocked(prefs, ch.Category); err != nil {
		return nil, "", err
	}
	l := s.carrierLine(ch.Carrier, ch.Currency)
	month := monthOf(ch.CreatedAt, l.Location)
	ch.SpendMonth = &month
	bs := s.buckets(ch, l, prefs)
	for _, b := range bs {
		if b.cap > 0 && ch.Billed() > b.cap {
			return nil, "", s.overCapTx(tx, b, ch, month)
		}
	}
	return bs, month, nil
}

func (s *Service) overCapTx(tx *gorm.DB, b bucket, ch *Charge, month string) error {
	var rows []spendMonth
	if err := tx.Where("msisdn_index = ? AND currency = ? AND month = ? AND scope = ?", ch.MSISDNIndex, ch.Currency, month, b.scope).Find(&rows).Error; err != nil {
		return fmt.Errorf("read spend month: %w", err)
	}
	var reserved int64
	if len(rows) == 1 {
		reserved = rows[0].Reserved
	}
	return overCap(b, ch, month, reserved)
}

func overCap(b bucket, ch *Charge, month string, reserved int64) *problem.Problem {
	cur, _ := money.Lookup(ch.Currency)
	left := max(b.cap-reserved, 0)
	capName := b.scope
	switch {
	case b.scope == scopeTotal && b.code == carriers.FailureSubscriberLimitExceeded:
		capName = BindingSubscriber
	case b.scope == scopeTotal:
		capName = BindingCarrier
	case b.code == carriers.FailureMerchantLimitExceeded:
		capName = capMerchant
	default:
		capName = capCategory
	}
	return problem.Unprocessable(b.code, "amount", fmt.Sprintf("This charge of %s would pass %s (%s for %s; %s left); nothing was charged.",
		cur.Display(ch.Billed()), b.what, cur.Display(b.cap), month, cur.Display(left))).
		With("cap", capName).With("limit", b.cap).With("remaining", left).With("month", month)
}

// releaseTx gives a charge's room back in its own month's buckets: all of
// it when the charge fails or is canceled, a refund's amount when one
// succeeds (spent too, then). A charge from before caps holds nothing.
func (s *Service) releaseTx(tx *gorm.DB, ch *Charge, amount int64, spent bool) error {
	if ch.SpendMonth == nil || amount <= 0 {
		return nil
	}
	for _, b := range s.buckets(ch, line{}, Preferences{}) {
		set := map[string]any{"reserved": gorm.Expr("CASE WHEN reserved >= ? THEN reserved - ? ELSE 0 END", amount, amount)}
		if spent && b.scope == scopeTotal { // only the total keeps what was spent (spentTx)
			set["spent"] = gorm.Expr("CASE WHEN spent >= ? THEN spent - ? ELSE 0 END", amount, amount)
		}
		err := tx.Model(&spendMonth{}).Where("msisdn_index = ? AND currency = ? AND month = ? AND scope = ?", ch.MSISDNIndex, ch.Currency, *ch.SpendMonth, b.scope).Updates(set).Error
		if err != nil {
			return fmt.Errorf("release spend of %s: %w", ch.ID, err)
		}
	}
	return nil
}
