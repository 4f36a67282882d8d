package sim_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tollgate/carriers/sim"
)

const (
	tpBase   = "/sim/skt/tokenpay/v1"
	tpSecret = "whsec-sim-test-0123456789"
)

// tpEnv is a simulator whose carrier skt speaks the token API and calls back
// to a recorder.
type tpEnv struct {
	*env
	sim  *sim.Simulator
	cb   *httptest.Server
	mu   sync.Mutex
	got  []tpReceived
	fail int // answer 500 to this many callbacks
}

type tpReceived struct {
	header http.Header
	body   []byte
}

func tpSetup(t *testing.T) *tpEnv {
	t.Helper()
	clk := newClock()
	s := sim.New(sim.Options{Carriers: []string{"skt"}, Now: clk.Now, After: clk.After, Seed: 1, Secrets: map[string]string{"skt": tpSecret}})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &tpEnv{env: &env{t: t, srv: srv, clock: clk}, sim: s}
	e.cb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got = append(e.got, tpReceived{header: r.Header.Clone(), body: b})
		fail := e.fail > 0
		e.fail--
		e.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(e.cb.Close)
	return e
}

// awaitCallbacks waits until n callbacks were received, moving the clock
// whenever the simulated back end is parked on it (a slow decision, a
// retry's backoff), and fails the test after a bound only a broken
// simulator reaches.
func (e *tpEnv) awaitCallbacks(n int) []tpReceived {
	e.t.Helper()
	var got []tpReceived
	advanceUntil(e.t, e.clock, 100*time.Millisecond, fmt.Sprintf("%d callbacks", n), func() bool {
		e.mu.Lock()
		got = append([]tpReceived(nil), e.got...)
		e.mu.Unlock()
		return len(got) >= n
	})
	return got
}

type tpErr struct {
	Error struct {
		Code              string `json:"code"`
		Message           string `json:"message"`
		AttemptsRemaining *int   `json:"attempts_remaining"`
	} `json:"error"`
}

func (e *tpEnv) errCode(a answer) tpErr {
	e.t.Helper()
	var x tpErr
	a.decode(e.t, &x)
	if x.Error.Code == "" || x.Error.Message == "" {
		e.t.Fatalf("error body %s", a.body)
	}
	return x
}

// token authorises phone and returns a charging token.
func (e *tpEnv) token(ref, phone string, recurring bool) string {
	e.t.Helper()
	body := map[string]any{"reference": ref, "msisdn": phone, "amount": 5000, "currency": "KRW", "merchant": "Gem Shop", "recurring": recurring}
	a := e.do(http.MethodPost, tpBase+"/authorizations", body)
	if a.status != http.StatusCreated {
		e.t.Fatalf("authorize: HTTP %d %s", a.status, a.body)
	}
	var auth struct {
		ID     string `json:"authorization_id"`
		Status string `json:"status"`
	}
	a.decode(e.t, &auth)
	if auth.ID == "" || auth.Status != "pin_sent" {
		e.t.Fatalf("authorization %s", a.body)
	}
	a = e.do(http.MethodPost, tpBase+"/authorizations/"+auth.ID+"/verify", map[string]any{"pin": e.pin(phone)})
	var v struct {
		Status string `json:"status"`
		Token  string `json:"token"`
	}
	a.decode(e.t, &v)
	if a.status != http.StatusOK || v.Status != "verified" || v.Token == "" {
		e.t.Fatalf("verify: HTTP %d %s", a.status, a.body)
	}
	return v.Token
}

func (e *tpEnv) pin(phone string) string {
	e.t.Helper()
	var box struct {
		Data []struct {
			Code string `json:"code"`
		} `json:"data"`
	}
	e.do(http.MethodGet, "/sim/sms?msisdn="+url.QueryEscape(phone), nil).decode(e.t, &box)
	if len(box.Data) == 0 || box.Data[0].Code == "" {
		e.t.Fatalf("no PIN for %s", phone)
	}
	return box.Data[0].Code
}

func (e *tpEnv) charge(token, ref string, amount int64) answer {
	e.t.Helper()
	return e.do(http.MethodPost, tpBase+"/charges", map[string]any{
		"token": token, "reference": ref, "amount": amount, "currency": "KRW", "description": "500 gems", "callback_url": e.cb.URL + "/hook",
	})
}

