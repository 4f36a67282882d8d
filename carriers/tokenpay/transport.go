package tokenpay

import (
	"context"
	"encoding/json"
	"net/url"

	"tollgate/carriers"
)

// send makes one request to the carrier (carriers.Send).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body any) (*carriers.Answer, error) {
	return carriers.Send(ctx, c.hc, carriers.Request{Method: method, URL: c.base + path, Query: query, Body: body})
}

// decode reads a JSON answer.
func decode(b []byte, v any) error {
	return json.Unmarshal(b, v)
}
