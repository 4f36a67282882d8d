package oneapi_test

import (
	"io"
	"net/http"
	"testing"

	"tollgate/carriers"
	"tollgate/carriers/carriertest"
	"tollgate/carriers/oneapi"
)

// answerSeeds are answers in OneAPI's shapes: an amount transaction, a
// transaction list, a policy and a service exception, an SMS receipt.
var answerSeeds = []string{
	`{"amountTransaction":{"endUserId":"tel:+821012345678","clientCorrelator":"ch_fuzz","referenceCode":"ch_fuzz","serverReferenceCode":"txn_1","transactionOperationStatus":"Charged","paymentAmount":{"chargingInformation":{"amount":"5000","currency":"KRW","description":"500 gems"},"totalAmountCharged":"5000"}}}`,
	`{"amountTransaction":{"referenceCode":"re_fuzz","serverReferenceCode":"rtx_1","originalServerReferenceCode":"pay_fuzz","transactionOperationStatus":"Refunded","paymentAmount":{"chargingInformation":{"amount":"20.00","currency":"KRW","description":"x"},"totalAmountRefunded":"20.00"}}}`,
	`{"amountTransaction":{"transactionOperationStatus":"Processing"}}`,
	`{"amountTransaction":{"transactionOperationStatus":"Denied"}}`,
	`{"paymentTransactionList":{"amountTransaction":[{"clientCorrelator":"ch_fuzz","serverReferenceCode":"txn_1","transactionOperationStatus":"Charged"}]}}`,
	`{"paymentTransactionList":{"amountTransaction":{"clientCorrelator":"ch_fuzz","transactionOperationStatus":"Refused"}}}`,
	`{"requestError":{"policyException":{"messageId":"POL1000","text":"User has insufficient credit for transaction %1","variables":["+821012345678"]}}}`,
	`{"requestError":{"serviceException":{"messageId":"SVC0005","text":"Duplicate clientCorrelator %1","variables":["ch_fuzz"]}}}`,
	`{"resourceReference":{"resourceURL":"http://127.0.0.1/sms/1"}}`,
}

func newFuzzClient(hc *http.Client) carriers.Carrier {
	c, err := oneapi.New(carriers.Settings{Name: "kt", BaseURL: "http://127.0.0.1:1/oneapi",
		Capabilities: carriers.Capabilities{Currencies: []string{"KRW", "USD"}, PartialRefunds: true}, HTTPClient: hc})
	if err != nil {
		panic(err)
	}
	return c
}

func FuzzAnswers(f *testing.F) { carriertest.FuzzAnswers(f, answerSeeds, newFuzzClient) }

func FuzzReport(f *testing.F) {
	c, err := oneapi.New(carriers.Settings{Name: "kt", BaseURL: "http://127.0.0.1:1/x", WebhookSecret: "s"})
	if err != nil {
		f.Fatal(err)
	}
	carriertest.FuzzReport(f, []string{"testdata/settlement_kt_2026-11-24.csv", "../tokenpay/testdata/settlement_lgu_2026-11-24.csv"},
		func(r io.Reader, day string) carriers.ReportReader { return c.ParseReport(r, day) })
}
