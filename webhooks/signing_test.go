package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// The Standard Webhooks published test vector, checked against our few
// lines and the reference library.
func TestSignMatchesTheStandardWebhooksVector(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	for _, s := range []string{"", "whsec_", "whsec_c2hvcnQ=", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"} {
		if _, err := Sign(s, "m", time.Now(), nil); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
	if _, err := secretKey(NewSecret()); err != nil {
		t.Fatalf("a generated secret is refused: %v", err)
	}
}

// The signature covers the message id, the timestamp and every body byte:
// the reference library refuses a message with any of them changed, or
// checked with another endpoint's secret.
func TestTheSignatureCoversIDTimestampAndBody(t *testing.T) {
	t.Parallel()
	secret := NewSecret()
	at := time.Now()
	body := []byte(`{"id":"evt_1","type":"charge.succeeded","data":{"object":{"amount":5000}}}`)
	sig, err := Sign(secret, "evt_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, secret, id string
		at               time.Time
		body             []byte
		ok               bool
	}{
		{"as signed", secret, "evt_1", at, body, true},
		{"another id", secret, "evt_2", at, body, false},
		{"another second", secret, "evt_1", at.Add(time.Second), body, false},
		{"another amount", secret, "evt_1", at, []byte(strings.Replace(string(body), "5000", "9000", 1)), false},
		{"a byte more", secret, "evt_1", at, append(append([]byte(nil), body...), ' '), false},
		{"another secret", NewSecret(), "evt_1", at, body, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			wh, err := standardwebhooks.NewWebhook(c.secret)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set("webhook-id", c.id)
			h.Set("webhook-timestamp", strconv.FormatInt(c.at.Unix(), 10))
			h.Set("webhook-signature", sig)
			if err := wh.Verify(c.body, h); (err == nil) != c.ok {
				t.Fatalf("verify: %v, want ok=%v", err, c.ok)
			}
		})
	}
}
