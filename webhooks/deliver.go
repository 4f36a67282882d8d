package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"gorm.io/gorm"

	"tollgate/billing"
)

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	o *Outbound
}

// Timeout bounds one job: the attempt's own timeout plus bookkeeping.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return w.o.cfg.Timeout + 30*time.Second
}

// payload is the body merchants receive.
func payload(ev *event) ([]byte, error) {
	return json.Marshal(struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		Type      string `json:"type"`
		CreatedAt string `json:"created_at"`
		Livemode  bool   `json:"livemode"`
		Data      struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}{ID: ev.ID, Object: "event", Type: ev.Type, CreatedAt: ev.CreatedAt.UTC().Format(time.RFC3339), Livemode: ev.Livemode,
		Data: struct {
			Object json.RawMessage `json:"object"`
		}{json.RawMessage(ev.Data)}})
}

// Work makes one attempt. A 2xx ends the delivery; anything else schedules
// the next attempt on the configured schedule until the event is too old.
// Every attempt is recorded, whatever happens.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	o := w.o
	d, ep, ev, err := o.load(ctx, job.Args.DeliveryID)
	if err != nil {
		return err
	}
	if d.Status != deliveryPending {
		return nil
	}
	if ep.Status != endpointEnabled {
		return o.finish(ctx, &d, deliveryFailed)
	}
	secret, err := o.vault.Open(ep.SecretEnc)
	if err != nil {
		return fmt.Errorf("endpoint %s secret: %w", ep.ID, err)
	}
	body, err := payload(&ev)
	if err != nil {
		return err
	}
	status, errText, took := o.post(ctx, &ep, secret, &ev, body)
	now := o.now()
	att := attempt{DeliveryID: d.ID, Attempt: d.Attempts + 1, StatusCode: status, Error: errText, DurationMs: took.Milliseconds(), At: now}
	ok := status >= 200 && status < 300
	var next time.Duration
	err = o.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&att).Error; err != nil {
			return err
		}
		upd := map[string]any{"attempts": att.Attempt, "updated_at": now}
		switch {
		case ok:
			upd["status"], upd["delivered_at"], upd["next_attempt_at"] = deliverySucceeded, now, nil
			// Only an endpoint that was failing is written: a healthy one's
			// row stays unlocked for the other workers delivering to it.
			if err := tx.Model(&endpoint{}).Where("id = ? AND failing_since IS NOT NULL", ep.ID).Update("failing_since", nil).Error; err != nil {
				return err
			}
		case now.Sub(ev.CreatedAt) >= o.cfg.MaxAge:
			upd["status"], upd["next_attempt_at"] = deliveryFailed, nil
		default:
			next = o.cfg.Schedule[min(att.Attempt-1, len(o.cfg.Schedule)-1)]
			upd["next_attempt_at"] = now.Add(next)
		}
		if err := tx.Model(&delivery{}).Where("id = ? AND status = ?", d.ID, deliveryPending).Updates(upd).Error; err != nil {
			return err
		}
		if !ok {
			return o.noteFailureTx(tx, &ep, now)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record attempt of %s: %w", d.ID, err)
	}
	if ep.Status == endpointDisabled {
		// Again after the commit: an event on this node that read the
		// endpoints between noteFailureTx's drop and the commit kept the
		// endpoint as enabled.
		o.changed(ep.MerchantID, ep.Livemode)
	}
	if next > 0 {
		return river.JobSnooze(next)
	}
	return nil
}

