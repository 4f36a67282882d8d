package tokenpay

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tollgate/carriers"
)

// SignatureTolerance is how far a callback's signing time may be from the
// receiver's clock, either way, before it is refused as replayed or forged.
const SignatureTolerance = 5 * time.Minute

// ParseWebhook verifies a callback's Tokenpay-Signature over the raw body and
// parses it. Unsigned, forged, tampered, stale or future-dated messages are
// carriers.ErrBadSignature, and so is every message when the client has no
// webhook secret; a signed message that is not a callback this adapter
// understands is ErrInvalidRequest.
func (c *Client) ParseWebhook(h http.Header, body []byte, now time.Time) (carriers.Notification, error) {
	if err := verify(c.secret, h.Get(SignatureHeader), body, now); err != nil {
		return carriers.Notification{}, fmt.Errorf("tokenpay %s: callback: %w", c.name, err)
	}
	n, err := parseCallback(body)
	if err != nil {
		return carriers.Notification{}, fmt.Errorf("tokenpay %s: callback: %w: %v", c.name, carriers.ErrInvalidRequest, err)
	}
	return n, nil
}

// Sign returns the Tokenpay-Signature value for body signed with secret at t:
// what a carrier sends, and what a test needs to forge a callback.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac([]byte(secret), ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// verify checks a Tokenpay-Signature header against body and now.
func verify(secret []byte, header string, body []byte, now time.Time) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no webhook secret is configured for this carrier", carriers.ErrBadSignature)
	}
	if header == "" {
		return fmt.Errorf("%w: no %s header", carriers.ErrBadSignature, SignatureHeader)
	}
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return fmt.Errorf("%w: malformed %s header", carriers.ErrBadSignature, SignatureHeader)
		}
		switch k {
		case "t":
			if ts != "" {
				return fmt.Errorf("%w: %s names two times", carriers.ErrBadSignature, SignatureHeader)
			}
			ts = v
		case "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
		// Other schemes are ignored, as a receiver must to let the carrier add one.
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: %s lacks a time or a v1 signature", carriers.ErrBadSignature, SignatureHeader)
	}
	signedAt := time.Unix(secs, 0)
	if d := now.Sub(signedAt); d > SignatureTolerance || d < -SignatureTolerance {
		return fmt.Errorf("%w: signed at %s, outside %s of now", carriers.ErrBadSignature, signedAt.UTC().Format(time.RFC3339), SignatureTolerance)
	}
	want := mac(secret, ts, body)
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no v1 signature matches", carriers.ErrBadSignature)
}

// parseCallback reads a verified callback body into a Notification.
func parseCallback(body []byte) (carriers.Notification, error) {
	var cb callback
	if err := json.Unmarshal(body, &cb); err != nil {
		return carriers.Notification{}, fmt.Errorf("body is not a callback: %v", err)
	}
	if cb.MessageID == "" || cb.Reference == "" {
		return carriers.Notification{}, fmt.Errorf("callback lacks message_id or reference")
	}
	n := carriers.Notification{MessageID: cb.MessageID, ClientReference: cb.Reference}
	switch cb.Type {
	case typeChargeCompleted:
		n.Kind, n.CarrierReference = kindCharge, cb.ChargeID
	case typeRefundCompleted:
		n.Kind, n.CarrierReference = kindRefund, cb.RefundID
	default:
		return carriers.Notification{}, fmt.Errorf("unknown callback type %q", cb.Type)
	}
	if n.CarrierReference == "" {
		return carriers.Notification{}, fmt.Errorf("%s callback lacks the carrier's id", cb.Type)
	}
	// A callback reports a decision; "accepted" is not one.
	if cb.Status != statusSucceeded && cb.Status != statusFailed {
		return carriers.Notification{}, fmt.Errorf("callback has status %q", cb.Status)
	}
	res, err := outcome(n.CarrierReference, cb.Status, cb.FailureReason)
	if err != nil {
		return carriers.Notification{}, err
	}
	n.Result = res
	t, err := time.Parse(time.RFC3339, cb.OccurredAt)
	if err != nil {
		return carriers.Notification{}, fmt.Errorf("occurred_at %q is not RFC 3339", cb.OccurredAt)
	}
	n.OccurredAt = t.UTC()
	return n, nil
}
