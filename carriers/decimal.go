package carriers

import (
	"fmt"

	"tollgate/money"
)

// Carriers put amounts on the wire as decimals in major units (19.99), while
// tollgate counts integer minor units: package money converts between the
// two, exactly.

// AmountMismatch describes a carrier echoing a different amount than we
// asked for, or "" when it echoed ours or none. The carrier's word on the
// outcome still stands (it may well have billed), so this is surfaced for
// people and settlement, not an error.
func AmountMismatch(echoed, echoedCurrency string, want int64, currency string) string {
	if echoed == "" && echoedCurrency == "" {
		return ""
	}
	if echoedCurrency != currency {
		return fmt.Sprintf("carrier reports currency %q, requested %s", echoedCurrency, currency)
	}
	got, err := money.Parse(echoed, currency)
	if err != nil {
		return fmt.Sprintf("carrier reports an unreadable amount: %v", err)
	}
	if got != want {
		return fmt.Sprintf("carrier reports amount %d, requested %d (minor units of %s)", got, want, currency)
	}
	return ""
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
