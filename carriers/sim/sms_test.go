package sim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"tollgate/carriers/sim"
)

const sktSMS = "/sim/skt/camara/smsmessaging/v1/outbound/tel%3A%2Btollgate/requests"

func smsBody(to, text, correlator string) map[string]any {
	return map[string]any{"outboundSMSMessageRequest": map[string]any{
		"address":                []string{"tel:" + to},
		"senderAddress":          "tel:+tollgate",
		"outboundSMSTextMessage": map[string]any{"message": text},
		"clientCorrelator":       correlator,
	}}
}

type smsView struct {
	MSISDN string `json:"msisdn"`
	Body   string `json:"body"`
	Code   string `json:"code"`
}

func (e *env) inbox(query string) []smsView {
	e.t.Helper()
	var l struct {
		Data []smsView `json:"data"`
	}
	e.do(http.MethodGet, "/sim/sms"+query, nil).decode(e.t, &l)
	return l.Data
}

func TestSMSCapture(t *testing.T) {
	e := setup(t)
	for i, text := range []string{"Your tollgate code is 482913. It expires in 5 minutes.", "Order 12 paid; code 0042 for support"} {
		if a := e.do(http.MethodPost, sktSMS, smsBody("+821012345678", text, "")); a.status != http.StatusCreated {
			t.Fatalf("send %d: HTTP %d %s", i, a.status, a.body)
		}
	}
	e.do(http.MethodPost, sktSMS, smsBody("+821099990000", "Code 777777", ""))

	// '+' unescaped in a query string arrives as a space; escaped, or left out, it works too.
	for _, q := range []string{"?msisdn=+821012345678", "?msisdn=%2B821012345678", "?msisdn=821012345678"} {
		got := e.inbox(q)
		if len(got) != 2 {
			t.Fatalf("%s: %d messages", q, len(got))
		}
		if got[0].Code != "0042" || got[1].Code != "482913" || got[0].MSISDN != "+821012345678" {
			t.Fatalf("%s: %+v", q, got)
		}
	}
	if n := len(e.inbox("")); n != 3 {
		t.Fatalf("all messages: %d", n)
	}
}

func TestSMSDedupeAndValidation(t *testing.T) {
	e := setup(t)
	body := smsBody("+821012345678", "code 1234", "sms-1")
	e.do(http.MethodPost, sktSMS, body)
	e.do(http.MethodPost, sktSMS, body)
	if n := len(e.inbox("?msisdn=%2B821012345678")); n != 1 {
		t.Fatalf("a resent request was delivered %d times", n)
	}
	for name, b := range map[string]any{
		"no address":   smsBody("", "x", ""),
		"bad address":  smsBody("12345", "x", ""),
		"empty text":   smsBody("+821012345678", "", ""),
		"empty object": "{}",
	} {
		if a := e.do(http.MethodPost, sktSMS, b); a.status != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s", name, a.status, a.body)
		}
	}
	wrongSender := "/sim/skt/camara/smsmessaging/v1/outbound/tel%3A%2Bother/requests"
	if a := e.do(http.MethodPost, wrongSender, body); a.status != http.StatusBadRequest {
		t.Errorf("sender mismatch: HTTP %d", a.status)
	}
}

// Every message says which payment it is about, whoever sent its code: the
// gateway's texts by the reference at the head of their clientCorrelator
// or message reference, the carrier's own codes by the payment's client
// reference. Any other id names nothing.
func TestSMSNamesThePaymentItIsAbout(t *testing.T) {
	const tail = ":9f86d081884c7d659a2feaa0c55ad015"
	e := setup(t)
	e.do(http.MethodPost, sktSMS, smsBody("+821011110001", "code 1111", "ch_gw"+tail))
	e.do(http.MethodPost, "/sim/kt/oneapi/smsmessaging/v1/outbound/tel%3A%2Btollgate/requests", smsBody("+821011110002", "code 2222", "pm_gw"+tail))
	e.do(http.MethodPost, sktSMS, smsBody("+821011110003", "code 3333", "plain-correlator"))
	e.do(http.MethodPost, sktSMS, smsBody("+821011110004", "code 4444", "ch_short:abc"))
	e.prepare("+821011110005", "ch_2step")

	tp := tpSetup(t)
	tp.do(http.MethodPost, tpBase+"/authorizations", map[string]any{"reference": "ch_pin", "msisdn": "+821011110006", "amount": 5000, "currency": "KRW"})
	tp.do(http.MethodPost, tpBase+"/messages", map[string]any{"msisdn": "+821011110007", "text": "code 7777", "reference": "pm_tp" + tail})

	for _, c := range []struct {
		env    *env
		msisdn string
		want   string
	}{
		{e, "+821011110001", "ch_gw"},
		{e, "+821011110002", "pm_gw"},
		{e, "+821011110003", ""},
		{e, "+821011110004", ""},
		{e, "+821011110005", "ch_2step"},
		{tp.env, "+821011110006", "ch_pin"},
		{tp.env, "+821011110007", "pm_tp"},
	} {
		var l struct {
			Data []sim.Message `json:"data"`
		}
		c.env.do(http.MethodGet, "/sim/sms?msisdn="+url.QueryEscape(c.msisdn), nil).decode(t, &l)
		if len(l.Data) != 1 || l.Data[0].Reference != c.want || l.Data[0].Code == "" {
			t.Errorf("%s: %+v, want one message about %q", c.msisdn, l.Data, c.want)
		}
	}
	if got := e.sim.Messages("+821011110001"); len(got) != 1 || got[0].Reference != "ch_gw" || got[0].MSISDN != "+821011110001" {
		t.Errorf("Messages: %+v", got)
	}
}

// IsControl picks out the simulator's own endpoints, by the routing that
// serves them, however the path is spelled; a carrier's API and its
// settlement files are not control endpoints.
func TestIsControl(t *testing.T) {
	s := sim.New(sim.Options{Carriers: []string{"skt"}})
	for _, c := range []struct {
		method, target string
		want           bool
	}{
		{"GET", "/sim/sms?msisdn=%2B821012345678", true},
		{"HEAD", "/sim/sms", true},
		{"GET", "/sim/%73ms", true},
		{"GET", "/sim/faults", true},
		{"PUT", "/sim/faults", true},
		{"GET", "/sim/ledger?carrier=skt", true},
		{"GET", "/sim/stats", true},
		{"GET", "/sim/reports/skt/2026-11-24", false},
		{"POST", "/sim/skt/camara/smsmessaging/v1/outbound/tel%3A%2Btollgate/requests", false},
		{"POST", "/sim/skt/camara/carrier-billing/v0.5/payments", false},
		{"GET", "/sim/nothing", false},
	} {
		r := httptest.NewRequest(c.method, c.target, nil)
		if got := s.IsControl(r); got != c.want {
			t.Errorf("%s %s: IsControl %v, want %v", c.method, c.target, got, c.want)
		}
	}
}
