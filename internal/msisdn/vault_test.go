package msisdn

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func testSecret(seed byte) []byte {
	s := make([]byte, 32)
	for i := range s {
		s[i] = seed + byte(i)*7
	}
	return s
}

func newTestVault(t *testing.T, seed byte) *Vault {
	t.Helper()
	v, err := NewVault(testSecret(seed))
	if err != nil {
		t.Fatalf("NewVault: %v", err)
	}
	return v
}

func TestNewVaultSecretLength(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		wantErr bool
	}{
		{"nil", nil, true},
		{"31 bytes", make([]byte, 31), true},
		{"32 bytes", make([]byte, 32), false},
		{"64 bytes", make([]byte, 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVault(tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewVault error = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && v == nil {
				t.Fatal("NewVault returned nil vault without error")
			}
		})
	}
}

func TestSealOpenRoundTrip(t *testing.T) {
	v := newTestVault(t, 1)
	for _, e164 := range []string{"+821012345678", "+821012340002", "+12015550123", "+447911123456", ""} {
		sealed, err := v.Seal(e164)
		if err != nil {
			t.Fatalf("Seal(%q): %v", e164, err)
		}
		body, ok := strings.CutPrefix(sealed, "v1:")
		if !ok {
			t.Fatalf("Seal(%q) = %q, want v1: prefix", e164, sealed)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(body)
		if err != nil {
			t.Fatalf("Seal(%q) body is not unpadded base64url: %v", e164, err)
		}
		if want := 12 + len(e164) + 16; len(raw) != want {
			t.Errorf("Seal(%q) decodes to %d bytes, want nonce+ciphertext+tag = %d", e164, len(raw), want)
		}
		if e164 != "" && strings.Contains(sealed, e164[1:]) {
			t.Errorf("Seal(%q) = %q contains the number", e164, sealed)
		}
		got, err := v.Open(sealed)
		if err != nil || got != e164 {
			t.Errorf("Open(Seal(%q)) = %q, %v", e164, got, err)
		}
	}
}

func TestSealNonDeterministic(t *testing.T) {
	v := newTestVault(t, 1)
	const e164 = "+821012345678"
	a, _ := v.Seal(e164)
	b, _ := v.Seal(e164)
	if a == b {
		t.Fatalf("two seals are identical: %q", a)
	}
	ra, _ := base64.RawURLEncoding.DecodeString(a[3:])
	rb, _ := base64.RawURLEncoding.DecodeString(b[3:])
	if bytes.Equal(ra[:12], rb[:12]) {
		t.Fatal("two seals reuse a nonce")
	}
	for _, s := range []string{a, b} {
		if got, err := v.Open(s); err != nil || got != e164 {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	const e164 = "+821012345678"
	v := newTestVault(t, 1)
	sealed, err := v.Seal(e164)
	if err != nil {
		t.Fatal(err)
	}
	body := sealed[3:]
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return "v1:" + base64.RawURLEncoding.EncodeToString(b)
	}
	otherAD := func() string {
		b := v.aead().Seal(nil, nil, []byte(e164), []byte("not msisdn"))
		return "v1:" + base64.RawURLEncoding.EncodeToString(b)
	}

	tests := []struct{ name, in string }{
		{"empty", ""},
		{"prefix only", "v1:"},
		{"no prefix", body},
		{"wrong version", "v2:" + body},
		{"upper-case prefix", "V1:" + body},
		{"padded", sealed + "=="},
		{"std alphabet", "v1:" + base64.RawStdEncoding.EncodeToString(raw) + "+/"},
		{"not base64", "v1:!!!!"},
		{"truncated one char", sealed[:len(sealed)-1]},
		{"truncated tag", "v1:" + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1])},
		{"nonce only", "v1:" + base64.RawURLEncoding.EncodeToString(raw[:12])},
		{"shorter than overhead", "v1:" + base64.RawURLEncoding.EncodeToString(raw[:27])},
		{"extended", "v1:" + base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0))},
		{"tampered nonce", flip(0)},
		{"tampered ciphertext", flip(12)},
		{"tampered tag", flip(len(raw) - 1)},
		{"other associated data", otherAD()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Open(tt.in)
			if err == nil {
				t.Fatalf("Open(%q) = %q, want error", tt.in, got)
			}
			if got != "" {
				t.Errorf("Open returned %q alongside an error", got)
			}
			assertClean(t, err.Error(), e164, body)
		})
	}

	t.Run("another vault", func(t *testing.T) {
		got, err := newTestVault(t, 2).Open(sealed)
		if err == nil {
			t.Fatalf("other vault opened it: %q", got)
		}
		assertClean(t, err.Error(), e164, body)
	})
}

