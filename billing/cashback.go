package billing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/internal/auth"
	"tollgate/internal/problem"
	"tollgate/internal/store"
	"tollgate/money"
)

// Micro-cashback: a merchant funds a program (rate, cap per charge, least
// amount, days of validity, per currency); each succeeded charge earns its
// subscriber (the blind index of the number) a lot at that merchant; the
// subscriber's next charges there spend the lots, soonest to expire first,
// as a discount the carrier never sees: it is asked for the billed amount.
//
// The rules, documented in docs/api.md:
//   - earned = floor(billed × rate_bps / 10000), at most max_per_charge, on
//     a charge whose billed amount (what reached the phone bill) is at least
//     min_amount. Floor: the fraction of a minor unit stays the merchant's.
//   - applied = min(balance, amount − the carrier's least amount): a charge
//     is never billed below what its carrier bills, nor 0.
//   - caps count the billed amount; risk rules the charge's amount.
//   - a refund pays back at most the billed amount to the phone bill; the
//     applied cashback comes back as balance in proportion to what is
//     refunded (floor of applied × refunded / billed, cumulative, so a full
//     refund restores all of it), and what the charge earned is taken back
//     in the same proportion, from what is left of it.
//   - cashback is never paid out as money.

// CashbackProgramStatus is a program's state. Wire strings.
type CashbackProgramStatus string

const (
	CashbackProgramActive CashbackProgramStatus = "active"
	CashbackProgramEnded  CashbackProgramStatus = "ended"
)

// Problem codes of cashback programs. Wire strings, frozen once published.
const (
	// CodeCashbackProgramExists: the merchant already runs an active
	// program in that currency (409).
	CodeCashbackProgramExists = problem.CodeCashbackProgramExists
	// CodeCashbackProgramStateInvalid: the program has already ended (409).
	CodeCashbackProgramStateInvalid = problem.CodeCashbackProgramStateInvalid
)

// Ledger posting kinds of cashback (ledger_entries.kind).
const (
	KindCashbackEarned    = "cashback_earned"
	KindCashbackApplied   = "cashback_applied"
	KindCashbackExpired   = "cashback_expired"
	KindCashbackTakenBack = "cashback_taken_back"
	KindCashbackRestored  = "cashback_restored"
)

const prefixCashbackProgram = "cbp_"

// Bounds of a program's fields.
const (
	maxCashbackRateBps = 10000
	maxCashbackDays    = 3650
)

// CashbackProgram is a row of cashback_programs.
type CashbackProgram struct {
	Seq              int64 `gorm:"->"`
	ID               string
	MerchantID       string
	Livemode         bool
	Status           CashbackProgramStatus
	Currency         string
	RateBps          int64
	MaxPerCharge     int64
	MinAmount        int64
	ExpiresAfterDays int
	CreatedAt        time.Time
	EndedAt          *time.Time
}

// CashbackProgramParams is the body of POST /v1/cashback_programs.
type CashbackProgramParams struct {
	RateBps          *int64 `json:"rate_bps"`
	MaxPerCharge     *int64 `json:"max_per_charge"`
	MinAmount        *int64 `json:"min_amount"`
	Currency         string `json:"currency"`
	ExpiresAfterDays *int64 `json:"expires_after_days"`
}

