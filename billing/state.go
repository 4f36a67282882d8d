// Package billing is the heart of tollgate, as a library: charges, refunds,
// payment methods, their state machine, money, the ledger and the jobs that
// finish what a carrier left undecided. It knows no HTTP framework; its
// merchant API lives in billingapi. Its errors are problem values (a status
// and a stable code) that any app layer renders.
package billing

import "fmt"

// Status is a charge's state. Wire values, frozen once published.
type Status string

const (
	StatusRequiresConfirmation Status = "requires_confirmation"
	StatusProcessing           Status = "processing"
	StatusSucceeded            Status = "succeeded"
	StatusFailed               Status = "failed"
	StatusCanceled             Status = "canceled"
	StatusPartiallyRefunded    Status = "partially_refunded"
	StatusRefunded             Status = "refunded"
	// StatusScheduled: a one-tap charge waiting for its scheduled_for.
	StatusScheduled Status = "scheduled"
)

// transitions is the whole charge state machine of API.md. Nothing moves a
// charge except through CanTransition; a late or repeated carrier message
// never moves one backwards because no backward edge exists here.
var transitions = map[Status][]Status{
	StatusRequiresConfirmation: {StatusProcessing, StatusCanceled, StatusFailed},
	StatusProcessing:           {StatusSucceeded, StatusFailed},
	StatusSucceeded:            {StatusPartiallyRefunded, StatusRefunded},
	StatusPartiallyRefunded:    {StatusPartiallyRefunded, StatusRefunded},
	StatusScheduled:            {StatusProcessing, StatusCanceled, StatusFailed},
}

// CanTransition reports whether a charge may move from one status to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Final reports whether no further move except a refund can happen.
func (s Status) Final() bool {
	switch s {
	case StatusSucceeded, StatusFailed, StatusCanceled, StatusPartiallyRefunded, StatusRefunded:
		return true
	}
	return false
}

// AllStatuses lists every status, for validation and docs.
var AllStatuses = []Status{StatusRequiresConfirmation, StatusProcessing, StatusSucceeded, StatusFailed, StatusCanceled, StatusPartiallyRefunded, StatusRefunded, StatusScheduled}

// ErrTransition is returned when a move is not in the state machine.
type ErrTransition struct{ From, To Status }

func (e ErrTransition) Error() string {
	return fmt.Sprintf("charge cannot move from %s to %s", e.From, e.To)
}
