package oneapisms_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/oneapisms"
)

func TestSendWritesOneAPIOutboundSMS(t *testing.T) {
	var got []byte
	var gotID string
	post := func(_ context.Context, body any, id string) (*carriers.Answer, error) {
		gotID = id
		got, _ = json.Marshal(body)
		return &carriers.Answer{Status: 201}, nil
	}
	refused := func(*carriers.Answer) error { t.Fatal("a 201 was refused"); return nil }
	if err := oneapisms.Send(context.Background(), carriers.SMS{MSISDN: "+821012345678", Body: "code 482913"}, post, refused); err != nil {
		t.Fatal(err)
	}
	want := `{"outboundSMSMessageRequest":{"address":["tel:+821012345678"],"senderAddress":"tel:+tollgate","outboundSMSTextMessage":{"message":"code 482913"},"clientCorrelator":"` + gotID + `"}}`
	if len(gotID) != 32 || string(got) != want {
		t.Fatalf("body %s, id %q; want %s", got, gotID, want)
	}
}

func TestSendErrors(t *testing.T) {
	errRefused := errors.New("refused")
	answer := func(status int) oneapisms.Post {
		return func(context.Context, any, string) (*carriers.Answer, error) {
			return &carriers.Answer{Status: status}, nil
		}
	}
	refused := func(*carriers.Answer) error { return errRefused }
	ctx := context.Background()
	if err := oneapisms.Send(ctx, carriers.SMS{MSISDN: "+821012345678"}, answer(201), refused); !errors.Is(err, carriers.ErrInvalidRequest) {
		t.Errorf("no body: %v", err)
	}
	err := oneapisms.Send(ctx, carriers.SMS{MSISDN: "+821012345678", Body: "x"}, answer(503), refused)
	if !errors.Is(err, errRefused) || !strings.HasPrefix(err.Error(), "send sms ") {
		t.Errorf("503: %v, want the adapter's reading, naming the message", err)
	}
	if strings.Contains(err.Error(), "821012345678") {
		t.Errorf("the error names the subscriber: %v", err)
	}
}

// A message about a payment carries the payment's id at the head of its
// clientCorrelator, and a fresh tail: two texts about one charge are two
// messages to an operator that dedupes on it.
func TestSendNamesTheReferenceInTheCorrelator(t *testing.T) {
	var ids []string
	post := func(_ context.Context, body any, id string) (*carriers.Answer, error) {
		b, _ := json.Marshal(body)
		if !strings.Contains(string(b), `"clientCorrelator":"`+id+`"`) {
			t.Errorf("body %s does not carry the message id %s", b, id)
		}
		ids = append(ids, id)
		return &carriers.Answer{Status: 201}, nil
	}
	refused := func(*carriers.Answer) error { t.Fatal("a 201 was refused"); return nil }
	for range 2 {
		if err := oneapisms.Send(context.Background(), carriers.SMS{MSISDN: "+821012345678", Body: "code 482913", Reference: "ch_1"}, post, refused); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range ids {
		ref, tail, ok := strings.Cut(id, ":")
		if !ok || ref != "ch_1" || len(tail) != 32 {
			t.Errorf("message id %q, want ch_1:<32 hex digits>", id)
		}
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Errorf("two texts about one charge share an id: %v", ids)
	}
}
