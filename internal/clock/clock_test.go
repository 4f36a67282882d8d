package clock

import (
	"testing"
	"time"
)

func TestOffsetAfterFiresWhenAdvancedPastIt(t *testing.T) {
	t.Parallel()
	var o Offset
	later := o.After(time.Hour)
	soon := o.After(10 * time.Minute)
	o.Advance(9 * time.Minute)
	select {
	case <-soon:
		t.Fatal("fired before the clock reached it")
	default:
	}
	o.Advance(time.Minute)
	select {
	case <-soon:
	default:
		t.Fatal("moving the clock past it did not fire it")
	}
	select {
	case <-later:
		t.Fatal("the hour timer fired after 10 minutes")
	default:
	}
}

func TestOffsetAfterFiresAsWallTimePasses(t *testing.T) {
	t.Parallel()
	var o Offset
	select {
	case <-o.After(time.Millisecond):
	case <-time.After(10 * time.Second):
		t.Fatal("a timer did not fire as wall time passed")
	}
}

func TestManualMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 31, 15, 0, 0, 0, time.UTC)
	m := NewManual(start)
	if !m.Now().Equal(start) || !m.NowOrNil().Equal(start) {
		t.Fatal("a manual clock moved by itself")
	}
	m.Advance(time.Hour)
	if got := m.Now(); !got.Equal(start.Add(time.Hour)) {
		t.Fatalf("after Advance: %s", got)
	}
}

// After a partial advance, the rest of the wait is what is left of it.
func TestOffsetAfterWaitsOnlyWhatIsLeft(t *testing.T) {
	t.Parallel()
	var o Offset
	c := o.After(time.Hour)
	o.Advance(time.Hour - 50*time.Millisecond)
	select {
	case <-c:
	case <-time.After(20 * time.Second):
		t.Fatal("after moving the clock to 50 ms before it, the timer still waited for the whole hour")
	}
}
