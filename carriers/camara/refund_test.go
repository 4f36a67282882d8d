package camara_test

import (
	"context"
	"errors"
	"testing"

	"tollgate/carriers"
)

// charged makes a succeeded charge and returns the carrier's id for it.
func (e *env) charged(ref string, amount int64, currency string) string {
	e.t.Helper()
	res, err := e.client.Charge(context.Background(), charge(ref, "+821012345678", amount, currency))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		e.t.Fatalf("charge: %+v, %v", res, err)
	}
	return res.CarrierReference
}

func refundReq(ref, chargeRef, carrierRef string, amount int64, currency string) carriers.RefundRequest {
	return carriers.RefundRequest{
		Reference: ref, ChargeReference: chargeRef, CarrierReference: carrierRef,
		MSISDN: "+821012345678", Amount: amount, Currency: currency, Reason: "customer asked",
	}
}

func TestRefundPartialThenExceedingThenTotal(t *testing.T) {
	e := setup(t)
	pay := e.charged("ch_r", 1000, "USD")
	ctx := context.Background()

	res, err := e.client.Refund(ctx, refundReq("re_1", "ch_r", pay, 300, "USD"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.CarrierReference == "" {
		t.Fatalf("partial: %+v, %v", res, err)
	}
	if rows := e.Ledger("skt"); rows[0].Status != "partially_refunded" || rows[0].RefundedAmount != 300 {
		t.Fatalf("ledger %+v", rows)
	}

	// The same refund again (a retry) is the same refund.
	again, err := e.client.Refund(ctx, refundReq("re_1", "ch_r", pay, 300, "USD"))
	if err != nil || again.CarrierReference != res.CarrierReference {
		t.Fatalf("retry: %+v, %v", again, err)
	}

	// More than the 700 left: declined by the carrier, an answer not an error.
	over, err := e.client.Refund(ctx, refundReq("re_2", "ch_r", pay, 701, "USD"))
	if err != nil || over.Outcome != carriers.OutcomeDeclined ||
		over.DeclineCode != "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT" || over.FailureCode != carriers.FailureCarrierDeclined {
		t.Fatalf("exceeding: %+v, %v", over, err)
	}

	// Amount 0 asks for the rest.
	total, err := e.client.Refund(ctx, refundReq("re_3", "ch_r", pay, 0, "USD"))
	if err != nil || total.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("total: %+v, %v", total, err)
	}
	if rows := e.Ledger("skt"); rows[0].Status != "refunded" || rows[0].RefundedAmount != 1000 {
		t.Fatalf("ledger %+v", rows)
	}

	// Status by the carrier's id and, lacking it, by our reference.
	for _, ref := range []carriers.Reference{
		{Kind: "refund", ClientReference: "re_1", CarrierReference: res.CarrierReference, ChargeReference: pay},
		{Kind: "refund", ClientReference: "re_1", ChargeReference: pay},
	} {
		st, err := e.client.Status(ctx, ref)
		if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != res.CarrierReference {
			t.Fatalf("status %+v: %+v, %v", ref, st, err)
		}
	}
	if _, err := e.client.Status(ctx, carriers.Reference{Kind: "refund", ClientReference: "re_2", ChargeReference: pay}); !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("status of the refused refund: %v, want ErrNotFound", err)
	}
}

func TestRefundFullAmountOnCarrierWithoutPartialRefunds(t *testing.T) {
	e := setup(t)
	e.client = newClient(t, e.Sim, false)
	pay := e.charged("ch_full", 5000, "KRW")
	res, err := e.client.Refund(context.Background(), refundReq("re_full", "ch_full", pay, 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("%+v, %v", res, err)
	}
	if rows := e.Ledger("skt"); rows[0].Status != "refunded" {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestRefundUnknownPayment(t *testing.T) {
	e := setup(t)
	_, err := e.client.Refund(context.Background(), refundReq("re_x", "ch_x", "pay_unknown", 100, "KRW"))
	if !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}
