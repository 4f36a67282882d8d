package client

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"
)

// checkRetry decides whether a call is tried again. Only calls that cannot
// act twice are (GET, DELETE, and POSTs carrying an Idempotency-Key), and
// only when trying again can help:
//   - the request failed on the network (it may or may not have arrived;
//     the same key makes a second arrival a replay);
//   - 429 with Retry-After, after the wait: a limit on the API key answers
//     before the key is recorded, so the retry runs. A limit on the phone
//     number is kept with the key: the retry gets its replay, which carries
//     no Retry-After, and the retries stop there;
//   - 409 idempotency_request_in_progress: the first attempt is still running;
//   - 500, 502, 503, 504: tollgate keeps no 5xx answer, so the same key runs
//     the operation again, and finds what a first attempt may have made.
func checkRetry(ctx context.Context, res *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if ok, _ := ctx.Value(retryableKey{}).(bool); !ok {
		return false, nil
	}
	if err != nil {
		return true, nil
	}
	switch res.StatusCode {
	case http.StatusTooManyRequests:
		return res.Header.Get("Retry-After") != "", nil
	case http.StatusConflict:
		return problemCode(res) == "idempotency_request_in_progress", nil
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, nil
	}
	return false, nil
}

// problemCode peeks at an answer's problem code, leaving the body readable.
func problemCode(res *http.Response) string {
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(raw, &p)
	return p.Code
}

// backoff waits Retry-After when the gateway sent one, else doubles from
// min, never past the client's bound.
func (c *Client) backoff(min, max time.Duration, attempt int, res *http.Response) time.Duration {
	if res != nil {
		if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s >= 0 {
			return clamp(time.Duration(s)*time.Second, c.maxWait)
		}
	}
	wait := time.Duration(float64(min) * math.Pow(2, float64(attempt)))
	if wait <= 0 || wait > max {
		wait = max
	}
	return wait
}

func clamp(d, max time.Duration) time.Duration {
	if d > max {
		return max
	}
	return d
}
