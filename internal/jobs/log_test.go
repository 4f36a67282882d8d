package jobs

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestRiverRoutineLogsAreDebug: river's job counts and maintenance passes
// go out at DEBUG (so not at all under the default info level), while its
// other INFO messages (a job errored, the client stopped) stay at INFO.
func TestRiverRoutineLogsAreDebug(t *testing.T) {
	for _, c := range []struct {
		level     slog.Level
		msg       string
		wantLevel string // "" when the record must not be written
	}{
		{slog.LevelInfo, "producer: Producer job counts", ""},
		{slog.LevelInfo, "JobCleaner: Ran successfully", ""},
		{slog.LevelInfo, "JobExecutor: Job errored; retrying", "INFO"},
		{slog.LevelInfo, "River client stopped", "INFO"},
		{slog.LevelDebug, "producer: Producer job counts", "DEBUG"},
		{slog.LevelDebug, "JobExecutor: Job errored; retrying", "INFO"},
	} {
		var buf bytes.Buffer
		log := slog.New(routineAtDebug(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: c.level}))).With("component", "jobs")
		log.Info(c.msg, "queue", "default")
		out := buf.String()
		switch {
		case c.wantLevel == "" && out != "":
			t.Errorf("at level %s, %q was written: %s", c.level, c.msg, out)
		case c.wantLevel != "" && !strings.Contains(out, "level="+c.wantLevel):
			t.Errorf("at level %s, %q: %q, want it at %s", c.level, c.msg, out, c.wantLevel)
		case c.wantLevel != "" && !strings.Contains(out, "component=jobs"):
			t.Errorf("the logger's attributes were lost: %s", out)
		}
	}
}
