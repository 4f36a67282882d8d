package billing

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// newSinkToken makes the credential a carrier presents with its callbacks
// about one charge (carriers.ChargeRequest.SinkToken) and the hash kept in
// its place: a token in the database would let whoever reads it forge the
// charge's callbacks.
func newSinkToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, sinkTokenHash(token)
}

func sinkTokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// sinkTokenMatches reports whether presented is the token whose hash is
// stored, in constant time; with none stored nothing matches.
func sinkTokenMatches(presented string, stored *string) bool {
	if presented == "" || stored == nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sinkTokenHash(presented)), []byte(*stored)) == 1
}