func TestTokenPayChargeAcceptedThenCalledBackSigned(t *testing.T) {
	e := tpSetup(t)
	tok := e.token("ch_1", "+821012345678", false)
	a := e.charge(tok, "ch_1", 5000)
	var acc struct {
		ChargeID string `json:"charge_id"`
		Status   string `json:"status"`
	}
	a.decode(t, &acc)
	if a.status != http.StatusAccepted || acc.Status != "accepted" || !strings.HasPrefix(acc.ChargeID, "chg_") {
		t.Fatalf("charge: HTTP %d %s", a.status, a.body)
	}

	cb := e.awaitCallbacks(1)[0]
	// The signature, checked here independently of the adapter.
	parts := strings.Split(cb.header.Get("Tokenpay-Signature"), ",")
	if len(parts) != 2 || !strings.HasPrefix(parts[0], "t=") || !strings.HasPrefix(parts[1], "v1=") {
		t.Fatalf("signature header %q", cb.header.Get("Tokenpay-Signature"))
	}
	ts := strings.TrimPrefix(parts[0], "t=")
	if ts != strconv.FormatInt(e.clock.Now().Unix(), 10) {
		t.Errorf("signed at %s, want the simulator's clock", ts)
	}
	mac := hmac.New(sha256.New, []byte(tpSecret))
	mac.Write([]byte(ts + "." + string(cb.body)))
	if want := hex.EncodeToString(mac.Sum(nil)); strings.TrimPrefix(parts[1], "v1=") != want {
		t.Errorf("v1 = %s, want %s", parts[1], want)
	}
	var body map[string]any
	if err := json.Unmarshal(cb.body, &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type": "charge.completed", "reference": "ch_1", "charge_id": acc.ChargeID, "status": "succeeded",
		"amount": 5000.0, "currency": "KRW", "occurred_at": "2026-11-24T09:00:00Z",
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("callback %s = %v, want %v", k, body[k], v)
		}
	}
	if id, _ := body["message_id"].(string); !strings.HasPrefix(id, "msg_") {
		t.Errorf("message_id %v", body["message_id"])
	}

	// The truth, by reference and by id.
	for _, path := range []string{tpBase + "/charges?reference=ch_1", tpBase + "/charges/" + acc.ChargeID} {
		a := e.do(http.MethodGet, path, nil)
		var ch struct {
			ChargeID string `json:"charge_id"`
			Status   string `json:"status"`
			Amount   int64  `json:"amount"`
		}
		a.decode(t, &ch)
		if a.status != http.StatusOK || ch.ChargeID != acc.ChargeID || ch.Status != "succeeded" || ch.Amount != 5000 {
			t.Errorf("GET %s: HTTP %d %s", path, a.status, a.body)
		}
	}
	if rows := e.ledger("?carrier=skt"); len(rows) != 1 || rows[0].ClientReference != "ch_1" || rows[0].CarrierReference != acc.ChargeID {
		t.Errorf("ledger %+v", rows)
	}
	st := e.stats().Carriers["skt"]
	if st.Requests["create_payment"] != 1 || st.Requests["retrieve_payments"] != 1 || st.Requests["retrieve_payment"] != 1 || st.ChargesBilled != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTokenPayPINRules(t *testing.T) {
	e := tpSetup(t)
	const phone = "+821012345678"
	a := e.do(http.MethodPost, tpBase+"/authorizations", map[string]any{"reference": "ch_p", "msisdn": phone, "amount": 5000, "currency": "KRW"})
	var auth struct {
		ID string `json:"authorization_id"`
	}
	a.decode(t, &auth)
	verify := tpBase + "/authorizations/" + auth.ID + "/verify"
	pin := e.pin(phone)
	wrong := "000000"
	if pin == wrong {
		wrong = "999999"
	}
	for left := 2; left >= 0; left-- {
		a := e.do(http.MethodPost, verify, map[string]any{"pin": wrong})
		x := e.errCode(a)
		if a.status != http.StatusUnprocessableEntity || x.Error.Code != "invalid_pin" || x.Error.AttemptsRemaining == nil || *x.Error.AttemptsRemaining != left {
			t.Fatalf("wrong PIN: HTTP %d %s, want %d attempts left", a.status, a.body, left)
		}
	}
	a = e.do(http.MethodPost, verify, map[string]any{"pin": pin})
	if x := e.errCode(a); a.status != http.StatusGone || x.Error.Code != "too_many_attempts" {
		t.Fatalf("after three wrong PINs: HTTP %d %s", a.status, a.body)
	}

	// Expiry runs on the simulator's clock.
	a = e.do(http.MethodPost, tpBase+"/authorizations", map[string]any{"reference": "ch_q", "msisdn": phone, "amount": 5000, "currency": "KRW"})
	a.decode(t, &auth)
	e.clock.Advance(5 * time.Minute)
	pin = e.pin(phone)
	e.clock.Advance(time.Second)
	a = e.do(http.MethodPost, tpBase+"/authorizations/"+auth.ID+"/verify", map[string]any{"pin": pin})
	if x := e.errCode(a); a.status != http.StatusGone || x.Error.Code != "pin_expired" {
		t.Fatalf("expired PIN: HTTP %d %s", a.status, a.body)
	}
}

