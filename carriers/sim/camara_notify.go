package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// CAMARA payment notifications. A payment created or prepared with a sink is
// followed by a CloudEvent (the spec's createPaymentNotification and
// preparePaymentNotification callbacks) when it reaches a final status
// asynchronously: a 0005 payment that settles, or any processing payment
// that ends. Statuses answered synchronously (a 201 succeeded, a confirm
// that bills at once) are not notified.
//
// The request carries "Authorization: Bearer <accessToken>" with the
// sinkCredential's token; without a sinkCredential the carrier's configured
// secret (Options.Secrets) is the token, and without either the callback
// goes out unauthenticated, which the spec allows and the gateway refuses.
//
// The spec's sink pattern is ^https://.+$. The simulator, a test double on
// loopback, also accepts plain http to a loopback host (localhost, 127/8,
// ::1); any other http sink is still refused with INVALID_SINK.

// CloudEvent types of carrier-billing v0.5 (the discriminator of CloudEvent).
const (
	eventPaymentCompleted = "org.camaraproject.carrier-billing.v0.payment-completed"
	eventPaymentDenied    = "org.camaraproject.carrier-billing.v0.payment-denied"
	eventPaymentCancelled = "org.camaraproject.carrier-billing.v0.payment-cancelled"

	cloudEventsVersion = "1.0"
	cloudEventsJSON    = "application/cloudevents+json"

	credentialAccessToken = "ACCESSTOKEN"
	tokenTypeBearer       = "bearer"
)

// notifyBackoff is the wait before each retry of a notification that was not
// answered 2xx; after the last one the simulator gives up.
var notifyBackoff = []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

// cloudEvent is the spec's CloudEvent.
type cloudEvent struct {
	ID              string       `json:"id"`
	Source          string       `json:"source"`
	Type            string       `json:"type"`
	SpecVersion     string       `json:"specversion"`
	DataContentType string       `json:"datacontenttype"`
	Time            time.Time    `json:"time"`
	Data            paymentEvent `json:"data"`
}

// paymentEvent is the spec's BasicEvent with PaymentCompleted's paymentDate
// and PaymentDenied's denialReason. clientCorrelator is this operator's
// extension (the schema does not forbid other properties): the correlator
// of the request that created the payment, so the client can match the
// event with its own records without keeping the paymentId first.
type paymentEvent struct {
	PaymentID        string     `json:"paymentId"`
	Status           string     `json:"status"` // succeeded or failed
	Description      string     `json:"description"`
	PaymentDate      *time.Time `json:"paymentDate,omitempty"`
	DenialReason     string     `json:"denialReason,omitempty"`
	ClientCorrelator string     `json:"clientCorrelator,omitempty"`
}

