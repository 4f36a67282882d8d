package sim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// prepared is the part of preparePayment's answer the tests read.
type prepared struct {
	payment
	ValidationInfo *struct {
		Action          string `json:"action"`
		AuthorizationID string `json:"authorizationId"`
	} `json:"validationInfo"`
}

// prepareBody is a valid preparePayment body with a merchant.
func prepareBody(phone, correlator, amount, currency string) map[string]any {
	b := paymentBody(phone, correlator, amount, currency)
	at := b["amountTransaction"].(map[string]any)
	at["paymentAmount"].(map[string]any)["chargingMetaData"] = map[string]any{"merchantIdentifier": "Gem Shop"}
	return b
}

func phoneBody(phone string) map[string]any { return map[string]any{"phoneNumber": phone} }

// prepare prepares a payment and returns it with the code texted to phone.
func (e *env) prepare(phone, ref string) (prepared, string) {
	e.t.Helper()
	a := e.do(http.MethodPost, sktPayments+"/prepare", prepareBody(phone, ref, "5000", "KRW"), "x-correlator", "c-"+ref)
	if a.status != http.StatusCreated {
		e.t.Fatalf("prepare: HTTP %d %s", a.status, a.body)
	}
	var p prepared
	a.decode(e.t, &p)
	if p.PaymentStatus != "pending_validation" || p.ValidationInfo == nil || p.ValidationInfo.Action != "validate" || p.ValidationInfo.AuthorizationID == "" {
		e.t.Fatalf("prepared %s", a.body)
	}
	if a.header.Get("x-correlator") != "c-"+ref || a.header.Get("Location") != sktPayments+"/"+p.PaymentID {
		e.t.Errorf("headers %v", a.header)
	}
	inbox := e.inbox("?msisdn=" + phone)
	if len(inbox) == 0 {
		e.t.Fatal("no code texted")
	}
	return p, inbox[0].Code
}

func (e *env) validate(p prepared, code string) answer {
	e.t.Helper()
	return e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/validate",
		map[string]any{"authorizationId": p.ValidationInfo.AuthorizationID, "code": code})
}

func wantError(t *testing.T, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("HTTP %d %s, want %d %s", a.status, a.body, status, code)
	}
	if e := a.apiError(t); e.Code != code || e.Status != status || e.Message == "" {
		t.Fatalf("error %+v, want %s", e, code)
	}
}

