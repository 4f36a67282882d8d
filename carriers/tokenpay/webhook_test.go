package tokenpay_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/tokenpay"
)

// realCallback charges and returns the callback the carrier sent for it.
func (e *env) realCallback() received {
	e.t.Helper()
	tok := e.token("ch_w", "+821012345678", false)
	if _, err := e.client.Charge(context.Background(), chargeReq("ch_w", tok, 5000)); err != nil {
		e.t.Fatal(err)
	}
	return e.awaitCallback("ch_w", 1)
}

func TestParseWebhookRejectsWhatTheCarrierDidNotSign(t *testing.T) {
	e := setup(t)
	cb := e.realCallback()
	now := e.Clock.Now()
	sig := cb.header.Get(tokenpay.SignatureHeader)
	if !strings.HasPrefix(sig, "t=") || !strings.Contains(sig, ",v1=") {
		t.Fatalf("signature header %q", sig)
	}
	if _, err := e.client.ParseWebhook(cb.header, cb.body, now); err != nil {
		t.Fatalf("the real callback: %v", err)
	}
	with := func(v string) http.Header {
		h := cb.header.Clone()
		if v == "" {
			h.Del(tokenpay.SignatureHeader)
		} else {
			h.Set(tokenpay.SignatureHeader, v)
		}
		return h
	}
	ts := strings.SplitN(strings.TrimPrefix(sig, "t="), ",", 2)[0]
	tampered := bytes.Replace(cb.body, []byte(`"amount":5000`), []byte(`"amount":50`), 1)
	if bytes.Equal(tampered, cb.body) {
		t.Fatalf("body %s has no amount to tamper with", cb.body)
	}

	tests := []struct {
		name   string
		client *tokenpay.Client
		header http.Header
		body   []byte
		now    time.Time
	}{
		{"forged signature", e.client, with("t=" + ts + ",v1=" + strings.Repeat("ab", 32)), cb.body, now},
		{"signed with another secret", e.client, with(tokenpay.Sign("whsec-someone-else-entirely", now, cb.body)), cb.body, now},
		{"verified with another secret", e.newClient("whsec-another-secret-000"), cb.header, cb.body, now},
		{"no secret configured", e.newClient(""), cb.header, cb.body, now},
		{"unsigned", e.client, with(""), cb.body, now},
		{"malformed header", e.client, with("garbage"), cb.body, now},
		{"no v1", e.client, with("t=" + ts), cb.body, now},
		{"no time", e.client, with(strings.SplitN(sig, ",", 2)[1]), cb.body, now},
		{"stale", e.client, cb.header, cb.body, now.Add(5*time.Minute + time.Second)},
		{"future-dated", e.client, cb.header, cb.body, now.Add(-5*time.Minute - time.Second)},
		{"tampered body", e.client, cb.header, tampered, now},
		{"replayed with a new time", e.client, with(strings.Replace(sig, "t="+ts, "t="+ts+"0", 1)), cb.body, now},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if n, err := tt.client.ParseWebhook(tt.header, tt.body, tt.now); !errors.Is(err, carriers.ErrBadSignature) {
				t.Fatalf("ParseWebhook = %+v, %v; want ErrBadSignature", n, err)
			}
		})
	}

	// Within the tolerance either way, and with a rotated secret's
	// signature beside the right one, the callback is good.
	for _, at := range []time.Time{now.Add(5 * time.Minute), now.Add(-5 * time.Minute)} {
		if _, err := e.client.ParseWebhook(cb.header, cb.body, at); err != nil {
			t.Errorf("at %s: %v", at, err)
		}
	}
	rotated := with(sig + ",v1=" + strings.Repeat("cd", 32))
	if _, err := e.client.ParseWebhook(rotated, cb.body, now); err != nil {
		t.Errorf("two v1 signatures: %v", err)
	}
}

func TestParseWebhookRefusesSignedNonsense(t *testing.T) {
	e := setup(t)
	now := e.Clock.Now()
	for name, body := range map[string]string{
		"not json":        `{not json`,
		"unknown type":    `{"message_id":"msg_1","type":"charge.exploded","reference":"ch_1","charge_id":"chg_1","status":"succeeded","occurred_at":"2026-11-24T09:00:00Z"}`,
		"no message id":   `{"type":"charge.completed","reference":"ch_1","charge_id":"chg_1","status":"succeeded","occurred_at":"2026-11-24T09:00:00Z"}`,
		"no charge id":    `{"message_id":"msg_1","type":"charge.completed","reference":"ch_1","status":"succeeded","occurred_at":"2026-11-24T09:00:00Z"}`,
		"not a decision":  `{"message_id":"msg_1","type":"charge.completed","reference":"ch_1","charge_id":"chg_1","status":"accepted","occurred_at":"2026-11-24T09:00:00Z"}`,
		"bad occurred_at": `{"message_id":"msg_1","type":"charge.completed","reference":"ch_1","charge_id":"chg_1","status":"succeeded","occurred_at":"yesterday"}`,
	} {
		h := http.Header{tokenpay.SignatureHeader: {tokenpay.Sign(secret, now, []byte(body))}}
		if _, err := e.client.ParseWebhook(h, []byte(body), now); !errors.Is(err, carriers.ErrInvalidRequest) || errors.Is(err, carriers.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}

	// A callback the test signs itself parses like the carrier's.
	body := `{"message_id":"msg_9","type":"charge.completed","reference":"ch_9","charge_id":"chg_9","status":"failed","failure_reason":"something_new","amount":5000,"currency":"KRW","occurred_at":"2026-11-24T09:00:00Z"}`
	h := http.Header{tokenpay.SignatureHeader: {tokenpay.Sign(secret, now, []byte(body))}}
	n, err := e.client.ParseWebhook(h, []byte(body), now)
	if err != nil || n.Result.Outcome != carriers.OutcomeDeclined || n.Result.FailureCode != carriers.FailureCarrierDeclined || n.Result.DeclineCode != "something_new" {
		t.Fatalf("forged-with-the-secret callback = %+v, %v", n, err)
	}
}
