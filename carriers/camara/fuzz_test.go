package camara_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"tollgate/carriers"
	"tollgate/carriers/camara"
	"tollgate/carriers/carriertest"
)

// answerSeeds are answers in CAMARA's shapes: a payment, a payment list,
// a refund, an error.
var answerSeeds = []string{
	`{"paymentId":"pay_1","paymentStatus":"succeeded","amountTransaction":{"clientCorrelator":"ch_fuzz","referenceCode":"ch_fuzz","paymentAmount":{"chargingInformation":{"amount":"5000","currency":"KRW","description":"500 gems"}}}}`,
	`{"paymentId":"pay_1","paymentStatus":"processing"}`,
	`{"paymentId":"pay_1","paymentStatus":"pending_validation"}`,
	`{"paymentId":"pay_1","paymentStatus":"reserved"}`,
	`{"paymentId":"pay_1","paymentStatus":"denied"}`,
	`[{"paymentId":"pay_1","paymentStatus":"cancelled"}]`,
	`[]`,
	`{"refundId":"rf_1","refundStatus":"succeeded","type":"partial","amountTransaction":{"referenceCode":"re_fuzz","refundAmount":{"chargingInformation":{"amount":"2000","currency":"KRW","description":"x"}}}}`,
	`[{"refundId":"rf_1","refundStatus":"denied","type":"total"}]`,
	`{"status":403,"code":"CARRIER_BILLING.PAYMENT_DENIED","message":"denied"}`,
	`{"status":422,"code":"CARRIER_BILLING.INVALID_CODE","message":"wrong code"}`,
	`{"status":404,"code":"IDENTIFIER_NOT_FOUND","message":"+821012345678 unknown"}`,
	`{"status":429,"code":"TOO_MANY_REQUESTS","message":"slow down"}`,
}

func FuzzAnswers(f *testing.F) {
	carriertest.FuzzAnswers(f, answerSeeds, func(hc *http.Client) carriers.Carrier {
		c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://127.0.0.1:1/camara",
			Capabilities: carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true}, HTTPClient: hc})
		if err != nil {
			panic(err)
		}
		return c
	})
}

func FuzzReport(f *testing.F) {
	c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	carriertest.FuzzReport(f, []string{"testdata/settlement_skt_2026-11-24.csv", "../oneapi/testdata/settlement_kt_2026-11-24.csv"},
		func(r io.Reader, day string) carriers.ReportReader { return c.ParseReport(r, day) })
}

// FuzzParseWebhook: a notification with a bearer token either parses to a
// charge's notification that hands the token on, names the payment, has a
// known outcome and a time within the tolerance, or is refused with
// ErrBadSignature or ErrInvalidRequest; the same body without a token is
// always ErrBadSignature.
func FuzzParseWebhook(f *testing.F) {
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, typ := range []string{"payment-completed", "payment-denied", "payment-cancelled", "payment-pending-validation", "payment-reserved", "other"} {
		for _, st := range []string{"succeeded", "failed", ""} {
			f.Add(`{"id":"ev_1","source":"skt","type":"org.camaraproject.carrier-billing.v0.`+typ+`","specversion":"1.0","time":"2026-11-24T03:00:01Z","data":{"paymentId":"pay_1","status":"`+st+`","clientCorrelator":"ch_1","denialReason":"CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED"}}`, "Bearer sink-token-1")
		}
	}
	f.Add(`{}`, "Basic x")
	c, err := camara.New(carriers.Settings{Name: "skt", BaseURL: "http://127.0.0.1:1/x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, auth string) {
		n, err := c.ParseWebhook(http.Header{"Authorization": {auth}}, []byte(body), now)
		if err != nil {
			if !errors.Is(err, carriers.ErrBadSignature) && !errors.Is(err, carriers.ErrInvalidRequest) {
				t.Fatalf("error %q is neither ErrBadSignature nor ErrInvalidRequest", err)
			}
		} else {
			scheme, token, _ := strings.Cut(auth, " ")
			if !strings.EqualFold(scheme, "Bearer") || n.Credential != strings.TrimSpace(token) || n.Credential == "" {
				t.Fatalf("accepted with %q, credential %q", auth, n.Credential)
			}
			if n.Kind != "charge" || n.MessageID == "" || n.CarrierReference == "" {
				t.Fatalf("notification %+v", n)
			}
			switch n.Result.Outcome {
			case carriers.OutcomeSucceeded, carriers.OutcomePending:
			case carriers.OutcomeDeclined:
				if n.Result.FailureCode == "" {
					t.Fatalf("a decline without a failure code: %+v", n.Result)
				}
			default:
				t.Fatalf("outcome %q", n.Result.Outcome)
			}
			if d := n.OccurredAt.Sub(now); d > time.Hour || d < -time.Hour {
				t.Fatalf("occurred at %s, now %s", n.OccurredAt, now)
			}
		}
		if _, err := c.ParseWebhook(http.Header{}, []byte(body), now); !errors.Is(err, carriers.ErrBadSignature) {
			t.Fatalf("without a bearer token: %v, want ErrBadSignature", err)
		}
	})
}
