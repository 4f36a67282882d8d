package billing

import (
	"context"
	"fmt"
	"time"
)

// SubscriberSubscription is a subscription as its subscriber sees it on /my.
type SubscriberSubscription struct {
	ID              string
	MerchantName    string
	Description     string
	Amount          int64
	Currency        string
	BillingInterval string // month or week
	Status          SubscriptionStatus
	NextChargeAt    *time.Time
	CreatedAt       time.Time
}

// SubscriberSubscriptions lists the subscriber's subscriptions that are
// still live (requires_confirmation, active, past_due) across merchants,
// newest first.
func (s *Service) SubscriberSubscriptions(ctx context.Context, livemode bool, index string) ([]SubscriberSubscription, error) {
	var out []SubscriberSubscription
	err := s.db.WithContext(ctx).Table("subscriptions u").
		Select("u.id, m.name AS merchant_name, u.description, u.amount, u.currency, u.billing_interval, u.status, u.next_charge_at, u.created_at").
		Joins("JOIN merchants m ON m.id = u.merchant_id").
		Where("u.msisdn_index = ? AND u.livemode = ? AND u.status IN ?", index, livemode, liveSubStatuses).
		Order("u.seq DESC").Limit(100).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("subscriber subscriptions: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
		if t := out[i].NextChargeAt; t != nil {
			u := t.UTC()
			out[i].NextChargeAt = &u
		}
	}
	return out, nil
}
