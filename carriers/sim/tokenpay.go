package sim

import (
	"net/http"
	"net/url"
	"time"
)

// Endpoint kinds of the token API that have no CAMARA counterpart. Charges,
// refunds, their lookups and messages count under the CAMARA kinds
// (create_payment, create_refund, ...), so that counters read the same
// whatever protocol a carrier speaks.
const (
	kindCreateAuthorization = "create_authorization"
	kindVerifyAuthorization = "verify_authorization"
)

// routesTokenPay mounts the token-and-callback protocol at /sim/{carrier}/tokenpay/.
func (s *Simulator) routesTokenPay(mux *http.ServeMux) {
	a := tokenPayRoot + tpAuthorizations
	mux.HandleFunc("POST "+a, s.tokenPay(kindCreateAuthorization, s.tpCreateAuthorization))
	mux.HandleFunc("POST "+a+"/{id}/verify", s.tokenPay(kindVerifyAuthorization, s.tpVerify))

	ch := tokenPayRoot + tpCharges
	mux.HandleFunc("POST "+ch, s.tokenPay(kindCreatePayment, s.tpCreateCharge))
	mux.HandleFunc("GET "+ch, s.tokenPay(kindListPayments, s.tpChargeByReference))
	mux.HandleFunc("GET "+ch+"/{id}", s.tokenPay(kindRetrievePayment, s.tpChargeByID))

	rf := tokenPayRoot + tpRefunds
	mux.HandleFunc("POST "+rf, s.tokenPay(kindCreateRefund, s.tpCreateRefund))
	mux.HandleFunc("GET "+rf, s.tokenPay(kindListRefunds, s.tpRefundByReference))
	mux.HandleFunc("GET "+rf+"/{id}", s.tokenPay(kindRetrieveRefund, s.tpRefundByID))

	mux.HandleFunc("POST "+tokenPayRoot+tpMessages, s.tokenPay(kindSendSMS, s.tpSendMessage))
}

// tpOperation is a token-API operation. Like operation it runs with s.mu
// held; then, when it returns one, runs in its own goroutine once the answer
// has been written: the asynchronous half of a charge or refund.
type tpOperation func(c *carrierState, r *http.Request, body []byte) (reply, func())

// tokenPay wraps a token-API operation in the shared protocol wrapper
// (counters, faults, body), and starts its asynchronous half only after the
// answer is on its way, so a callback never overtakes the 202 it follows.
func (s *Simulator) tokenPay(kind string, op tpOperation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var next func()
		dropped := s.serve(kind, func(c *carrierState, r *http.Request, body []byte) reply {
			rp, fn := op(c, r, body)
			if fn != nil {
				s.background.Add(1) // pending (Pending) before the answer leaves, or is dropped
			}
			next = fn
			return rp
		}, w, r)
		if next != nil {
			if !dropped {
				_ = http.NewResponseController(w).Flush() // the client may be gone; the carrier goes on
			}
			go func() {
				defer s.background.Add(-1)
				next()
			}()
		}
	}
}

// tokenPayBooks are a carrier's token-API records. Billed charges and their
// refunds are also entered in the carrier's payments, which are the books the
// ledger and settlement read, whatever protocol created them.
type tokenPayBooks struct {
	auths       map[string]*tpAuthorization // by authorization_id
	authByRef   map[string]*tpAuthorization
	byToken     map[string]*tpAuthorization
	charges     map[string]*tpCharge // by charge_id
	chargeByRef map[string]*tpCharge
	refunds     map[string]*tpRefund // by refund_id
	refundByRef map[string]*tpRefund
	messages    map[string]tpMessageOut // by reference
	failedOnce  map[string]bool         // 0007: charge references already answered 503
	callbacks   []SentCallback          // every delivery attempt, in order
}

// tp returns c's token-API books, made on first use. Callers hold s.mu.
func (c *carrierState) tp() *tokenPayBooks {
	if c.tokenpay == nil {
		c.tokenpay = &tokenPayBooks{
			auths:       map[string]*tpAuthorization{},
			authByRef:   map[string]*tpAuthorization{},
			byToken:     map[string]*tpAuthorization{},
			charges:     map[string]*tpCharge{},
			chargeByRef: map[string]*tpCharge{},
			refunds:     map[string]*tpRefund{},
			refundByRef: map[string]*tpRefund{},
			messages:    map[string]tpMessageOut{},
			failedOnce:  map[string]bool{},
		}
	}
	return c.tokenpay
}

// tpAuthorization is one subscriber authorisation: a PIN sent by SMS, then,
// once the right PIN comes back, a charging token.
type tpAuthorization struct {
	id          string
	reference   string
	msisdn      string
	amount      int64 // the most one charge may be; 0 for a recurring one without a ceiling
	currency    string
	description string
	merchant    string
	recurring   bool
	pin         string
	wrongPINs   int
	status      string // pin_sent, verified, expired
	token       string
	spent       bool // a one-off token has paid for its charge
	expiresAt   time.Time
}

func (a *tpAuthorization) out() tpAuthorizationOut {
	return tpAuthorizationOut{
		AuthorizationID: a.id, Reference: a.reference, Status: a.status,
		Recurring: a.recurring, ExpiresAt: a.expiresAt.UTC(),
	}
}

// tpCharge is one charge on a token.
type tpCharge struct {
	id          string
	reference   string
	token       string
	msisdn      string
	merchant    string
	amount      int64
	currency    string
	description string
	callbackURL string

	status        string // accepted, succeeded, failed
	failureReason string
	createdAt     time.Time
	completedAt   time.Time
	billed        *payment // its entry in the carrier's books, once billed
	refunding     int64    // accepted refunds not yet applied
}

func (ch *tpCharge) out() tpChargeOut {
	o := tpChargeOut{
		ChargeID: ch.id, Reference: ch.reference, Status: ch.status, FailureReason: ch.failureReason,
		Amount: ch.amount, Currency: ch.currency, CreatedAt: ch.createdAt.UTC(),
	}
	if ch.billed != nil {
		o.RefundedAmount = ch.billed.refunded
	}
	if !ch.completedAt.IsZero() {
		t := ch.completedAt.UTC()
		o.CompletedAt = &t
	}
	return o
}

// tpRefund is one refund of a charge.
type tpRefund struct {
	id          string
	chargeID    string
	reference   string
	amount      int64
	currency    string
	reason      string
	callbackURL string
	status      string // accepted, succeeded
	createdAt   time.Time
	completedAt time.Time
}

func (rf *tpRefund) out() tpRefundOut {
	o := tpRefundOut{
		RefundID: rf.id, ChargeID: rf.chargeID, Reference: rf.reference, Status: rf.status,
		Amount: rf.amount, Currency: rf.currency, CreatedAt: rf.createdAt.UTC(),
	}
	if !rf.completedAt.IsZero() {
		t := rf.completedAt.UTC()
		o.CompletedAt = &t
	}
	return o
}

// validCallbackURL reports whether u is an absolute http(s) URL.
func validCallbackURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "http" || p.Scheme == "https") && p.Host != ""
}
