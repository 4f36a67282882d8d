package sim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// oneAPIPath is kt's OneAPI amount-transactions collection for phone.
func oneAPIPath(phone string) string {
	return "/sim/kt/oneapi/payment/v3/tel%3A%2B" + strings.TrimPrefix(phone, "+") + "/transactions/amount"
}

// oneAPIBody is a valid OneAPI amount transaction asking for op.
func oneAPIBody(phone, correlator, amount, currency, op string) map[string]any {
	return map[string]any{"amountTransaction": map[string]any{
		"endUserId":        "tel:" + phone,
		"clientCorrelator": correlator,
		"referenceCode":    correlator,
		"paymentAmount": map[string]any{
			"chargingInformation": map[string]any{"amount": amount, "currency": currency, "description": "500 gems"},
			"chargingMetaData":    map[string]any{"onBehalfOf": "mer_123"},
		},
		"transactionOperationStatus": op,
	}}
}

func oneAPIRefundBody(phone, correlator, original, amount, currency string) map[string]any {
	b := oneAPIBody(phone, correlator, amount, currency, "Refunded")
	b["amountTransaction"].(map[string]any)["originalServerReferenceCode"] = original
	return b
}

// oneAPITxn is the part of an amount transaction the tests read.
type oneAPITxn struct {
	EndUserID        string `json:"endUserId"`
	ClientCorrelator string `json:"clientCorrelator"`
	PaymentAmount    struct {
		ChargingInformation struct {
			Amount   string `json:"amount"`
			Currency string `json:"currency"`
		} `json:"chargingInformation"`
		TotalAmountCharged  string `json:"totalAmountCharged"`
		TotalAmountRefunded string `json:"totalAmountRefunded"`
	} `json:"paymentAmount"`
	ReferenceCode               string `json:"referenceCode"`
	OriginalServerReferenceCode string `json:"originalServerReferenceCode"`
	ServerReferenceCode         string `json:"serverReferenceCode"`
	ResourceURL                 string `json:"resourceURL"`
	TransactionOperationStatus  string `json:"transactionOperationStatus"`
}

func (a answer) oneAPITxn(t *testing.T) oneAPITxn {
	t.Helper()
	var b struct {
		AmountTransaction oneAPITxn `json:"amountTransaction"`
	}
	a.decode(t, &b)
	return b.AmountTransaction
}

func (a answer) oneAPIList(t *testing.T) []oneAPITxn {
	t.Helper()
	var b struct {
		List struct {
			AmountTransaction []oneAPITxn `json:"amountTransaction"`
		} `json:"paymentTransactionList"`
	}
	a.decode(t, &b)
	return b.List.AmountTransaction
}

// oneAPIException is the exception in a requestError; kind is
// "serviceException" or "policyException".
type oneAPIException struct {
	kind      string
	MessageID string   `json:"messageId"`
	Text      string   `json:"text"`
	Variables []string `json:"variables"`
}

func (a answer) oneAPIError(t *testing.T) oneAPIException {
	t.Helper()
	var b struct {
		RequestError map[string]oneAPIException `json:"requestError"`
	}
	a.decode(t, &b)
	if len(b.RequestError) != 1 {
		t.Fatalf("requestError %s", a.body)
	}
	for kind, e := range b.RequestError {
		e.kind = kind
		return e
	}
	return oneAPIException{}
}

// oneAPIStats is the part of GET /sim/stats these tests read.
type oneAPIStats struct {
	Requests        map[string]int64 `json:"requests"`
	ChargesBilled   int64            `json:"charges_billed"`
	ChargesDeclined int64            `json:"charges_declined"`
	UnavailableOnce int64            `json:"unavailable_once"`
	Refunds         int64            `json:"refunds"`
	RefundsRefused  int64            `json:"refunds_refused"`
	Duplicates      int64            `json:"duplicates"`
}

