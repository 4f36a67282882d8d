package jobs

import (
	"context"
	"log/slog"
	"strings"
)

// routineMessages are the ends of the messages river logs at INFO as a
// matter of routine: each producer's job counts every 5 s, and each
// maintenance service's pass ("JobCleaner: Ran successfully"). An operator
// wants them only when debugging the queue; job errors, panics, leader
// changes and stops keep river's own levels.
var routineMessages = []string{": Producer job counts", ": Ran successfully"}

// routineAtDebug passes river's log records to h, its routine INFO ones
// at DEBUG.
func routineAtDebug(h slog.Handler) slog.Handler { return routineHandler{h} }

type routineHandler struct{ next slog.Handler }

func (r routineHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return r.next.Enabled(ctx, l)
}

func (r routineHandler) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level == slog.LevelInfo && routine(rec.Message) {
		if !r.next.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		rec.Level = slog.LevelDebug
	}
	return r.next.Handle(ctx, rec)
}

func (r routineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return routineHandler{r.next.WithAttrs(as)}
}

func (r routineHandler) WithGroup(name string) slog.Handler {
	return routineHandler{r.next.WithGroup(name)}
}

func routine(msg string) bool {
	for _, end := range routineMessages {
		if strings.HasSuffix(msg, end) {
			return true
		}
	}
	return false
}
