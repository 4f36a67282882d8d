package sim

// outcome is what a simulated carrier does with a payment, chosen by the last
// four digits of the phone number as test card numbers choose a card's fate
// (API.md, "Test mode: the simulated carriers").
type outcome int

const (
	outcomeSucceed             outcome = iota // anything else
	outcomeInsufficientBalance                // 0002: declined
	outcomeSubscriberBlocked                  // 0003: declined
	outcomeCarrierLimit                       // 0004: declined
	outcomeAsync                              // 0005: processing, then succeeded
	outcomeBillThenHang                       // 0006: billed, never answered
	outcomeUnavailableOnce                    // 0007: 503 once per clientCorrelator, then works
)

var outcomeBySuffix = map[string]outcome{
	"0002": outcomeInsufficientBalance,
	"0003": outcomeSubscriberBlocked,
	"0004": outcomeCarrierLimit,
	"0005": outcomeAsync,
	"0006": outcomeBillThenHang,
	"0007": outcomeUnavailableOnce,
}

func outcomeFor(phone string) outcome {
	if len(phone) < 4 {
		return outcomeSucceed
	}
	return outcomeBySuffix[phone[len(phone)-4:]]
}