func (e *env) oneAPIStats() oneAPIStats {
	e.t.Helper()
	var s struct {
		Carriers map[string]oneAPIStats `json:"carriers"`
	}
	e.do(http.MethodGet, "/sim/stats", nil).decode(e.t, &s)
	return s.Carriers["kt"]
}

func TestOneAPIChargeByTestNumber(t *testing.T) {
	tests := []struct {
		suffix     string
		wantStatus int
		wantKind   string // exception kind, for refusals
		wantID     string // messageId, for refusals
		wantOp     string // transactionOperationStatus, for transactions
		billed     bool
	}{
		{"5678", http.StatusCreated, "", "", "Charged", true},
		{"0001", http.StatusCreated, "", "", "Charged", true},
		{"0002", http.StatusForbidden, "policyException", "POL1000", "", false},
		{"0003", http.StatusForbidden, "policyException", "POL3000", "", false},
		{"0004", http.StatusForbidden, "policyException", "POL1001", "", false},
		{"0005", http.StatusCreated, "", "", "Processing", false},
		{"0007", http.StatusServiceUnavailable, "serviceException", "SVC0001", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.suffix, func(t *testing.T) {
			e := setup(t)
			phone, ref := "+82101234"+tt.suffix, "ch_"+tt.suffix
			a := e.do(http.MethodPost, oneAPIPath(phone), oneAPIBody(phone, ref, "5000", "KRW", "Charged"))
			if a.status != tt.wantStatus {
				t.Fatalf("HTTP %d %s, want %d", a.status, a.body, tt.wantStatus)
			}
			if tt.wantID != "" {
				if ex := a.oneAPIError(t); ex.kind != tt.wantKind || ex.MessageID != tt.wantID || ex.Text == "" {
					t.Errorf("exception %+v, want %s %s", ex, tt.wantKind, tt.wantID)
				}
			} else {
				tx := a.oneAPITxn(t)
				if tx.TransactionOperationStatus != tt.wantOp || tx.ServerReferenceCode == "" || tx.ClientCorrelator != ref ||
					tx.EndUserID != "tel:"+phone || tx.ReferenceCode != ref || tx.PaymentAmount.ChargingInformation.Amount != "5000" {
					t.Errorf("transaction %+v, want %s", tx, tt.wantOp)
				}
				wantURL := e.srv.URL + oneAPIPath(phone) + "/" + tx.ServerReferenceCode
				if tx.ResourceURL != wantURL || a.header.Get("Location") != wantURL {
					t.Errorf("resourceURL %s, Location %s, want %s", tx.ResourceURL, a.header.Get("Location"), wantURL)
				}
				if (tx.PaymentAmount.TotalAmountCharged == "5000") != tt.billed {
					t.Errorf("totalAmountCharged %q", tx.PaymentAmount.TotalAmountCharged)
				}
			}
			rows := e.ledger("?carrier=kt")
			if (len(rows) == 1) != tt.billed {
				t.Fatalf("ledger %+v, billed = %v", rows, tt.billed)
			}
			if tt.billed && (rows[0].ClientReference != ref || rows[0].Amount != 5000) {
				t.Fatalf("ledger %+v", rows)
			}
			if n := e.oneAPIStats().Requests["create_payment"]; n != 1 {
				t.Fatalf("create_payment = %d", n)
			}
		})
	}
}

func TestOneAPIChargingLimitNamesThePeriod(t *testing.T) {
	e := setup(t)
	a := e.do(http.MethodPost, oneAPIPath("+821012340004"), oneAPIBody("+821012340004", "ch_l", "5000", "KRW", "Charged"))
	ex := a.oneAPIError(t)
	if ex.Text != "The %1 operator charging limit for this user has been exceeded" || len(ex.Variables) != 1 || ex.Variables[0] != "monthly" {
		t.Fatalf("%+v", ex)
	}
}

