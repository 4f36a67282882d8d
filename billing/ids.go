package billing

import "tollgate/internal/auth"

// Object id prefixes, part of the public contract.
const (
	prefixMerchant      = "mer_"
	prefixCharge        = "ch_"
	prefixRefund        = "re_"
	prefixPaymentMethod = "pm_"
	prefixSubscription  = "sub_"
)

func newID(prefix string) string { return prefix + auth.RandomString(24) }
