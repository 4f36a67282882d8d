package tokens

import (
	"fmt"
	"testing"
	"time"
)

// The cache holds at most maxTokens: past it, expired tokens go first, then
// any, since a dropped token is only fetched again.
func TestPruneBoundsTheCache(t *testing.T) {
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	c := &Cache{tokens: map[string]entry{}}
	for i := range maxTokens + 50 {
		expires := now.Add(time.Hour)
		if i%2 == 0 {
			expires = now.Add(-time.Minute)
		}
		c.tokens[fmt.Sprint(i)] = entry{expiresAt: expires, refreshAt: expires}
	}
	c.prune(now)
	if len(c.tokens) > maxTokens {
		t.Fatalf("%d tokens kept, want at most %d", len(c.tokens), maxTokens)
	}
	for k, e := range c.tokens {
		if !now.Before(e.expiresAt) {
			t.Fatalf("expired token %s kept", k)
		}
	}
	for i := range maxTokens + 50 {
		c.tokens[fmt.Sprint("live", i)] = entry{expiresAt: now.Add(time.Hour)}
	}
	c.prune(now)
	if len(c.tokens) != maxTokens {
		t.Fatalf("%d live tokens kept, want %d", len(c.tokens), maxTokens)
	}
}