func TestOneAPIAsyncChargeSettlesAfterOneSecond(t *testing.T) {
	e := setup(t)
	phone := "+821012340005"
	created := e.do(http.MethodPost, oneAPIPath(phone), oneAPIBody(phone, "ch_async", "19.99", "USD", "Charged")).oneAPITxn(t)
	if created.TransactionOperationStatus != "Processing" {
		t.Fatalf("created %+v", created)
	}
	get := func() oneAPITxn {
		a := e.do(http.MethodGet, oneAPIPath(phone)+"/"+created.ServerReferenceCode, nil)
		if a.status != http.StatusOK {
			t.Fatalf("HTTP %d %s", a.status, a.body)
		}
		return a.oneAPITxn(t)
	}
	e.clock.Advance(999 * time.Millisecond)
	if got := get(); got.TransactionOperationStatus != "Processing" {
		t.Fatalf("after 999ms: %s", got.TransactionOperationStatus)
	}
	if n := len(e.ledger("")); n != 0 {
		t.Fatalf("ledger has %d rows before settlement", n)
	}
	e.clock.Advance(time.Millisecond)
	if got := get(); got.TransactionOperationStatus != "Charged" || got.PaymentAmount.TotalAmountCharged != "19.99" {
		t.Fatalf("after 1s: %+v", got)
	}
	rows := e.ledger("?carrier=kt")
	if len(rows) != 1 || rows[0].Amount != 1999 || rows[0].Currency != "USD" || rows[0].ClientReference != "ch_async" {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestOneAPIBillThenHang(t *testing.T) {
	e := setup(t)
	phone := "+821012340006"
	body := oneAPIBody(phone, "ch_hang", "5000", "KRW", "Charged")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // long enough to write the request on a busy machine
	defer cancel()
	if _, err := e.send(ctx, http.MethodPost, oneAPIPath(phone), body); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the client's deadline", err)
	}
	// The client gave up; the carrier's handler may still be on its way
	// to the books.
	var rows []ledgerRow
	eventually(t, "the charge reaches the books", func() bool {
		rows = e.ledger("?carrier=kt")
		return len(rows) > 0
	})
	if len(rows) != 1 || rows[0].ClientReference != "ch_hang" || rows[0].Status != "succeeded" {
		t.Fatalf("ledger %+v", rows)
	}
	list := e.do(http.MethodGet, oneAPIPath(phone)+"?clientCorrelator=ch_hang", nil).oneAPIList(t)
	if len(list) != 1 || list[0].TransactionOperationStatus != "Charged" || list[0].ServerReferenceCode != rows[0].CarrierReference {
		t.Fatalf("list by clientCorrelator: %+v", list)
	}
	// A retry with the same clientCorrelator is answered at once, not billed again.
	a := e.do(http.MethodPost, oneAPIPath(phone), body)
	if a.status != http.StatusCreated || a.oneAPITxn(t).ServerReferenceCode != list[0].ServerReferenceCode {
		t.Fatalf("retry: HTTP %d %s", a.status, a.body)
	}
	if n := len(e.ledger("")); n != 1 {
		t.Fatalf("ledger has %d rows", n)
	}
}

func TestOneAPIUnavailableOncePerCorrelator(t *testing.T) {
	e := setup(t)
	phone := "+821012340007"
	body := oneAPIBody(phone, "ch_503", "5000", "KRW", "Charged")
	a := e.do(http.MethodPost, oneAPIPath(phone), body)
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" {
		t.Fatalf("first: HTTP %d Retry-After %q", a.status, a.header.Get("Retry-After"))
	}
	if n := len(e.ledger("")); n != 0 {
		t.Fatalf("billed on a 503")
	}
	if a := e.do(http.MethodPost, oneAPIPath(phone), body); a.status != http.StatusCreated {
		t.Fatalf("second: HTTP %d %s", a.status, a.body)
	}
	if a := e.do(http.MethodPost, oneAPIPath(phone), oneAPIBody(phone, "ch_503b", "5000", "KRW", "Charged")); a.status != http.StatusServiceUnavailable {
		t.Fatalf("new correlator: HTTP %d", a.status)
	}
	// The CAMARA API of the same carrier keeps its own first 503.
	if a := e.do(http.MethodPost, "/sim/kt/camara/carrier-billing/v0.5/payments", paymentBody(phone, "ch_503", "5000", "KRW")); a.status != http.StatusServiceUnavailable {
		t.Fatalf("camara: HTTP %d", a.status)
	}
	if st := e.oneAPIStats(); st.UnavailableOnce != 3 || st.ChargesBilled != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOneAPICorrelatorDedupeUnderConcurrency(t *testing.T) {
	e := setup(t)
	const n = 50
	phone := "+821012345678"
	body := oneAPIBody(phone, "ch_same", "5000", "KRW", "Charged")
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.send(context.Background(), http.MethodPost, oneAPIPath(phone), body)
			if err != nil || a.status != http.StatusCreated {
				t.Errorf("request %d: %v HTTP %d %s", i, err, a.status, a.body)
				return
			}
			ids[i] = a.oneAPITxn(t).ServerReferenceCode
		}()
	}
	wg.Wait()
	for i := range ids {
		if ids[i] != ids[0] {
			t.Fatalf("server reference codes differ: %q and %q", ids[0], ids[i])
		}
	}
	rows := e.ledger("?carrier=kt")
	if len(rows) != 1 || rows[0].CarrierReference != ids[0] || rows[0].ClientReference != "ch_same" {
		t.Fatalf("ledger %+v", rows)
	}
	st := e.oneAPIStats()
	if st.ChargesBilled != 1 || st.Duplicates != n-1 || st.Requests["create_payment"] != n {
		t.Fatalf("stats %+v", st)
	}
}

