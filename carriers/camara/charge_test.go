package camara_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
)

func TestChargeOutcomes(t *testing.T) {
	tests := []struct {
		suffix      string
		wantOutcome carriers.Outcome
		wantFailure string
		wantDecline string
	}{
		{"5678", carriers.OutcomeSucceeded, "", ""},
		{"0002", carriers.OutcomeDeclined, carriers.FailureInsufficientBalance, "CARRIER_BILLING.PAYMENT_DENIED"},
		{"0003", carriers.OutcomeDeclined, carriers.FailureSubscriberBlocked, "SERVICE_NOT_APPLICABLE"},
		{"0004", carriers.OutcomeDeclined, carriers.FailureCarrierLimitExceeded, "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED"},
		{"0005", carriers.OutcomePending, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.suffix, func(t *testing.T) {
			e := setup(t)
			res, err := e.client.Charge(context.Background(), charge("ch_"+tt.suffix, "+82101234"+tt.suffix, 5000, "KRW"))
			if err != nil {
				t.Fatalf("a decline is an answer, not an error: %v", err)
			}
			if res.Outcome != tt.wantOutcome || res.FailureCode != tt.wantFailure || res.DeclineCode != tt.wantDecline {
				t.Fatalf("result %+v", res)
			}
			if (res.CarrierReference != "") != (tt.wantOutcome != carriers.OutcomeDeclined) {
				t.Fatalf("carrier reference %q for %s", res.CarrierReference, res.Outcome)
			}
			if tt.wantOutcome == carriers.OutcomeDeclined && res.Message == "" {
				t.Fatal("decline without the carrier's message")
			}
			rows := e.Ledger("skt")
			if billed := tt.wantOutcome == carriers.OutcomeSucceeded; (len(rows) == 1) != billed {
				t.Fatalf("ledger %+v", rows)
			}
		})
	}
}

func TestChargeAmountsReachTheCarrierExactly(t *testing.T) {
	for _, tt := range []struct {
		amount   int64
		currency string
	}{{5000, "KRW"}, {1999, "USD"}, {1234, "BHD"}, {1, "USD"}} {
		e := setup(t)
		res, err := e.client.Charge(context.Background(), charge("ch_amt", "+821012345678", tt.amount, tt.currency))
		if err != nil || res.Outcome != carriers.OutcomeSucceeded || res.Message != "" {
			t.Fatalf("%d %s: %+v, %v", tt.amount, tt.currency, res, err)
		}
		if rows := e.Ledger("skt"); rows[0].Amount != tt.amount || rows[0].Currency != tt.currency {
			t.Fatalf("carrier booked %d %s, want %d %s", rows[0].Amount, rows[0].Currency, tt.amount, tt.currency)
		}
	}
}

func TestChargeAsyncThenStatus(t *testing.T) {
	e := setup(t)
	res, err := e.client.Charge(context.Background(), charge("ch_async", "+821012340005", 5000, "KRW"))
	if err != nil || res.Outcome != carriers.OutcomePending {
		t.Fatalf("%+v, %v", res, err)
	}
	ref := carriers.Reference{Kind: "charge", ClientReference: "ch_async", CarrierReference: res.CarrierReference}
	if st, err := e.client.Status(context.Background(), ref); err != nil || st.Outcome != carriers.OutcomePending {
		t.Fatalf("before settlement: %+v, %v", st, err)
	}
	e.Clock.Advance(time.Second) // the simulated carrier settles 0005 after one second of its clock
	st, err := e.client.Status(context.Background(), ref)
	if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference != res.CarrierReference {
		t.Fatalf("after settlement: %+v, %v", st, err)
	}
}

