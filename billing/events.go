package billing

import (
	"fmt"

	"gorm.io/gorm"
)

// Event types published to merchants; wire strings, frozen once published.
const (
	EventChargeRequiresConfirmation = "charge.requires_confirmation"
	EventChargeProcessing           = "charge.processing"
	EventChargeSucceeded            = "charge.succeeded"
	EventChargeFailed               = "charge.failed"
	EventChargeCanceled             = "charge.canceled"
	EventChargeRefunded             = "charge.refunded"
	EventRefundSucceeded            = "refund.succeeded"
	EventRefundFailed               = "refund.failed"
	EventPaymentMethodActivated     = "payment_method.activated"
	EventPaymentMethodRevoked       = "payment_method.revoked"
	EventChargeScheduled            = "charge.scheduled"
)

// Event is one thing that happened to a merchant's object.
type Event struct {
	MerchantID string
	Livemode   bool
	Type       string
	ObjectID   string
	// Object is a copy of the object (*Charge, *Refund, *PaymentMethod) as
	// the change left it; the app layer renders it for the wire.
	Object any
}

// EventSink records events inside the transaction of the change they
// describe (a transactional outbox): a rolled-back change leaves no event,
// a committed one always has its event and its deliveries queued.
type EventSink interface {
	EmitTx(tx *gorm.DB, e Event) error
}

// ManyEventSink is an EventSink that records many events with one
// statement per kind; a sink without it records them one by one.
type ManyEventSink interface {
	EmitManyTx(tx *gorm.DB, es []Event) error
}

// EmitMany records es in tx through sink, together where it can.
func EmitMany(tx *gorm.DB, sink EventSink, es []Event) error {
	if many, ok := sink.(ManyEventSink); ok {
		return many.EmitManyTx(tx, es)
	}
	for _, e := range es {
		if err := sink.EmitTx(tx, e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) emit(tx *gorm.DB, e Event) error {
	if err := s.events.EmitTx(tx, e); err != nil {
		return fmt.Errorf("record %s event: %w", e.Type, err)
	}
	return nil
}

func (s *Service) emitCharge(tx *gorm.DB, typ string, ch *Charge) error {
	return s.emit(tx, chargeEventOf(typ, ch))
}

func chargeEventOf(typ string, ch *Charge) Event {
	return Event{MerchantID: ch.MerchantID, Livemode: ch.Livemode, Type: typ, ObjectID: ch.ID, Object: ptr(*ch)}
}

// chargeEvent is the event a move to status publishes.
func chargeEvent(to Status) string {
	switch to {
	case StatusRequiresConfirmation:
		return EventChargeRequiresConfirmation
	case StatusProcessing:
		return EventChargeProcessing
	case StatusSucceeded:
		return EventChargeSucceeded
	case StatusFailed:
		return EventChargeFailed
	case StatusCanceled:
		return EventChargeCanceled
	case StatusScheduled:
		return EventChargeScheduled
	}
	return EventChargeRefunded
}
