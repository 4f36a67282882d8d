package sim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestCreatePaymentByTestNumber(t *testing.T) {
	tests := []struct {
		suffix     string
		wantStatus int
		wantCode   string // error code, for refusals
		wantPay    string // paymentStatus, for payments
		billed     bool
	}{
		{"5678", http.StatusCreated, "", "succeeded", true},
		{"0001", http.StatusCreated, "", "succeeded", true},
		{"0002", http.StatusForbidden, "CARRIER_BILLING.PAYMENT_DENIED", "", false},
		{"0003", http.StatusUnprocessableEntity, "SERVICE_NOT_APPLICABLE", "", false},
		{"0004", http.StatusUnprocessableEntity, "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED", "", false},
		{"0005", http.StatusCreated, "", "processing", false},
		{"0007", http.StatusServiceUnavailable, "UNAVAILABLE", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.suffix, func(t *testing.T) {
			e := setup(t)
			ref := "ch_" + tt.suffix
			a := e.do(http.MethodPost, sktPayments, paymentBody("+82101234"+tt.suffix, ref, "5000", "KRW"),
				"x-correlator", "corr-"+tt.suffix)
			if a.status != tt.wantStatus {
				t.Fatalf("HTTP %d %s, want %d", a.status, a.body, tt.wantStatus)
			}
			if got := a.header.Get("x-correlator"); got != "corr-"+tt.suffix {
				t.Errorf("x-correlator echoed %q", got)
			}
			if tt.wantCode != "" {
				if e := a.apiError(t); e.Code != tt.wantCode || e.Status != tt.wantStatus || e.Message == "" {
					t.Errorf("error %+v, want code %s", e, tt.wantCode)
				}
			} else {
				var p payment
				a.decode(t, &p)
				if p.PaymentStatus != tt.wantPay || p.PaymentID == "" || p.AmountTransaction.ClientCorrelator != ref {
					t.Errorf("payment %+v, want status %s", p, tt.wantPay)
				}
				if p.AmountTransaction.PaymentAmount.ChargingInformation.Amount != "5000" {
					t.Errorf("amount echoed as %s", p.AmountTransaction.PaymentAmount.ChargingInformation.Amount)
				}
			}
			if rows := e.ledger("?carrier=skt"); (len(rows) == 1) != tt.billed {
				t.Errorf("ledger %+v, billed = %v", rows, tt.billed)
			}
		})
	}
}