func TestOneAPIRefundDedupeUnderConcurrency(t *testing.T) {
	e := setup(t)
	const n = 20
	phone := "+821012345678"
	srv := e.do(http.MethodPost, oneAPIPath(phone), oneAPIBody(phone, "ch_r", "10.00", "USD", "Charged")).oneAPITxn(t).ServerReferenceCode
	body := oneAPIRefundBody(phone, "re_same", srv, "4.00", "USD")
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if a, err := e.send(context.Background(), http.MethodPost, oneAPIPath(phone), body); err != nil || a.status != http.StatusCreated {
				t.Errorf("%v HTTP %d %s", err, a.status, a.body)
			}
		}()
	}
	wg.Wait()
	if rows := e.ledger("?carrier=kt"); len(rows) != 1 || rows[0].RefundedAmount != 400 {
		t.Fatalf("ledger %+v", rows)
	}
	if st := e.oneAPIStats(); st.Refunds != 1 || st.Requests["create_refund"] != n {
		t.Fatalf("stats %+v", st)
	}
}

func TestOneAPICorrelatorReusedForAnotherRequest(t *testing.T) {
	e := setup(t)
	phone := "+821012345678"
	first := e.do(http.MethodPost, oneAPIPath(phone), oneAPIBody(phone, "ch_x", "5000", "KRW", "Charged")).oneAPITxn(t)
	for name, body := range map[string]any{
		"other amount": oneAPIBody(phone, "ch_x", "6000", "KRW", "Charged"),
		"as a refund":  oneAPIRefundBody(phone, "ch_x", first.ServerReferenceCode, "1000", "KRW"),
		"other msisdn": oneAPIBody("+821099990000", "ch_x", "5000", "KRW", "Charged"),
		"other refcode": func() any {
			b := oneAPIBody(phone, "ch_x", "5000", "KRW", "Charged")
			b["amountTransaction"].(map[string]any)["referenceCode"] = "other"
			return b
		}(),
	} {
		path := oneAPIPath(phone)
		if name == "other msisdn" {
			path = oneAPIPath("+821099990000")
		}
		a := e.do(http.MethodPost, path, body)
		if a.status != http.StatusBadRequest {
			t.Fatalf("%s: HTTP %d %s", name, a.status, a.body)
		}
		if ex := a.oneAPIError(t); ex.kind != "serviceException" || ex.MessageID != "SVC0005" || len(ex.Variables) != 2 || ex.Variables[0] != "ch_x" {
			t.Fatalf("%s: %+v", name, ex)
		}
	}
	if rows := e.ledger(""); len(rows) != 1 || rows[0].RefundedAmount != 0 {
		t.Fatalf("ledger %+v", rows)
	}
}

