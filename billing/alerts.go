package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/internal/batch"
	"tollgate/money"
)

// EventSpendThresholdReached tells the merchant whose charge took a
// subscriber's month to 80 % or 100 % of the binding cap. A wire string,
// frozen once published.
const EventSpendThresholdReached = "subscriber.spend_threshold_reached"

// SpendThreshold is the object of a subscriber.spend_threshold_reached event.
type SpendThreshold struct {
	Threshold    int    // percent of the cap: 80 or 100
	Spent        int64  // what succeeded in the month, net of refunds
	Cap          int64  // the binding cap
	Binding      string // which cap binds: "carrier" | "subscriber"
	Currency     string
	Month        string // YYYY-MM in the carrier's zone
	Charge       string // the charge that reached it
	MSISDNMasked string
	CreatedAt    time.Time
}

// thresholds are the percentages of the binding cap that alert, once each
// per subscriber, currency and month.
var thresholds = []int{80, 100}

// spentTx books a succeeded charge as spent in its month, in the
// transaction that makes it succeed: it reaches a threshold (alert once,
// by a unique row, whatever runs concurrently or again) and the subscriber
// gets a receipt where the carrier says so. The texts go out after commit,
// as jobs inserted here, so a crash loses none.
func (s *Service) spentTx(tx *gorm.DB, ch *Charge) error {
	if ch.SpendMonth == nil {
		return nil
	}
	// Only the total bucket keeps what was spent (alerts and receipts read
	// it); the merchant and category buckets hold room, which is all their
	// caps count.
	total, prefs, err := s.bookTotalTx(tx, ch)
	if err != nil {
		return err
	}
	receipt, err := s.bookedTx(tx, ch, total, prefs)
	if err != nil || receipt == nil {
		return err
	}
	return s.textTx(tx, ch, receipt.What, receipt.Body)
}

// bookedTx follows a charge's booking as spent in its month (total, as
// booked): the thresholds it reached are alerted, and the receipt the
// subscriber gets, if the carrier sends them, is returned to be queued.
func (s *Service) bookedTx(tx *gorm.DB, ch *Charge, total spendMonth, prefs Preferences) (*SubscriberTextArgs, error) {
	l := s.carrierLine(ch.Carrier, ch.Currency)
	cap, which := binding(l, prefs, ch.Currency)
	t := s.textsFor(ch.Carrier)
	cur, _ := money.Lookup(ch.Currency)
	if cap > 0 {
		for _, pct := range thresholds {
			if total.Spent*100 < int64(pct)*cap {
				continue
			}
			if err := s.alertTx(tx, ch, SpendThreshold{Threshold: pct, Spent: total.Spent, Cap: cap, Binding: which,
				Currency: ch.Currency, Month: *ch.SpendMonth, Charge: ch.ID, MSISDNMasked: ch.MSISDNMasked, CreatedAt: s.now()}, t, cur); err != nil {
				return nil, err
			}
		}
	}
	if !l.Receipts {
		return nil, nil
	}
	merchant, err := s.merchantNameOn(tx, ch.MerchantID)
	if err != nil {
		return nil, err
	}
	body := fmt.Sprintf(t.receipt, cur.Display(ch.Billed()), merchant) + s.leftText(t, ch, l, cap, total, cur)
	return &SubscriberTextArgs{ChargeID: ch.ID, What: "receipt:" + ch.ID, Body: body}, nil
}

// refundedTx gives a succeeded refund's amount back to the charge's month
// (room and spend) and texts a receipt where the carrier says so.
func (s *Service) refundedTx(tx *gorm.DB, ch *Charge, rf *Refund) error {
	if ch.SpendMonth == nil {
		return nil
	}
	if err := s.releaseTx(tx, ch, rf.Amount, true); err != nil {
		return err
	}
	l := s.carrierLine(ch.Carrier, ch.Currency)
	if !l.Receipts {
		return nil
	}
	total, prefs, err := s.monthTx(tx, ch)
	if err != nil {
		return err
	}
	cap, _ := binding(l, prefs, ch.Currency)
	merchant, err := s.merchantNameOn(tx, ch.MerchantID)
	if err != nil {
		return err
	}
	t := s.textsFor(ch.Carrier)
	cur, _ := money.Lookup(ch.Currency)
	body := fmt.Sprintf(t.refund, cur.Display(rf.Amount), merchant) + s.leftText(t, ch, l, cap, total, cur)
	return s.textTx(tx, ch, "refund:"+rf.ID, body)
}

