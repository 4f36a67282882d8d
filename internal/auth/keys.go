// Package auth owns API keys: creating them (shown once, stored as a hash)
// and resolving a bearer key to a principal. The HTTP middleware that
// requires one is in internal/web.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"gorm.io/gorm"

	"tollgate/internal/clock"
	"tollgate/internal/ttlcache"
)

// Role is what a key may do.
type Role string

const (
	RoleMerchant Role = "merchant"
	RoleFinance  Role = "finance"
	RoleAdmin    Role = "admin"
)

// Principal is who is calling.
type Principal struct {
	KeyID      string
	Role       Role
	MerchantID string // merchant keys only
	Livemode   bool
}

// apiKey is a row of api_keys. The key itself is never stored: API keys are
// 190 bits of randomness, so a plain SHA-256 is as good as a slow hash here
// and lets a look-up be one indexed equality.
type apiKey struct {
	ID         string
	Hash       string
	Prefix     string
	Role       Role
	MerchantID *string
	Livemode   bool
	CreatedAt  time.Time
	RevokedAt  *time.Time
}

func (apiKey) TableName() string { return "api_keys" }

// Hash is the stored form of a key.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// RandomString returns n characters of base62 from crypto/rand.
func RandomString(n int) string {
	var b strings.Builder
	max := big.NewInt(int64(len(alphabet)))
	for range n {
		i, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// KeyPrefix is the visible prefix of a key for a role and mode.
func KeyPrefix(role Role, livemode bool) string {
	switch role {
	case RoleFinance:
		return "tg_fin_"
	case RoleAdmin:
		return "tg_adm_"
	}
	if livemode {
		return "tg_live_"
	}
	return "tg_test_"
}

// Keys creates and resolves API keys.
type Keys struct {
	DB  *gorm.DB
	Now func() time.Time
	// Cache, when set, keeps resolved keys for its TTL so a request costs no
	// key look-up in the database. Copies of Keys share it.
	Cache *KeyCache
}

// KeyCache remembers resolved keys (by Hash) for a bounded time. A key
// revoked on this node is dropped at once; revoked on another node (or in
// the database), it is refused here once its entry is older than the TTL:
// no message between nodes is needed, and the TTL is the bound. Unknown
// keys are never cached, so a key created on any node works at once
// everywhere.
type KeyCache = ttlcache.Cache[string, Principal]

// keyCacheMax bounds the memory a flood of distinct valid keys can take;
// past it the cache starts over.
const keyCacheMax = 10000

// NewKeyCache keeps resolved keys for ttl on clk; ttl <= 0 is no cache (nil).
func NewKeyCache(ttl time.Duration, clk clock.Clock) *KeyCache {
	return ttlcache.New[string, Principal](ttl, keyCacheMax, clk)
}

// Create makes a new key and returns it in clear, the only time it is seen.
// merchantID is required for merchant keys and must be empty otherwise.
func (k Keys) Create(ctx context.Context, role Role, merchantID string, livemode bool) (string, error) {
	return k.create(ctx, k.DB, role, merchantID, livemode, KeyPrefix(role, livemode)+RandomString(32))
}

// Ensure stores a key chosen by the caller (the demo merchant's key, derived
// from the secret so it is the same on every start) unless it exists.
func (k Keys) Ensure(ctx context.Context, role Role, merchantID string, livemode bool, key string) error {
	var n int64
	if err := k.DB.WithContext(ctx).Model(&apiKey{}).Where("hash = ?", Hash(key)).Count(&n).Error; err != nil {
		return fmt.Errorf("look up key: %w", err)
	}
	if n > 0 {
		return nil
	}
	_, err := k.create(ctx, k.DB, role, merchantID, livemode, key)
	if err != nil {
		// Several nodes starting at once on a fresh database all ensure the
		// same key: the unique hash lets one insert it, and for the others
		// it is there now, which is all Ensure promises.
		if k.DB.WithContext(ctx).Model(&apiKey{}).Where("hash = ?", Hash(key)).Count(&n).Error == nil && n > 0 {
			return nil
		}
	}
	return err
}

func (k Keys) create(ctx context.Context, db *gorm.DB, role Role, merchantID string, livemode bool, key string) (string, error) {
	switch role {
	case RoleMerchant:
		if merchantID == "" {
			return "", errors.New("a merchant key needs a merchant")
		}
	case RoleFinance, RoleAdmin:
		if merchantID != "" {
			return "", fmt.Errorf("a %s key belongs to no merchant", role)
		}
	default:
		return "", fmt.Errorf("unknown role %q", role)
	}
	row := apiKey{ID: "key_" + RandomString(20), Hash: Hash(key), Prefix: key[:len(KeyPrefix(role, livemode))+4], Role: role, Livemode: livemode, CreatedAt: k.Now().UTC()}
	if merchantID != "" {
		row.MerchantID = &merchantID
	}
	if err := db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", fmt.Errorf("store key: %w", err)
	}
	return key, nil
}

// ErrUnknownKey means no live key matches.
var ErrUnknownKey = errors.New("unknown or revoked API key")

// Resolve returns the principal for a bearer key: from the cache while its
// entry is younger than the TTL, else from the database.
func (k Keys) Resolve(ctx context.Context, key string) (Principal, error) {
	hash := Hash(key)
	p, ok, token := k.Cache.Get(hash)
	if ok {
		return p, nil
	}
	var row apiKey
	err := k.DB.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrUnknownKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("resolve key: %w", err)
	}
	p = Principal{KeyID: row.ID, Role: row.Role, Livemode: row.Livemode}
	if row.MerchantID != nil {
		p.MerchantID = *row.MerchantID
	}
	k.Cache.Put(hash, p, token) // not if a revocation came meanwhile
	return p, nil
}

// ErrKeyNotFound means no live key has that id.
var ErrKeyNotFound = errors.New("no such live API key")

// Revoke ends a key by its id (key_…). This node refuses it at once; other
// nodes within their cache's TTL.
func (k Keys) Revoke(ctx context.Context, keyID string) error {
	var hashes []string // the cache knows a key by its hash
	if err := k.DB.WithContext(ctx).Model(&apiKey{}).Where("id = ?", keyID).Pluck("hash", &hashes).Error; err != nil {
		return fmt.Errorf("revoke key %s: %w", keyID, err)
	}
	res := k.DB.WithContext(ctx).Model(&apiKey{}).Where("id = ? AND revoked_at IS NULL", keyID).Update("revoked_at", k.Now().UTC())
	if res.Error != nil {
		return fmt.Errorf("revoke key %s: %w", keyID, res.Error)
	}
	for _, h := range hashes {
		k.Cache.Forget(h)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("revoke key %s: %w", keyID, ErrKeyNotFound)
	}
	return nil
}
