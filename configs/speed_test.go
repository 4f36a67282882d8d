package configs

import (
	"strings"
	"testing"
	"time"
)

func TestSpeedSettingsNameTheirKey(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		key  string // empty: accepted
	}{
		{func(c *Config) { c.APIKeyCacheTTL = -time.Second }, "api_key_cache_ttl"},
		{func(c *Config) { c.APIKeyCacheTTL = 2 * time.Minute }, "api_key_cache_ttl"},
		{func(c *Config) { c.PprofListen = "0.0.0.0:6060" }, "pprof_listen"},
		{func(c *Config) { c.PprofListen = ":6060" }, "pprof_listen"},
		{func(c *Config) { c.PprofListen = "10.0.0.1:6060" }, "pprof_listen"},
		{func(c *Config) { c.PprofListen = "127.0.0.1" }, "pprof_listen"},
		{func(c *Config) { c.LookupCacheTTL = -time.Second }, "lookup_cache_ttl"},
		{func(c *Config) { c.LookupCacheTTL = 2 * time.Minute }, "lookup_cache_ttl"},
		{func(c *Config) { c.LookupCacheTTL = 0 }, ""},
		{func(c *Config) { c.DatabasePool = -1 }, "database_pool"},
		{func(c *Config) { c.DatabasePool = 501 }, "database_pool"},
		{func(c *Config) { c.DatabasePool = 16 }, ""},
		{func(c *Config) { c.GCPercent = 24 }, "gc_percent"},
		{func(c *Config) { c.GCPercent = 2001 }, "gc_percent"},
		{func(c *Config) { c.GCPercent = 25 }, ""},
		{func(c *Config) { c.GCPercent = 2000 }, ""},
		{func(c *Config) { c.MaxProcs = -1 }, "max_procs"},
		{func(c *Config) { c.MaxProcs = 1025 }, "max_procs"},
		{func(c *Config) { c.MaxProcs = 4 }, ""},
		{func(c *Config) { c.APIKeyCacheTTL = 0 }, ""},
		{func(c *Config) { c.APIKeyCacheTTL = time.Minute }, ""},
		{func(c *Config) { c.PprofListen = "127.0.0.1:6060" }, ""},
		{func(c *Config) { c.PprofListen = "[::1]:0" }, ""},
		{func(c *Config) { c.PprofListen = "localhost:6060" }, ""},
	} {
		c := defaults(t)
		tc.edit(&c)
		err := c.Validate()
		if tc.key == "" && err != nil {
			t.Errorf("refused: %v", err)
		}
		if tc.key != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.key+":")) {
			t.Errorf("got %v, want an error naming %s", err, tc.key)
		}
	}
	c := defaults(t)
	if c.APIKeyCacheTTL != 5*time.Second || c.LookupCacheTTL != 5*time.Second || c.PprofListen != "" || c.GCPercent != 400 {
		t.Fatalf("shipped: api_key_cache_ttl %s, lookup_cache_ttl %s, pprof_listen %q, gc_percent %d; want 5s, 5s, off and 400", c.APIKeyCacheTTL, c.LookupCacheTTL, c.PprofListen, c.GCPercent)
	}
}