func TestOneAPICreateValidation(t *testing.T) {
	phone := "+821012345678"
	valid := func() map[string]any { return oneAPIBody(phone, "ch_v", "19.99", "USD", "Charged") }
	at := func(b map[string]any) map[string]any { return b["amountTransaction"].(map[string]any) }
	ci := func(b map[string]any) map[string]any {
		return at(b)["paymentAmount"].(map[string]any)["chargingInformation"].(map[string]any)
	}
	with := func(f func(b map[string]any)) any { b := valid(); f(b); return b }
	tests := []struct {
		name     string
		path     string // default: the phone's collection
		body     any
		wantID   string
		wantPart string // the message part named, for SVC0002
	}{
		{"no body", "", nil, "SVC0002", "amountTransaction"},
		{"empty object", "", "{}", "SVC0002", "amountTransaction"},
		{"not JSON", "", "{", "SVC0002", ""},
		{"no endUserId", "", with(func(b map[string]any) { delete(at(b), "endUserId") }), "SVC0002", "endUserId"},
		{"endUserId differs from path", "", with(func(b map[string]any) { at(b)["endUserId"] = "tel:+821099990000" }), "SVC0002", "endUserId"},
		{"endUserId without tel", "", with(func(b map[string]any) { at(b)["endUserId"] = phone }), "SVC0002", "endUserId"},
		{"bad endUserId in path", "/sim/kt/oneapi/payment/v3/tel%3A12345/transactions/amount", valid(), "SVC0004", ""},
		{"path without tel", "/sim/kt/oneapi/payment/v3/%2B821012345678/transactions/amount", valid(), "SVC0004", ""},
		{"no transactionOperationStatus", "", with(func(b map[string]any) { delete(at(b), "transactionOperationStatus") }), "SVC0002", "transactionOperationStatus"},
		{"reservation", "", with(func(b map[string]any) { at(b)["transactionOperationStatus"] = "Reserved" }), "SVC0003", ""},
		{"no referenceCode", "", with(func(b map[string]any) { delete(at(b), "referenceCode") }), "SVC0002", "referenceCode"},
		{"no paymentAmount", "", with(func(b map[string]any) { delete(at(b), "paymentAmount") }), "SVC0002", "paymentAmount"},
		{"no amount", "", with(func(b map[string]any) { delete(ci(b), "amount") }), "SVC0002", "paymentAmount.chargingInformation.amount"},
		{"no currency", "", with(func(b map[string]any) { delete(ci(b), "currency") }), "SVC0002", "paymentAmount.chargingInformation.currency"},
		{"no description", "", with(func(b map[string]any) { delete(ci(b), "description") }), "SVC0002", "paymentAmount.chargingInformation.description"},
		{"zero amount", "", oneAPIBody(phone, "ch_v", "0", "USD", "Charged"), "SVC0007", ""},
		{"negative amount", "", oneAPIBody(phone, "ch_v", "-1.00", "USD", "Charged"), "SVC0007", ""},
		{"too many decimals", "", oneAPIBody(phone, "ch_v", "19.999", "USD", "Charged"), "SVC0007", ""},
		{"decimals on KRW", "", oneAPIBody(phone, "ch_v", "5000.5", "KRW", "Charged"), "SVC0007", ""},
		{"not a decimal", "", oneAPIBody(phone, "ch_v", "ten", "USD", "Charged"), "SVC0007", ""},
		{"amount as boolean", "", with(func(b map[string]any) { ci(b)["amount"] = true }), "SVC0007", ""},
		{"lowercase currency", "", oneAPIBody(phone, "ch_v", "19.99", "usd", "Charged"), "SVC0007", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			path := tt.path
			if path == "" {
				path = oneAPIPath(phone)
			}
			a := e.do(http.MethodPost, path, tt.body)
			if a.status != http.StatusBadRequest {
				t.Fatalf("HTTP %d %s, want 400", a.status, a.body)
			}
			ex := a.oneAPIError(t)
			if ex.kind != "serviceException" || ex.MessageID != tt.wantID {
				t.Fatalf("exception %+v, want %s", ex, tt.wantID)
			}
			if tt.wantPart != "" && (len(ex.Variables) != 1 || ex.Variables[0] != tt.wantPart) {
				t.Fatalf("variables %v, want %s", ex.Variables, tt.wantPart)
			}
			if n := len(e.ledger("")); n != 0 {
				t.Fatalf("an invalid request billed")
			}
		})
	}
}

