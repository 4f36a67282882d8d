package settlement

import (
	"hash/maphash"
	"math/bits"
)

// index is the gateway's side of one business day, held compactly and
// without a pointer the garbage collector would have to trace: ids back to
// back in one byte slab, a fixed 24-byte entry each, and an open-addressing
// table of 4-byte slots at most half full. A charge costs about 60 bytes,
// so a million charges need some 60 MiB, and the file's side is never held.
type index struct {
	slots   []uint32 // 0: empty; else 1 + the entry's position
	mask    uint64
	entries []entry
	slab    []byte
	seed    maphash.Seed
	names   interned // gateway statuses and currencies
}

// entry is one gateway charge or refund.
type entry struct {
	amount   int64
	off      uint32 // its id is slab[off : off+idLen]
	idLen    uint8
	status   uint8 // into names
	currency uint8 // into names
	object   uint8 // objCharge or objRefund
	flags    uint8
}

const (
	objCharge uint8 = iota
	objRefund
)

const (
	flagExpected uint8 = 1 << iota // on this day at the gateway: the file must list it
	flagSeen                       // a line of the file matched it
)

// newIndex sizes an index for about size records.
func newIndex(size int) *index {
	x := &index{seed: maphash.MakeSeed(), entries: make([]entry, 0, size), slab: make([]byte, 0, size*27)}
	x.resize(size)
	return x
}

// resize makes a table for n records at most half full and refills it.
func (x *index) resize(n int) {
	size := uint64(1) << max(4, bits.Len64(uint64(2*n)))
	x.slots, x.mask = make([]uint32, size), size-1
	for i := range x.entries {
		e := &x.entries[i]
		j := maphash.Bytes(x.seed, x.slab[e.off:e.off+uint32(e.idLen)]) & x.mask
		for x.slots[j] != 0 {
			j = (j + 1) & x.mask
		}
		x.slots[j] = uint32(i) + 1
	}
}

// find returns the position of id.
func (x *index) find(id string) (int32, bool) {
	j := maphash.String(x.seed, id) & x.mask
	for {
		s := x.slots[j]
		if s == 0 {
			return 0, false
		}
		e := &x.entries[s-1]
		if int(e.idLen) == len(id) && string(x.slab[e.off:e.off+uint32(e.idLen)]) == id { // compared in place, no copy
			return int32(s - 1), true
		}
		j = (j + 1) & x.mask
	}
}

// add records a gateway object under id (copied) and returns its position.
// An id already present keeps its first entry. Ids are at most 255 bytes.
func (x *index) add(id []byte, e entry) int32 {
	if len(id) > 255 {
		id = id[:255]
	}
	if i, ok := x.find(string(id)); ok { // the conversion does not allocate
		return i
	}
	if 2*(len(x.entries)+1) > len(x.slots) {
		x.resize(2 * len(x.entries))
	}
	e.off, e.idLen = uint32(len(x.slab)), uint8(len(id))
	x.slab = append(x.slab, id...)
	i := int32(len(x.entries))
	x.entries = append(x.entries, e)
	j := maphash.Bytes(x.seed, id) & x.mask
	for x.slots[j] != 0 {
		j = (j + 1) & x.mask
	}
	x.slots[j] = uint32(i) + 1
	return i
}

// id is the id of the entry at i, as a new string.
func (x *index) id(i int32) string {
	e := &x.entries[i]
	return string(x.slab[e.off : e.off+uint32(e.idLen)])
}

// interned numbers a small set of strings (statuses, currencies).
type interned struct {
	list []string
	pos  map[string]uint8
}

func (n *interned) id(s string) uint8 {
	if i, ok := n.pos[s]; ok {
		return i
	}
	if n.pos == nil {
		n.pos = map[string]uint8{}
	}
	if len(n.list) == 255 {
		panic("settlement: more than 255 distinct statuses and currencies in one day")
	}
	i := uint8(len(n.list))
	n.list = append(n.list, s)
	n.pos[s] = i
	return i
}

func (n *interned) idBytes(b []byte) uint8 {
	if i, ok := n.pos[string(b)]; ok {
		return i
	}
	return n.id(string(b))
}

func (n *interned) name(i uint8) string { return n.list[i] }
