package oneapi_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"tollgate/carriers"
)

func TestSendSMSReachesTheInbox(t *testing.T) {
	e := setup(t)
	msisdn := "+821012345678"
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: msisdn, Body: "Your tollgate code is 482913"}); err != nil {
		t.Fatal(err)
	}
	var inbox struct {
		Data []struct {
			MSISDN string `json:"msisdn"`
			Code   string `json:"code"`
		} `json:"data"`
	}
	e.get("/sim/sms?msisdn="+url.QueryEscape(msisdn), &inbox)
	if len(inbox.Data) != 1 || inbox.Data[0].Code != "482913" || inbox.Data[0].MSISDN != msisdn {
		t.Fatalf("inbox %+v", inbox.Data)
	}
	if n := e.requests()["send_sms"]; n != 1 {
		t.Fatalf("send_sms counted %d times", n)
	}
}

func TestSendSMSErrors(t *testing.T) {
	e := setup(t)
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: "12345", Body: "x"}); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("bad number: %v", err)
	}
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: "+821012345678"}); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("no body: %v", err)
	}
	e.putFaults(`{"carrier":"kt","error_rate":1}`)
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: "+821012345678", Body: "x"}); !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("unavailable: %v", err)
	}
}
