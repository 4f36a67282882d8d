package ttlcache

import (
	"errors"
	"testing"
	"time"

	"tollgate/internal/clock"
)

func TestACopyLivesOneTTLAndAForgetEndsItAtOnce(t *testing.T) {
	clk := &clock.Offset{}
	c := New[string, int](5*time.Second, 10, clk)
	if _, ok, tok := c.Get("a"); ok {
		t.Fatal("an empty cache hit")
	} else {
		c.Put("a", 1, tok)
	}
	if v, ok, _ := c.Get("a"); !ok || v != 1 {
		t.Fatalf("got %d %v; want the copy", v, ok)
	}
	clk.Advance(5 * time.Second)
	if _, ok, _ := c.Get("a"); ok {
		t.Fatal("a copy outlived its TTL: a change on another node would never be seen")
	}
	_, _, tok := c.Get("a")
	c.Put("a", 2, tok)
	c.Forget("a")
	if _, ok, _ := c.Get("a"); ok {
		t.Fatal("a forgotten copy was still served")
	}
}

func TestAReadThatRacedAForgetIsNotKept(t *testing.T) {
	c := New[string, int](time.Minute, 10, &clock.Offset{})
	_, _, tok := c.Get("a") // a reader misses and goes to the database...
	c.Forget("a")           // ...while this node commits a change...
	c.Put("a", 1, tok)      // ...and the reader comes back with what it read before it
	if _, ok, _ := c.Get("a"); ok {
		t.Fatal("a read from before a change was kept after it")
	}
}

func TestTheCacheIsBoundedAndOffIsNil(t *testing.T) {
	c := New[int, int](time.Minute, 3, &clock.Offset{})
	for i := range 10 {
		_, _, tok := c.Get(i)
		c.Put(i, i, tok)
	}
	if n := len(c.m); n > 3 {
		t.Fatalf("%d entries kept; at most 3", n)
	}
	var off *Cache[int, int] = New[int, int](0, 3, &clock.Offset{})
	if off != nil {
		t.Fatal("a zero TTL made a cache")
	}
	_, _, tok := off.Get(1)
	off.Put(1, 1, tok)
	off.Forget(1)
	if _, ok, _ := off.Get(1); ok {
		t.Fatal("no cache hit")
	}
}

func TestLoadReadsOnAMissAndKeepsOnlyWhatItMayKeep(t *testing.T) {
	c := New[string, int](time.Minute, 10, &clock.Offset{})
	reads := 0
	read := func(v int, err error) func() (int, error) {
		return func() (int, error) { reads++; return v, err }
	}
	if _, err := c.Load("a", read(0, errors.New("down"))); err == nil {
		t.Fatal("a failed read was not reported")
	}
	if v, err := c.Load("a", read(1, nil)); err != nil || v != 1 || reads != 2 {
		t.Fatalf("got %d %v after %d reads; a failed read must not be kept", v, err, reads)
	}
	if v, _ := c.Load("a", read(2, nil)); v != 1 || reads != 2 {
		t.Fatalf("got %d after %d reads; want the copy, no read", v, reads)
	}
	// A change on this node while a read is out: what the read saw is not kept.
	c.Forget("a")
	c.Load("a", func() (int, error) { c.Forget("a"); return 3, nil })
	if _, ok, _ := c.Get("a"); ok {
		t.Fatal("a read that raced a Forget was kept")
	}
	var off *Cache[string, int]
	off.Load("a", read(4, nil))
	if v, _ := off.Load("a", read(5, nil)); v != 5 {
		t.Fatalf("no cache answered %d; want a fresh read each time", v)
	}
}
