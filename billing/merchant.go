package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"tollgate/internal/store"
)

// CreateMerchant adds a merchant.
func (s *Service) CreateMerchant(ctx context.Context, name string, livemode bool) (*Merchant, error) {
	return s.EnsureMerchant(ctx, newID(prefixMerchant), name, livemode)
}

// EnsureMerchant creates the merchant with this id unless it exists.
func (s *Service) EnsureMerchant(ctx context.Context, id, name string, livemode bool) (*Merchant, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxText {
		return nil, fmt.Errorf("merchant name must be 1 to %d characters", maxText)
	}
	var m Merchant
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error
	if err == nil {
		return &m, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("look up merchant: %w", err)
	}
	m = Merchant{ID: id, Name: name, Livemode: livemode, CreatedAt: s.now()}
	err = s.db.WithContext(ctx).Create(&m).Error
	if store.IsUniqueViolation(err) {
		// Another node created it meanwhile (two gateways starting at once
		// on a new database both ensure the demo merchant): theirs it is.
		err = s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error
	}
	if err != nil {
		return nil, fmt.Errorf("create merchant: %w", err)
	}
	return &m, nil
}

// merchantName is the name carriers show the subscriber, read on every
// charge and code: kept per node for Settings.LookupCacheTTL. No path
// renames a merchant; one that did would show the old name on other
// nodes for at most that long.
func (s *Service) merchantName(ctx context.Context, id string) (string, error) {
	return s.merchantNameOn(s.db.WithContext(ctx), id)
}

// merchantNameOn is merchantName read on db (a transaction's, for receipts).
func (s *Service) merchantNameOn(db *gorm.DB, id string) (string, error) {
	return s.names.Load(id, func() (string, error) {
		var m Merchant
		if err := db.Select("name").Where("id = ?", id).Take(&m).Error; err != nil {
			return "", fmt.Errorf("merchant %s: %w", id, err)
		}
		return m.Name, nil
	})
}

// ownedChunk bounds the ids of one look-up in Owned, well inside every
// store's limit on bound parameters.
const ownedChunk = 500

// Owned returns which of refs name a charge, payment method or subscription of merchantID
// in the given mode: what a merchant may see of the texts a carrier sent
// about payments (test mode's inbox). One query per ownedChunk distinct ids.
func (s *Service) Owned(ctx context.Context, merchantID string, livemode bool, refs []string) (map[string]bool, error) {
	owned := map[string]bool{}
	seen := map[string]bool{}
	var ids []string
	for _, r := range refs {
		if r != "" && !seen[r] {
			seen[r] = true
			ids = append(ids, r)
		}
	}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), ownedChunk)]
		ids = ids[len(chunk):]
		var found []string
		err := s.db.WithContext(ctx).Raw(
			`SELECT id FROM charges WHERE merchant_id = ? AND livemode = ? AND id IN ?
			 UNION ALL
			 SELECT id FROM payment_methods WHERE merchant_id = ? AND livemode = ? AND id IN ?
			 UNION ALL
			 SELECT id FROM subscriptions WHERE merchant_id = ? AND livemode = ? AND id IN ?`,
			merchantID, livemode, chunk, merchantID, livemode, chunk, merchantID, livemode, chunk).Scan(&found).Error
		if err != nil {
			return nil, fmt.Errorf("look up %d references of merchant %s: %w", len(chunk), merchantID, err)
		}
		for _, id := range found {
			owned[id] = true
		}
	}
	return owned, nil
}
