package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// ListParams pages through a list, newest first: Limit 1–100 (0: the
// gateway's 20), StartingAfter the last id of the previous page.
type ListParams struct {
	Limit         int
	StartingAfter string
}

func (p ListParams) values() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("starting_after", p.StartingAfter)
	}
	return q
}

// List is one page.
type List[T any] struct {
	Data    []T  `json:"data"`
	HasMore bool `json:"has_more"`
}

// all walks every page from p on, calling page for each; id names an item.
func all[T any](ctx context.Context, p ListParams, id func(T) string, page func(context.Context, ListParams) (*List[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			l, err := page(ctx, p)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, v := range l.Data {
				if !yield(v, nil) {
					return
				}
			}
			if !l.HasMore || len(l.Data) == 0 {
				return
			}
			p.StartingAfter = id(l.Data[len(l.Data)-1])
		}
	}
}