// bookTotalTx books ch's billed amount as spent in its month's total
// bucket and answers the month as booked with the subscriber's own cap in
// its currency, in one statement (RETURNING, both stores): what monthTx
// would read right after.
func (s *Service) bookTotalTx(tx *gorm.DB, ch *Charge) (spendMonth, Preferences, error) {
	return totalMonth(ch, "book spend", tx.Raw(`UPDATE spend_months SET spent = spent + ?
		WHERE msisdn_index = ? AND currency = ? AND month = ? AND scope = ?
		RETURNING reserved, spent, (SELECT c.amount FROM subscriber_caps c WHERE c.msisdn_index = spend_months.msisdn_index AND c.currency = spend_months.currency) AS own_cap`,
		ch.Billed(), ch.MSISDNIndex, ch.Currency, *ch.SpendMonth, scopeTotal))
}

// monthTx reads the charge's month (total bucket) and the subscriber's own
// cap in its currency (all of their choices a receipt or alert needs), in
// one statement.
func (s *Service) monthTx(tx *gorm.DB, ch *Charge) (spendMonth, Preferences, error) {
	return totalMonth(ch, "read spend month", tx.Raw(`SELECT m.reserved, m.spent, c.amount AS own_cap FROM spend_months m
		LEFT JOIN subscriber_caps c ON c.msisdn_index = m.msisdn_index AND c.currency = m.currency
		WHERE m.msisdn_index = ? AND m.currency = ? AND m.month = ? AND m.scope = ?`, ch.MSISDNIndex, ch.Currency, *ch.SpendMonth, scopeTotal))
}

// totalMonth runs q, a statement answering ch's total bucket as (reserved,
// spent, own_cap), and makes of its one row the month and preferences.
func totalMonth(ch *Charge, what string, q *gorm.DB) (spendMonth, Preferences, error) {
	var rows []monthRow
	err := q.Scan(&rows).Error
	if err == nil && len(rows) == 0 {
		err = gorm.ErrRecordNotFound
	}
	if err != nil {
		return spendMonth{}, Preferences{}, fmt.Errorf("%s of %s: %w", what, ch.ID, err)
	}
	total, prefs := rows[0].of(ch)
	return total, prefs, nil
}

// monthKey names a subscriber's month in one currency.
type monthKey struct{ index, currency, month string }

// monthRow is a month's total bucket (reserved, spent) with the subscriber's
// own cap in its currency, as a statement answers it; the key columns only
// where the statement names several months.
type monthRow struct {
	MSISDNIndex     string `gorm:"column:msisdn_index"`
	Currency, Month string
	Reserved, Spent int64
	OwnCap          *int64
}

// of is the row as ch's month and the choices a receipt or alert needs.
func (r monthRow) of(ch *Charge) (spendMonth, Preferences) {
	prefs := Preferences{OwnCaps: map[string]int64{}}
	if r.OwnCap != nil {
		prefs.OwnCaps[ch.Currency] = *r.OwnCap
	}
	return spendMonth{MSISDNIndex: ch.MSISDNIndex, Currency: ch.Currency, Month: *ch.SpendMonth, Scope: scopeTotal, Reserved: r.Reserved, Spent: r.Spent}, prefs
}

// leftText is what a receipt says is left: the room under the binding cap
// this month, or nothing when no cap binds or the charge is from an
// earlier month (it succeeded late).
func (s *Service) leftText(t texts, ch *Charge, l line, cap int64, total spendMonth, cur money.Currency) string {
	if cap <= 0 || *ch.SpendMonth != monthOf(s.now(), l.Location) {
		return ""
	}
	return fmt.Sprintf(t.left, cur.Display(max(cap-total.Reserved, 0)))
}