func TestTwoStepPayment(t *testing.T) {
	e := setup(t)
	const phone = "+821012345678"
	p, code := e.prepare(phone, "ch_2s")

	inbox := e.inbox("?msisdn=" + phone)
	if ok, _ := regexp.MatchString(`^[0-9]{6} is your code to pay ₩5,000 to Gem Shop$`, inbox[0].Body); !ok {
		t.Errorf("SMS %q", inbox[0].Body)
	}
	if n := len(e.ledger("?carrier=skt")); n != 0 {
		t.Fatalf("a prepared payment is in the ledger (%d rows)", n)
	}

	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantError(t, e.validate(p, wrong), http.StatusBadRequest, "CARRIER_BILLING.INVALID_CODE")
	bad := p
	bad.ValidationInfo = &struct {
		Action          string `json:"action"`
		AuthorizationID string `json:"authorizationId"`
	}{AuthorizationID: "auth_nope"}
	wantError(t, e.validate(bad, code), http.StatusBadRequest, "CARRIER_BILLING.INVALID_AUTHORIZATION_ID")
	if a := e.validate(p, code); a.status != http.StatusNoContent {
		t.Fatalf("validate: HTTP %d %s", a.status, a.body)
	}
	var got payment
	e.do(http.MethodGet, sktPayments+"/"+p.PaymentID, nil).decode(t, &got)
	if got.PaymentStatus != "reserved" {
		t.Fatalf("after validate: %s", got.PaymentStatus)
	}
	wantError(t, e.validate(p, code), http.StatusConflict, "ALREADY_EXISTS")

	a := e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone))
	if a.status != http.StatusAccepted {
		t.Fatalf("confirm: HTTP %d %s", a.status, a.body)
	}
	a.decode(t, &got)
	if got.PaymentStatus != "succeeded" {
		t.Fatalf("confirmed %s", got.PaymentStatus)
	}
	rows := e.ledger("?carrier=skt")
	if len(rows) != 1 || rows[0].ClientReference != "ch_2s" || rows[0].CarrierReference != p.PaymentID || rows[0].Amount != 5000 {
		t.Fatalf("ledger %+v", rows)
	}
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone)), http.StatusConflict, "CARRIER_BILLING.PAYMENT_CONFIRMED")
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/cancel", phoneBody(phone)), http.StatusConflict, "CARRIER_BILLING.PAYMENT_CONFIRMED")
	if rows := e.ledger("?carrier=skt"); len(rows) != 1 {
		t.Fatalf("billed again: %+v", rows)
	}
	st := e.stats().Carriers["skt"]
	if st.ChargesBilled != 1 || st.SMSSent != 1 || st.Requests["prepare_payment"] != 1 || st.Requests["confirm_payment"] != 2 || st.Requests["validate_payment"] != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestTwoStepOutcomesAtConfirm(t *testing.T) {
	tests := []struct {
		suffix string
		status int
		code   string // error code, for refusals
		pay    string // paymentStatus after a 202
		billed bool
	}{
		{"0002", http.StatusForbidden, "CARRIER_BILLING.PAYMENT_DENIED", "", false},
		{"0003", http.StatusUnprocessableEntity, "SERVICE_NOT_APPLICABLE", "", false},
		{"0005", http.StatusAccepted, "", "processing", false},
		{"0007", http.StatusServiceUnavailable, "UNAVAILABLE", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.suffix, func(t *testing.T) {
			e := setup(t)
			phone := "+82101234" + tt.suffix
			p, code := e.prepare(phone, "ch_"+tt.suffix)
			if a := e.validate(p, code); a.status != http.StatusNoContent {
				t.Fatalf("validate: HTTP %d %s", a.status, a.body)
			}
			confirm := func() answer { return e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone)) }
			a := confirm()
			if tt.code != "" {
				wantError(t, a, tt.status, tt.code)
			} else {
				var got payment
				a.decode(t, &got)
				if a.status != tt.status || got.PaymentStatus != tt.pay {
					t.Fatalf("confirm: HTTP %d %s", a.status, a.body)
				}
			}
			if rows := e.ledger("?carrier=skt"); (len(rows) == 1) != tt.billed {
				t.Fatalf("ledger %+v", rows)
			}
			switch tt.suffix {
			case "0002", "0003", "0004":
				// The payment is denied, and a resent confirm says so again.
				var got payment
				e.do(http.MethodGet, sktPayments+"/"+p.PaymentID, nil).decode(t, &got)
				if got.PaymentStatus != "denied" {
					t.Fatalf("declined payment is %s", got.PaymentStatus)
				}
				wantError(t, confirm(), tt.status, tt.code)
			case "0005":
				e.clock.Advance(time.Second)
				var got payment
				e.do(http.MethodGet, sktPayments+"/"+p.PaymentID, nil).decode(t, &got)
				if got.PaymentStatus != "succeeded" || len(e.ledger("?carrier=skt")) != 1 {
					t.Fatalf("after settling: %s", got.PaymentStatus)
				}
			case "0007":
				if a.header.Get("Retry-After") != "1" {
					t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
				}
				if a := confirm(); a.status != http.StatusAccepted {
					t.Fatalf("second confirm: HTTP %d %s", a.status, a.body)
				}
				if rows := e.ledger("?carrier=skt"); len(rows) != 1 {
					t.Fatalf("ledger %+v", rows)
				}
			}
		})
	}
}

func TestTwoStepConfirmBillsThenHangs(t *testing.T) {
	e := setup(t)
	const phone = "+821012340006"
	p, code := e.prepare(phone, "ch_hang2")
	e.validate(p, code)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // long enough to write the request on a busy machine
	defer cancel()
	if _, err := e.send(ctx, http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	rows := e.ledger("?carrier=skt")
	if len(rows) != 1 || rows[0].ClientReference != "ch_hang2" {
		t.Fatalf("ledger %+v", rows)
	}
	// Prepare and validate were answered: 0006 only hangs where money moves.
	var list []payment
	e.do(http.MethodGet, sktPayments+"?clientCorrelator=ch_hang2", nil).decode(t, &list)
	if len(list) != 1 || list[0].PaymentStatus != "succeeded" {
		t.Fatalf("by clientCorrelator: %+v", list)
	}
}

func TestTwoStepTooManyWrongCodes(t *testing.T) {
	e := setup(t)
	const phone = "+821012345678"
	p, code := e.prepare(phone, "ch_wrong")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 1; i < 5; i++ {
		wantError(t, e.validate(p, wrong), http.StatusBadRequest, "CARRIER_BILLING.INVALID_CODE")
	}
	wantError(t, e.validate(p, wrong), http.StatusBadRequest, "CARRIER_BILLING.VALIDATION_FAILED")
	wantError(t, e.validate(p, code), http.StatusBadRequest, "CARRIER_BILLING.VALIDATION_FAILED")
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone)), http.StatusForbidden, "CARRIER_BILLING.PAYMENT_DENIED")
	if rows := e.ledger("?carrier=skt"); len(rows) != 0 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestTwoStepCancel(t *testing.T) {
	e := setup(t)
	const phone = "+821012345678"
	p, code := e.prepare(phone, "ch_cancel")
	cancel := func() answer { return e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/cancel", phoneBody(phone)) }
	a := cancel()
	var got payment
	a.decode(t, &got)
	if a.status != http.StatusAccepted || got.PaymentStatus != "cancelled" {
		t.Fatalf("cancel: HTTP %d %s", a.status, a.body)
	}
	wantError(t, cancel(), http.StatusConflict, "CARRIER_BILLING.PAYMENT_CANCELLED")
	wantError(t, e.validate(p, code), http.StatusConflict, "CARRIER_BILLING.PAYMENT_CANCELLED")
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone)), http.StatusConflict, "CARRIER_BILLING.PAYMENT_CANCELLED")
	if rows := e.ledger("?carrier=skt"); len(rows) != 0 {
		t.Fatalf("ledger %+v", rows)
	}

	// A reserved (validated) payment can be cancelled too.
	p2, code2 := e.prepare("+821012349999", "ch_cancel2")
	e.validate(p2, code2)
	if a := e.do(http.MethodPost, sktPayments+"/"+p2.PaymentID+"/cancel", phoneBody("+821012349999")); a.status != http.StatusAccepted {
		t.Fatalf("cancel reserved: HTTP %d %s", a.status, a.body)
	}
}

