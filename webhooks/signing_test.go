package webhooks

import (
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks published test vector, checked against our few
// lines and the reference library.
func TestSignMatchesTheStandardWebhooksVector(t *testing.T) {
	const (
		key      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		msgID    = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	)
	at := time.Unix(1614265330, 0)
	body := []byte(`{"test": 2432232314}`)
	// The vector's key is 24 bytes, exactly our minimum.
	got, err := Sign(key, msgID, at, body)
	if err != nil {
		t.Fatal(err)
	}
	if got != expected {
		t.Fatalf("Sign = %s, want %s", got, expected)
	}
	ref, err := standardwebhooks.NewWebhook(key)
	if err != nil {
		t.Fatal(err)
	}
	if refSig, _ := ref.Sign(msgID, at, body); refSig != got {
		t.Fatalf("reference library signs %s, we sign %s", refSig, got)
	}
}

func TestShortOrMalformedSecretsAreRefused(t *testing.T) {
	for _, s := range []string{"", "whsec_", "whsec_c2hvcnQ=", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"} {
		if _, err := Sign(s, "m", time.Now(), nil); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
	if _, err := secretKey(NewSecret()); err != nil {
		t.Fatalf("a generated secret is refused: %v", err)
	}
}
