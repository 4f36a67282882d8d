package settlement

import (
	"fmt"
	"testing"
)

func TestIndexGrowsAndFinds(t *testing.T) {
	x := newIndex(1)
	for i := range 10000 {
		if got := x.add(fmt.Appendf(nil, "ch_%d", i), entry{amount: int64(i)}); got != int32(i) {
			t.Fatalf("add %d: position %d", i, got)
		}
	}
	if got := x.add([]byte("ch_42"), entry{amount: -1}); got != 42 || x.entries[42].amount != 42 {
		t.Errorf("a second add of an id: %d %d", got, x.entries[42].amount)
	}
	for i := range 10000 {
		p, ok := x.find(fmt.Sprintf("ch_%d", i))
		if !ok || x.entries[p].amount != int64(i) || x.id(p) != fmt.Sprintf("ch_%d", i) {
			t.Fatalf("find ch_%d: %d %v", i, p, ok)
		}
	}
	for _, s := range []string{"", "ch_10000", "ch_", "c"} {
		if _, ok := x.find(s); ok {
			t.Errorf("found %q", s)
		}
	}
}