// TestVaultKnownAnswer re-derives the keys independently from the spec and
// checks Seal/Open/Index/Keyed against them, so the stored format cannot
// drift silently.
func TestVaultKnownAnswer(t *testing.T) {
	secret := testSecret(9)
	v, err := NewVault(secret)
	if err != nil {
		t.Fatal(err)
	}
	aeadKey, _ := hkdf.Key(sha256.New, secret, nil, "tollgate msisdn aead v1", 32)
	indexKey, _ := hkdf.Key(sha256.New, secret, nil, "tollgate msisdn index v1", 32)
	if bytes.Equal(aeadKey, indexKey) {
		t.Fatal("derived keys are equal")
	}
	mac := func(msg string) string {
		m := hmac.New(sha256.New, indexKey)
		m.Write([]byte(msg))
		return hex.EncodeToString(m.Sum(nil))
	}

	const e164 = "+821012345678"
	if got, want := v.Index(e164), mac(e164); got != want {
		t.Errorf("Index = %s, want %s", got, want)
	}
	if got, want := v.Keyed("code", "123456"), mac("code\x00123456"); got != want {
		t.Errorf("Keyed = %s, want %s", got, want)
	}

	// A value sealed by hand per the spec opens.
	block, _ := aes.NewCipher(aeadKey)
	gcm, _ := cipher.NewGCM(block)
	nonce := bytes.Repeat([]byte{0x42}, 12)
	raw := gcm.Seal(bytes.Clone(nonce), nonce, []byte(e164), []byte("msisdn"))
	if got, err := v.Open("v1:" + base64.RawURLEncoding.EncodeToString(raw)); err != nil || got != e164 {
		t.Errorf("Open(hand-sealed) = %q, %v", got, err)
	}
	// And a value sealed by the vault opens by hand.
	sealed, _ := v.Seal(e164)
	raw, _ = base64.RawURLEncoding.DecodeString(sealed[3:])
	if pt, err := gcm.Open(nil, raw[:12], raw[12:], []byte("msisdn")); err != nil || string(pt) != e164 {
		t.Errorf("hand Open(Seal) = %q, %v", pt, err)
	}
}

func TestIndex(t *testing.T) {
	v1, v1b, v2 := newTestVault(t, 1), newTestVault(t, 1), newTestVault(t, 2)
	const a, b = "+821012340002", "+821012340003"
	ia := v1.Index(a)
	if len(ia) != 64 || strings.Trim(ia, "0123456789abcdef") != "" {
		t.Fatalf("Index = %q, want 64 lower-case hex digits", ia)
	}
	if v1.Index(a) != ia || v1b.Index(a) != ia {
		t.Error("Index is not deterministic for the same secret")
	}
	if v1.Index(b) == ia {
		t.Error("different numbers share an index")
	}
	if v2.Index(a) == ia {
		t.Error("Index is the same under different secrets")
	}
}

func TestKeyed(t *testing.T) {
	v1, v2 := newTestVault(t, 1), newTestVault(t, 2)
	k := v1.Keyed("code", "123456")
	tests := []struct {
		name  string
		other string
	}{
		{"other value", v1.Keyed("code", "123457")},
		{"other purpose", v1.Keyed("pin", "123456")},
		{"purpose/value boundary", v1.Keyed("cod", "e123456")},
		{"other key", v2.Keyed("code", "123456")},
		{"index of the value", v1.Index("123456")},
	}
	if v1.Keyed("code", "123456") != k {
		t.Fatal("Keyed is not deterministic")
	}
	for _, tt := range tests {
		if tt.other == k {
			t.Errorf("%s: same keyed hash", tt.name)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Keyed with NUL in purpose did not panic")
		}
	}()
	v1.Keyed("co\x00de", "123456")
}

