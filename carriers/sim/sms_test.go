package sim_test

import (
	"net/http"
	"testing"
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
