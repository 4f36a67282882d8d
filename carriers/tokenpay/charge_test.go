package tokenpay_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"tollgate/carriers"
)

func TestChargeIsAcceptedAndTheResultCalledBack(t *testing.T) {
	tests := []struct {
		suffix  string
		outcome carriers.Outcome
		failure string
		decline string
	}{
		{"5678", carriers.OutcomeSucceeded, "", ""},
		{"0002", carriers.OutcomeDeclined, carriers.FailureInsufficientBalance, "insufficient_funds"},
		{"0003", carriers.OutcomeDeclined, carriers.FailureSubscriberBlocked, "account_barred"},
		{"0004", carriers.OutcomeDeclined, carriers.FailureCarrierLimitExceeded, "spending_limit"},
		{"0005", carriers.OutcomeSucceeded, "", ""}, // called back late
	}
	for _, tt := range tests {
		t.Run(tt.suffix, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			ctx := context.Background()
			ref := "ch_" + tt.suffix
			tok := e.token(ref, "+82101234"+tt.suffix, false)

			res, err := e.client.Charge(ctx, chargeReq(ref, tok, 5000))
			if err != nil || res.Outcome != carriers.OutcomePending || res.CarrierReference == "" {
				t.Fatalf("Charge = %+v, %v; want pending with the carrier's id", res, err)
			}

			n := e.parse(e.awaitCallback(ref, 1))
			want := carriers.Notification{
				MessageID: n.MessageID, Kind: "charge", ClientReference: ref, CarrierReference: res.CarrierReference,
				Result: carriers.Result{
					Outcome: tt.outcome, CarrierReference: res.CarrierReference,
					FailureCode: tt.failure, DeclineCode: tt.decline,
				},
			}
			// On the carrier's clock, which the wait moved on; the wire
			// carries whole seconds.
			if at := e.Clock.Now().Truncate(time.Second); !n.OccurredAt.Equal(at) {
				t.Errorf("occurred at %s, want %s", n.OccurredAt, at)
			}
			n.OccurredAt = time.Time{}
			if n.MessageID == "" || n != want {
				t.Errorf("notification\n got %+v\nwant %+v", n, want)
			}

			// The status query tells the same, by reference or by the carrier's id.
			for _, q := range []carriers.Reference{
				{Kind: "charge", ClientReference: ref},
				{Kind: "charge", ClientReference: ref, CarrierReference: res.CarrierReference},
			} {
				st, err := e.client.Status(ctx, q)
				if err != nil || st != want.Result {
					t.Errorf("Status(%+v) = %+v, %v; want %+v", q, st, err, want.Result)
				}
			}

			rows := e.Ledger(carrier)
			if billed := tt.outcome == carriers.OutcomeSucceeded; billed != (len(rows) == 1) {
				t.Fatalf("ledger %+v, billed = %v", rows, billed)
			}
			if len(rows) == 1 {
				if r := rows[0]; r.ClientReference != ref || r.CarrierReference != res.CarrierReference || r.Amount != 5000 || r.Currency != "KRW" {
					t.Errorf("ledger row %+v", r)
				}
			}
		})
	}
}

func TestCallbackAnsweredWithAnErrorIsRetried(t *testing.T) {
	e := setup(t)
	e.rec.failNext(2)
	tok := e.token("ch_r", "+821012345678", false)
	res, err := e.client.Charge(context.Background(), chargeReq("ch_r", tok, 5000))
	if err != nil {
		t.Fatal(err)
	}
	third := e.awaitCallback("ch_r", 3)
	got := e.callbacksFor("ch_r")
	first := e.parse(got[0])
	if got[0].status != 500 || got[1].status != 500 || third.status != 204 {
		t.Fatalf("answers %d, %d, %d", got[0].status, got[1].status, third.status)
	}
	for _, r := range got[1:] {
		if n := e.parse(r); n != first {
			t.Errorf("retry %+v differs from the first delivery %+v", n, first)
		}
	}
	if first.CarrierReference != res.CarrierReference || first.Result.Outcome != carriers.OutcomeSucceeded {
		t.Errorf("notification %+v", first)
	}

	// The simulator says what it sent; the record is written once the answer is in.
	e.await("the simulator's record of 3 attempts", func() bool { return len(e.Simulator.Callbacks(carrier)) == 3 })
	sent := e.Simulator.Callbacks(carrier)
	for i, sc := range sent {
		if sc.Attempt != i+1 || sc.MessageID != first.MessageID || sc.URL != e.cbURL || sc.Header.Get("Tokenpay-Signature") == "" {
			t.Errorf("attempt %d: %+v", i+1, sc)
		}
		if want := i == 2; sc.Delivered() != want {
			t.Errorf("attempt %d answered %d", i+1, sc.Status)
		}
	}
	st := e.Stats(carrier)
	if st.CallbacksSent != 1 || st.CallbacksFailed != 2 || st.CallbacksAbandoned != 0 {
		t.Errorf("callback stats %+v", st)
	}
}