func TestPrepareHonoursClientCorrelator(t *testing.T) {
	e := setup(t)
	const phone = "+821012345678"
	p, _ := e.prepare(phone, "ch_dup")
	a := e.do(http.MethodPost, sktPayments+"/prepare", prepareBody(phone, "ch_dup", "5000", "KRW"))
	var again prepared
	a.decode(t, &again)
	if a.status != http.StatusCreated || again.PaymentID != p.PaymentID || again.ValidationInfo == nil ||
		again.ValidationInfo.AuthorizationID != p.ValidationInfo.AuthorizationID {
		t.Fatalf("resent prepare: HTTP %d %s", a.status, a.body)
	}
	if n := len(e.inbox("?msisdn=" + phone)); n != 1 {
		t.Fatalf("%d messages, want the one code", n)
	}
	wantError(t, e.do(http.MethodPost, sktPayments+"/prepare", prepareBody(phone, "ch_dup", "6000", "KRW")), http.StatusBadRequest, "INVALID_ARGUMENT")
	wantError(t, e.do(http.MethodPost, sktPayments, paymentBody(phone, "ch_dup", "5000", "KRW")), http.StatusBadRequest, "INVALID_ARGUMENT")
	// And the other way round: a 1-step payment's correlator cannot prepare.
	if a := e.do(http.MethodPost, sktPayments, paymentBody(phone, "ch_one", "5000", "KRW")); a.status != http.StatusCreated {
		t.Fatalf("createPayment: HTTP %d", a.status)
	}
	wantError(t, e.do(http.MethodPost, sktPayments+"/prepare", prepareBody(phone, "ch_one", "5000", "KRW")), http.StatusBadRequest, "INVALID_ARGUMENT")
}

func TestSecondStepBodies(t *testing.T) {
	e := setup(t)
	const phone = "+821012345678"
	p, _ := e.prepare(phone, "ch_bodies")
	for _, op := range []string{"confirm", "cancel"} {
		path := sktPayments + "/" + p.PaymentID + "/" + op
		tests := []struct {
			body   any
			status int
			code   string
		}{
			{nil, http.StatusBadRequest, "INVALID_ARGUMENT"},
			{"{}", http.StatusBadRequest, "INVALID_ARGUMENT"},
			{`{"other":1}`, http.StatusUnprocessableEntity, "MISSING_IDENTIFIER"},
			{phoneBody("12345"), http.StatusBadRequest, "INVALID_ARGUMENT"},
			{phoneBody("+821099999999"), http.StatusNotFound, "IDENTIFIER_NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %v", op, tt.body), func(t *testing.T) {
				wantError(t, e.do(http.MethodPost, path, tt.body), tt.status, tt.code)
			})
		}
		wantError(t, e.do(http.MethodPost, sktPayments+"/pay_nope/"+op, phoneBody(phone)), http.StatusNotFound, "NOT_FOUND")
	}
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/validate", `{"code":"1"}`), http.StatusBadRequest, "INVALID_ARGUMENT")
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/validate", `{"authorizationId":"a"}`), http.StatusBadRequest, "INVALID_ARGUMENT")
	// Confirming before validating is refused, and changes nothing.
	wantError(t, e.do(http.MethodPost, sktPayments+"/"+p.PaymentID+"/confirm", phoneBody(phone)), http.StatusBadRequest, "INVALID_ARGUMENT")
}
