package tokenpay_test

import (
	"context"
	"errors"
	"testing"

	"tollgate/carriers"
)

func TestSendSMS(t *testing.T) {
	e := setup(t)
	const phone = "+821012345678"
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: phone, Body: "Your tollgate code is 482913."}); err != nil {
		t.Fatal(err)
	}
	box := e.Inbox(phone)
	if len(box) != 1 || box[0].Code != "482913" {
		t.Fatalf("inbox %+v", box)
	}
	if err := e.client.SendSMS(context.Background(), carriers.SMS{MSISDN: "12345", Body: "x"}); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Fatalf("bad number: %v", err)
	}
	if st := e.Stats(carrier); st.Requests["send_sms"] != 2 || st.SMSSent != 1 {
		t.Errorf("stats %+v", st)
	}
}