// load reads a delivery with its endpoint and event in one query: this is
// the hot path of every attempt.
func (o *Outbound) load(ctx context.Context, deliveryID string) (delivery, endpoint, event, error) {
	var row struct {
		DStatus, DEndpoint, DEvent                      string
		DAttempts                                       int
		EpStatus, EpMerchant, EpURL, EpSecret, EpEvents string
		EpLivemode                                      bool
		EpFailingSince                                  *time.Time
		EvMerchant, EvType, EvObject, EvData            string
		EvLivemode                                      bool
		EvCreatedAt                                     time.Time
	}
	err := o.db.WithContext(ctx).Raw(`SELECT d.status AS d_status, d.endpoint_id AS d_endpoint, d.event_id AS d_event, d.attempts AS d_attempts,
		e.status AS ep_status, e.merchant_id AS ep_merchant, e.url AS ep_url, e.secret_enc AS ep_secret, e.enabled_events AS ep_events,
		e.livemode AS ep_livemode, e.failing_since AS ep_failing_since,
		v.merchant_id AS ev_merchant, v.type AS ev_type, v.object_id AS ev_object, v.data AS ev_data, v.livemode AS ev_livemode, v.created_at AS ev_created_at
		FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN events v ON v.id = d.event_id
		WHERE d.id = ?`, deliveryID).Scan(&row).Error
	if err != nil {
		return delivery{}, endpoint{}, event{}, fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	if row.DEvent == "" {
		return delivery{}, endpoint{}, event{}, fmt.Errorf("delivery %s: not found", deliveryID)
	}
	d := delivery{ID: deliveryID, EventID: row.DEvent, EndpointID: row.DEndpoint, Status: row.DStatus, Attempts: row.DAttempts}
	ep := endpoint{ID: row.DEndpoint, MerchantID: row.EpMerchant, Livemode: row.EpLivemode, URL: row.EpURL, SecretEnc: row.EpSecret,
		EnabledEvents: row.EpEvents, Status: row.EpStatus, FailingSince: row.EpFailingSince}
	ev := event{ID: row.DEvent, MerchantID: row.EvMerchant, Livemode: row.EvLivemode, Type: row.EvType, ObjectID: row.EvObject, Data: row.EvData, CreatedAt: row.EvCreatedAt}
	return d, ep, ev, nil
}

func (o *Outbound) finish(ctx context.Context, d *delivery, status string) error {
	return o.db.WithContext(ctx).Model(&delivery{}).Where("id = ? AND status = ?", d.ID, deliveryPending).
		Updates(map[string]any{"status": status, "next_attempt_at": nil, "updated_at": o.now()}).Error
}

// post makes one signed request. The signature's timestamp is the wall
// clock, not test mode's movable one: the merchant's receiver checks it
// against its own real clock to refuse replays, as Stripe's test clocks do.
func (o *Outbound) post(ctx context.Context, ep *endpoint, secret string, ev *event, body []byte) (status int, errText string, took time.Duration) {
	at := time.Now()
	sig, err := Sign(secret, ev.ID, at, body)
	if err != nil {
		return 0, "endpoint secret unusable: " + err.Error(), 0
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, "bad endpoint URL", 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tollgate-webhooks/1")
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	start := time.Now()
	res, err := o.http.Do(req)
	took = time.Since(start)
	if err != nil {
		// One message and no timing for a refused internal target, so the
		// attempt log cannot be used to map tollgate's network.
		if errors.Is(err, errInternalAddress) {
			return 0, "endpoint address is not public", 0
		}
		var ue interface{ Timeout() bool }
		if errors.As(err, &ue) && ue.Timeout() {
			return 0, fmt.Sprintf("no answer within %s", o.cfg.Timeout), took
		}
		return 0, "connection failed", took
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	return res.StatusCode, "", took
}

// noteFailureTx tracks how long an endpoint has been failing and disables
// it, with an event the merchant can see, once that passes DisableAfter.
func (o *Outbound) noteFailureTx(tx *gorm.DB, ep *endpoint, now time.Time) error {
	if ep.FailingSince == nil {
		return tx.Model(&endpoint{}).Where("id = ? AND failing_since IS NULL", ep.ID).Update("failing_since", now).Error
	}
	if now.Sub(*ep.FailingSince) < o.cfg.DisableAfter {
		return nil
	}
	reason := fmt.Sprintf("every delivery failed for %s", now.Sub(*ep.FailingSince).Round(time.Hour))
	res := tx.Model(&endpoint{}).Where("id = ? AND status = ?", ep.ID, endpointEnabled).
		Updates(map[string]any{"status": endpointDisabled, "disabled_reason": reason, "updated_at": now})
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	o.log.Warn("webhook endpoint disabled", "endpoint", ep.ID, "merchant", ep.MerchantID, "reason", reason)
	ep.Status, ep.DisabledReason = endpointDisabled, &reason
	// After the event's own read of the endpoints: a copy of what this
	// uncommitted transaction sees must not outlive it.
	defer o.changed(ep.MerchantID, ep.Livemode)
	return o.EmitTx(tx, billing.Event{MerchantID: ep.MerchantID, Livemode: ep.Livemode, Type: EventEndpointDisabled, ObjectID: ep.ID, Object: ep.view("")})
}