func TestAsyncPaymentSettlesAfterOneSecond(t *testing.T) {
	e := setup(t)
	var p payment
	e.do(http.MethodPost, sktPayments, paymentBody("+821012340005", "ch_async", "19.99", "USD"), nil...).decode(t, &p)
	if p.PaymentStatus != "processing" {
		t.Fatalf("created %s", p.PaymentStatus)
	}
	get := func() payment {
		var got payment
		e.do(http.MethodGet, sktPayments+"/"+p.PaymentID, nil).decode(t, &got)
		return got
	}
	e.clock.Advance(999 * time.Millisecond)
	if got := get(); got.PaymentStatus != "processing" {
		t.Fatalf("after 999ms: %s", got.PaymentStatus)
	}
	if n := len(e.ledger("")); n != 0 {
		t.Fatalf("ledger has %d rows before settlement", n)
	}
	e.clock.Advance(time.Millisecond)
	if got := get(); got.PaymentStatus != "succeeded" {
		t.Fatalf("after 1s: %s", got.PaymentStatus)
	}
	rows := e.ledger("?carrier=skt")
	if len(rows) != 1 || rows[0].Amount != 1999 || rows[0].Currency != "USD" || rows[0].Status != "succeeded" {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestBillThenHang(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // long enough to write the request on a busy machine
	defer cancel()
	_, err := e.send(ctx, http.MethodPost, sktPayments, paymentBody("+821012340006", "ch_hang", "5000", "KRW"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The carrier billed before it stopped answering; its books tell.
	// The client gave up; the carrier's handler may still be on its way
	// to the books.
	var rows []ledgerRow
	eventually(t, "the charge reaches the books", func() bool {
		rows = e.ledger("?carrier=skt")
		return len(rows) > 0
	})
	if len(rows) != 1 || rows[0].ClientReference != "ch_hang" || rows[0].Status != "succeeded" {
		t.Fatalf("ledger %+v", rows)
	}
	var list []payment
	e.do(http.MethodGet, sktPayments+"?clientCorrelator=ch_hang", nil).decode(t, &list)
	if len(list) != 1 || list[0].PaymentStatus != "succeeded" {
		t.Fatalf("retrievePayments by clientCorrelator: %+v", list)
	}
	// A retry with the same clientCorrelator is answered at once, not billed again.
	a := e.do(http.MethodPost, sktPayments, paymentBody("+821012340006", "ch_hang", "5000", "KRW"))
	var p payment
	a.decode(t, &p)
	if a.status != http.StatusCreated || p.PaymentID != list[0].PaymentID {
		t.Fatalf("retry: HTTP %d %s", a.status, a.body)
	}
	if n := len(e.ledger("")); n != 1 {
		t.Fatalf("ledger has %d rows", n)
	}
}

func TestUnavailableOncePerCorrelator(t *testing.T) {
	e := setup(t)
	body := paymentBody("+821012340007", "ch_503", "5000", "KRW")
	a := e.do(http.MethodPost, sktPayments, body)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" {
		t.Fatalf("first: HTTP %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	if n := len(e.ledger("")); n != 0 {
		t.Fatalf("billed on a 503")
	}
	if a := e.do(http.MethodPost, sktPayments, body); a.status != http.StatusCreated {
		t.Fatalf("second: HTTP %d %s", a.status, a.body)
	}
	// Another charge on the same number gets its own first 503.
	if a := e.do(http.MethodPost, sktPayments, paymentBody("+821012340007", "ch_503b", "5000", "KRW")); a.status != http.StatusServiceUnavailable {
		t.Fatalf("new correlator: HTTP %d", a.status)
	}
}

func TestCorrelatorDedupeUnderConcurrency(t *testing.T) {
	e := setup(t)
	const n = 50
	body := paymentBody("+821012345678", "ch_same", "5000", "KRW")
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.send(context.Background(), http.MethodPost, sktPayments, body)
			if err != nil || a.status != http.StatusCreated {
				t.Errorf("request %d: %v HTTP %d %s", i, err, a.status, a.body)
				return
			}
			var p payment
			a.decode(t, &p)
			ids[i] = p.PaymentID
		}()
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("payment ids differ: %q and %q", ids[0], ids[i])
		}
	}
	rows := e.ledger("?carrier=skt")
	if len(rows) != 1 || rows[0].CarrierReference != ids[0] || rows[0].ClientReference != "ch_same" {
		t.Fatalf("ledger %+v", rows)
	}
	st := e.stats().Carriers["skt"]
	if st.ChargesBilled != 1 || st.Duplicates != n-1 || st.Requests["create_payment"] != n {
		t.Fatalf("stats %+v", st)
	}
}

func TestCorrelatorReusedForAnotherRequest(t *testing.T) {
	e := setup(t)
	e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_x", "5000", "KRW"))
	a := e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", "ch_x", "6000", "KRW"))
	if a.status != http.StatusBadRequest || a.apiError(t).Code != "INVALID_ARGUMENT" {
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
	// The same referenceCode without a clientCorrelator is a duplicate payment.
	body := paymentBody("+821012345678", "", "5000", "KRW")
	body["amountTransaction"].(map[string]any)["referenceCode"] = "ch_x"
	if a := e.do(http.MethodPost, sktPayments, body); a.status != http.StatusConflict || a.apiError(t).Code != "ALREADY_EXISTS" {
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
}

func TestCreatePaymentValidation(t *testing.T) {
	valid := func() map[string]any { return paymentBody("+821012345678", "ch_v", "19.99", "USD") }
	ci := func(b map[string]any) map[string]any {
		return b["amountTransaction"].(map[string]any)["paymentAmount"].(map[string]any)["chargingInformation"].(map[string]any)
	}
	tests := []struct {
		name       string
		body       any
		header     []string
		wantStatus int
		wantCode   string
	}{
		{"no body", nil, nil, 400, "INVALID_ARGUMENT"},
		{"empty object", "{}", nil, 400, "INVALID_ARGUMENT"},
		{"not JSON", "{", nil, 400, "INVALID_ARGUMENT"},
		{"no referenceCode", func() any { b := valid(); delete(b["amountTransaction"].(map[string]any), "referenceCode"); return b }(), nil, 400, "INVALID_ARGUMENT"},
		{"no amount", func() any { b := valid(); delete(ci(b), "amount"); return b }(), nil, 400, "INVALID_ARGUMENT"},
		{"no description", func() any { b := valid(); delete(ci(b), "description"); return b }(), nil, 400, "INVALID_ARGUMENT"},
		{"zero amount", paymentBody("+821012345678", "ch_v", "0", "USD"), nil, 400, "INVALID_ARGUMENT"},
		{"negative amount", paymentBody("+821012345678", "ch_v", "-1.00", "USD"), nil, 400, "INVALID_ARGUMENT"},
		{"amount as string", func() any { b := valid(); ci(b)["amount"] = "19.99"; return b }(), nil, 400, "INVALID_ARGUMENT"},
		{"too many decimals", paymentBody("+821012345678", "ch_v", "19.999", "USD"), nil, 400, "INVALID_ARGUMENT"},
		{"decimals on KRW", paymentBody("+821012345678", "ch_v", "5000.5", "KRW"), nil, 400, "INVALID_ARGUMENT"},
		{"lowercase currency", paymentBody("+821012345678", "ch_v", "19.99", "usd"), nil, 400, "INVALID_ARGUMENT"},
		{"phone without plus", paymentBody("821012345678", "ch_v", "19.99", "USD"), nil, 400, "INVALID_ARGUMENT"},
		{"phone too short", paymentBody("+8210", "ch_v", "19.99", "USD"), nil, 400, "INVALID_ARGUMENT"},
		{"no phone", func() any { b := valid(); delete(b["amountTransaction"].(map[string]any), "phoneNumber"); return b }(), nil, 422, "MISSING_IDENTIFIER"},
		{"http sink", func() any { b := valid(); b["sink"] = "http://example.com/cb"; return b }(), nil, 400, "INVALID_SINK"},
		{"bad x-correlator", valid(), []string{"x-correlator", "has spaces"}, 400, "INVALID_ARGUMENT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			a := e.do(http.MethodPost, sktPayments, tt.body, tt.header...)
			if a.status != tt.wantStatus {
				t.Fatalf("HTTP %d %s, want %d", a.status, a.body, tt.wantStatus)
			}
			if got := a.apiError(t); got.Code != tt.wantCode || got.Status != tt.wantStatus {
				t.Fatalf("error %+v, want %s", got, tt.wantCode)
			}
			if n := len(e.ledger("")); n != 0 {
				t.Fatalf("an invalid request billed")
			}
		})
	}
}

func TestAmountsOnTheWire(t *testing.T) {
	tests := []struct {
		amount, currency string
		minor            int64
	}{
		{"5000", "KRW", 5000},
		{"19.99", "USD", 1999},
		{"0.05", "EUR", 5},
		{"1.234", "BHD", 1234},
		{"12", "USD", 1200},
		{"1.5", "GBP", 150},
	}
	for i, tt := range tests {
		t.Run(tt.amount+tt.currency, func(t *testing.T) {
			e := setup(t)
			a := e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", fmt.Sprint("ch_", i), tt.amount, tt.currency))
			if a.status != http.StatusCreated {
				t.Fatalf("HTTP %d %s", a.status, a.body)
			}
			rows := e.ledger("")
			if len(rows) != 1 || rows[0].Amount != tt.minor || rows[0].Currency != tt.currency {
				t.Fatalf("ledger %+v, want %d %s", rows, tt.minor, tt.currency)
			}
		})
	}
}

func TestRetrievePaymentsFiltersAndPages(t *testing.T) {
	e := setup(t)
	for i := range 12 {
		e.do(http.MethodPost, sktPayments, paymentBody("+821012345678", fmt.Sprint("ch_", i), "5000", "KRW"))
		e.clock.Advance(time.Second)
	}
	a := e.do(http.MethodGet, sktPayments, nil)
	var list []payment
	a.decode(t, &list)
	if len(list) != 10 || a.header.Get("X-Total-Count") != "12" || a.header.Get("Content-Last-Key") != "10" {
		t.Fatalf("first page: %d items, headers %v", len(list), a.header)
	}
	if list[0].AmountTransaction.ClientCorrelator != "ch_11" {
		t.Fatalf("not newest first: %s", list[0].AmountTransaction.ClientCorrelator)
	}
	e.do(http.MethodGet, sktPayments+"?page=2&order=asc", nil).decode(t, &list)
	if len(list) != 2 || list[0].AmountTransaction.ClientCorrelator != "ch_10" {
		t.Fatalf("second page ascending: %+v", list)
	}
	e.do(http.MethodGet, sktPayments+"?clientCorrelator=ch_3", nil).decode(t, &list)
	if len(list) != 1 || list[0].AmountTransaction.ClientCorrelator != "ch_3" {
		t.Fatalf("by clientCorrelator: %+v", list)
	}
	e.do(http.MethodGet, sktPayments+"?clientCorrelator=nope", nil).decode(t, &list)
	if len(list) != 0 {
		t.Fatalf("unknown clientCorrelator: %+v", list)
	}
	bad := e.do(http.MethodGet, sktPayments+"?paymentCreationDate.gte=2026-11-25T00:00:00Z&paymentCreationDate.lte=2026-11-24T00:00:00Z", nil)
	if bad.status != 400 || bad.apiError(t).Code != "CARRIER_BILLING.INVALID_DATE_RANGE" {
		t.Fatalf("bad range: HTTP %d %s", bad.status, bad.body)
	}
	if a := e.do(http.MethodGet, sktPayments+"/pay_nope", nil); a.status != 404 || a.apiError(t).Code != "NOT_FOUND" {
		t.Fatalf("unknown payment: HTTP %d %s", a.status, a.body)
	}
}

func TestUnknownCarrierAndPath(t *testing.T) {
	e := setup(t)
	for _, path := range []string{
		"/sim/lgu/camara/carrier-billing/v0.5/payments",
		"/sim/skt/camara/nothing-here",
		"/sim/ledger?carrier=lgu",
	} {
		a := e.do(http.MethodGet, path, nil)
		if a.status != http.StatusNotFound || a.apiError(t).Code != "NOT_FOUND" {
			t.Errorf("%s: HTTP %d %s", path, a.status, a.body)
		}
	}
}
