package billing

import "testing"

func TestStateMachineAllowsExactlyTheDocumentedMoves(t *testing.T) {
	allowed := map[[2]Status]bool{
		{StatusRequiresConfirmation, StatusProcessing}:     true,
		{StatusRequiresConfirmation, StatusCanceled}:       true,
		{StatusRequiresConfirmation, StatusFailed}:         true,
		{StatusProcessing, StatusSucceeded}:                true,
		{StatusProcessing, StatusFailed}:                   true,
		{StatusSucceeded, StatusPartiallyRefunded}:         true,
		{StatusSucceeded, StatusRefunded}:                  true,
		{StatusPartiallyRefunded, StatusPartiallyRefunded}: true,
		{StatusPartiallyRefunded, StatusRefunded}:          true,
		{StatusScheduled, StatusProcessing}:                true,
		{StatusScheduled, StatusCanceled}:                  true,
		{StatusScheduled, StatusFailed}:                    true,
	}
	for _, from := range AllStatuses {
		for _, to := range AllStatuses {
			want := allowed[[2]Status{from, to}]
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestFinalStatuses(t *testing.T) {
	for _, s := range AllStatuses {
		want := s != StatusRequiresConfirmation && s != StatusProcessing && s != StatusScheduled
		if s.Final() != want {
			t.Errorf("%s.Final() = %v, want %v", s, s.Final(), want)
		}
	}
}

func TestCurrencyFormat(t *testing.T) {
	cases := []struct {
		code   string
		amount int64
		want   string
	}{
		{"KRW", 5000, "₩5,000"},
		{"KRW", 1234567, "₩1,234,567"},
		{"USD", 199, "$1.99"},
		{"USD", 5, "$0.05"},
		{"USD", 123456, "$1,234.56"},
		{"BHD", 1005, "BD1.005"},
		{"JPY", 100, "¥100"},
	}
	for _, c := range cases {
		cur, ok := LookupCurrency(c.code)
		if !ok {
			t.Fatalf("%s unknown", c.code)
		}
		if got := cur.Format(c.amount); got != c.want {
			t.Errorf("%s %d = %q, want %q", c.code, c.amount, got, c.want)
		}
	}
	if _, ok := LookupCurrency("XXX"); ok {
		t.Error("XXX accepted")
	}
	if _, ok := LookupCurrency("krw"); ok {
		t.Error("lower-case code accepted")
	}
}