// cashbackLot is the balance one charge earned: a row of cashback_lots.
type cashbackLot struct {
	Seq         int64 `gorm:"->"`
	ChargeID    string
	ProgramID   string
	MerchantID  string
	Livemode    bool
	Currency    string
	MSISDNIndex string `gorm:"column:msisdn_index"`
	Earned      int64
	Remaining   int64
	TakenBack   int64
	Expired     int64
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

func (cashbackLot) TableName() string { return "cashback_lots" }

// cashbackUse is what one charge spent of one lot: a row of cashback_uses.
type cashbackUse struct {
	ChargeID    string
	LotChargeID string
	Amount      int64
	Restored    int64
}

func (cashbackUse) TableName() string { return "cashback_uses" }

// Billed is what the carrier is asked for: the amount less the cashback
// applied to it.
func (ch *Charge) Billed() int64 { return ch.Amount - ch.CashbackApplied }

// CashbackFor is the cashback a charge of amount earns at rateBps, capped
// at maxPerCharge: floor(amount × rateBps / 10000) in integers, computed as
// (amount/10000)×rate + (amount%10000)×rate/10000 so that no amount
// overflows. Negative inputs earn nothing.
func CashbackFor(amount, rateBps, maxPerCharge int64) int64 {
	if amount <= 0 || rateBps <= 0 || maxPerCharge <= 0 {
		return 0
	}
	earned := (amount/10000)*rateBps + (amount%10000)*rateBps/10000
	return min(earned, maxPerCharge)
}

// CreateCashbackProgram starts the merchant's program in a currency; one
// active program per merchant and currency.
func (s *Service) CreateCashbackProgram(ctx context.Context, p auth.Principal, in CashbackProgramParams) (*CashbackProgram, error) {
	if in.Currency == "" {
		return nil, problem.Invalid("currency", "currency is required: an ISO 4217 code such as KRW.")
	}
	if _, ok := money.Lookup(in.Currency); !ok {
		return nil, problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", fmt.Sprintf("%q is not a supported ISO 4217 currency code (upper case, e.g. KRW).", in.Currency))
	}
	type field struct {
		name     string
		v        *int64
		lo, hi   int64
		required bool
		what     string
	}
	for _, f := range []field{
		{"rate_bps", in.RateBps, 1, maxCashbackRateBps, true, "basis points of the billed amount earned back, 1 to 10000"},
		{"max_per_charge", in.MaxPerCharge, 1, 1 << 53, true, "the most one charge earns, a positive integer of minor units"},
		{"min_amount", in.MinAmount, 0, 1 << 53, false, "the least billed amount that earns, an integer of minor units (0 or more)"},
		{"expires_after_days", in.ExpiresAfterDays, 1, maxCashbackDays, true, "days a balance stays usable, 1 to 3650"},
	} {
		if f.v == nil {
			if f.required {
				return nil, problem.Invalid(f.name, f.name+" is required: "+f.what+".")
			}
			continue
		}
		if *f.v < f.lo || *f.v > f.hi {
			return nil, problem.Invalid(f.name, f.name+" must be "+f.what+".")
		}
	}
	now := s.now()
	prog := &CashbackProgram{ID: newID(prefixCashbackProgram), MerchantID: p.MerchantID, Livemode: p.Livemode, Status: CashbackProgramActive,
		Currency: in.Currency, RateBps: *in.RateBps, MaxPerCharge: *in.MaxPerCharge, ExpiresAfterDays: int(*in.ExpiresAfterDays), CreatedAt: now}
	if in.MinAmount != nil {
		prog.MinAmount = *in.MinAmount
	}
	err := s.db.WithContext(ctx).Create(prog).Error
	if store.IsUniqueViolation(err) {
		s.cashbackEver.Forget(merchantMode{p.MerchantID, p.Livemode}) // it has one, whatever this node kept
		var cur CashbackProgram
		if err := s.db.WithContext(ctx).Where("merchant_id = ? AND livemode = ? AND currency = ? AND status = ?", p.MerchantID, p.Livemode, in.Currency, CashbackProgramActive).Take(&cur).Error; err != nil {
			return nil, fmt.Errorf("load active program: %w", err)
		}
		return nil, problem.New(http.StatusConflict, CodeCashbackProgramExists, fmt.Sprintf("Cashback program %s is already active in %s; end it first.", cur.ID, in.Currency)).With("program", cur.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("create cashback program: %w", err)
	}
	s.cashbackEver.Forget(merchantMode{p.MerchantID, p.Livemode})
	return prog, nil
}

// everHadCashback is whether the merchant has ever had a cashback program
// in this mode: only then can a charge earn or spend a balance there, so
// the charges of every other merchant skip both reads. Programs are never
// deleted, so once true it stays true; a first program made on another
// node counts here within Settings.LookupCacheTTL (its first charges there
// earn nothing, and a balance earned elsewhere is spent a little later).
func (s *Service) everHadCashback(db *gorm.DB, merchantID string, livemode bool) (bool, error) {
	if s.cashbackEver == nil {
		return true, nil // no cache: read the program and lots each time, as they say
	}
	return s.cashbackEver.Load(merchantMode{merchantID, livemode}, func() (bool, error) {
		var ids []string
		if err := db.Model(&CashbackProgram{}).Where("merchant_id = ? AND livemode = ?", merchantID, livemode).Limit(1).Pluck("id", &ids).Error; err != nil {
			return false, fmt.Errorf("cashback programs of %s: %w", merchantID, err)
		}
		return len(ids) > 0, nil
	})
}

// GetCashbackProgram returns one of the merchant's programs.
func (s *Service) GetCashbackProgram(ctx context.Context, p auth.Principal, id string) (*CashbackProgram, error) {
	var prog CashbackProgram
	err := s.db.WithContext(ctx).Where("id = ? AND merchant_id = ? AND livemode = ?", id, p.MerchantID, p.Livemode).Take(&prog).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("cashback program")
	}
	if err != nil {
		return nil, fmt.Errorf("get cashback program %s: %w", id, err)
	}
	return &prog, nil
}

// ListCashbackPrograms returns the merchant's programs, newest first: one
// active per currency at most, so the list stays short.
func (s *Service) ListCashbackPrograms(ctx context.Context, p auth.Principal) ([]CashbackProgram, error) {
	out := []CashbackProgram{}
	if err := s.db.WithContext(ctx).Where("merchant_id = ? AND livemode = ?", p.MerchantID, p.Livemode).Order("seq DESC").Limit(100).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list cashback programs: %w", err)
	}
	return out, nil
}

