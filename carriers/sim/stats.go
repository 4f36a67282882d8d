package sim

import "net/http"

// Endpoint kinds counted per carrier.
const (
	kindCreatePayment   = "create_payment"
	kindRetrievePayment = "retrieve_payment"
	kindListPayments    = "retrieve_payments"
	kindCreateRefund    = "create_refund"
	kindRetrieveRefund  = "retrieve_refund"
	kindListRefunds     = "retrieve_refunds"
	kindRemaining       = "retrieve_remaining_amount"
	kindSendSMS         = "send_sms"
)

// carrierStats counts what one simulated carrier did.
type carrierStats struct {
	Requests        map[string]int64 `json:"requests"` // by endpoint kind
	ChargesBilled   int64            `json:"charges_billed"`
	ChargesDeclined int64            `json:"charges_declined"`
	UnavailableOnce int64            `json:"unavailable_once"` // 0007's first answers
	Refunds         int64            `json:"refunds"`
	RefundsRefused  int64            `json:"refunds_refused"`
	SMSSent         int64            `json:"sms_sent"`
	Duplicates      int64            `json:"duplicates"` // requests answered from an earlier one by clientCorrelator
	Faults          faultStats       `json:"faults"`

	// Callbacks (token-API callbacks and CAMARA notifications): attempts
	// acknowledged 2xx, attempts that were not, and messages given up on
	// after the last retry.
	CallbacksSent      int64 `json:"callbacks_sent"`
	CallbacksFailed    int64 `json:"callbacks_failed"`
	CallbacksAbandoned int64 `json:"callbacks_abandoned"`
}

// faultStats counts injected faults by kind.
type faultStats struct {
	Errors         int64 `json:"errors"`
	Timeouts       int64 `json:"timeouts"`
	Resets         int64 `json:"resets"`
	DownRefusals   int64 `json:"down_refusals"`
	LatencyApplied int64 `json:"latency_applied"`
	AnswersDropped int64 `json:"answers_dropped"` // done, then the connection reset
	// Settlement files: rows left out, amounts changed, rows made up.
	ReportRowsDropped   int64 `json:"report_rows_dropped"`
	ReportAmountsSkewed int64 `json:"report_amounts_skewed"`
	ReportRowsInvented  int64 `json:"report_rows_invented"`
}

func newCarrierStats() carrierStats { return carrierStats{Requests: map[string]int64{}} }

func (a *carrierStats) add(b carrierStats) {
	for k, v := range b.Requests {
		a.Requests[k] += v
	}
	a.ChargesBilled += b.ChargesBilled
	a.ChargesDeclined += b.ChargesDeclined
	a.UnavailableOnce += b.UnavailableOnce
	a.Refunds += b.Refunds
	a.RefundsRefused += b.RefundsRefused
	a.SMSSent += b.SMSSent
	a.Duplicates += b.Duplicates
	a.CallbacksSent += b.CallbacksSent
	a.CallbacksFailed += b.CallbacksFailed
	a.CallbacksAbandoned += b.CallbacksAbandoned
	a.Faults.Errors += b.Faults.Errors
	a.Faults.Timeouts += b.Faults.Timeouts
	a.Faults.Resets += b.Faults.Resets
	a.Faults.DownRefusals += b.Faults.DownRefusals
	a.Faults.LatencyApplied += b.Faults.LatencyApplied
	a.Faults.AnswersDropped += b.Faults.AnswersDropped
	a.Faults.ReportRowsDropped += b.Faults.ReportRowsDropped
	a.Faults.ReportAmountsSkewed += b.Faults.ReportAmountsSkewed
	a.Faults.ReportRowsInvented += b.Faults.ReportRowsInvented
}

// statsBody is GET /sim/stats.
type statsBody struct {
	Carriers map[string]carrierStats `json:"carriers"`
	Totals   carrierStats            `json:"totals"`
}

func (s *Simulator) getStats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	body := statsBody{Carriers: map[string]carrierStats{}, Totals: newCarrierStats()}
	for _, name := range s.names {
		c := s.carriers[name]
		c.settleDue(s.now()) // a settled 0005 payment counts as billed
		snap := newCarrierStats()
		snap.add(c.stats) // a copy: the map is written again once the lock is released
		body.Carriers[name] = snap
		body.Totals.add(c.stats)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}