func TestBilledWithoutCallbackIsFoundByStatus(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tok := e.token("ch_6", "+821012340006", false)
	res, err := e.client.Charge(ctx, chargeReq("ch_6", tok, 5000))
	if err != nil || res.Outcome != carriers.OutcomePending {
		t.Fatalf("Charge = %+v, %v", res, err)
	}
	var st carriers.Result
	e.await("the charge to be decided", func() bool {
		st, err = e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_6"})
		if err != nil {
			t.Fatalf("Status: %v", err)
		}
		return st.Outcome != carriers.OutcomePending
	})
	if st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != res.CarrierReference {
		t.Fatalf("Status = %+v", st)
	}
	// The carrier decided and billed in one step, without a callback to send.
	if got := e.callbacksFor("ch_6"); len(got) != 0 {
		t.Errorf("a callback came for 0006: %s", got[0].body)
	}
	if len(e.Simulator.Callbacks(carrier)) != 0 {
		t.Errorf("the simulator sent callbacks: %+v", e.Simulator.Callbacks(carrier))
	}
	if rows := e.Ledger(carrier); len(rows) != 1 || rows[0].ClientReference != "ch_6" {
		t.Errorf("ledger %+v", rows)
	}
}

func TestUnavailableOnceThenAccepted(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tok := e.token("ch_7", "+821012340007", false)
	_, err := e.client.Charge(ctx, chargeReq("ch_7", tok, 5000))
	var u *carriers.UnavailableError
	if !errors.As(err, &u) || u.RetryAfter != time.Second || !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("first charge: %v, want UnavailableError after 1s", err)
	}
	if _, err := e.client.Status(ctx, carriers.Reference{Kind: "charge", ClientReference: "ch_7"}); !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("the refused charge is known to the carrier: %v", err)
	}
	res, err := e.client.Charge(ctx, chargeReq("ch_7", tok, 5000))
	if err != nil || res.Outcome != carriers.OutcomePending {
		t.Fatalf("second charge = %+v, %v", res, err)
	}
	if n := e.parse(e.awaitCallback("ch_7", 1)); n.Result.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("notification %+v", n)
	}
}

