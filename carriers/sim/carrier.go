package sim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// settleDelay is how long a 0005 payment stays processing before it succeeds,
// on the simulator's clock.
const settleDelay = time.Second

// carrierState is one simulated carrier: its books, its faults, its counters.
type carrierState struct {
	name     string
	protocol string // the protocol of its first request, when Options.Protocols does not say

	payments     map[string]*payment // by paymentId
	byCorrelator map[string]*payment // clientCorrelator → payment
	byReference  map[string]*payment // referenceCode → payment
	processing   []*payment          // waiting to settle (0005)
	failedOnce   map[string]bool     // 0007: correlators already answered 503

	refunds            map[string]*refund // by refundId
	refundByCorrelator map[string]*refund
	refundByReference  map[string]*refund

	smsByCorrelator map[string]*smsRequest

	// oneapi holds the GSMA OneAPI Payment books (oneapi*.go); nil until
	// first used. Its charges are also in payments, so the ledger sees them.
	oneapi *oneAPIBook

	// tokenpay holds the token-API books (tokenpay*.go); nil until first
	// used. Its billed charges are also in payments, so the ledger sees them.
	tokenpay *tokenPayBooks

	// oauth is the carrier's authorization server (oauth.go); nil when
	// its CAMARA APIs ask for no token.
	oauth *oauthState

	faults faults
	stats  carrierStats
}

func newCarrierState(name string) *carrierState {
	return &carrierState{
		name:               name,
		payments:           map[string]*payment{},
		byCorrelator:       map[string]*payment{},
		byReference:        map[string]*payment{},
		failedOnce:         map[string]bool{},
		refunds:            map[string]*refund{},
		refundByCorrelator: map[string]*refund{},
		refundByReference:  map[string]*refund{},
		smsByCorrelator:    map[string]*smsRequest{},
		stats:              newCarrierStats(),
	}
}

// payment is one payment in a simulated carrier's books.
type payment struct {
	seq           int64
	id            string
	phone         string
	correlator    string
	referenceCode string
	amount        int64
	currency      string
	description   string
	taxIncluded   *bool
	taxAmount     json.RawMessage
	metaData      json.RawMessage
	details       json.RawMessage
	merchant      string
	sink          string
	sinkToken     string   // bearer token for notifications to sink (camara_notify.go)
	notified      bool     // the final-status notification has been queued
	step2         *twoStep // prepare/validate/confirm state of a 2-step payment; nil for 1-step

	status    string // processing, succeeded; 2-step also pending_validation, reserved, denied, cancelled
	createdAt time.Time
	paidAt    time.Time // when it was billed; zero until then
	settleAt  time.Time // processing → succeeded

	refunded int64 // sum of succeeded refunds
	refunds  []*refund
}

// refund is one refund of a payment.
type refund struct {
	seq           int64
	id            string
	paymentID     string
	correlator    string
	referenceCode string
	kind          string // total, partial
	amount        int64
	currency      string
	description   string
	reason        string
	metaData      json.RawMessage
	sink          string
	status        string
	createdAt     time.Time
	doneAt        time.Time
}

// settleDue moves processing payments whose time has come to succeeded.
// Settlement is lazy: every read of the books calls this first, so a reader
// sees the same thing a timer would have produced. Callers hold s.mu.
//
// A CAMARA payment with a sink does not wait for a reader: a real-time
// timer started when it went processing settles it and posts the
// notification (camara_notify.go), whichever of the two comes first.
func (c *carrierState) settleDue(now time.Time) {
	kept := c.processing[:0]
	for _, p := range c.processing {
		if now.Before(p.settleAt) {
			kept = append(kept, p)
			continue
		}
		p.status = paymentSucceeded
		p.paidAt = p.settleAt
		c.stats.ChargesBilled++
	}
	c.processing = kept
}

// remaining is what can still be refunded of p.
func (p *payment) remaining() int64 { return p.amount - p.refunded }

// newID returns a random resource identifier with a readable prefix.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + hex.EncodeToString(b[:])
}
