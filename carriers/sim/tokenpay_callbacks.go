package sim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// SentCallback is one attempt of the simulator to deliver a token-API
// callback: what went out and what came back, so a test can replay a real
// callback, tamper with it or forge one.
type SentCallback struct {
	MessageID string
	URL       string
	Header    http.Header // as sent, Tokenpay-Signature included
	Body      []byte      // the raw body the signature covers
	Attempt   int         // 1 for the first delivery
	Status    int         // the HTTP status answered; 0 when none came
	Err       string      // why no answer came, when none did
	SentAt    time.Time   // on the simulator's clock
}

// Delivered reports whether the receiver acknowledged this attempt (2xx).
func (sc SentCallback) Delivered() bool { return sc.Status >= 200 && sc.Status <= 299 }

// Callbacks returns every callback delivery attempt the named carrier made,
// in the order they were made, retries included. A retry carries the same
// message_id and body with a fresh signature.
func (s *Simulator) Callbacks(carrier string) []SentCallback {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.carriers[carrier]
	if c == nil || c.tokenpay == nil {
		return nil
	}
	out := make([]SentCallback, 0, len(c.tokenpay.callbacks))
	for _, sc := range c.tokenpay.callbacks {
		sc.Header = sc.Header.Clone()
		sc.Body = bytes.Clone(sc.Body)
		out = append(out, sc)
	}
	return out
}

// tpOutbound is one callback message to deliver.
type tpOutbound struct {
	id   string
	url  string
	body []byte
}

// tpMessage builds the callback message for body, giving it its id. Callers
// hold s.mu.
func (s *Simulator) tpMessage(url string, body tpCallbackBody) *tpOutbound {
	body.MessageID = newID("msg_")
	raw, err := json.Marshal(body)
	if err != nil {
		panic("sim: tokenpay callback does not encode: " + err.Error()) // plain strings and integers
	}
	return &tpOutbound{id: body.MessageID, url: url, body: raw}
}

// tpSign is the Tokenpay-Signature header value: the time it was signed, in
// Unix seconds, and the hex HMAC-SHA256 of "<t>.<body>" under the secret.
func tpSign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// tpDeliver posts m until it is answered 2xx, retrying with backoff, then
// gives up. A carrier without a webhook secret sends its callbacks unsigned,
// and the gateway refuses them: that is a setup error to see, not to hide.
func (s *Simulator) tpDeliver(c *carrierState, m *tpOutbound) {
	backoff := tpCallbackBackoff
	for attempt := 1; ; attempt++ {
		if s.tpAttempt(c, m, attempt) {
			return
		}
		if attempt > len(backoff) {
			s.mu.Lock()
			c.stats.CallbacksAbandoned++
			s.mu.Unlock()
			return
		}
		<-s.after(backoff[attempt-1])
	}
}

// tpAttempt makes one delivery attempt and reports whether it was acknowledged.
func (s *Simulator) tpAttempt(c *carrierState, m *tpOutbound, attempt int) bool {
	s.mu.Lock()
	now := s.now()
	secret, signed := s.secrets[c.name]
	s.mu.Unlock()

	sc := SentCallback{MessageID: m.id, URL: m.url, Body: m.body, Attempt: attempt, SentAt: now, Header: http.Header{}}
	sc.Header.Set("Content-Type", "application/json")
	sc.Header.Set("User-Agent", "tollgate-sim-tokenpay/1")
	if signed && secret != "" {
		sc.Header.Set(tpSignatureHeader, tpSign(secret, now, m.body))
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, m.url, bytes.NewReader(m.body))
	if err == nil {
		req.Header = sc.Header.Clone()
		var resp *http.Response
		resp, err = s.cbc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
			resp.Body.Close()
			sc.Status = resp.StatusCode
		}
	}
	if err != nil {
		sc.Err = err.Error()
	}

	s.mu.Lock()
	c.tp().callbacks = append(c.tp().callbacks, sc)
	if sc.Delivered() {
		c.stats.CallbacksSent++
	} else {
		c.stats.CallbacksFailed++
	}
	s.mu.Unlock()
	return sc.Delivered()
}