// EndCashbackProgram stops a program earning; balances already earned stay
// usable until they expire.
func (s *Service) EndCashbackProgram(ctx context.Context, p auth.Principal, id string) (*CashbackProgram, error) {
	prog, err := s.GetCashbackProgram(ctx, p, id)
	if err != nil {
		return nil, err
	}
	now := s.now()
	res := s.db.WithContext(ctx).Model(&CashbackProgram{}).Where("id = ? AND status = ?", prog.ID, CashbackProgramActive).
		Updates(map[string]any{"status": CashbackProgramEnded, "ended_at": now})
	if res.Error != nil {
		return nil, fmt.Errorf("end cashback program %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return nil, problem.New(http.StatusConflict, CodeCashbackProgramStateInvalid, fmt.Sprintf("Cashback program %s has already ended.", prog.ID))
	}
	return s.GetCashbackProgram(ctx, p, id)
}

// applyCashbackTx spends the subscriber's balance at the charge's merchant
// on it, in the transaction that records its intent and before caps hold
// room (caps count the billed amount). Each lot is decremented with a
// conditional UPDATE, so two concurrent charges never spend one balance
// twice: the loser's WHERE fails (PostgreSQL re-checks it after the row
// lock; SQLite's writers queue) and it re-reads what is left.
func (s *Service) applyCashbackTx(tx *gorm.DB, ch *Charge) error {
	ch.CashbackApplied = 0
	var floor int64 = 1
	if c, ok := s.carriers.Get(ch.Carrier); ok {
		floor = max(floor, c.Capabilities().MinAmount)
	}
	room := ch.Amount - floor
	if room <= 0 || ch.MSISDNIndex == "" {
		return nil
	}
	if had, err := s.everHadCashback(tx, ch.MerchantID, ch.Livemode); err != nil || !had {
		return err
	}
	var lots []cashbackLot
	err := tx.Where("msisdn_index = ? AND merchant_id = ? AND livemode = ? AND currency = ? AND remaining > 0 AND expires_at > ?",
		ch.MSISDNIndex, ch.MerchantID, ch.Livemode, ch.Currency, s.now()).Order("expires_at, seq").Find(&lots).Error
	if err != nil {
		return fmt.Errorf("read cashback balance: %w", err)
	}
	for _, lot := range lots {
		for room > 0 && lot.Remaining > 0 {
			take := min(room, lot.Remaining)
			res := tx.Model(&cashbackLot{}).Where("charge_id = ? AND remaining >= ?", lot.ChargeID, take).
				Update("remaining", gorm.Expr("remaining - ?", take))
			if res.Error != nil {
				return fmt.Errorf("spend cashback of %s: %w", lot.ChargeID, res.Error)
			}
			if res.RowsAffected == 1 {
				if err := tx.Create(&cashbackUse{ChargeID: ch.ID, LotChargeID: lot.ChargeID, Amount: take}).Error; err != nil {
					return fmt.Errorf("record cashback use: %w", err)
				}
				ch.CashbackApplied += take
				room -= take
				break
			}
			// Another charge spent some of it first: read what is left.
			var cur cashbackLot
			if err := tx.Where("charge_id = ?", lot.ChargeID).Take(&cur).Error; err != nil {
				return fmt.Errorf("re-read cashback lot: %w", err)
			}
			lot.Remaining = cur.Remaining
		}
		if room == 0 {
			break
		}
	}
	return nil
}

// giveBackCashbackTx returns what a charge that failed or was canceled had
// reserved to the lots it came from; the charge then applied nothing.
func (s *Service) giveBackCashbackTx(tx *gorm.DB, ch *Charge) error {
	if ch.CashbackApplied == 0 {
		return nil
	}
	var uses []cashbackUse
	if err := tx.Where("charge_id = ?", ch.ID).Find(&uses).Error; err != nil {
		return fmt.Errorf("read cashback uses of %s: %w", ch.ID, err)
	}
	for _, u := range uses {
		if err := tx.Model(&cashbackLot{}).Where("charge_id = ?", u.LotChargeID).Update("remaining", gorm.Expr("remaining + ?", u.Amount)).Error; err != nil {
			return fmt.Errorf("give back cashback of %s: %w", ch.ID, err)
		}
	}
	if err := tx.Where("charge_id = ?", ch.ID).Delete(&cashbackUse{}).Error; err != nil {
		return fmt.Errorf("drop cashback uses of %s: %w", ch.ID, err)
	}
	if err := tx.Model(&Charge{}).Where("id = ?", ch.ID).Update("cashback_applied", 0).Error; err != nil {
		return fmt.Errorf("clear cashback of %s: %w", ch.ID, err)
	}
	ch.CashbackApplied = 0
	return nil
}

// cashbackToEarnTx is what a charge about to succeed earns under the
// merchant's active program (0 and nil: nothing), so that the charge moves
// to succeeded with it and its event says so.
func (s *Service) cashbackToEarnTx(tx *gorm.DB, ch *Charge) (int64, *CashbackProgram, error) {
	if had, err := s.everHadCashback(tx, ch.MerchantID, ch.Livemode); err != nil || !had {
		return 0, nil, err
	}
	var progs []CashbackProgram
	if err := tx.Where("merchant_id = ? AND livemode = ? AND currency = ? AND status = ?", ch.MerchantID, ch.Livemode, ch.Currency, CashbackProgramActive).Limit(1).Find(&progs).Error; err != nil {
		return 0, nil, fmt.Errorf("cashback program of %s: %w", ch.ID, err)
	}
	if len(progs) == 0 || ch.Billed() < progs[0].MinAmount {
		return 0, nil, nil
	}
	earned := CashbackFor(ch.Billed(), progs[0].RateBps, progs[0].MaxPerCharge)
	if earned <= 0 {
		return 0, nil, nil
	}
	return earned, &progs[0], nil
}

// earnCashbackTx gives the subscriber of a charge that just succeeded what
// it earned (ch.CashbackEarned, from cashbackToEarnTx), in the transaction
// that posts it.
func (s *Service) earnCashbackTx(tx *gorm.DB, ch *Charge, prog *CashbackProgram, at time.Time) error {
	if prog == nil || ch.CashbackEarned <= 0 {
		return nil
	}
	earned := ch.CashbackEarned
	lot := &cashbackLot{ChargeID: ch.ID, ProgramID: prog.ID, MerchantID: ch.MerchantID, Livemode: ch.Livemode, Currency: ch.Currency,
		MSISDNIndex: ch.MSISDNIndex, Earned: earned, Remaining: earned, ExpiresAt: at.AddDate(0, 0, prog.ExpiresAfterDays), CreatedAt: at}
	if err := tx.Create(lot).Error; err != nil {
		return fmt.Errorf("record cashback of %s: %w", ch.ID, err)
	}
	return postKind(tx, ch.MerchantID, ch.ID, nil, earned, ch.Currency, at, AccountMerchantPayable, AccountCashbackLiability, KindCashbackEarned)
}

// refundCashbackTx settles a succeeded refund's cashback: the part of the
// applied cashback that refunded/billed says comes back as balance, and
// the same part of what the charge earned is taken back from what is left
// of it. Cumulative floors, so the refunds of a charge add up to a full one.
func (s *Service) refundCashbackTx(tx *gorm.DB, ch *Charge, rf *Refund, at time.Time) error {
	billed := ch.Billed()
	if billed <= 0 || (ch.CashbackApplied == 0 && ch.CashbackEarned == 0) {
		return nil
	}
	before, after := ch.RefundedAmount-rf.Amount, ch.RefundedAmount // ch is read after the refund applied
	part := func(x, r int64) int64 {
		if r >= billed {
			return x
		}
		return mulDiv(x, r, billed)
	}
	if ch.CashbackApplied > 0 {
		restore := part(ch.CashbackApplied, after) - part(ch.CashbackApplied, before)
		if restore > 0 {
			var uses []cashbackUse
			if err := tx.Where("charge_id = ?", ch.ID).Order("lot_charge_id").Find(&uses).Error; err != nil {
				return fmt.Errorf("read cashback uses of %s: %w", ch.ID, err)
			}
			left := restore
			for _, u := range uses {
				n := min(left, u.Amount-u.Restored)
				if n <= 0 {
					continue
				}
				if err := tx.Model(&cashbackUse{}).Where("charge_id = ? AND lot_charge_id = ?", u.ChargeID, u.LotChargeID).Update("restored", gorm.Expr("restored + ?", n)).Error; err != nil {
					return fmt.Errorf("restore cashback use: %w", err)
				}
				if err := tx.Model(&cashbackLot{}).Where("charge_id = ?", u.LotChargeID).Update("remaining", gorm.Expr("remaining + ?", n)).Error; err != nil {
					return fmt.Errorf("restore cashback lot: %w", err)
				}
				left -= n
			}
			if err := postKind(tx, ch.MerchantID, ch.ID, &rf.ID, restore-left, ch.Currency, at, AccountMerchantPayable, AccountCashbackLiability, KindCashbackRestored); err != nil {
				return err
			}
		}
	}
	if ch.CashbackEarned > 0 {
		back := part(ch.CashbackEarned, after) - part(ch.CashbackEarned, before)
		if back > 0 {
			var lot cashbackLot
			if err := tx.Where("charge_id = ?", ch.ID).Take(&lot).Error; err != nil {
				return fmt.Errorf("read cashback of %s: %w", ch.ID, err)
			}
			back = min(back, lot.Remaining)
			if back > 0 {
				res := tx.Model(&cashbackLot{}).Where("charge_id = ? AND remaining >= ?", ch.ID, back).
					Updates(map[string]any{"remaining": gorm.Expr("remaining - ?", back), "taken_back": gorm.Expr("taken_back + ?", back)})
				if res.Error != nil {
					return fmt.Errorf("take back cashback of %s: %w", ch.ID, res.Error)
				}
				if res.RowsAffected == 1 {
					if err := postKind(tx, ch.MerchantID, ch.ID, &rf.ID, back, ch.Currency, at, AccountCashbackLiability, AccountMerchantPayable, KindCashbackTakenBack); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// mulDiv is floor(x × n / d) for 0 ≤ n ≤ d, x ≥ 0, without overflow for
// any amounts this gateway bills.
func mulDiv(x, n, d int64) int64 {
	if d <= 0 || n <= 0 || x <= 0 {
		return 0
	}
	return (x/d)*n + (x%d)*n/d
}

// ExpireCashback expires every balance whose days have run out: each lot's
// remaining amount goes back to its merchant with a cashback_expired
// posting, one transaction per lot. It answers how many lots it expired.
// Balances past their days never apply even before this runs.
func (s *Service) ExpireCashback(ctx context.Context) (int, error) {
	var due []cashbackLot
	if err := s.db.WithContext(ctx).Where("remaining > 0 AND expires_at <= ?", s.now()).Order("expires_at").Limit(1000).Find(&due).Error; err != nil {
		return 0, fmt.Errorf("due cashback: %w", err)
	}
	n := 0
	for _, lot := range due {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var cur cashbackLot
			if err := tx.Where("charge_id = ?", lot.ChargeID).Take(&cur).Error; err != nil {
				return err
			}
			if cur.Remaining <= 0 {
				return nil
			}
			res := tx.Model(&cashbackLot{}).Where("charge_id = ? AND remaining = ?", cur.ChargeID, cur.Remaining).
				Updates(map[string]any{"remaining": 0, "expired": gorm.Expr("expired + ?", cur.Remaining)})
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error // spent or expired meanwhile: the next sweep sees it
			}
			n++
			return postKind(tx, cur.MerchantID, cur.ChargeID, nil, cur.Remaining, cur.Currency, s.now(), AccountCashbackLiability, AccountMerchantPayable, KindCashbackExpired)
		})
		if err != nil {
			return n, fmt.Errorf("expire cashback of %s: %w", lot.ChargeID, err)
		}
	}
	return n, nil
}

// CashbackBalance is a subscriber's usable balance at one merchant.
type CashbackBalance struct {
	MerchantID   string
	MerchantName string
	Currency     string
	Amount       int64
	NextExpiry   time.Time // when the soonest-expiring part runs out
}

// SubscriberCashback is what the subscriber (blind index) can still spend,
// per merchant and currency in one mode: lots not expired, by merchant name.
func (s *Service) SubscriberCashback(ctx context.Context, livemode bool, index string) ([]CashbackBalance, error) {
	var lots []cashbackLot
	if err := s.db.WithContext(ctx).Where("msisdn_index = ? AND livemode = ? AND remaining > 0 AND expires_at > ?", index, livemode, s.now()).Order("expires_at, seq").Find(&lots).Error; err != nil {
		return nil, fmt.Errorf("cashback balances: %w", err)
	}
	out := []CashbackBalance{}
	at := map[[2]string]int{}
	for _, l := range lots {
		k := [2]string{l.MerchantID, l.Currency}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, CashbackBalance{MerchantID: l.MerchantID, Currency: l.Currency, NextExpiry: l.ExpiresAt})
		}
		out[i].Amount += l.Remaining
	}
	for i := range out {
		name, err := s.merchantName(ctx, out[i].MerchantID)
		if err != nil {
			return nil, err
		}
		out[i].MerchantName = name
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].MerchantName != out[j].MerchantName {
			return out[i].MerchantName < out[j].MerchantName
		}
		return out[i].Currency < out[j].Currency
	})
	return out, nil
}

