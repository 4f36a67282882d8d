package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"tollgate/internal/problem"
	"tollgate/money"
)

// Preferences are what a subscriber chose on /my, keyed by the blind index.
type Preferences struct {
	OwnCaps           map[string]int64 // currency → the subscriber's own monthly cap, lower than the carrier's
	BlockedCategories []string
}

// maxBlockedCategories bounds what one subscriber may store.
const maxBlockedCategories = 50

// subscriberPreferences is a row of subscriber_preferences.
type subscriberPreferences struct {
	MSISDNIndex       string `gorm:"column:msisdn_index;primaryKey"`
	BlockedCategories string
	UpdatedAt         time.Time
}

func (subscriberPreferences) TableName() string { return "subscriber_preferences" }

// subscriberCap is a row of subscriber_caps.
type subscriberCap struct {
	MSISDNIndex string `gorm:"column:msisdn_index;primaryKey"`
	Currency    string `gorm:"primaryKey"`
	Amount      int64
	UpdatedAt   time.Time
}

func (subscriberCap) TableName() string { return "subscriber_caps" }

// Preferences returns what the subscriber with this blind index chose;
// a subscriber who chose nothing has no own caps and blocks nothing.
func (s *Service) Preferences(ctx context.Context, index string) (Preferences, error) {
	return s.preferencesTx(s.db.WithContext(ctx), index)
}

// preferencesTx reads one subscriber's choices (preferencesOfTx).
func (s *Service) preferencesTx(tx *gorm.DB, index string) (Preferences, error) {
	if index == "" {
		return Preferences{OwnCaps: map[string]int64{}, BlockedCategories: []string{}}, errors.New("preferences: empty subscriber index")
	}
	prefs, err := s.preferencesOfTx(tx, []string{index})
	return prefs[index], err
}

// preferenceRow is one of a subscriber's own caps, or (Blocked set) their
// blocked categories.
type preferenceRow struct {
	MSISDNIndex string `gorm:"column:msisdn_index"`
	Currency    string
	Amount      int64
	Blocked     *string
}

func (r preferenceRow) into(p *Preferences) error {
	if r.Blocked == nil {
		p.OwnCaps[r.Currency] = r.Amount
		return nil
	}
	if err := json.Unmarshal([]byte(*r.Blocked), &p.BlockedCategories); err != nil {
		return fmt.Errorf("decode blocked categories: %w", err)
	}
	return nil
}

// preferencesOfTx reads the choices of several subscribers, both of their
// tables in one statement: every charge reads them, so one round trip
// instead of two.
func (s *Service) preferencesOfTx(tx *gorm.DB, indexes []string) (map[string]Preferences, error) {
	out := make(map[string]Preferences, len(indexes))
	for _, idx := range indexes {
		out[idx] = Preferences{OwnCaps: map[string]int64{}, BlockedCategories: []string{}}
	}
	var rows []preferenceRow
	err := tx.Raw(`SELECT msisdn_index, currency, amount, NULL AS blocked FROM subscriber_caps WHERE msisdn_index IN ?
		UNION ALL SELECT msisdn_index, '', 0, blocked_categories FROM subscriber_preferences WHERE msisdn_index IN ?`, indexes, indexes).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load preferences: %w", err)
	}
	for _, r := range rows {
		p := out[r.MSISDNIndex]
		if err := r.into(&p); err != nil {
			return nil, err
		}
		out[r.MSISDNIndex] = p
	}
	return out, nil
}

// SetOwnCap sets (amount != nil, 1..carrier ceiling) or restores (nil) the
// subscriber's own cap for currency; a bad amount is a 422 problem. A cap
// below what the month already holds is allowed: it stops further charges.
func (s *Service) SetOwnCap(ctx context.Context, index, currency string, amount *int64) error {
	if index == "" {
		return errors.New("set own cap: empty subscriber index")
	}
	if _, ok := money.Lookup(currency); !ok {
		return problem.Unprocessable(problem.CodeUnsupportedCurrency, "currency", fmt.Sprintf("%q is not a supported ISO 4217 currency code (upper case, e.g. KRW).", currency))
	}
	db := s.db.WithContext(ctx)
	if amount == nil {
		if err := db.Where("msisdn_index = ? AND currency = ?", index, currency).Delete(&subscriberCap{}).Error; err != nil {
			return fmt.Errorf("restore own cap: %w", err)
		}
		return nil
	}
	line, err := s.lineOf(ctx, index, currency)
	if err != nil {
		return err
	}
	cur, _ := money.Lookup(currency)
	if *amount < 1 {
		return problem.Unprocessable(problem.CodeAmountTooSmall, "amount", "Your own monthly limit must be a positive amount.")
	}
	if line.Ceiling > 0 && *amount > line.Ceiling {
		return problem.Unprocessable(problem.CodeAmountTooLarge, "amount", fmt.Sprintf(
			"Your own monthly limit can be at most the carrier's, %s; restore it to use the carrier's limit.", cur.Display(line.Ceiling))).With("max_amount", line.Ceiling)
	}
	row := subscriberCap{MSISDNIndex: index, Currency: currency, Amount: *amount, UpdatedAt: s.now()}
	err = db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "msisdn_index"}, {Name: "currency"}},
		DoUpdates: clause.AssignmentColumns([]string{"amount", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("set own cap: %w", err)
	}
	return nil
}

// SetBlockedCategories replaces the categories the subscriber refuses to
// be charged for. A charge in one is refused with category_blocked before
// anything is written or sent. Categories are compared as merchants send
// them, without surrounding spaces; an empty list unblocks everything.
func (s *Service) SetBlockedCategories(ctx context.Context, index string, categories []string) error {
	if index == "" {
		return errors.New("set blocked categories: empty subscriber index")
	}
	seen := map[string]bool{}
	clean := []string{}
	for _, c := range categories {
		c = strings.TrimSpace(c)
		if c == "" || seen[c] {
			continue
		}
		if !utf8.ValidString(c) || utf8.RuneCountInString(c) > maxText {
			return problem.Invalid("categories", fmt.Sprintf("A category must be valid UTF-8 of at most %d characters.", maxText))
		}
		seen[c] = true
		clean = append(clean, c)
	}
	if len(clean) > maxBlockedCategories {
		return problem.Invalid("categories", fmt.Sprintf("At most %d categories can be blocked.", maxBlockedCategories))
	}
	sort.Strings(clean)
	b, err := json.Marshal(clean)
	if err != nil {
		return fmt.Errorf("encode blocked categories: %w", err)
	}
	row := subscriberPreferences{MSISDNIndex: index, BlockedCategories: string(b), UpdatedAt: s.now()}
	err = s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "msisdn_index"}},
		DoUpdates: clause.AssignmentColumns([]string{"blocked_categories", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("set blocked categories: %w", err)
	}
	return nil
}

// CodeCategoryBlocked: the subscriber blocked the charge's category on /my.
// A wire string, frozen once published.
const CodeCategoryBlocked = problem.CodeCategoryBlocked

// checkBlocked refuses a charge in a category the subscriber blocked.
func checkBlocked(prefs Preferences, category string) error {
	category = strings.TrimSpace(category)
	if category == "" {
		return nil
	}
	for _, c := range prefs.BlockedCategories {
		if c == category {
			return problem.Unprocessable(CodeCategoryBlocked, "category", fmt.Sprintf(
				"The subscriber has blocked charges in category %q on their phone bill; nothing was charged.", category))
		}
	}
	return nil
}