func TestVaultPrintsNoKeys(t *testing.T) {
	secret := testSecret(3)
	v, _ := NewVault(secret)
	aeadKey, _ := hkdf.Key(sha256.New, secret, nil, "tollgate msisdn aead v1", 32)
	indexKey, _ := hkdf.Key(sha256.New, secret, nil, "tollgate msisdn index v1", 32)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%d"} {
		for _, val := range []any{v, *v, []any{v}} {
			out := fmt.Sprintf(verb, val)
			// Any dump of key bytes or of an AES key schedule is long; a
			// safe rendering is a couple of addresses.
			if len(out) > 200 {
				t.Errorf("fmt %s of Vault is suspiciously long: %s", verb, out)
			}
			for _, key := range [][]byte{aeadKey, indexKey} {
				if strings.Contains(out, hex.EncodeToString(key)) ||
					strings.Contains(out, fmt.Sprint(key[:3])[1:]) {
					t.Errorf("fmt %s of Vault shows key material: %s", verb, out)
				}
			}
		}
	}
}

func TestVaultConcurrent(t *testing.T) {
	v := newTestVault(t, 1)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			e164 := fmt.Sprintf("+8210123400%02d", g)
			for range 100 {
				s, err := v.Seal(e164)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := v.Open(s); err != nil || got != e164 {
					t.Errorf("Open = %q, %v", got, err)
					return
				}
				_ = v.Index(e164)
				_ = v.Keyed("code", e164)
			}
		})
	}
	wg.Wait()
}

func TestDecodeSecret(t *testing.T) {
	// Bytes chosen so base64 needs '+' '/' (std) or '-' '_' (url).
	secret := bytes.Repeat([]byte{0xfb, 0xef, 0xff, 0x3e}, 8)
	long := bytes.Repeat([]byte{0xfa, 0x01, 0x7f}, 16)
	short := secret[:16]
	std := base64.StdEncoding.EncodeToString(secret)
	if !strings.ContainsAny(std, "+/") || !strings.HasSuffix(std, "=") {
		t.Fatalf("test secret does not exercise the std alphabet: %s", std)
	}

	tests := []struct {
		name string
		in   string
		want []byte
	}{
		{"std base64", std, secret},
		{"std base64 unpadded", base64.RawStdEncoding.EncodeToString(secret), secret},
		{"base64url", base64.URLEncoding.EncodeToString(secret), secret},
		{"base64url unpadded", base64.RawURLEncoding.EncodeToString(secret), secret},
		{"hex", hex.EncodeToString(secret), secret},
		{"hex upper", strings.ToUpper(hex.EncodeToString(secret)), secret},
		{"surrounding whitespace", "  " + std + "\n", secret},
		{"48 bytes", base64.StdEncoding.EncodeToString(long), long},
		{"short base64", base64.StdEncoding.EncodeToString(short), nil},
		{"short hex", hex.EncodeToString(short), nil},
		{"hex of 31 bytes", hex.EncodeToString(secret[:31]), nil},
		{"empty", "", nil},
		{"blank", "  \n", nil},
		{"not an encoding", "this is not a secret, it is a sentence!", nil},
		{"mixed alphabets", base64.RawStdEncoding.EncodeToString(secret)[:40] + "-_", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeSecret(tt.in)
			if tt.want == nil {
				if err == nil {
					t.Fatalf("DecodeSecret = %x, want error", got)
				}
				if got != nil {
					t.Errorf("DecodeSecret returned bytes alongside an error")
				}
				if strings.TrimSpace(tt.in) != "" {
					assertClean(t, err.Error(), strings.TrimSpace(tt.in)[:8])
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeSecret: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("DecodeSecret = %x, want %x", got, tt.want)
			}
			if _, err := NewVault(got); err != nil {
				t.Fatalf("NewVault(DecodeSecret(...)): %v", err)
			}
		})
	}
}

// assertClean fails if msg contains any of the secrets.
func assertClean(t *testing.T, msg string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			t.Errorf("message %q contains %q", msg, s)
		}
	}
	if strings.Contains(msg, "1012345678") {
		t.Errorf("message %q contains number digits", msg)
	}
}
