package camara_test

import (
	"context"
	"errors"
	"testing"

	"tollgate/carriers"
)

func TestSendSMSReachesTheInbox(t *testing.T) {
	e := setup(t)
	msisdn := "+821012345678"
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: msisdn, Body: "Your tollgate code is 482913"}); err != nil {
		t.Fatal(err)
	}
	if inbox := e.Inbox(msisdn); len(inbox) != 1 || inbox[0].Code != "482913" || inbox[0].MSISDN != msisdn {
		t.Fatalf("inbox %+v", inbox)
	}
}

func TestSendSMSErrors(t *testing.T) {
	e := setup(t)
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: "12345", Body: "x"}); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("bad number: %v", err)
	}
	e.PutFaults(`{"carrier":"skt","error_rate":1}`)
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: "+821012345678", Body: "x"}); !errors.Is(err, carriers.ErrUnavailable) {
		t.Fatalf("unavailable: %v", err)
	}
}