func TestOneAPIAmountsOnTheWire(t *testing.T) {
	tests := []struct {
		amount   any
		currency string
		minor    int64
		echo     string
	}{
		{"5000", "KRW", 5000, "5000"},
		{"19.99", "USD", 1999, "19.99"},
		{json.Number("19.99"), "USD", 1999, "19.99"}, // some hubs send numbers
		{json.Number("5000"), "KRW", 5000, "5000"},
		{"0.05", "EUR", 5, "0.05"},
		{"1.234", "BHD", 1234, "1.234"},
		{"12", "USD", 1200, "12.00"},
	}
	for _, tt := range tests {
		e := setup(t)
		phone := "+821012345678"
		b := oneAPIBody(phone, "ch_amt", "", tt.currency, "Charged")
		b["amountTransaction"].(map[string]any)["paymentAmount"].(map[string]any)["chargingInformation"].(map[string]any)["amount"] = tt.amount
		a := e.do(http.MethodPost, oneAPIPath(phone), b)
		if a.status != http.StatusCreated {
			t.Fatalf("%v %s: HTTP %d %s", tt.amount, tt.currency, a.status, a.body)
		}
		if got := a.oneAPITxn(t).PaymentAmount.ChargingInformation.Amount; got != tt.echo {
			t.Errorf("%v %s echoed as %q", tt.amount, tt.currency, got)
		}
		rows := e.ledger("")
		if len(rows) != 1 || rows[0].Amount != tt.minor || rows[0].Currency != tt.currency {
			t.Fatalf("ledger %+v, want %d %s", rows, tt.minor, tt.currency)
		}
	}
}