func TestChargeTimeoutThenStatusByCorrelator(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // long enough to write the request on a busy machine
	defer cancel()
	_, err := e.client.Charge(ctx, charge("ch_hang", "+821012340006", 5000, "KRW"))
	if !errors.Is(err, carriers.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	// The answer never came, so the carrier's id is unknown: look it up by
	// the clientCorrelator we sent. The simulator billed before hanging; the
	// wait only covers the instant between our timeout and its handler running.
	ref := carriers.Reference{Kind: "charge", ClientReference: "ch_hang"}
	var st carriers.Result
	e.Await("the hung charge reaches the carrier's books", nil, func() bool {
		st, err = e.client.Status(context.Background(), ref)
		return !errors.Is(err, carriers.ErrNotFound)
	})
	if err != nil || st.Outcome != carriers.OutcomeSucceeded || st.CarrierReference == "" {
		t.Fatalf("status: %+v, %v", st, err)
	}
	if rows := e.Ledger("skt"); len(rows) != 1 || rows[0].CarrierReference != st.CarrierReference {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestChargeUnavailableOnceThenWorks(t *testing.T) {
	e := setup(t)
	req := charge("ch_503", "+821012340007", 5000, "KRW")
	_, err := e.client.Charge(context.Background(), req)
	var unavailable *carriers.UnavailableError
	if !errors.As(err, &unavailable) || unavailable.RetryAfter != time.Second || !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("err = %v, want UnavailableError retry after 1s", err)
	}
	res, err := e.client.Charge(context.Background(), req)
	if err != nil || res.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("second attempt: %+v, %v", res, err)
	}
	if rows := e.Ledger("skt"); len(rows) != 1 || rows[0].ClientReference != "ch_503" {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestChargeSameReferenceBillsOnce(t *testing.T) {
	e := setup(t)
	req := charge("ch_twice", "+821012345678", 5000, "KRW")
	first, err1 := e.client.Charge(context.Background(), req)
	second, err2 := e.client.Charge(context.Background(), req)
	if err1 != nil || err2 != nil || first.CarrierReference != second.CarrierReference || second.Outcome != carriers.OutcomeSucceeded {
		t.Fatalf("%+v %v / %+v %v", first, err1, second, err2)
	}
	if n := len(e.Ledger("skt")); n != 1 {
		t.Fatalf("ledger has %d rows", n)
	}
}

func TestChargeNotSentToClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://" + addr + "/sim/skt/camara"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Charge(context.Background(), charge("ch_closed", "+821012345678", 5000, "KRW"))
	if !errors.Is(err, carriers.ErrNotSent) {
		t.Fatalf("err = %v, want ErrNotSent", err)
	}
}

func TestChargeCarrierDown(t *testing.T) {
	e := setup(t)
	e.PutFaults(`{"carrier":"skt","down":true}`)
	_, err := e.client.Charge(context.Background(), charge("ch_down", "+821012345678", 5000, "KRW"))
	// A down simulated carrier accepts the connection, reads the request and
	// closes without answering. Seen from the client that is exactly a peer
	// that took the request and reset: the request left, so the outcome is
	// unknown. That is the safe reading — a poll finds nothing was billed —
	// whereas ErrNotSent here would license a blind resend against a carrier
	// that might have billed. Only a refused dial is provably not sent.
	if !errors.Is(err, carriers.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
	}
	e.PutFaults(`{"carrier":"skt","down":false}`)
	_, err = e.client.Status(context.Background(), carriers.Reference{Kind: "charge", ClientReference: "ch_down"})
	if !errors.Is(err, carriers.ErrNotFound) {
		t.Fatalf("status after down: %v, want ErrNotFound", err)
	}
}

func TestChargeInjectedError(t *testing.T) {
	e := setup(t)
	e.PutFaults(`{"carrier":"skt","error_rate":1}`)
	_, err := e.client.Charge(context.Background(), charge("ch_err", "+821012345678", 5000, "KRW"))
	var unavailable *carriers.UnavailableError
	if !errors.As(err, &unavailable) || unavailable.RetryAfter != 0 || !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
}

func TestChargeRejectedRequests(t *testing.T) {
	e := setup(t)
	for name, req := range map[string]carriers.ChargeRequest{
		"bad msisdn":   charge("ch_bad", "12345", 5000, "KRW"),
		"no msisdn":    charge("ch_none", "", 5000, "KRW"),
		"bad currency": charge("ch_cur", "+821012345678", 5000, "won"),
		"zero amount":  charge("ch_zero", "+821012345678", 0, "KRW"),
		"no reference": charge("", "+821012345678", 5000, "KRW"),
	} {
		if _, err := e.client.Charge(context.Background(), req); !errors.Is(err, carriers.ErrInvalidRequest) {
			t.Errorf("%s: err = %v, want ErrInvalidRequest", name, err)
		}
	}
}

func TestStatusNotFound(t *testing.T) {
	e := setup(t)
	for _, ref := range []carriers.Reference{
		{Kind: "charge", ClientReference: "ch_never"},
		{Kind: "charge", ClientReference: "ch_never", CarrierReference: "pay_never"},
	} {
		if _, err := e.client.Status(context.Background(), ref); !errors.Is(err, carriers.ErrNotFound) {
			t.Errorf("%+v: err = %v, want ErrNotFound", ref, err)
		}
	}
}
