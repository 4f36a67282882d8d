package msisdn

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"
)

const (
	// minSecretLen is the shortest secret NewVault and DecodeSecret accept.
	minSecretLen = 32

	infoAEAD  = "tollgate msisdn aead v1"
	infoIndex = "tollgate msisdn index v1"

	sealPrefix = "v1:"
	sealAD     = "msisdn"
)

var (
	errShortSecret = errors.New("msisdn: vault secret must be at least " + strconv.Itoa(minSecretLen) + " bytes")
	errSealed      = errors.New("msisdn: sealed value is malformed")
	errOpen        = errors.New("msisdn: sealed value cannot be decrypted (tampered, or sealed under another key)")
)

// Vault encrypts numbers for storage and computes their blind index. It is
// safe for concurrent use. Create one with NewVault; the zero Vault is not
// usable.
type Vault struct {
	// The keys live only inside closures: fmt (with any verb) and other
	// reflection-based dumpers print a func as an address, so printing a
	// Vault can never show key material.
	aead func() cipher.AEAD // AES-256-GCM, random 12-byte nonce prepended
	mac  func() hash.Hash   // HMAC-SHA256 under the index key
}

// NewVault derives two independent 32-byte keys from secret with
// HKDF-SHA256 (info "tollgate msisdn aead v1" for encryption and
// "tollgate msisdn index v1" for the blind index). secret must be at least
// 32 bytes.
func NewVault(secret []byte) (*Vault, error) {
	if len(secret) < minSecretLen {
		return nil, errShortSecret
	}
	aeadKey, err := hkdf.Key(sha256.New, secret, nil, infoAEAD, 32)
	if err != nil {
		return nil, errors.New("msisdn: deriving encryption key failed")
	}
	indexKey, err := hkdf.Key(sha256.New, secret, nil, infoIndex, 32)
	if err != nil {
		return nil, errors.New("msisdn: deriving index key failed")
	}
	block, err := aes.NewCipher(aeadKey)
	if err != nil {
		return nil, errors.New("msisdn: creating cipher failed")
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, errors.New("msisdn: creating AEAD failed")
	}
	clear(aeadKey) // the cipher keeps its own expanded copy
	return &Vault{
		aead: func() cipher.AEAD { return aead },
		mac:  func() hash.Hash { return hmac.New(sha256.New, indexKey) },
	}, nil
}

// Seal encrypts e164 with AES-256-GCM under a random 12-byte nonce, with
// associated data "msisdn", and returns "v1:" + base64url(nonce||ciphertext)
// without padding. Two seals of the same number differ.
func (v *Vault) Seal(e164 string) (string, error) {
	// NewGCMWithRandomNonce draws the nonce from crypto/rand and prepends it.
	sealed := v.aead().Seal(nil, nil, []byte(e164), []byte(sealAD))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// Open reverses Seal. Any malformed, truncated or tampered input, or one
// sealed under another key, is an error; errors never contain plaintext or
// the sealed input.
func (v *Vault) Open(sealed string) (string, error) {
	body, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errSealed
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil || len(raw) < v.aead().Overhead() {
		return "", errSealed
	}
	plain, err := v.aead().Open(nil, nil, raw, []byte(sealAD))
	if err != nil {
		return "", errOpen
	}
	return string(plain), nil
}

// Index returns hex(HMAC-SHA256(indexKey, e164)): a deterministic blind index
// for equality look-ups. Pass the E.164 form returned by Parse, so that every
// spelling of a number gets the same index.
func (v *Vault) Index(e164 string) string {
	m := v.mac()
	m.Write([]byte(e164))
	return hex.EncodeToString(m.Sum(nil))
}

// Keyed returns hex(HMAC-SHA256(indexKey, purpose + "\x00" + value)) for other
// secrets that need a keyed hash, e.g. Keyed("code", "123456") for an SMS
// confirmation code. purpose is a fixed label chosen by the caller; it must
// not contain a NUL byte (Keyed panics if it does, since the encoding would
// then be ambiguous).
func (v *Vault) Keyed(purpose, value string) string {
	if strings.IndexByte(purpose, 0) >= 0 {
		panic("msisdn: Keyed purpose must not contain NUL")
	}
	m := v.mac()
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

// DecodeSecret accepts a secret given as hex, standard base64 or base64url
// (padded or not; surrounding whitespace ignored) and returns its bytes. A
// string made only of an even number of hex digits is read as hex. It errors,
// naming no secret material, if the input decodes as none of these or to
// fewer than 32 bytes.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("msisdn: secret is empty")
	}
	var b []byte
	if isHex(s) {
		b, _ = hex.DecodeString(s) // cannot fail: checked by isHex
	} else {
		t := strings.TrimRight(s, "=")
		var err error
		if b, err = base64.RawStdEncoding.DecodeString(t); err != nil {
			if b, err = base64.RawURLEncoding.DecodeString(t); err != nil {
				return nil, errors.New("msisdn: secret is not valid hex, base64 or base64url")
			}
		}
	}
	if len(b) < minSecretLen {
		clear(b)
		return nil, errors.New("msisdn: secret must be at least " + strconv.Itoa(minSecretLen) +
			" bytes, got " + strconv.Itoa(len(b)))
	}
	return b, nil
}

func isHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
