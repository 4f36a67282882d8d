package oneapi_test

import (
	"context"
	"errors"
	"testing"

	"tollgate/carriers"
)

const refundMSISDN = "+821012345678"

// charged makes a succeeded charge and returns the carrier's id for it.
func (e *env) charged(ref string, amount int64, currency string) string {
	e.t.Helper()
	res, err := e.client.Charge(context.Background(), charge(ref, refundMSISDN, amount, currency))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		e.t.Fatalf("charge: %+v, %v", res, err)
	}
	return res.CarrierReference
}

func refundReq(ref, chargeRef, carrierRef string, amount int64, currency string) carriers.RefundRequest {
	return carriers.RefundRequest{
		Reference: ref, ChargeReference: chargeRef, CarrierReference: carrierRef,
		MSISDN: refundMSISDN, Amount: amount, Currency: currency, Reason: "customer asked",
	}
}

func TestRefundPartialThenExceedingThenRest(t *testing.T) {
	e := setup(t)
	pay := e.charged("ch_r", 1000, "USD")
	ctx := context.Background()

	res, err := e.client.Refund(ctx, refundReq("re_1", "ch_r", pay, 300, "USD"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.CarrierReference == "" || res.CarrierReference == pay || res.Message != "" {
		t.Fatalf("partial: %+v, %v", res, err)
	}
	if rows := e.Ledger("kt"); rows[0].Status != "partially_refunded" || rows[0].RefundedAmount != 300 {
		t.Fatalf("ledger %+v", rows)
	}

	// The same refund again (a retry) is the same refund, applied once.
	again, err := e.client.Refund(ctx, refundReq("re_1", "ch_r", pay, 300, "USD"))
	if err != nil || again.CarrierReference != res.CarrierReference {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	if rows := e.Ledger("kt"); rows[0].RefundedAmount != 300 {
		t.Fatalf("retry refunded again: %+v", rows)
	}

	// More than the 700 left: declined by the carrier, an answer not an error.
	over, err := e.client.Refund(ctx, refundReq("re_2", "ch_r", pay, 701, "USD"))
	if err != nil || over.Outcome != carriers.OutcomeDeclined ||
		over.DeclineCode != "POL3001" || over.FailureCode != carriers.FailureCarrierDeclined || over.Message == "" {
		t.Fatalf("exceeding: %+v, %v", over, err)
	}

	// The 700 left, exactly.
	rest, err := e.client.Refund(ctx, refundReq("re_3", "ch_r", pay, 700, "USD"))
	if err != nil || rest.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("rest: %+v, %v", rest, err)
	}
	if rows := e.Ledger("kt"); len(rows) != 1 || rows[0].Status != "refunded" || rows[0].RefundedAmount != 1000 {
		t.Fatalf("ledger %+v", rows)
	}

	// Status by the carrier's id and, lacking it, by our reference.
	for _, ref := range []carriers.Reference{
		{Kind: "refund", ClientReference: "re_1", CarrierReference: res.CarrierReference, ChargeReference: pay, MSISDN: refundMSISDN},
		{Kind: "refund", ClientReference: "re_1", ChargeReference: pay, MSISDN: refundMSISDN},
		{Kind: "refund", ClientReference: "re_1", MSISDN: refundMSISDN},
	} {
		st, err := e.client.Status(ctx, ref)
		if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != res.CarrierReference {
			t.Fatalf("status %+v: %+v, %v", ref, st, err)
		}
	}
	if _, err := e.client.Status(ctx, carriers.Reference{Kind: "refund", ClientReference: "re_2", ChargeReference: pay, MSISDN: refundMSISDN}); !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("status of the refused refund: %v, want ErrNotFound", err)
	}
	// A charge's status is still the charge's, refunded or not; a refund's
	// id asked about as a charge is not mistaken for one.
	if st, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_r", MSISDN: refundMSISDN}); err != nil || st.CarrierReference != pay {
		t.Fatalf("charge status: %+v, %v", st, err)
	}
	if _, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "re_1", CarrierReference: res.CarrierReference, MSISDN: refundMSISDN}); err == nil {
		t.Fatal("a refund read as a charge")
	}
	if n := e.Stats("kt").Requests["create_refund"]; n != 4 {
		t.Fatalf("create_refund counted %d times, want 4", n)
	}
}

func TestRefundFull(t *testing.T) {
	e := setup(t)
	pay := e.charged("ch_full", 5000, "KRW")
	res, err := e.client.Refund(context.Background(), refundReq("re_full", "ch_full", pay, 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("%+v, %v", res, err)
	}
	if rows := e.Ledger("kt"); rows[0].Status != "refunded" || rows[0].RefundedAmount != 5000 {
		t.Fatalf("ledger %+v", rows)
	}
	// Nothing is left: one more won is refused.
	over, err := e.client.Refund(context.Background(), refundReq("re_more", "ch_full", pay, 1, "KRW"))
	if err != nil || over.Outcome != carriers.OutcomeDeclined {
		t.Fatalf("%+v, %v", over, err)
	}
}

func TestRefundUnknownOrPendingCharge(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	res, err := e.client.Refund(ctx, refundReq("re_x", "ch_x", "txn_unknown", 100, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomeDeclined || res.DeclineCode != "POL1006" {
		t.Fatalf("unknown charge: %+v, %v", res, err)
	}
	async, err := e.client.Charge(ctx, charge("ch_async", "+821012340005", 5000, "KRW"))
	if err != nil || async.Outcome != carriers.OutcomePending {
		t.Fatalf("%+v, %v", async, err)
	}
	req := refundReq("re_async", "ch_async", async.CarrierReference, 5000, "KRW")
	req.MSISDN = "+821012340005"
	if res, err := e.client.Refund(ctx, req); err != nil || res.Outcome != carriers.OutcomeDeclined {
		t.Fatalf("refund of a charge still processing: %+v, %v", res, err)
	}
}

func TestRefundRejectedRequests(t *testing.T) {
	e := setup(t)
	pay := e.charged("ch_v", 5000, "KRW")
	for name, req := range map[string]carriers.RefundRequest{
		"zero amount":       refundReq("re_0", "ch_v", pay, 0, "KRW"),
		"no carrier ref":    refundReq("re_1", "ch_v", "", 100, "KRW"),
		"no reference":      refundReq("", "ch_v", pay, 100, "KRW"),
		"other currency":    refundReq("re_2", "ch_v", pay, 100, "USD"),
		"charge correlator": refundReq("ch_v", "ch_v", pay, 100, "KRW"), // a clientCorrelator already used
	} {
		if _, err := e.client.Refund(context.Background(), req); !errors.Is(err, carriers.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
	if rows := e.Ledger("kt"); rows[0].RefundedAmount != 0 {
		t.Fatalf("ledger %+v", rows)
	}
}