func TestTokenPayUnavailableOnce(t *testing.T) {
	e := tpSetup(t)
	tok := e.token("ch_7", "+821012340007", false)
	a := e.charge(tok, "ch_7", 5000)
	if x := e.errCode(a); a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" || x.Error.Code != "temporarily_unavailable" {
		t.Fatalf("first 0007 charge: HTTP %d %q %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if a := e.do(http.MethodGet, tpBase+"/charges?reference=ch_7", nil); a.status != http.StatusNotFound {
		t.Fatalf("the refused charge exists: HTTP %d %s", a.status, a.body)
	}
	if a := e.charge(tok, "ch_7", 5000); a.status != http.StatusAccepted {
		t.Fatalf("second 0007 charge: HTTP %d %s", a.status, a.body)
	}
	e.awaitCallbacks(1)
}

func TestTokenPayRequestErrors(t *testing.T) {
	e := tpSetup(t)
	tok := e.token("ch_e", "+821012345678", false)
	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"no token", "/charges", map[string]any{"reference": "r", "amount": 1, "currency": "KRW"}, 400, "invalid_request"},
		{"unknown token", "/charges", map[string]any{"token": "tok_x", "reference": "r", "amount": 1, "currency": "KRW"}, 422, "invalid_token"},
		{"fractional amount", "/charges", map[string]any{"token": tok, "reference": "r", "amount": 1.5, "currency": "KRW"}, 400, "invalid_request"},
		{"over the authorised amount", "/charges", map[string]any{"token": tok, "reference": "r", "amount": 5001, "currency": "KRW"}, 422, "amount_not_authorized"},
		{"other currency", "/charges", map[string]any{"token": tok, "reference": "r", "amount": 1, "currency": "USD"}, 422, "amount_not_authorized"},
		{"relative callback", "/charges", map[string]any{"token": tok, "reference": "r", "amount": 1, "currency": "KRW", "callback_url": "/hook"}, 400, "invalid_request"},
		{"bad msisdn", "/authorizations", map[string]any{"reference": "a", "msisdn": "0101234", "amount": 1, "currency": "KRW"}, 400, "invalid_request"},
		{"one-off without amount", "/authorizations", map[string]any{"reference": "a", "msisdn": "+821012345678"}, 400, "invalid_request"},
		{"refund of nothing", "/refunds", map[string]any{"charge_id": "chg_x", "reference": "re"}, 404, "not_found"},
		{"message without text", "/messages", map[string]any{"msisdn": "+821012345678"}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(http.MethodPost, tpBase+tt.path, tt.body)
			if x := e.errCode(a); a.status != tt.status || x.Error.Code != tt.code {
				t.Fatalf("HTTP %d %s, want %d %s", a.status, a.body, tt.status, tt.code)
			}
		})
	}
	if a := e.do(http.MethodPost, "/sim/nope/tokenpay/v1/charges", map[string]any{}); a.status != http.StatusNotFound {
		t.Errorf("unknown carrier: HTTP %d", a.status)
	}
}

