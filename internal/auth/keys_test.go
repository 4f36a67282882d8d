package auth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"tollgate/internal/auth"
	"tollgate/internal/clock"
	"tollgate/internal/store"
	"tollgate/internal/storetest"
)

const ttl = 5 * time.Second

// nodes are two gateways on one database, each with its own key cache.
func nodes(t *testing.T, s *store.Store) (a, b auth.Keys, clk *clock.Manual) {
	clk = clock.NewManual(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	a = auth.Keys{DB: s.DB, Now: clk.Now, Cache: auth.NewKeyCache(ttl, clk)}
	b = auth.Keys{DB: s.DB, Now: clk.Now, Cache: auth.NewKeyCache(ttl, clk)}
	return a, b, clk
}

func TestRevokedKeyIsRefusedEverywhereWithinTheTTL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b, clk := nodes(t, s)
		key, err := a.Create(ctx, auth.RoleAdmin, "", false)
		if err != nil {
			t.Fatal(err)
		}
		pa, err := a.Resolve(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Resolve(ctx, key); err != nil { // b caches it too
			t.Fatal(err)
		}
		if err := a.Revoke(ctx, pa.KeyID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Resolve(ctx, key); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("the revoking node: %v, want refused at once", err)
		}
		// The other node heard nothing: it may serve its entry for the TTL,
		// never longer.
		clk.Advance(ttl - time.Millisecond)
		if _, err := b.Resolve(ctx, key); err != nil {
			t.Fatalf("inside the TTL the other node still answers from its cache: %v", err)
		}
		clk.Advance(time.Millisecond)
		if _, err := b.Resolve(ctx, key); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("after the TTL: %v, want refused", err)
		}
		if err := a.Revoke(ctx, pa.KeyID); !errors.Is(err, auth.ErrKeyNotFound) {
			t.Fatalf("revoking twice: %v", err)
		}
	})
}

func TestKeyCacheServesWithoutTheDatabaseAndNeverCachesUnknownKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b, clk := nodes(t, s)
		key := "tg_adm_" + auth.RandomString(32)
		if _, err := a.Resolve(ctx, key); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("unknown key: %v", err)
		}
		// Created on the other node: works here at once (no negative cache).
		if err := b.Ensure(ctx, auth.RoleAdmin, "", false, key); err != nil {
			t.Fatal(err)
		}
		p, err := a.Resolve(ctx, key)
		if err != nil {
			t.Fatalf("a key created elsewhere: %v", err)
		}
		// Revoked behind every cache's back (straight in the database): the
		// cache answers until its entry is a TTL old, which proves it is used.
		if err := s.DB.Exec("UPDATE api_keys SET revoked_at = ? WHERE id = ?", clk.Now(), p.KeyID).Error; err != nil {
			t.Fatal(err)
		}
		if got, err := a.Resolve(ctx, key); err != nil || got != p {
			t.Fatalf("cached: %+v, %v; want %+v", got, err, p)
		}
		clk.Advance(ttl)
		if _, err := a.Resolve(ctx, key); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("after the TTL: %v, want refused", err)
		}
		// Without a cache every request reads the database.
		none := auth.Keys{DB: s.DB, Now: clk.Now, Cache: auth.NewKeyCache(0, clk)}
		if _, err := none.Resolve(ctx, key); !errors.Is(err, auth.ErrUnknownKey) {
			t.Fatalf("no cache: %v", err)
		}
	})
}

// Nodes starting together on a fresh database each ensure the same key
// (test mode's demo key): every one of them succeeds, and it is stored once.
func TestEnsureRacingNodesStoreTheKeyOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		key := auth.KeyPrefix(auth.RoleAdmin, false) + auth.RandomString(32)
		const racers = 8
		errs := make(chan error, racers)
		start := make(chan struct{})
		for range racers {
			go func() {
				<-start
				k := auth.Keys{DB: s.DB, Now: time.Now}
				errs <- k.Ensure(ctx, auth.RoleAdmin, "", false, key)
			}()
		}
		close(start)
		for range racers {
			if err := <-errs; err != nil {
				t.Errorf("a racing node's Ensure: %v", err)
			}
		}
		var n int64
		if err := s.DB.Table("api_keys").Where("hash = ?", auth.Hash(key)).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("the key is stored %d times", n)
		}
	})
}
