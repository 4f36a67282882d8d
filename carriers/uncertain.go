package carriers

import (
	"context"
	"sync/atomic"
)

// A carrier operation may take several tries. If any try may have reached
// the carrier (it timed out or was reset after being written), a later
// "503, nothing done" speaks only for that last try: the operation's
// outcome is unknown. The resilient client records such tries here, and
// the breaker decorator, which wraps every adapter, reclassifies.

type uncertainKey struct{}

func withUncertainty(ctx context.Context) (context.Context, *atomic.Bool) {
	var b atomic.Bool
	return context.WithValue(ctx, uncertainKey{}, &b), &b
}

// markUncertain notes that a try's fate is unknown.
func markUncertain(ctx context.Context) {
	if b, ok := ctx.Value(uncertainKey{}).(*atomic.Bool); ok {
		b.Store(true)
	}
}
