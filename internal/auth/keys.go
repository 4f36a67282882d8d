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

// Resolve returns the principal for a bearer key.
func (k Keys) Resolve(ctx context.Context, key string) (Principal, error) {
	var row apiKey
	err := k.DB.WithContext(ctx).Where("hash = ? AND revoked_at IS NULL", Hash(key)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, ErrUnknownKey
	}
	if err != nil {
		return Principal{}, fmt.Errorf("resolve key: %w", err)
	}
	p := Principal{KeyID: row.ID, Role: row.Role, Livemode: row.Livemode}
	if row.MerchantID != nil {
		p.MerchantID = *row.MerchantID
	}
	return p, nil
}
