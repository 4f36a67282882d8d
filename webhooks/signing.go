package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks (standardwebhooks.com): the signature is
// "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key being
// the base64 part of the "whsec_" secret. A test checks these few lines
// against the reference library and its published vector.

const secretPrefix = "whsec_"

// minSecretBytes: a signing key shorter than this is refused.
const minSecretBytes = 24

// NewSecret returns a fresh endpoint secret: whsec_ + 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey decodes a whsec_ secret, refusing empty or short ones.
func secretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errors.New("secret must start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, errors.New("secret must be whsec_ followed by base64")
	}
	if len(key) < minSecretBytes {
		return nil, errors.New("secret must hold at least 24 random bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for one message.
func Sign(secret, msgID string, at time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	return sign(key, msgID, at, body), nil
}

func sign(key []byte, msgID string, at time.Time, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msgID + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}