// CashbackTotals is Books.CashbackTotals.
func (s *Service) CashbackTotals(ctx context.Context, carrier string, from, to time.Time) ([]CashbackTotal, error) {
	return s.books().CashbackTotals(ctx, carrier, from, to)
}

// CashbackTotal is one merchant's and currency's cashback postings on one
// carrier's charges over a period, as positive amounts.
type CashbackTotal struct {
	MerchantID string
	Currency   string
	Funded     int64 // earned less taken back by refunds
	Applied    int64 // applied to charges less restored by refunds
	Expired    int64 // balances that ran out, back to the merchant
}

// CashbackTotals sums the cashback_liability postings of the carrier's
// charges made in [from, to), per merchant and currency, ordered by both.
func (b *Books) CashbackTotals(ctx context.Context, carrier string, from, to time.Time) ([]CashbackTotal, error) {
	var out []CashbackTotal
	err := b.db.WithContext(ctx).Raw(`
		SELECT l.merchant_id, l.currency,
		       COALESCE(SUM(CASE WHEN l.kind IN ('`+KindCashbackEarned+`', '`+KindCashbackTakenBack+`') THEN -l.amount ELSE 0 END), 0) AS funded,
		       COALESCE(SUM(CASE WHEN l.kind IN ('`+KindCashbackApplied+`', '`+KindCashbackRestored+`') THEN l.amount ELSE 0 END), 0) AS applied,
		       COALESCE(SUM(CASE WHEN l.kind = '`+KindCashbackExpired+`' THEN l.amount ELSE 0 END), 0) AS expired
		FROM ledger_entries l JOIN charges c ON c.id = l.charge_id
		WHERE c.carrier = ? AND l.account = '`+AccountCashbackLiability+`' AND l.created_at >= ? AND l.created_at < ?
		GROUP BY l.merchant_id, l.currency
		ORDER BY l.merchant_id, l.currency`, carrier, from, to).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("cashback totals of %s from %s: %w", carrier, from.Format(time.RFC3339), err)
	}
	return out, nil
}

// CashbackExpiryArgs is the periodic expiry of balances past their days.
type CashbackExpiryArgs struct{}

// Kind names the job.
func (CashbackExpiryArgs) Kind() string { return "cashback_expiry" }

// cashbackExpiryEvery is how often the elected leader expires balances.
const cashbackExpiryEvery = time.Hour

// CashbackPeriodic is the expiry sweep; river's elected leader enqueues
// periodic jobs, so many nodes sweep once.
func (s *Service) CashbackPeriodic() *river.PeriodicJob {
	return sweeping(CashbackExpiryArgs{}, cashbackExpiryEvery)
}

type cashbackExpiryWorker struct {
	river.WorkerDefaults[CashbackExpiryArgs]
	s *Service
}

func (w *cashbackExpiryWorker) Work(ctx context.Context, _ *river.Job[CashbackExpiryArgs]) error {
	_, err := w.s.ExpireCashback(ctx)
	return err
}
