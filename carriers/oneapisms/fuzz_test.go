package oneapisms_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/oneapisms"
)

// FuzzSend: whatever the operator answers, Send delivers or fails with an
// error of the carrier boundary's vocabulary (success is any 2xx), never
// one that carries the recipient's number.
func FuzzSend(f *testing.F) {
	for _, b := range []string{`{"resourceReference":{"resourceURL":"http://127.0.0.1/r/1"}}`, `{}`, ``,
		`{"requestError":{"serviceException":{"messageId":"SVC0004","text":"No valid addresses %1","variables":["tel:+821012345678"]}}}`} {
		for _, st := range []uint16{201, 200, 400, 404, 429, 500, 503} {
			f.Add(st, b)
		}
	}
	f.Fuzz(func(t *testing.T, status uint16, body string) {
		post := func(context.Context, any, string) (*carriers.Answer, error) {
			return &carriers.Answer{Status: int(status), Body: []byte(body)}, nil
		}
		refused := func(a *carriers.Answer) error {
			return carriers.AnswerError(a, true, "HTTP "+body, time.Now())
		}
		err := oneapisms.Send(context.Background(), carriers.SMS{Reference: "ch_1", MSISDN: "+821012345678", Body: "123456 is your code"}, post, refused)
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("HTTP %d delivered", status)
			}
			return
		}
		ok := false
		for _, v := range []error{carriers.ErrNotSent, carriers.ErrOutcomeUnknown, carriers.ErrUnavailable, carriers.ErrRateLimited, carriers.ErrInvalidRequest, carriers.ErrNotFound} {
			ok = ok || errors.Is(err, v)
		}
		if !ok {
			t.Fatalf("HTTP %d %q: %v is outside the vocabulary", status, body, err)
		}
		if strings.Contains(err.Error(), "1012345678") {
			t.Fatalf("the error carries the number: %v", err)
		}
	})
}