func TestOneAPIRefunds(t *testing.T) {
	e := setup(t)
	phone := "+821012345678"
	path := oneAPIPath(phone)
	charge := e.do(http.MethodPost, path, oneAPIBody(phone, "ch_r", "10.00", "USD", "Charged")).oneAPITxn(t)
	srv := charge.ServerReferenceCode

	a := e.do(http.MethodPost, path, oneAPIRefundBody(phone, "re_1", srv, "3.00", "USD"))
	rf := a.oneAPITxn(t)
	if a.status != http.StatusCreated || rf.TransactionOperationStatus != "Refunded" || rf.OriginalServerReferenceCode != srv ||
		rf.ServerReferenceCode == "" || rf.ServerReferenceCode == srv || rf.PaymentAmount.TotalAmountRefunded != "3.00" {
		t.Fatalf("partial: HTTP %d %s", a.status, a.body)
	}
	if rows := e.ledger("?carrier=kt"); rows[0].Status != "partially_refunded" || rows[0].RefundedAmount != 300 {
		t.Fatalf("ledger %+v", rows)
	}
	// The same refund again is answered from the first.
	if again := e.do(http.MethodPost, path, oneAPIRefundBody(phone, "re_1", srv, "3.00", "USD")); again.status != http.StatusCreated || again.oneAPITxn(t).ServerReferenceCode != rf.ServerReferenceCode {
		t.Fatalf("retry: HTTP %d %s", again.status, again.body)
	}

	processing := e.do(http.MethodPost, oneAPIPath("+821012340005"), oneAPIBody("+821012340005", "ch_p", "5.00", "USD", "Charged")).oneAPITxn(t)
	refusals := []struct {
		name       string
		path       string
		body       map[string]any
		wantStatus int
		wantID     string
	}{
		{"exceeds what is left", path, oneAPIRefundBody(phone, "re_2", srv, "7.01", "USD"), 403, "POL3001"},
		{"no original", path, oneAPIBody(phone, "re_3", "1.00", "USD", "Refunded"), 403, "POL1005"},
		{"unknown original", path, oneAPIRefundBody(phone, "re_4", "txn_nope", "1.00", "USD"), 403, "POL1006"},
		{"another subscriber's charge", oneAPIPath("+821099990000"), oneAPIRefundBody("+821099990000", "re_5", srv, "1.00", "USD"), 403, "POL1006"},
		{"another currency", path, oneAPIRefundBody(phone, "re_6", srv, "1.00", "EUR"), 400, "SVC0007"},
		{"charge still processing", oneAPIPath("+821012340005"), oneAPIRefundBody("+821012340005", "re_7", processing.ServerReferenceCode, "1.00", "USD"), 403, "POL0001"},
		{"correlator of a refund, other amount", path, oneAPIRefundBody(phone, "re_1", srv, "2.00", "USD"), 400, "SVC0005"},
	}
	for _, tt := range refusals {
		a := e.do(http.MethodPost, tt.path, tt.body)
		if a.status != tt.wantStatus {
			t.Fatalf("%s: HTTP %d %s", tt.name, a.status, a.body)
		}
		if ex := a.oneAPIError(t); ex.MessageID != tt.wantID {
			t.Fatalf("%s: %+v, want %s", tt.name, ex, tt.wantID)
		}
	}

	if a := e.do(http.MethodPost, path, oneAPIRefundBody(phone, "re_8", srv, "7.00", "USD")); a.status != http.StatusCreated {
		t.Fatalf("the rest: HTTP %d %s", a.status, a.body)
	}
	rows := e.ledger("?carrier=kt")
	if len(rows) != 1 || rows[0].Status != "refunded" || rows[0].RefundedAmount != 1000 {
		t.Fatalf("ledger %+v", rows)
	}
	st := e.oneAPIStats()
	if st.Refunds != 2 || st.RefundsRefused != 4 || st.Requests["create_refund"] != 10 || st.Requests["create_payment"] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOneAPIRetrieveAndList(t *testing.T) {
	e := setup(t)
	phone := "+821012345678"
	path := oneAPIPath(phone)
	c1 := e.do(http.MethodPost, path, oneAPIBody(phone, "ch_1", "10.00", "USD", "Charged")).oneAPITxn(t)
	e.clock.Advance(time.Second)
	c2 := e.do(http.MethodPost, path, oneAPIBody(phone, "ch_2", "20.00", "USD", "Charged")).oneAPITxn(t)
	rf := e.do(http.MethodPost, path, oneAPIRefundBody(phone, "re_1", c1.ServerReferenceCode, "1.00", "USD")).oneAPITxn(t)
	e.do(http.MethodPost, oneAPIPath("+821099990000"), oneAPIBody("+821099990000", "ch_other", "1.00", "USD", "Charged"))

	if got := e.do(http.MethodGet, path+"/"+c1.ServerReferenceCode, nil).oneAPITxn(t); got.ClientCorrelator != "ch_1" || got.TransactionOperationStatus != "Charged" {
		t.Fatalf("charge: %+v", got)
	}
	if got := e.do(http.MethodGet, path+"/"+rf.ServerReferenceCode, nil).oneAPITxn(t); got.ClientCorrelator != "re_1" || got.TransactionOperationStatus != "Refunded" {
		t.Fatalf("refund: %+v", got)
	}
	for _, p := range []string{
		path + "/txn_nope",
		path + "/rfd_nope",
		oneAPIPath("+821099990000") + "/" + c1.ServerReferenceCode, // filed under its own subscriber only
		oneAPIPath("+821099990000") + "/" + rf.ServerReferenceCode,
	} {
		a := e.do(http.MethodGet, p, nil)
		if a.status != http.StatusNotFound || a.oneAPIError(t).MessageID != "SVC0002" {
			t.Fatalf("%s: HTTP %d %s", p, a.status, a.body)
		}
	}

	all := e.do(http.MethodGet, path, nil).oneAPIList(t)
	if len(all) != 3 || all[0].ClientCorrelator != "re_1" || all[1].ClientCorrelator != "ch_2" || all[2].ClientCorrelator != "ch_1" {
		t.Fatalf("list, newest first: %+v", all)
	}
	if got := e.do(http.MethodGet, path+"?clientCorrelator=ch_2", nil).oneAPIList(t); len(got) != 1 || got[0].ServerReferenceCode != c2.ServerReferenceCode {
		t.Fatalf("by clientCorrelator: %+v", got)
	}
	empty := e.do(http.MethodGet, path+"?clientCorrelator=nope", nil)
	if got := empty.oneAPIList(t); len(got) != 0 || !strings.Contains(string(empty.body), `"amountTransaction":[]`) {
		t.Fatalf("unknown clientCorrelator: %s", empty.body)
	}
	if a := e.do(http.MethodGet, "/sim/kt/oneapi/payment/v3/tel%3A123/transactions/amount", nil); a.status != http.StatusBadRequest || a.oneAPIError(t).MessageID != "SVC0004" {
		t.Fatalf("bad endUserId: HTTP %d %s", a.status, a.body)
	}

	st := e.oneAPIStats()
	if st.Requests["retrieve_payment"] != 3 || st.Requests["retrieve_refund"] != 3 || st.Requests["retrieve_transactions"] != 4 {
		t.Fatalf("requests %v", st.Requests)
	}
}

func TestOneAPIFaultsAreCountedByOperation(t *testing.T) {
	e := setup(t)
	phone := "+821012345678"
	e.putFaults(`{"carrier":"kt","error_rate":1}`)
	if a := e.do(http.MethodPost, oneAPIPath(phone), oneAPIBody(phone, "ch_f", "5000", "KRW", "Charged")); a.status != http.StatusServiceUnavailable {
		t.Fatalf("charge: HTTP %d", a.status)
	}
	if a := e.do(http.MethodPost, oneAPIPath(phone), oneAPIRefundBody(phone, "re_f", "txn_x", "1", "KRW")); a.status != http.StatusServiceUnavailable {
		t.Fatalf("refund: HTTP %d", a.status)
	}
	st := e.stats().Carriers["kt"]
	if st.Requests["create_payment"] != 1 || st.Requests["create_refund"] != 1 || st.Faults["errors"] != 2 {
		t.Fatalf("stats %+v", st)
	}
	if n := len(e.ledger("")); n != 0 {
		t.Fatalf("billed under a fault")
	}
}

func TestOneAPISMS(t *testing.T) {
	e := setup(t)
	a := e.do(http.MethodPost, "/sim/kt/oneapi/smsmessaging/v1/outbound/tel%3A%2Btollgate/requests",
		smsBody("+821012345678", "Your tollgate code is 482913", "sms_1"))
	if a.status != http.StatusCreated {
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
	if got := e.inbox("?msisdn=%2B821012345678"); len(got) != 1 || got[0].Code != "482913" {
		t.Fatalf("inbox %+v", got)
	}
}

func TestOneAPIUnknownCarrier(t *testing.T) {
	e := setup(t)
	a := e.do(http.MethodPost, "/sim/lgu/oneapi/payment/v3/tel%3A%2B821012345678/transactions/amount",
		oneAPIBody("+821012345678", "ch_1", "5000", "KRW", "Charged"))
	if a.status != http.StatusNotFound {
		t.Fatalf("HTTP %d %s", a.status, a.body)
	}
}