// alertTx records that a threshold was reached, once: the first
// transaction to insert the row tells the merchant and texts the subscriber.
func (s *Service) alertTx(tx *gorm.DB, ch *Charge, a SpendThreshold, t texts, cur money.Currency) error {
	res := tx.Exec(`INSERT INTO spend_alerts (msisdn_index, currency, month, threshold, charge_id, spent, cap, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ch.MSISDNIndex, a.Currency, a.Month, a.Threshold, ch.ID, a.Spent, a.Cap, a.CreatedAt)
	if res.Error != nil {
		return fmt.Errorf("record spend alert: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil // this month's alert at this threshold already went out
	}
	if err := s.emit(tx, Event{MerchantID: ch.MerchantID, Livemode: ch.Livemode, Type: EventSpendThresholdReached, ObjectID: ch.ID, Object: ptr(a)}); err != nil {
		return err
	}
	body := fmt.Sprintf(t.threshold, a.Threshold, cur.Display(a.Spent), cur.Display(a.Cap))
	if a.Threshold >= 100 {
		body = fmt.Sprintf(t.reached, cur.Display(a.Cap))
	}
	return s.textTx(tx, ch, fmt.Sprintf("alert:%d:%s", a.Threshold, ch.ID), body)
}

// SubscriberTextArgs texts a subscriber about one of their charges (a
// receipt, a spending alert). The body is written when the change commits,
// in the subscriber's language; the number is looked up from the charge
// when the job runs, so it is never stored in the queue.
type SubscriberTextArgs struct {
	ChargeID string `json:"charge_id"`
	// What names the text, e.g. "receipt:ch_…": one job per text.
	What string `json:"what"`
	Body string `json:"body"`
}

// Kind names the job; frozen once jobs of it exist.
func (SubscriberTextArgs) Kind() string { return "subscriber_text" }

func (s *Service) textTx(tx *gorm.DB, ch *Charge, what, body string) error {
	ctx := tx.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	return s.enqueue(ctx, tx, SubscriberTextArgs{ChargeID: ch.ID, What: what, Body: body}, 0)
}

type subscriberTextWorker struct {
	river.WorkerDefaults[SubscriberTextArgs]
	s *Service
}

// Work sends the text through the charge's carrier. A failure is retried
// by the queue; a text is at least once, never lost.
func (w *subscriberTextWorker) Work(ctx context.Context, job *river.Job[SubscriberTextArgs]) error {
	s := w.s
	ch, err := s.textCharges.Do(ctx, job.Args.ChargeID)
	if err == nil && ch == nil {
		err = gorm.ErrRecordNotFound
	}
	if err != nil {
		return fmt.Errorf("text about %s: %w", job.Args.ChargeID, err)
	}
	c, ok := s.carriers.Get(ch.Carrier)
	if !ok {
		return fmt.Errorf("text about %s: carrier %s is not configured", ch.ID, ch.Carrier)
	}
	e164, err := s.vault.Open(ch.MSISDNEnc)
	if err != nil {
		return fmt.Errorf("text about %s: %w", ch.ID, err)
	}
	if err := s.sms(ctx, c, ch.ID, e164, job.Args.Body); err != nil {
		s.log.Warn("subscriber text not sent; retrying", "charge", ch.ID, "what", job.Args.What, "msisdn", ch.MSISDNMasked, "error", err)
		return err
	}
	return nil
}

// textBatchMax bounds one read of texts' charges; the queue hands out at
// most its fetch limit (100 by default) at a time.
const textBatchMax = 100

// chargesByID reads charges in one statement, nil for an id not found.
func (s *Service) chargesByID(ctx context.Context, ids []string) ([]*Charge, error) {
	var found []Charge
	if err := s.db.WithContext(ctx).Where("id IN ?", ids).Find(&found).Error; err != nil {
		return nil, err
	}
	return batch.Match(ids, found, func(ch *Charge) string { return ch.ID }), nil
}

// texts are the messages to subscribers in one language. Amounts are
// billing's currency formatting; no text carries a run of four digits or
// more, so none reads as a code.
type texts struct {
	receipt   string // amount, merchant
	refund    string // amount, merchant
	left      string // room left this month
	threshold string // percent, spent, cap
	reached   string // cap
}

var textsByLanguage = map[string]texts{
	"en": {
		receipt:   "tollgate: %s paid to %s on your phone bill.",
		refund:    "tollgate: %s refunded by %s on your phone bill.",
		left:      " Left this month: %s.",
		threshold: "tollgate: you have used %d%% of your monthly phone-bill limit (%s of %s).",
		reached:   "tollgate: you have reached your monthly phone-bill limit of %s; further charges are declined until next month.",
	},
	"ko": {
		receipt:   "[tollgate] %[2]s %[1]s 결제가 휴대폰 요금으로 청구되었습니다.",
		refund:    "[tollgate] %[2]s %[1]s 결제가 환불되었습니다.",
		left:      " 이번 달 남은 한도: %s",
		threshold: "[tollgate] 이번 달 휴대폰 결제 한도의 %d%%를 사용했습니다 (%s / %s).",
		reached:   "[tollgate] 이번 달 휴대폰 결제 한도 %s에 도달했습니다. 다음 달까지 추가 결제가 거절됩니다.",
	},
}

// languageOf is the language subscribers of a country read; anywhere
// else gets English.
var languageOf = map[string]string{"KR": "ko"}

// textsFor picks the language of the carrier's country.
func (s *Service) textsFor(carrier string) texts {
	if c, ok := s.carriers.Get(carrier); ok {
		if t, ok := textsByLanguage[languageOf[c.Capabilities().Country]]; ok {
			return t
		}
	}
	return textsByLanguage["en"]
}
