package billingapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"tollgate/internal/problem"
	"tollgate/internal/web"
)

// idempotencyKey is a row of idempotency_keys: the first answer to a
// merchant's key, kept to be replayed byte for byte.
type idempotencyKey struct {
	MerchantID     string
	Key            string
	RequestHash    string
	State          string
	ResponseStatus int
	ResponseType   string
	ResponseBody   []byte
	CreatedAt      time.Time
	LockedUntil    time.Time
}

func (idempotencyKey) TableName() string { return "idempotency_keys" }

const (
	idemInProgress = "in_progress"
	idemDone       = "done"
	// idemLease bounds how long a crashed request holds its key; a retry
	// after it takes the key over and, through the charge's own unique
	// (merchant, key) index, finds the charge the crashed request made.
	idemLease = 2 * time.Minute
	// HeaderIdempotencyKey is the request header merchants send.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// idempotency makes a POST safe to retry: the same merchant and key with the
// same body get the first answer again, a different body gets 422, a
// concurrent duplicate waits for the first or gets 409. 5xx answers are not
// kept, so a retry after one runs again.
func (a *API) idempotency(required bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			key := c.Request().Header.Get(HeaderIdempotencyKey)
			if key == "" {
				if required {
					return problem.New(http.StatusBadRequest, problem.CodeIdempotencyKeyRequired, "This request needs an Idempotency-Key header (1 to 255 characters), unique per operation, reused on retries.")
				}
				return next(c)
			}
			if len(key) > 255 || !printable(key) {
				return problem.New(http.StatusBadRequest, problem.CodeIdempotencyKeyInvalid, "Idempotency-Key must be 1 to 255 printable characters (UTF-8, no control characters).")
			}
			body, err := io.ReadAll(c.Request().Body)
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return problem.New(http.StatusRequestEntityTooLarge, problem.CodeBodyTooLarge, "The request body is larger than 1 MiB.")
				}
				return problem.New(http.StatusBadRequest, problem.CodeInvalidJSON, "The request body could not be read.")
			}
			c.Request().Body = io.NopCloser(bytes.NewReader(body))
			p := web.Principal(c)
			hash := requestHash(c.Request().Method, c.Request().URL.Path, body)
			ctx := c.Request().Context()

			// How long a duplicate waits is a bound on the merchant's
			// latency, so it runs on real time: on test mode's movable
			// clock (or a stopped one) it must still end.
			waited := time.NewTimer(a.cfg.Wait)
			defer waited.Stop()
			poll := time.NewTicker(20 * time.Millisecond)
			defer poll.Stop()
			for timedOut := false; ; {
				row, owned, err := a.claimKey(ctx, p.MerchantID, key, hash)
				if err != nil {
					return err
				}
				if row.RequestHash != hash {
					return problem.Unprocessable(problem.CodeIdempotencyKeyReused, "", "This Idempotency-Key was used with a different request; use a new key for a new operation.")
				}
				if owned {
					return a.runAndStore(c, next, p.MerchantID, key)
				}
				if row.State == idemDone {
					c.Response().Header().Set("Idempotent-Replayed", "true")
					return c.Blob(row.ResponseStatus, row.ResponseType, row.ResponseBody)
				}
				if timedOut {
					return problem.New(http.StatusConflict, problem.CodeIdempotencyInProgress, "A request with this Idempotency-Key is still in progress; retry shortly.")
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-waited.C:
					timedOut = true // look once more, then give up
				case <-poll.C:
				}
			}
		}
	}
}

// printable: valid UTF-8 without control characters, which no key needs
// and PostgreSQL's text refuses (a NUL) or cannot compare.
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// requestHash identifies "the same request": method, path and the body's
// JSON value (so key order and spacing do not matter).
func requestHash(method, path string, body []byte) string {
	canon := body
	var v any
	if err := json.Unmarshal(body, &v); err == nil {
		if b, err := json.Marshal(v); err == nil {
			canon = b
		}
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, path)
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))
}

// claimKey inserts the key as in progress, or returns the row that holds it.
// owned is true when this request may run: it inserted the row, or took
// over one whose lease ran out or whose retention passed.
func (a *API) claimKey(ctx context.Context, merchantID, key, hash string) (idempotencyKey, bool, error) {
	now := a.now()
	// The lease bounds a crashed request in real time: moving test mode's
	// clock must not hand a key still in flight to a duplicate.
	wall := time.Now().UTC()
	row := idempotencyKey{MerchantID: merchantID, Key: key, RequestHash: hash, State: idemInProgress, CreatedAt: now, LockedUntil: wall.Add(idemLease)}
	inserted, err := a.claims.Do(ctx, row)
	if err != nil {
		return row, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if inserted {
		return row, true, nil
	}
	var cur idempotencyKey
	err = a.db.WithContext(ctx).Where("merchant_id = ? AND key = ?", merchantID, key).Take(&cur).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return a.claimKey(ctx, merchantID, key, hash) // deleted after a 5xx meanwhile
	}
	if err != nil {
		return cur, false, fmt.Errorf("read idempotency key: %w", err)
	}
	expiredRow := now.Sub(cur.CreatedAt) > a.cfg.Retention
	staleLock := cur.State == idemInProgress && wall.After(cur.LockedUntil)
	if (expiredRow || staleLock) && (cur.RequestHash == hash || expiredRow) {
		res := a.db.WithContext(ctx).Model(&idempotencyKey{}).
			Where("merchant_id = ? AND key = ? AND state = ? AND locked_until = ?", merchantID, key, cur.State, cur.LockedUntil).
			Updates(map[string]any{"request_hash": hash, "state": idemInProgress, "created_at": now, "locked_until": wall.Add(idemLease), "response_body": nil})
		if res.Error != nil {
			return cur, false, fmt.Errorf("take over idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			cur.RequestHash = hash
			return cur, true, nil
		}
	}
	return cur, false, nil
}

// recorder keeps a copy of what the handler writes.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (a *API) runAndStore(c echo.Context, next echo.HandlerFunc, merchantID, key string) error {
	rec := &recorder{ResponseWriter: c.Response().Writer}
	c.Response().Writer = rec
	if err := next(c); err != nil {
		c.Error(err) // render now, so the answer can be kept
	}
	c.Response().Writer = rec.ResponseWriter
	// The answer goes out before it is kept: what it says is committed
	// already, and a retry that arrives meanwhile finds the key in progress
	// and waits for it (above) as it would for the request itself. A
	// writer that cannot flush sends it when the handler returns.
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
	// The merchant may have gone; the answer is still recorded.
	ctx := context.WithoutCancel(c.Request().Context())
	where := a.db.WithContext(ctx).Where("merchant_id = ? AND key = ?", merchantID, key)
	if rec.status >= 500 || rec.status == 0 {
		if err := where.Delete(&idempotencyKey{}).Error; err != nil {
			a.log.Error("release idempotency key", "error", err)
		}
		return nil
	}
	err := a.storeAnswer(ctx, keptAnswer{merchantID: merchantID, key: key, status: rec.status,
		contentType: c.Response().Header().Get(echo.HeaderContentType), body: rec.body.Bytes()})
	if err != nil {
		a.log.Error("store idempotent response", "error", err)
	}
	return nil
}
