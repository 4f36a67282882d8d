package sim

import (
	"cmp"
	"net/http"
	"slices"
	"time"
)

// Ledger statuses: what the carrier's own books say of a billed payment.
const (
	ledgerSucceeded         = "succeeded"
	ledgerPartiallyRefunded = "partially_refunded"
	ledgerRefunded          = "refunded"
)

// ledgerRow is one billed payment in a simulated carrier's books.
type ledgerRow struct {
	Carrier          string    `json:"carrier"`
	ClientReference  string    `json:"client_reference"`
	CarrierReference string    `json:"carrier_reference"`
	Amount           int64     `json:"amount"`
	RefundedAmount   int64     `json:"refunded_amount"`
	Currency         string    `json:"currency"`
	Status           string    `json:"status"`
	BilledAt         time.Time `json:"billed_at"`

	seq int64
}

// getLedger is GET /sim/ledger[?carrier=]: what the simulated carriers
// billed and refunded, newest first, for comparing their books with the
// gateway's. Payments not (yet) billed are not in it.
func (s *Simulator) getLedger(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("carrier")
	s.mu.Lock()
	var targets []*carrierState
	if name != "" {
		c := s.carriers[name]
		if c == nil {
			s.mu.Unlock()
			writeError(w, errNotFound("no simulated carrier "+name))
			return
		}
		targets = []*carrierState{c}
	} else {
		for _, n := range s.names {
			targets = append(targets, s.carriers[n])
		}
	}
	rows := make([]ledgerRow, 0)
	now := s.now()
	for _, c := range targets {
		c.settleDue(now)
		for _, p := range c.payments {
			if p.status != paymentSucceeded {
				continue
			}
			rows = append(rows, p.ledgerRow(c.name))
		}
	}
	s.mu.Unlock()

	slices.SortFunc(rows, func(a, b ledgerRow) int {
		if c := b.BilledAt.Compare(a.BilledAt); c != 0 {
			return c
		}
		return cmp.Compare(b.seq, a.seq)
	})
	writeJSON(w, http.StatusOK, listBody[ledgerRow]{Data: rows})
}

func (p *payment) ledgerRow(carrier string) ledgerRow {
	status := ledgerSucceeded
	switch {
	case p.refunded >= p.amount:
		status = ledgerRefunded
	case p.refunded > 0:
		status = ledgerPartiallyRefunded
	}
	ref := p.correlator
	if ref == "" {
		ref = p.referenceCode
	}
	return ledgerRow{
		Carrier:          carrier,
		ClientReference:  ref,
		CarrierReference: p.id,
		Amount:           p.amount,
		RefundedAmount:   p.refunded,
		Currency:         p.currency,
		Status:           status,
		BilledAt:         p.paidAt.UTC(),
		seq:              p.seq,
	}
}