// validSink reports whether sink is an address the simulator will notify:
// the spec's https, or http to a loopback host.
func validSink(sink string) bool {
	if sinkPattern.MatchString(sink) {
		return true
	}
	u, err := url.Parse(sink)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readSink validates a request's sink and sinkCredential and returns the
// sink and the bearer token to notify it with. Callers hold s.mu.
func (s *Simulator) readSink(c *carrierState, sink *string, cred *sinkCredential) (string, string, *apiError) {
	fail := func(code, msg string) (string, string, *apiError) {
		return "", "", &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
	}
	if sink == nil {
		return "", "", nil
	}
	if !validSink(*sink) {
		return fail(codeInvalidSink, "sink not valid for the specified protocol")
	}
	if cred == nil {
		return *sink, s.secrets[c.name], nil
	}
	switch {
	case cred.CredentialType != credentialAccessToken:
		return fail(codeInvalidCredential, "Only Access token is supported")
	case cred.AccessTokenType != tokenTypeBearer:
		return fail(codeInvalidToken, "Only bearer token is supported")
	case cred.AccessToken == "":
		return fail(codeInvalidArgument, "Expected property is missing: sinkCredential.accessToken")
	}
	// The expiry is checked for its form only: the client's clock and the
	// simulator's (a test's) need not agree, and a token refused for that
	// would only hide the notifications a test waits for.
	if _, err := time.Parse(time.RFC3339, cred.AccessTokenExpiresUtc); err != nil {
		return fail(codeInvalidArgument, "sinkCredential.accessTokenExpiresUtc must be an RFC 3339 date-time with a time zone")
	}
	return *sink, cred.AccessToken, nil
}

// startProcessing puts p in processing until settleAt on the simulator's
// clock. With a sink to notify it also starts a timer (Options.After), so
// the notification arrives without anyone reading the books: it settles p
// when it fires (if a read has not already), keeping settleAt as the payment
// date, and posts the event. The timer starts here, under the lock, so a
// test that moves the clock after the answer moves it past this timer too.
// Callers hold s.mu.
func (s *Simulator) startProcessing(c *carrierState, p *payment) {
	p.status = paymentProcessing
	p.settleAt = s.now().Add(settleDelay)
	c.processing = append(c.processing, p)
	if p.sink != "" {
		due := s.after(settleDelay)
		s.goBackground(func() {
			<-due
			s.settleAndNotify(c, p)
		})
	}
}

// settleAndNotify settles p if it is still processing and posts its final
// status to its sink, once.
func (s *Simulator) settleAndNotify(c *carrierState, p *payment) {
	s.mu.Lock()
	if p.status == paymentProcessing {
		kept := c.processing[:0]
		for _, q := range c.processing {
			if q != p {
				kept = append(kept, q)
			}
		}
		c.processing = kept
		p.status = paymentSucceeded
		p.paidAt = p.settleAt
		c.stats.ChargesBilled++
	}
	ev, ok := s.paymentEvent(c, p)
	s.mu.Unlock()
	if ok {
		s.notify(c, p.sink, p.sinkToken, ev)
	}
}

// paymentEvent builds the notification of p's final status, once: false when
// p has no sink, is not final or was notified already. Callers hold s.mu.
func (s *Simulator) paymentEvent(c *carrierState, p *payment) (cloudEvent, bool) {
	if p.sink == "" || p.notified {
		return cloudEvent{}, false
	}
	ev := cloudEvent{
		ID:              newID("evt_"),
		Source:          "/sim/" + c.name + "/camara" + camaraPayments,
		SpecVersion:     cloudEventsVersion,
		DataContentType: "application/json",
		Time:            s.now().UTC(),
		Data:            paymentEvent{PaymentID: p.id, ClientCorrelator: p.correlator},
	}
	switch p.status {
	case paymentSucceeded:
		ev.Type = eventPaymentCompleted
		ev.Data.Status = "succeeded"
		ev.Data.Description = "Payment completed"
		t := p.paidAt.UTC()
		ev.Data.PaymentDate = &t
	case paymentDenied:
		ev.Type = eventPaymentDenied
		ev.Data.Status = "failed"
		ev.Data.Description = "Payment denied"
		if p.step2 != nil && p.step2.denial != nil {
			ev.Data.DenialReason = p.step2.denial.Code
			ev.Data.Description = p.step2.denial.Message // why, in words, where the code does not say
		}
	case paymentCancelled:
		ev.Type = eventPaymentCancelled
		ev.Data.Status = "succeeded"
		ev.Data.Description = "Payment cancelled"
	default:
		return cloudEvent{}, false
	}
	p.notified = true
	return ev, true
}

// notify posts ev to sink until it is answered 2xx, retrying with backoff,
// then gives up. It counts under the carrier's callbacks_* counters.
func (s *Simulator) notify(c *carrierState, sink, token string, ev cloudEvent) {
	body, err := json.Marshal(ev)
	if err != nil {
		panic("sim: CAMARA notification does not encode: " + err.Error()) // strings and times only
	}
	for attempt := 0; ; attempt++ {
		ok := s.notifyOnce(sink, token, ev.ID, body)
		s.mu.Lock()
		if ok {
			c.stats.CallbacksSent++
		} else {
			c.stats.CallbacksFailed++
			if attempt >= len(notifyBackoff) {
				c.stats.CallbacksAbandoned++
			}
		}
		s.mu.Unlock()
		if ok || attempt >= len(notifyBackoff) {
			return
		}
		<-s.after(notifyBackoff[attempt])
	}
}

// notifyOnce makes one delivery attempt and reports whether it was acknowledged.
func (s *Simulator) notifyOnce(sink, token, id string, body []byte) bool {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, sink, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", cloudEventsJSON)
	req.Header.Set(headerCorrelator, id)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.cbc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}
