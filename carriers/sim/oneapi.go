package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// GSMA OneAPI Payment (v3), the older REST API many operator hubs still run.
// A charge and a refund are both an "amount transaction" created by POST on
// the subscriber's collection, told apart by the transactionOperationStatus
// the client asks for:
//
//	POST {root}/payment/v3/{endUserId}/transactions/amount                 charge or refund
//	GET  {root}/payment/v3/{endUserId}/transactions/amount/{serverRefCode} one transaction
//	GET  {root}/payment/v3/{endUserId}/transactions/amount?clientCorrelator=...
//	POST {root}/smsmessaging/v1/outbound/{senderAddress}/requests          OneAPI SMS
//
// where {root} is /sim/{carrier}/oneapi and endUserId is a tel: URI,
// URL-encoded (tel%3A%2B821012345678). The list GET is this operator's
// extension: OneAPI has no way to find a transaction by clientCorrelator, and
// a client whose charge timed out needs one. Errors are OneAPI's requestError
// bodies, except those the shared protocol wrapper answers (unknown carrier,
// injected faults, unreadable body), which keep the simulator's CAMARA shape.

// oneAPIBook is one carrier's OneAPI records. Charges are payments in the
// carrier's books (carrierState.payments), so the ledger, lazy 0005
// settlement and the counters treat them like any other; the indexes here
// keep OneAPI's own lookups and dedupe apart from CAMARA's.
type oneAPIBook struct {
	charges            map[string]*payment // by serverReferenceCode
	refunds            map[string]*refund  // by serverReferenceCode
	chargeByCorrelator map[string]*payment
	refundByCorrelator map[string]*refund
	failedOnce         map[string]bool // 0007: correlators already answered 503
}

// oneAPI returns c's OneAPI records, creating them on first use. Callers hold s.mu.
func (c *carrierState) oneAPI() *oneAPIBook {
	if c.oneapi == nil {
		c.oneapi = &oneAPIBook{
			charges:            map[string]*payment{},
			refunds:            map[string]*refund{},
			chargeByCorrelator: map[string]*payment{},
			refundByCorrelator: map[string]*refund{},
			failedOnce:         map[string]bool{},
		}
	}
	return c.oneapi
}

// routesOneAPI mounts the GSMA OneAPI Payment protocol at /sim/{carrier}/oneapi/.
func (s *Simulator) routesOneAPI(mux *http.ServeMux) {
	p := oneAPIRoot + oneAPIAmount
	// One endpoint, two operations: counted as create_payment or
	// create_refund by what the body asks for, like every other protocol's.
	charge := s.protocol(kindCreatePayment, s.oneAPICreateTransaction)
	refund := s.protocol(kindCreateRefund, s.oneAPICreateTransaction)
	mux.HandleFunc("POST "+p, func(w http.ResponseWriter, r *http.Request) {
		if oneAPIAsksRefund(r) {
			refund(w, r)
			return
		}
		charge(w, r)
	})
	mux.HandleFunc("GET "+p, s.protocol(kindListTransactions, s.oneAPIListTransactions))
	getCharge := s.protocol(kindRetrievePayment, s.oneAPIRetrieveTransaction)
	getRefund := s.protocol(kindRetrieveRefund, s.oneAPIRetrieveTransaction)
	mux.HandleFunc("GET "+p+"/{serverReferenceCode}", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.PathValue("serverReferenceCode"), oneAPIRefundPrefix) {
			getRefund(w, r)
			return
		}
		getCharge(w, r)
	})

	// OneAPI SMS, the same operation the CAMARA operators expose beside CAMARA.
	mux.HandleFunc("POST "+oneAPIRoot+oneAPISMSRequests, s.protocol(kindSendSMS, s.sendSMS))
}

// oneAPIAsksRefund reads the body ahead of the protocol wrapper to see
// whether it asks for "Refunded", and puts it back for the wrapper to read.
// A body that cannot be read or parsed counts as a charge request; the
// operation then refuses it.
func oneAPIAsksRefund(r *http.Request) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), oneAPIErrReader{err}))
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var peek struct {
		AmountTransaction struct {
			TransactionOperationStatus string `json:"transactionOperationStatus"`
		} `json:"amountTransaction"`
	}
	_ = json.Unmarshal(body, &peek) // only a peek; the operation validates
	return peek.AmountTransaction.TransactionOperationStatus == oneAPIRefunded
}

// oneAPIErrReader hands a read error on to the next reader of a body.
type oneAPIErrReader struct{ err error }

func (e oneAPIErrReader) Read([]byte) (int, error) { return 0, e.err }
