package codec

import "unsafe"

// Boxing decoded scalars.
//
// Storing a String, Int or Float in a Value normally allocates a small
// object per value (Go only caches the ints 0-255). Decoding instead
// carves these from per-decode slabs and builds the interface value
// around a pointer into the slab, so a decode allocates a few slabs
// instead of one object per scalar. This relies only on the layout of a
// non-empty interface (a type word and a pointer to the data, which is
// how Go stores every non-pointer-shaped type such as String, Int and
// Float): the result is an ordinary Value (type switches, assertions,
// ==, reflect all work), and the slab element is never written again.
// A value keeps its whole slab alive, as the decoded strings already
// keep the one copy of the input they view alive.

// iface is the layout of a non-empty interface value.
type iface struct {
	tab  unsafe.Pointer
	data unsafe.Pointer
}

func itabOf(v Value) unsafe.Pointer { return (*iface)(unsafe.Pointer(&v)).tab }

var (
	stringTab = itabOf(String(""))
	intTab    = itabOf(Int(0))
	floatTab  = itabOf(Float(0))
)

// smallInts holds boxed 0..255 (no allocation for them, as in Go).
var smallInts = func() (t [256]Value) {
	for i := range t {
		t[i] = Int(i)
	}
	return t
}()

// boxedSlabs holds the slabs of one decode.
type boxedSlabs struct {
	strs   []String
	ints   []Int
	floats []Float
}

// slabSize returns the capacity of the next slab: it doubles from 8 (so
// that at most about half of the last slab is unused), up to one value
// per per bytes of the remaining input and at most 256.
func slabSize(prev, remaining, per int) int {
	c := min(2*prev, remaining/per, 256)
	return max(c, 8)
}

// boxString returns s as a Value.
func (d *decoder) boxString(s string) Value { return d.boxes.str(s, len(d.d)-d.pos) }

// boxInt returns n as a Value.
func (d *decoder) boxInt(n int64) Value { return d.boxes.int(n, len(d.d)-d.pos) }

// boxFloat returns f as a Value.
func (d *decoder) boxFloat(f float64) Value { return d.boxes.float(f, len(d.d)-d.pos) }

// str returns s as a Value; remaining is the input left to decode (it
// bounds the next slab).
func (b *boxedSlabs) str(s string, remaining int) Value {
	if len(b.strs) == cap(b.strs) {
		b.strs = make([]String, 0, slabSize(cap(b.strs), remaining, 16))
	}
	n := len(b.strs)
	b.strs = b.strs[:n+1]
	p := &b.strs[n]
	*p = String(s)
	var v Value
	*(*iface)(unsafe.Pointer(&v)) = iface{stringTab, unsafe.Pointer(p)}
	return v
}

// int returns n as a Value.
func (b *boxedSlabs) int(n int64, remaining int) Value {
	if uint64(n) < uint64(len(smallInts)) {
		return smallInts[n]
	}
	if len(b.ints) == cap(b.ints) {
		b.ints = make([]Int, 0, slabSize(cap(b.ints), remaining, 8))
	}
	i := len(b.ints)
	b.ints = b.ints[:i+1]
	p := &b.ints[i]
	*p = Int(n)
	var v Value
	*(*iface)(unsafe.Pointer(&v)) = iface{intTab, unsafe.Pointer(p)}
	return v
}

// float returns f as a Value.
func (b *boxedSlabs) float(f float64, remaining int) Value {
	if len(b.floats) == cap(b.floats) {
		b.floats = make([]Float, 0, slabSize(cap(b.floats), remaining, 8))
	}
	i := len(b.floats)
	b.floats = b.floats[:i+1]
	p := &b.floats[i]
	*p = Float(f)
	var v Value
	*(*iface)(unsafe.Pointer(&v)) = iface{floatTab, unsafe.Pointer(p)}
	return v
}
