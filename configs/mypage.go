package configs

import (
	"fmt"
	"time"
)

// MyPageConfig governs /my, the subscriber's own page. Its sign-in codes
// follow confirmation.code_ttl and confirmation.max_attempts, and count
// against rate_limits.sms_per_number like every other code to the number.
type MyPageConfig struct {
	SessionTTL time.Duration `yaml:"session_ttl"` // how long a sign-in lasts
}

func (c MyPageConfig) validate() error {
	if c.SessionTTL < time.Minute || c.SessionTTL > 24*time.Hour {
		return fmt.Errorf("my_page.session_ttl: must be 1m to 24h, got %s", c.SessionTTL)
	}
	return nil
}
