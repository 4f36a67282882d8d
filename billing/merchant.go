package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
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
	if err := s.db.WithContext(ctx).Create(&m).Error; err != nil {
		return nil, fmt.Errorf("create merchant: %w", err)
	}
	return &m, nil
}

func (s *Service) merchantName(ctx context.Context, id string) (string, error) {
	var m Merchant
	if err := s.db.WithContext(ctx).Select("name").Where("id = ?", id).Take(&m).Error; err != nil {
		return "", fmt.Errorf("merchant %s: %w", id, err)
	}
	return m.Name, nil
}