func TestTokenPayRefundsAndMessages(t *testing.T) {
	e := tpSetup(t)
	tok := e.token("ch_r", "+821012345678", false)
	var acc struct {
		ChargeID string `json:"charge_id"`
		RefundID string `json:"refund_id"`
	}
	e.charge(tok, "ch_r", 5000).decode(t, &acc)
	e.awaitCallbacks(1)
	refund := func(ref string, amount any) answer {
		body := map[string]any{"charge_id": acc.ChargeID, "reference": ref, "callback_url": e.cb.URL}
		if amount != nil {
			body["amount"] = amount
		}
		return e.do(http.MethodPost, tpBase+"/refunds", body)
	}
	if a := refund("re_1", 6000); a.status != http.StatusUnprocessableEntity || e.errCode(a).Error.Code != "refund_exceeds_charge" {
		t.Fatalf("refund over the charge: HTTP %d %s", a.status, a.body)
	}
	if a := refund("re_1", 1500); a.status != http.StatusAccepted {
		t.Fatalf("partial refund: HTTP %d %s", a.status, a.body)
	}
	if a := refund("re_2", nil); a.status != http.StatusAccepted {
		t.Fatalf("refund of the rest: HTTP %d %s", a.status, a.body)
	}
	got := e.awaitCallbacks(3)
	amounts := map[string]float64{}
	for _, cb := range got[1:] {
		var b map[string]any
		_ = json.Unmarshal(cb.body, &b)
		if b["type"] != "refund.completed" || b["status"] != "succeeded" || b["charge_id"] != acc.ChargeID {
			t.Errorf("refund callback %s", cb.body)
		}
		amounts[b["reference"].(string)] = b["amount"].(float64)
	}
	if amounts["re_1"] != 1500 || amounts["re_2"] != 3500 {
		t.Errorf("refunded %v", amounts)
	}
	a := e.do(http.MethodGet, tpBase+"/refunds?reference=re_2", nil)
	var rf struct {
		Status string `json:"status"`
		Amount int64  `json:"amount"`
	}
	a.decode(t, &rf)
	if a.status != http.StatusOK || rf.Status != "succeeded" || rf.Amount != 3500 {
		t.Errorf("refund status: HTTP %d %s", a.status, a.body)
	}
	if rows := e.ledger("?carrier=skt"); len(rows) != 1 || rows[0].RefundedAmount != 5000 || rows[0].Status != "refunded" {
		t.Errorf("ledger %+v", rows)
	}

	msg := map[string]any{"msisdn": "+821099990000", "text": "Your code is 424242", "reference": "m1"}
	first := e.do(http.MethodPost, tpBase+"/messages", msg)
	again := e.do(http.MethodPost, tpBase+"/messages", msg)
	if first.status != http.StatusCreated || string(first.body) != string(again.body) {
		t.Fatalf("messages: %d %s / %s", first.status, first.body, again.body)
	}
	if e.pin("+821099990000") != "424242" {
		t.Error("message not in the inbox")
	}
}

func TestTokenPayCallbackRetriedThenRecorded(t *testing.T) {
	e := tpSetup(t)
	e.mu.Lock()
	e.fail = 1
	e.mu.Unlock()
	tok := e.token("ch_x", "+821012345678", false)
	e.charge(tok, "ch_x", 5000)
	got := e.awaitCallbacks(2)
	if string(got[0].body) != string(got[1].body) {
		t.Errorf("retry body differs:\n%s\n%s", got[0].body, got[1].body)
	}
	// The receiver has the second attempt before the simulator records it.
	eventually(t, "the delivery finishes", func() bool { return e.sim.Pending() == 0 })
	sent := e.sim.Callbacks("skt")
	if len(sent) != 2 || sent[0].Status != 500 || sent[1].Status != 200 || sent[0].MessageID != sent[1].MessageID || sent[1].Attempt != 2 {
		t.Fatalf("sent %+v", sent)
	}
	if e.sim.Callbacks("nope") != nil {
		t.Error("callbacks for an unknown carrier")
	}
}
