package tokenpay_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/tokenpay"
)

// answerSeeds are answers in the token API's shapes: an authorization, a
// charge, a refund, an error.
var answerSeeds = []string{
	`{"authorization_id":"auth_1","status":"pending"}`,
	`{"authorization_id":"auth_1","status":"verified","token":"tok_1"}`,
	`{"charge_id":"chg_1","status":"succeeded"}`,
	`{"charge_id":"chg_1","status":"accepted"}`,
	`{"charge_id":"chg_1","status":"failed","failure_reason":"insufficient_funds"}`,
	`{"refund_id":"rfd_1","charge_id":"chg_1","status":"succeeded"}`,
	`{"error":{"code":"invalid_pin","message":"wrong PIN for +821012345678","attempts_remaining":2}}`,
	`{"error":{"code":"not_found","message":"no such charge"}}`,
}

func FuzzAnswers(f *testing.F) {
	carriertest.FuzzAnswers(f, answerSeeds, func(hc *http.Client) carriers.Carrier {
		c, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/tokenpay",
			Capabilities: carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true},
			HTTPClient:   hc, CallbackURL: "http://127.0.0.1:1/cb", WebhookSecret: "whsec-fuzz"})
		if err != nil {
			panic(err)
		}
		return c
	})
}

func FuzzReport(f *testing.F) {
	c, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	carriertest.FuzzReport(f, []string{"testdata/settlement_lgu_2026-11-24.csv", "../camara/testdata/settlement_skt_2026-11-24.csv"},
		func(r io.Reader, day string) carriers.ReportReader { return c.ParseReport(r, day) })
}

// FuzzParseWebhook: a callback signed with the carrier's secret either
// parses to a charge's or refund's notification naming both references with
// a decided outcome, or is ErrInvalidRequest; the same body signed with
// another secret, or not signed, is always ErrBadSignature.
func FuzzParseWebhook(f *testing.F) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, typ := range []string{"charge.completed", "refund.completed", "other"} {
		for _, st := range []string{"succeeded", "failed", "accepted"} {
			f.Add(`{"message_id":"msg_1","type":"` + typ + `","reference":"ch_1","charge_id":"chg_1","refund_id":"rfd_1","status":"` + st + `","failure_reason":"insufficient_funds","amount":5000,"currency":"KRW","occurred_at":"2026-11-24T03:00:00Z"}`)
		}
	}
	const secret = "whsec-fuzz-0123456789"
	c, err := tokenpay.New(carriers.Settings{Name: "lgu", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		signed := func(s string) http.Header {
			return http.Header{tokenpay.SignatureHeader: {tokenpay.Sign(s, now, []byte(body))}}
		}
		n, err := c.ParseWebhook(signed(secret), []byte(body), now)
		if err != nil {
			if !errors.Is(err, carriers.ErrInvalidRequest) {
				t.Fatalf("signed with the right secret: %v, want a parse or ErrInvalidRequest", err)
			}
		} else {
			if (n.Kind != "charge" && n.Kind != "refund") || n.MessageID == "" || n.ClientReference == "" || n.CarrierReference == "" {
				t.Fatalf("notification %+v", n)
			}
			if o := n.Result.Outcome; o != carriers.OutcomeSucceeded && (o != carriers.OutcomeDeclined || n.Result.FailureCode == "") {
				t.Fatalf("a callback reports a decision: %+v", n.Result)
			}
		}
		for name, h := range map[string]http.Header{"another secret": signed("whsec-someone-else"), "no signature": {}} {
			if _, err := c.ParseWebhook(h, []byte(body), now); !errors.Is(err, carriers.ErrBadSignature) {
				t.Fatalf("%s: %v, want ErrBadSignature", name, err)
			}
		}
	})
}
