package sim_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

func refundBody(kind, correlator, amount, currency string) map[string]any {
	at := map[string]any{"clientCorrelator": correlator, "referenceCode": correlator, "refundAmount": map[string]any{}}
	if kind == "partial" {
		at["refundAmount"] = map[string]any{"chargingInformation": map[string]any{
			"amount": json.Number(amount), "currency": currency, "description": "refund",
		}}
	}
	return map[string]any{"type": kind, "reason": "customer asked", "amountTransaction": at}
}

type refund struct {
	RefundID          string `json:"refundId"`
	RefundStatus      string `json:"refundStatus"`
	Type              string `json:"type"`
	AmountTransaction struct {
		ClientCorrelator string          `json:"clientCorrelator"`
		RefundAmount     json.RawMessage `json:"refundAmount"`
	} `json:"amountTransaction"`
}

func TestRefunds(t *testing.T) {
	e := setup(t)
	var p payment
	e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_r", "10.00", "USD")).decode(t, &p)
	refunds := sktRefunds + p.PaymentID + "/refunds"

	// Partial: 3.00 of 10.00.
	a := e.do(http.MethodPost, refunds, refundBody("partial", "re_1", "3.00", "USD"))
	var r1 refund
	a.decode(t, &r1)
	if a.status != http.StatusCreated || r1.RefundStatus != "succeeded" || r1.Type != "partial" {
		t.Fatalf("partial: HTTP %d %s", a.status, a.body)
	}
	if rows := e.ledger(""); rows[0].Status != "partially_refunded" || rows[0].RefundedAmount != 300 {
		t.Fatalf("ledger after partial: %+v", rows)
	}

	// The same clientCorrelator again: the same refund, not a second one.
	var again refund
	e.do(http.MethodPost, refunds, refundBody("partial", "re_1", "3.00", "USD")).decode(t, &again)
	if again.RefundID != r1.RefundID {
		t.Fatalf("replayed refund got a new id")
	}

	// More than the 7.00 left is refused, and nothing changes.
	a = e.do(http.MethodPost, refunds, refundBody("partial", "re_2", "7.01", "USD"))
	if a.status != http.StatusUnprocessableEntity || a.apiError(t).Code != "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT" {
		t.Fatalf("exceeding: HTTP %d %s", a.status, a.body)
	}
	var left struct {
		Amount   json.Number `json:"amount"`
		Currency string      `json:"currency"`
	}
	e.do(http.MethodGet, refunds+"/remaining-amount", nil).decode(t, &left)
	if left.Amount != "7.00" || left.Currency != "USD" {
		t.Fatalf("remaining %+v", left)
	}

	// A refund in another currency is refused.
	if a := e.do(http.MethodPost, refunds, refundBody("partial", "re_3", "1.00", "EUR")); a.status != 400 {
		t.Fatalf("other currency: HTTP %d", a.status)
	}

	// Total: the rest. Its refundAmount is echoed empty.
	var total refund
	a = e.do(http.MethodPost, refunds, refundBody("total", "re_4", "", ""))
	a.decode(t, &total)
	if a.status != http.StatusCreated || total.Type != "total" || string(total.AmountTransaction.RefundAmount) != "{}" {
		t.Fatalf("total: HTTP %d %s", a.status, a.body)
	}
	rows := e.ledger("?carrier=skt")
	if rows[0].Status != "refunded" || rows[0].RefundedAmount != 1000 {
		t.Fatalf("ledger after total: %+v", rows)
	}
	if a := e.do(http.MethodPost, refunds, refundBody("total", "re_5", "", "")); a.status != http.StatusUnprocessableEntity {
		t.Fatalf("refund of a refunded payment: HTTP %d %s", a.status, a.body)
	}

	// Reading them back.
	var got refund
	e.do(http.MethodGet, refunds+"/"+r1.RefundID, nil).decode(t, &got)
	if got.RefundID != r1.RefundID || got.RefundStatus != "succeeded" {
		t.Fatalf("retrieveRefund %+v", got)
	}
	var list []refund
	e.do(http.MethodGet, refunds, nil).decode(t, &list)
	if len(list) != 2 || list[0].RefundID != total.RefundID {
		t.Fatalf("retrieveRefunds %+v", list)
	}
	e.do(http.MethodGet, refunds+"?clientCorrelator=re_1", nil).decode(t, &list)
	if len(list) != 1 || list[0].RefundID != r1.RefundID {
		t.Fatalf("retrieveRefunds by clientCorrelator %+v", list)
	}
	if st := e.stats().Carriers["skt"]; st.Refunds != 2 || st.Duplicates != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestRefundRefusals(t *testing.T) {
	e := setup(t)
	if a := e.do(http.MethodPost, sktRefunds+"pay_nope/refunds", refundBody("total", "re_x", "", "")); a.status != 404 {
		t.Fatalf("unknown payment: HTTP %d", a.status)
	}
	var p payment
	e.do(http.MethodPost, sktPayments, paymentBody("+821012340005", "ch_proc", "5000", "KRW")).decode(t, &p)
	refunds := sktRefunds + p.PaymentID + "/refunds"
	a := e.do(http.MethodPost, refunds, refundBody("total", "re_p", "", ""))
	if a.status != http.StatusUnprocessableEntity || a.apiError(t).Code != "CARRIER_BILLING_REFUND.INVALID_PAYMENT_STATUS" {
		t.Fatalf("processing payment: HTTP %d %s", a.status, a.body)
	}
	for name, body := range map[string]any{
		"no type":        map[string]any{"amountTransaction": map[string]any{"referenceCode": "x", "refundAmount": map[string]any{}}},
		"bad type":       refundBody("most", "re_b", "", ""),
		"partial no ci":  map[string]any{"type": "partial", "amountTransaction": map[string]any{"referenceCode": "x", "refundAmount": map[string]any{}}},
		"partial zero":   refundBody("partial", "re_z", "0", "KRW"),
		"partial frac":   refundBody("partial", "re_f", "1.5", "KRW"),
		"no transaction": map[string]any{"type": "total"},
	} {
		if a := e.do(http.MethodPost, refunds, body); a.status != 400 {
			t.Errorf("%s: HTTP %d %s", name, a.status, a.body)
		}
	}
}
