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