func TestDuplicateReferenceBillsOnce(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tok := e.token("ch_d", "+821012345678", false)
	first, err := e.client.Charge(ctx, chargeReq("ch_d", tok, 5000))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.client.Charge(ctx, chargeReq("ch_d", tok, 5000))
	if err != nil || again != first {
		t.Fatalf("resent charge = %+v, %v; want %+v", again, err, first)
	}
	// A one-off token pays for one charge only: a new reference is refused.
	if _, err := e.client.Charge(ctx, chargeReq("ch_other", tok, 5000)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("second charge on a one-off token: %v", err)
	}
	e.awaitCallback("ch_d", 1)
	if rows := e.Ledger(carrier); len(rows) != 1 {
		t.Fatalf("ledger %+v, want one row", rows)
	}
	if st := e.Stats(carrier); st.ChargesBilled != 1 || st.Duplicates != 1 || st.Requests["create_payment"] != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestConcurrentChargesWithOneReference(t *testing.T) {
	e := setup(t)
	tok := e.token("pm_c", "+821012345678", true)
	const n = 50
	results := make([]carriers.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = e.client.Charge(context.Background(), chargeReq("ch_c", tok, 5000))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || results[i] != results[0] || results[i].Outcome != carriers.OutcomePending {
			t.Fatalf("charge %d = %+v, %v; first %+v", i, results[i], errs[i], results[0])
		}
	}
	e.awaitCallback("ch_c", 1)
	// The one message is recorded once its answer is in; by then any other
	// message for the charge would have been decided as well.
	e.await("the simulator's record of the callback", func() bool { return len(e.Simulator.Callbacks(carrier)) >= 1 })
	if sent := e.Simulator.Callbacks(carrier); len(sent) != 1 {
		t.Errorf("simulator sent %d callbacks, want 1", len(sent))
	}
	if got := e.callbacksFor("ch_c"); len(got) != 1 {
		t.Errorf("%d callbacks received, want 1", len(got))
	}
	if rows := e.Ledger(carrier); len(rows) != 1 || rows[0].Amount != 5000 {
		t.Errorf("ledger %+v, want one row", rows)
	}
	if st := e.Stats(carrier); st.ChargesBilled != 1 || st.Duplicates != n-1 {
		t.Errorf("billed %d, duplicates %d", st.ChargesBilled, st.Duplicates)
	}
}

func TestChargeNeedsAValidToken(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	if _, err := e.client.Charge(ctx, chargeReq("ch_n", "", 5000)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("no token: %v", err)
	}
	if _, err := e.client.Charge(ctx, chargeReq("ch_n", "tok_forged", 5000)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("unknown token: %v", err)
	}
	tok := e.token("ch_n", "+821012345678", false)
	if _, err := e.client.Charge(ctx, chargeReq("ch_n", tok, 5001)); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("more than authorised: %v", err)
	}
	if rows := e.Ledger(carrier); len(rows) != 0 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestChargeCallbackURLFromTheRequest(t *testing.T) {
	e := setup(t)
	tok := e.token("ch_u", "+821012345678", false)
	r := chargeReq("ch_u", tok, 5000)
	r.CallbackURL = e.cbURL + "?charge=ch_u"
	if _, err := e.client.Charge(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	e.awaitCallback("ch_u", 1)
	e.await("the simulator's record", func() bool { return len(e.Simulator.Callbacks(carrier)) == 1 })
	if got := e.Simulator.Callbacks(carrier)[0].URL; got != r.CallbackURL {
		t.Errorf("called back at %s, want %s", got, r.CallbackURL)
	}
}

func TestStatusErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	for _, ref := range []carriers.Reference{
		{Kind: "charge", ClientReference: "ch_none"},
		{Kind: "charge", CarrierReference: "chg_none"},
		{Kind: "refund", ClientReference: "re_none"},
	} {
		if _, err := e.client.Status(ctx, ref); !errors.Is(err, carriers.ErrNotFound) {
			t.Errorf("Status(%+v): %v, want ErrNotFound", ref, err)
		}
	}
	if _, err := e.client.Status(ctx, carriers.Reference{Kind: "payout", ClientReference: "x"}); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, err := e.client.Status(ctx, carriers.Reference{Kind: "charge"}); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Errorf("no reference: %v", err)
	}
}

func TestFaultsApplyToTheProtocol(t *testing.T) {
	e := setup(t)
	tok := e.token("ch_f", "+821012345678", false)
	e.PutFaults(`{"carrier":"lgu","error_rate":1}`)
	_, err := e.client.Charge(context.Background(), chargeReq("ch_f", tok, 5000))
	if !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("injected 503: %v", err)
	}
	e.PutFaults(`{"carrier":"lgu","error_rate":0,"reset_rate":1}`)
	_, err = e.client.Charge(context.Background(), chargeReq("ch_f", tok, 5000))
	if !errors.Is(err, carriers.ErrOutcomeUnknown) {
		t.Fatalf("reset after sending: %v", err)
	}
	e.PutFaults(`{"carrier":"lgu","reset_rate":0}`)
	if _, err := e.client.Charge(context.Background(), chargeReq("ch_f", tok, 5000)); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(carrier); st.Requests["create_payment"] != 3 {
		t.Errorf("create_payment counted %d, want 3", st.Requests["create_payment"])
	}
}
