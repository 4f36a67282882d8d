package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// camaraRoot is where a carrier's CAMARA API is served: carriers.SimPath
// appended to the simulator's /sim base.
const camaraRoot = "/sim/{carrier}/camara"

// maxBody bounds a protocol request body.
const maxBody = 1 << 20

func (s *Simulator) routesCAMARA(mux *http.ServeMux) {
	// Each operation asks for the scope its spec names (oauth.go).
	const (
		create, read, write = "carrier-billing:payments:create", "carrier-billing:payments:read", "carrier-billing:payments:write"
		refundCreate        = "carrier-billing-refund:refunds:create"
		refundRead          = "carrier-billing-refund:refunds:read"
	)
	p := camaraRoot + camaraPayments
	mux.HandleFunc("POST "+p, s.protocol(kindCreatePayment, s.authorized(create, s.createPayment)))
	mux.HandleFunc("GET "+p, s.protocol(kindListPayments, s.authorized(read, s.listPayments)))
	mux.HandleFunc("GET "+p+"/{paymentId}", s.protocol(kindRetrievePayment, s.authorized(read, s.retrievePayment)))
	mux.HandleFunc("POST "+p+"/prepare", s.protocol(kindPreparePayment, s.authorized(create, s.preparePayment)))
	mux.HandleFunc("POST "+p+"/{paymentId}/validate", s.protocol(kindValidatePayment, s.authorized(write, s.validatePayment)))
	mux.HandleFunc("POST "+p+"/{paymentId}/confirm", s.protocol(kindConfirmPayment, s.authorized(write, s.confirmPayment)))
	mux.HandleFunc("POST "+p+"/{paymentId}/cancel", s.protocol(kindCancelPayment, s.authorized(write, s.cancelPayment)))

	rf := camaraRoot + camaraRefunds
	mux.HandleFunc("POST "+rf, s.protocol(kindCreateRefund, s.authorized(refundCreate, s.createRefund)))
	mux.HandleFunc("GET "+rf, s.protocol(kindListRefunds, s.authorized(refundRead, s.listRefunds)))
	mux.HandleFunc("GET "+rf+"/remaining-amount", s.protocol(kindRemaining, s.authorized(refundRead, s.remainingAmount)))
	mux.HandleFunc("GET "+rf+"/{refundId}", s.protocol(kindRetrieveRefund, s.authorized(refundRead, s.retrieveRefund)))

	// The operator's authorization server, beside its APIs.
	s.routesOAuth(mux)

	// Operators that speak CAMARA expose GSMA OneAPI for SMS, beside it.
	mux.HandleFunc("POST "+camaraRoot+oneAPISMSRequests, s.protocol(kindSendSMS, s.sendSMS))
}

// operation is one protocol endpoint's work on carrier c. It runs with s.mu
// held and returns its answer, which protocol writes after unlocking.
type operation func(c *carrierState, r *http.Request, body []byte) reply

// protocol wraps an operation with what every protocol endpoint does alike:
// find the carrier, count the request, inject faults, check x-correlator,
// read the body, and answer, hold or drop the answer.
func (s *Simulator) protocol(kind string, op operation) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serve(kind, op, w, r) }
}

// serve is protocol's work for one request. It reports whether the answer
// was dropped (drop_answers) after the operation was carried out, in which
// case the connection is gone.
func (s *Simulator) serve(kind string, op operation, w http.ResponseWriter, r *http.Request) (dropped bool) {
	s.mu.Lock()
	c := s.carriers[r.PathValue("carrier")]
	if c == nil {
		s.mu.Unlock()
		writeError(w, errNotFound("no simulated carrier "+r.PathValue("carrier")))
		return false
	}
	c.stats.Requests[kind]++
	if c.protocol == "" {
		c.protocol = protocolOf(r.URL.Path)
	}
	v := s.decide(c)
	s.mu.Unlock()

	if !v.inject(w, r) {
		return false
	}
	xc := r.Header.Get(headerCorrelator)
	if !correlatorPattern.MatchString(xc) {
		writeError(w, errInvalid("x-correlator does not match its schema"))
		return false
	}
	if xc != "" {
		w.Header().Set(headerCorrelator, xc)
	}
	var body []byte
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeError(w, errInvalid("request body could not be read"))
			return false
		}
		body = b
	}

	s.mu.Lock()
	c.settleDue(s.now())
	rp := op(c, r, body)
	drop := c.dropAnswer(r, body)
	s.mu.Unlock()

	switch {
	case drop:
		// Done, and the answer lost on the way: a reset, or where the
		// connection cannot be taken over, no answer at all.
		if dropConnection(w, true) {
			return true
		}
		s.hold(w, r)
	case rp.hold || v.timeout:
		s.hold(w, r)
	default:
		rp.write(w)
	}
	return false
}

// protocolOf reads the protocol from a path /sim/{carrier}/{protocol}/....
func protocolOf(path string) string {
	parts := strings.SplitN(strings.TrimPrefix(path, "/sim/"), "/", 3)
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// decodeBody decodes a JSON request body into v, keeping numbers exact.
func decodeBody(body []byte, v any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		e := errInvalid("request body is missing")
		return &e
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		e := errInvalid("request body does not match the schema: " + err.Error())
		return &e
	}
	return nil
}

// readCharging validates a chargingInformation and returns its amount in
// minor units of its currency.
func readCharging(ci *chargingInformationIn, field string) (int64, *apiError) {
	bad := func(format string, args ...any) (int64, *apiError) {
		e := errInvalid(fmt.Sprintf(format, args...))
		return 0, &e
	}
	switch {
	case ci == nil:
		return bad("Expected property is missing: %s", field)
	case len(ci.Amount) == 0:
		return bad("Expected property is missing: %s.amount", field)
	case ci.Currency == nil:
		return bad("Expected property is missing: %s.currency", field)
	case ci.Description == nil || *ci.Description == "":
		return bad("Expected property is missing: %s.description", field)
	case !validCurrency(*ci.Currency):
		return bad("Currency is unknown or not authorized.")
	}
	// A JSON number, not a string that looks like one.
	if c := ci.Amount[0]; c != '-' && (c < '0' || c > '9') {
		return bad("%s.amount must be a number", field)
	}
	minor, err := parseAmount(json.Number(ci.Amount), *ci.Currency)
	if err != nil {
		return bad("%s.amount: %v", field, err)
	}
	if minor <= 0 {
		return bad("%s.amount must be greater than 0", field)
	}
	return minor, nil
}
