package tokenpay_test

import (
	"context"
	"errors"
	"testing"

	"tollgate/carriers"
)

// billed makes a succeeded 5000 KRW charge and returns the carrier's id.
func (e *env) billed(ref string) string {
	e.t.Helper()
	tok := e.token(ref, "+821012345678", false)
	res, err := e.client.Charge(context.Background(), chargeReq(ref, tok, 5000))
	if err != nil {
		e.t.Fatal(err)
	}
	if n := e.parse(e.awaitCallback(ref, 1)); n.Result.Outcome != carriers.OutcomeSucceeded {
		e.t.Fatalf("charge %s: %+v", ref, n)
	}
	return res.CarrierReference
}

func refundReq(ref, chargeID string, amount int64) carriers.RefundRequest {
	return carriers.RefundRequest{Reference: ref, ChargeReference: "ch_1", CarrierReference: chargeID, Amount: amount, Currency: "KRW", Reason: "requested_by_customer"}
}

func TestPartialThenFullRefund(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id := e.billed("ch_1")

	res, err := e.client.Refund(ctx, refundReq("re_1", id, 2000))
	if err != nil || res.Outcome != carriers.OutcomePending || res.CarrierReference == "" {
		t.Fatalf("partial refund = %+v, %v", res, err)
	}
	n := e.parse(e.awaitCallback("re_1", 1))
	if n.Kind != "refund" || n.ClientReference != "re_1" || n.CarrierReference != res.CarrierReference ||
		n.Result.Outcome != carriers.OutcomeSucceeded || n.Result.CarrierReference != res.CarrierReference {
		t.Fatalf("refund notification %+v", n)
	}
	if rows := e.Ledger(carrier); len(rows) != 1 || rows[0].RefundedAmount != 2000 || rows[0].Status != "partially_refunded" {
		t.Fatalf("ledger after the partial refund %+v", rows)
	}
	st, err := e.client.Status(ctx, carriers.Reference{Kind: "refund", ClientReference: "re_1"})
	if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != res.CarrierReference {
		t.Fatalf("refund status = %+v, %v", st, err)
	}

	// Amount 0 refunds what is left.
	rest, err := e.client.Refund(ctx, refundReq("re_2", id, 0))
	if err != nil || rest.Outcome != carriers.OutcomePending {
		t.Fatalf("refund of the rest = %+v, %v", rest, err)
	}
	e.parse(e.awaitCallback("re_2", 1))
	if rows := e.Ledger(carrier); len(rows) != 1 || rows[0].RefundedAmount != 5000 || rows[0].Status != "refunded" {
		t.Fatalf("ledger after the full refund %+v", rows)
	}

	// Nothing is left: refused at once, no callback.
	if _, err := e.client.Refund(ctx, refundReq("re_3", id, 1)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("refund beyond the charge: %v", err)
	}
}

func TestRefundExceedingTheChargeIsRefusedAtOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id := e.billed("ch_1")
	if _, err := e.client.Refund(ctx, refundReq("re_big", id, 5001)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("refund of more than the charge: %v", err)
	}
	// Accepted refunds count before they are applied: two refunds of 3000
	// in a row cannot both fit in 5000.
	if _, err := e.client.Refund(ctx, refundReq("re_a", id, 3000)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Refund(ctx, refundReq("re_b", id, 3000)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("second refund over the rest: %v", err)
	}
	e.awaitCallback("re_a", 1)
	if rows := e.Ledger(carrier); len(rows) != 1 || rows[0].RefundedAmount != 3000 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestDuplicateRefundReferenceRefundsOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	id := e.billed("ch_1")
	first, err := e.client.Refund(ctx, refundReq("re_1", id, 1000))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.Refund(ctx, refundReq("re_1", id, 1000))
	if err != nil || again != first {
		t.Fatalf("resent refund = %+v, %v; want %+v", again, err, first)
	}
	e.awaitCallback("re_1", 1)
	if rows := e.Ledger(carrier); len(rows) != 1 || rows[0].RefundedAmount != 1000 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestRefundOfADeclinedCharge(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tok := e.token("ch_2", "+821012340002", false)
	res, err := e.client.Charge(ctx, chargeReq("ch_2", tok, 5000))
	if err != nil {
		t.Fatal(err)
	}
	e.awaitCallback("ch_2", 1)
	if _, err := e.client.Refund(ctx, refundReq("re_2", res.CarrierReference, 0)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("refund of a failed charge: %v", err)
	}
	if _, err := e.client.Refund(ctx, refundReq("re_3", "chg_unknown", 0)); !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("refund of an unknown charge: %v", err)
	}
}
