package webhooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/internal/jsonbody"
	"tollgate/internal/problem"
	"tollgate/internal/ratelimit"
	"tollgate/internal/web"
)

type attemptView struct {
	Attempt    int    `json:"attempt"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
	DurationMs int64  `json:"duration_ms"`
	At         string `json:"at"`
}

type deliveryView struct {
	ID            string        `json:"id"`
	Endpoint      string        `json:"endpoint"`
	Status        string        `json:"status"`
	Attempts      []attemptView `json:"attempts"`
	NextAttemptAt *string       `json:"next_attempt_at"`
	DeliveredAt   *string       `json:"delivered_at"`
}

type eventView struct {
	ID         string          `json:"id"`
	Object     string          `json:"object"`
	Type       string          `json:"type"`
	CreatedAt  string          `json:"created_at"`
	Livemode   bool            `json:"livemode"`
	Data       json.RawMessage `json:"data"`
	Deliveries []deliveryView  `json:"deliveries,omitempty"`
}

func (e *event) view() eventView {
	data, _ := json.Marshal(map[string]json.RawMessage{"object": json.RawMessage(e.Data)})
	return eventView{ID: e.ID, Object: "event", Type: e.Type, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339), Livemode: e.Livemode, Data: data}
}

func rfc3339(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func (o *Outbound) handleListEvents(c echo.Context) error {
	p := web.Principal(c)
	q := c.QueryParams()
	limit := 20
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return problem.Invalid("limit", "limit must be an integer from 1 to 100.")
		}
		limit = n
	}
	db := o.db.WithContext(c.Request().Context()).Where("merchant_id = ?", p.MerchantID)
	for k := range q {
		switch k {
		case "limit", "starting_after", "type", "object_id":
		default:
			pr := problem.Invalid(k, fmt.Sprintf("Unknown query parameter %q.", k))
			pr.Code = problem.CodeUnknownParameter
			return pr
		}
	}
	if t := q.Get("type"); t != "" {
		db = db.Where("type = ?", t)
	}
	if id := q.Get("object_id"); id != "" {
		db = db.Where("object_id = ?", id)
	}
	if after := q.Get("starting_after"); after != "" {
		var cur event
		if err := o.db.WithContext(c.Request().Context()).Select("seq").Where("id = ? AND merchant_id = ?", after, p.MerchantID).Take(&cur).Error; err != nil {
			return problem.Invalid("starting_after", "starting_after must be the id of one of your events.")
		}
		db = db.Where("seq < ?", cur.Seq)
	}
	var evs []event
	if err := db.Order("seq DESC").Limit(limit + 1).Find(&evs).Error; err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	more := len(evs) > limit
	if more {
		evs = evs[:limit]
	}
	out := make([]any, 0, len(evs))
	for i := range evs {
		out = append(out, evs[i].view())
	}
	return c.JSON(http.StatusOK, map[string]any{"object": "list", "data": out, "has_more": more})
}

func (o *Outbound) eventOf(c echo.Context) (*event, error) {
	var ev event
	err := o.db.WithContext(c.Request().Context()).Where("id = ? AND merchant_id = ?", c.Param("id"), web.Principal(c).MerchantID).Take(&ev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, problem.NotFound("event")
	}
	return &ev, err
}

// handleGetEvent shows an event with every delivery and every attempt.
func (o *Outbound) handleGetEvent(c echo.Context) error {
	ev, err := o.eventOf(c)
	if err != nil {
		return err
	}
	v := ev.view()
	v.Deliveries = []deliveryView{}
	var ds []delivery
	if err := o.db.WithContext(c.Request().Context()).Where("event_id = ?", ev.ID).Order("seq").Find(&ds).Error; err != nil {
		return err
	}
	for _, d := range ds {
		var as []attempt
		if err := o.db.WithContext(c.Request().Context()).Where("delivery_id = ?", d.ID).Order("attempt").Find(&as).Error; err != nil {
			return err
		}
		dv := deliveryView{ID: d.ID, Endpoint: d.EndpointID, Status: d.Status, Attempts: []attemptView{}, DeliveredAt: rfc3339(d.DeliveredAt)}
		if d.Status == deliveryPending {
			dv.NextAttemptAt = rfc3339(d.NextAttemptAt)
		}
		for _, a := range as {
			dv.Attempts = append(dv.Attempts, attemptView{Attempt: a.Attempt, StatusCode: a.StatusCode, Error: a.Error, DurationMs: a.DurationMs, At: a.At.UTC().Format(time.RFC3339)})
		}
		v.Deliveries = append(v.Deliveries, dv)
	}
	return c.JSON(http.StatusOK, v)
}

// handleRedeliver sends an event again, now, to the endpoint named or to
// every enabled endpoint that subscribes to its type.
func (o *Outbound) handleRedeliver(c echo.Context) error {
	ev, err := o.eventOf(c)
	if err != nil {
		return err
	}
	var in struct {
		Endpoint string `json:"endpoint"`
	}
	if err := jsonbody.Decode(c.Request(), &in); err != nil {
		return err
	}
	if err := ratelimit.Problem(o.cfg.Limits.Take(c.Request().Context(), LimitRedeliveries, ev.MerchantID), "redeliveries by this merchant; nothing was queued"); err != nil {
		return err
	}
	queued := 0
	err = o.db.WithContext(c.Request().Context()).Transaction(func(tx *gorm.DB) error {
		q := tx.Where("merchant_id = ? AND livemode = ? AND status = ?", ev.MerchantID, ev.Livemode, endpointEnabled)
		if in.Endpoint != "" {
			q = q.Where("id = ?", in.Endpoint)
		}
		var eps []endpoint
		if err := q.Find(&eps).Error; err != nil {
			return err
		}
		if in.Endpoint != "" && len(eps) == 0 {
			return problem.Unprocessable(problem.CodeInvalidParameter, "endpoint", "No enabled webhook endpoint with that id.")
		}
		for i := range eps {
			if in.Endpoint != "" || eps[i].wants(ev.Type) {
				if err := o.queueTx(tx, ev, &eps[i]); err != nil {
					return err
				}
				queued++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"id": ev.ID, "object": "event", "deliveries_queued": queued})
}
