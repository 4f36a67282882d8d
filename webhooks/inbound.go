// Package webhooks carries tollgate's webhooks both ways: carriers' callbacks
// in (verified, recorded, de-duplicated, handed to a ResultApplier, billing
// in production) and signed notifications out to merchants.
package webhooks

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/carriers"
	"tollgate/internal/clock"
	"tollgate/internal/problem"
	"tollgate/internal/store"
)

// CarrierSet is what inbound webhooks need of the carrier registry.
type CarrierSet interface {
	Get(name string) (carriers.Carrier, bool)
}

// ResultApplier is what inbound callbacks need of billing: to apply a
// carrier's result inside the transaction that records the callback, and
// say whether it named one of ours. It checks a per-object credential
// (Notification.Credential) against what it stored, and answers
// carriers.ErrBadSignature when it is not the object's.
type ResultApplier interface {
	ApplyCarrierResultTx(tx *gorm.DB, carrier string, n carriers.Notification) (matched bool, err error)
}

// Inbound receives carriers' callbacks.
type Inbound struct {
	db       *gorm.DB
	carriers CarrierSet
	billing  ResultApplier
	clock    clock.Clock
	log      *slog.Logger
}

// NewInbound wires the inbound webhook handler.
func NewInbound(db *gorm.DB, cs CarrierSet, b ResultApplier, clk clock.Clock, log *slog.Logger) (*Inbound, error) {
	if db == nil || cs == nil || b == nil || clk == nil || log == nil {
		return nil, errors.New("webhooks: database, carriers, result applier, clock and logger are required")
	}
	return &Inbound{db: db, carriers: cs, billing: b, clock: clk, log: log}, nil
}

// carrierMessage is a row of carrier_messages.
type carrierMessage struct {
	Carrier          string
	MessageID        string
	Kind             string
	ClientReference  string
	CarrierReference string
	Outcome          string
	Matched          bool
	Body             []byte
	OccurredAt       *time.Time
	ReceivedAt       time.Time
}

func (carrierMessage) TableName() string { return "carrier_messages" }

// Mount adds POST /v1/carriers/{carrier}/webhooks. Carriers authenticate by
// their own signature scheme, not by API key.
func (in *Inbound) Mount(g *echo.Group) {
	g.POST("/carriers/:carrier/webhooks", in.handle)
}

func (in *Inbound) handle(c echo.Context) error {
	name := c.Param("carrier")
	cr, ok := in.carriers.Get(name)
	if !ok {
		return problem.NotFound("carrier")
	}
	if !carriers.Implements[carriers.WebhookParser](cr) {
		return problem.NotFound("webhook endpoint for this carrier")
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return problem.New(http.StatusRequestEntityTooLarge, problem.CodeBodyTooLarge, "The request body is larger than 1 MiB.")
	}
	n, err := cr.(carriers.WebhookParser).ParseWebhook(c.Request().Header, body, in.clock.Now())
	switch {
	case errors.Is(err, carriers.ErrBadSignature):
		in.log.Warn("carrier webhook refused", "carrier", name, "reason", err)
		return problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "The signature is missing, wrong or too old.")
	case err != nil:
		return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The callback could not be read.")
	case n.MessageID == "":
		return problem.Invalid("message_id", "The callback has no message id.")
	}
	duplicate, matched, err := in.record(c, name, n, body)
	if errors.Is(err, carriers.ErrBadSignature) {
		// The credential is not the one made for the object it names:
		// nothing was kept or applied.
		in.log.Warn("carrier webhook refused", "carrier", name, "reason", err)
		return problem.New(http.StatusUnauthorized, problem.CodeUnauthorized, "The signature is missing, wrong or too old.")
	}
	if err != nil {
		return err
	}
	in.log.Info("carrier webhook", "carrier", name, "kind", n.Kind, "reference", n.ClientReference, "duplicate", duplicate, "matched", matched)
	return c.JSON(http.StatusOK, map[string]any{"received": true, "duplicate": duplicate, "matched": matched})
}

// record stores the message and applies it in one transaction: the answer
// is 2xx only once both are durable, and the unique (carrier, message_id)
// makes a repeat a no-op.
func (in *Inbound) record(c echo.Context, carrier string, n carriers.Notification, body []byte) (duplicate, matched bool, err error) {
	ctx := c.Request().Context()
	err = in.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var occurred *time.Time
		if !n.OccurredAt.IsZero() {
			t := n.OccurredAt.UTC()
			occurred = &t
		}
		row := carrierMessage{Carrier: carrier, MessageID: n.MessageID, Kind: n.Kind, ClientReference: n.ClientReference,
			CarrierReference: n.CarrierReference, Outcome: string(n.Result.Outcome), Body: body, OccurredAt: occurred, ReceivedAt: in.clock.Now().UTC()}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		var err error
		if matched, err = in.billing.ApplyCarrierResultTx(tx, carrier, n); err != nil {
			return err
		}
		return tx.Model(&carrierMessage{}).Where("carrier = ? AND message_id = ?", carrier, n.MessageID).Update("matched", matched).Error
	})
	if store.IsUniqueViolation(err) {
		return true, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("record carrier webhook: %w", err)
	}
	return false, matched, nil
}
