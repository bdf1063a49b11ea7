package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// The igbinary session serializer (extension igbinary 3.x,
// session.serialize_handler=igbinary, igbinary.compact_strings=On).
//
// A session is the header 00 00 00 02 followed by $_SESSION as one
// igbinary array. Two tables span the whole blob: strings (each distinct
// non-empty string, array key, property name and class name is written
// once; later occurrences are string ids) and references (every array,
// object and PHP reference is numbered in order, the session array being
// #0; later occurrences of the same object, reference or shared array are
// back-references). Because of both tables a variable's bytes cannot be
// read without everything before them, so igbinary sessions are decoded
// whole (no lazy per-variable decoding).
//
// Arrays: PHP arrays are values, but PHP shares an array's storage between
// copies until one is changed, and igbinary writes the second and later
// places of shared storage as back-references (01 <id>). Decoding gives
// each place its own *Array (changing one does not change the other) that
// remembers its twin; encoding writes the back-reference again while the
// two are still equal. PHP's empty arrays are one shared immutable array,
// so igbinary writes the first empty array and refers back to it; an empty
// array PHP allocated itself (after removing elements, or read by
// msgpack) is written out each time, and decoding keeps that distinction.

const (
	igNull        = 0x00
	igRef8        = 0x01
	igRef16       = 0x02
	igRef32       = 0x03
	igFalse       = 0x04
	igTrue        = 0x05
	igLong8p      = 0x06
	igLong8n      = 0x07
	igLong16p     = 0x08
	igLong16n     = 0x09
	igLong32p     = 0x0a
	igLong32n     = 0x0b
	igDouble      = 0x0c
	igStrEmpty    = 0x0d
	igStrID8      = 0x0e
	igStrID16     = 0x0f
	igStrID32     = 0x10
	igStr8        = 0x11
	igStr16       = 0x12
	igStr32       = 0x13
	igArr8        = 0x14
	igArr16       = 0x15
	igArr32       = 0x16
	igObj8        = 0x17
	igObj16       = 0x18
	igObj32       = 0x19
	igObjID8      = 0x1a
	igObjID16     = 0x1b
	igObjID32     = 0x1c
	igObjSer8     = 0x1d
	igObjSer16    = 0x1e
	igObjSer32    = 0x1f
	igLong64p     = 0x20
	igLong64n     = 0x21
	igObjRef8     = 0x22
	igObjRef16    = 0x23
	igObjRef32    = 0x24
	igRef         = 0x25
	igStr64       = 0x26
	igEnumCase    = 0x27
	igbinaryMagic = "\x00\x00\x00\x02"
)

var igbinarySerializer = serializer{
	name:    Igbinary,
	intKeys: true,
	badName: noBadName,
	depth0:  1,
	detect: func(b []byte) bool {
		return len(b) >= 5 && b[0] == 0 && b[1] == 0 && b[2] == 0 && (b[3] == 2 || b[3] == 1)
	},
	decode:       decodeIgbinary,
	appendEncode: appendEncodeIgbinary,
}

// ---- decoding ----

type igDecoder struct {
	cursor
	strs     []string
	refs     []Value
	open     []bool // refs[i] is a plain array still being decoded
	maxDepth int
	empty    *Array // the first plain empty array (PHP's shared one)
	// pending: copies of arrays still being decoded, by reference id.
	pending map[uint64][]*Array
	copied  bool // a back-reference made a copy of an array (cowCopy)
	boxes   boxedSlabs
}

func (d *igDecoder) tooLarge(what string, n uint64) error {
	return &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf("igbinary: %s %d exceeds the remaining input", what, n), Err: ErrTooLarge}
}

// sizeOf returns the width of the length/id that follows type t, where
// t8 is the 8-bit variant of a 8/16/32 triple.
func igWidth(t, t8 byte) int { return 1 << (t - t8) }

func (d *igDecoder) long(t byte) (int64, error) {
	var size int
	neg := false
	switch t {
	case igLong8p, igLong8n:
		size, neg = 1, t == igLong8n
	case igLong16p, igLong16n:
		size, neg = 2, t == igLong16n
	case igLong32p, igLong32n:
		size, neg = 4, t == igLong32n
	case igLong64p, igLong64n:
		size, neg = 8, t == igLong64n
	}
	u, err := d.uint(size)
	if err != nil {
		return 0, err
	}
	if neg {
		if u > 1<<63 {
			return 0, d.errf("int out of range")
		}
		return int64(-u), nil
	}
	if u > math.MaxInt64 {
		return 0, d.errf("int out of range")
	}
	return int64(u), nil
}

// chars reads a string of type igStr8..igStr32/igStr64 (or a class name
// igObj8..igObj32) and adds it to the string table.
func (d *igDecoder) chars(t byte) (string, error) {
	var size int
	switch t {
	case igStr8, igObj8:
		size = 1
	case igStr16, igObj16:
		size = 2
	case igStr32, igObj32:
		size = 4
	case igStr64:
		size = 8
	}
	n, err := d.uint(size)
	if err != nil {
		return "", err
	}
	if n > uint64(len(d.d)-d.pos) {
		return "", d.tooLarge("string length", n)
	}
	s := d.d[d.pos : d.pos+int(n)]
	d.pos += int(n)
	d.strs = append(d.strs, s)
	return s, nil
}

// strID reads a string id of type igStrID8.. (or igObjID8..).
func (d *igDecoder) strID(size int) (string, error) {
	i, err := d.uint(size)
	if err != nil {
		return "", err
	}
	if i >= uint64(len(d.strs)) {
		return "", d.errf("string id %d out of range (%d strings)", i, len(d.strs))
	}
	return d.strs[i], nil
}

// str reads any string type.
func (d *igDecoder) str(t byte) (string, error) {
	switch t {
	case igStrEmpty:
		return "", nil
	case igStrID8, igStrID16, igStrID32:
		return d.strID(igWidth(t, igStrID8))
	case igStr8, igStr16, igStr32, igStr64:
		return d.chars(t)
	}
	d.pos--
	return "", d.errf("type %#02x is not a string", t)
}

func (d *igDecoder) addRef(v Value, open bool) int {
	d.refs = append(d.refs, v)
	d.open = append(d.open, open)
	return len(d.refs) - 1
}

// value reads one value. wantRef: the value is the target of a PHP
// reference (after igRef), and is returned as a *Reference when it is an
// array, an object or a back-reference.
func (d *igDecoder) value(depth int, wantRef bool) (Value, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	t := d.d[d.pos]
	d.pos++
	switch t {
	case igNull:
		return Null{}, nil
	case igFalse:
		return Bool(false), nil
	case igTrue:
		return Bool(true), nil
	case igLong8p, igLong8n, igLong16p, igLong16n, igLong32p, igLong32n, igLong64p, igLong64n:
		n, err := d.long(t)
		if err != nil {
			return nil, err
		}
		return d.boxes.int(n, len(d.d)-d.pos), nil
	case igDouble:
		u, err := d.uint(8)
		if err != nil {
			return nil, err
		}
		return d.boxes.float(math.Float64frombits(u), len(d.d)-d.pos), nil
	case igStrEmpty, igStrID8, igStrID16, igStrID32, igStr8, igStr16, igStr32, igStr64:
		s, err := d.str(t)
		if err != nil {
			return nil, err
		}
		return d.boxes.str(s, len(d.d)-d.pos), nil
	case igRef:
		if wantRef {
			// PHP reads a reference to a reference as one reference.
			return d.value(depth, true)
		}
		v, err := d.value(depth, true)
		if err != nil {
			return nil, err
		}
		if r, ok := v.(*Reference); ok {
			return r, nil
		}
		r := &Reference{V: v}
		d.addRef(r, false)
		return r, nil
	case igRef8, igRef16, igRef32:
		return d.backRef(igWidth(t, igRef8), wantRef)
	case igObjRef8, igObjRef16, igObjRef32:
		return d.backRef(igWidth(t, igObjRef8), wantRef)
	case igArr8, igArr16, igArr32:
		return d.array(t, depth, wantRef)
	case igObj8, igObj16, igObj32:
		class, err := d.chars(t)
		if err != nil {
			return nil, err
		}
		return d.object(class, depth, wantRef)
	case igObjID8, igObjID16, igObjID32:
		class, err := d.strID(igWidth(t, igObjID8))
		if err != nil {
			return nil, err
		}
		return d.object(class, depth, wantRef)
	}
	d.pos--
	return nil, d.errf("unknown type %#02x", t)
}

func (d *igDecoder) backRef(size int, wantRef bool) (Value, error) {
	at := d.pos - 1
	n, err := d.uint(size)
	if err != nil {
		return nil, err
	}
	if n >= uint64(len(d.refs)) {
		return nil, &SyntaxError{Offset: at, Msg: fmt.Sprintf("igbinary: back-reference %d out of range (%d values)", n, len(d.refs))}
	}
	v := d.refs[n]
	if d.open[n] {
		if r, ok := v.(*Reference); ok && wantRef {
			return r, nil // the reference whose array is being read
		}
		if wantRef {
			return nil, &SyntaxError{Offset: at, Msg: "igbinary: reference to an array that contains it"}
		}
		// An array that contains itself: the copy is filled in when the
		// array is complete. Through a PHP reference, the copy holds that
		// reference, and the cycle goes through it; through arrays only
		// (PHP wrote a reference of refcount 1 as its value), the copy
		// made of this placeholder while it is still empty stands for
		// the array (self).
		a, _ := v.(*Array)
		if r, ok := v.(*Reference); ok {
			a, _ = r.V.(*Array)
		}
		p := &Array{twin: a, self: true}
		if d.pending == nil {
			d.pending = map[uint64][]*Array{}
		}
		d.pending[n] = append(d.pending[n], p)
		d.copied = true
		return p, nil
	}
	if wantRef {
		if r, ok := v.(*Reference); ok {
			return r, nil
		}
		if a, ok := v.(*Array); ok {
			v = cowCopy(a)
			d.copied = true
		}
		r := &Reference{V: v}
		d.refs[n] = r
		return r, nil
	}
	if r, ok := v.(*Reference); ok {
		v = r.V
	}
	if a, ok := v.(*Array); ok {
		d.copied = true
		return cowCopy(a), nil
	}
	return v, nil
}

// standFor makes the self arrays that stand for a (its placeholders and
// copies of them made while a was being read) stand for orig instead, in
// the values from roots.
func standFor(a, orig *Array, roots ...Value) {
	w := graphWalk{visit: func(p *Value) bool {
		x, ok := (*p).(*Array)
		if !ok || x == nil || !x.self {
			return true
		}
		if x.twin == a {
			x.twin = orig
		}
		return false
	}}
	for i := range roots {
		w.walk(&roots[i])
	}
}

// cowCopy copies a: what PHP shares copy-on-write is separate in Go. Nested
// arrays are copied too; objects and references stay shared, as in PHP. A
// copy of a self array is one too, standing for the same array.
func cowCopy(a *Array) *Array {
	if a.self {
		return &Array{self: true, twin: a.twin}
	}
	c := &Array{next: a.next, hasNext: a.hasNext, full: a.full, ownEmpty: a.ownEmpty, twin: a}
	c.m.e = make([]entry, len(a.m.e))
	for i, e := range a.m.e {
		if x, ok := e.v.(*Array); ok {
			e.v = cowCopy(x)
		}
		c.m.e[i] = e
	}
	return c
}

// count reads an array count of type t and checks it against the input
// (every element takes at least one byte).
func (d *igDecoder) count(t, t8 byte) (int, error) {
	n, err := d.uint(igWidth(t, t8))
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.d)-d.pos) {
		return 0, d.tooLarge("element count", n)
	}
	return int(n), nil
}

// key reads an array key; skip reports a null key (PHP skips the element).
func (d *igDecoder) key() (k Key, skip bool, err error) {
	if err := d.need(1); err != nil {
		return k, false, err
	}
	t := d.d[d.pos]
	d.pos++
	switch t {
	case igNull:
		return k, true, nil
	case igLong8p, igLong8n, igLong16p, igLong16n, igLong32p, igLong32n, igLong64p, igLong64n:
		n, err := d.long(t)
		return IntKey(n), false, err
	case igStrEmpty, igStrID8, igStrID16, igStrID32, igStr8, igStr16, igStr32, igStr64:
		s, err := d.str(t)
		return RawStrKey(s), false, err
	}
	d.pos--
	return k, false, d.errf("unknown key type %#02x", t)
}

// members reads n key/value pairs into m; undef, if not nil, collects
// where a lone null stood instead of a pair.
func (d *igDecoder) members(m *omap, n, depth int, undef *[]int32) error {
	if n > 0 {
		m.e = make([]entry, 0, n)
	}
	for i := 0; i < n; i++ {
		k, skip, err := d.key()
		if err != nil {
			return err
		}
		if skip {
			if undef != nil {
				*undef = append(*undef, int32(len(m.e)))
			}
			continue
		}
		v, err := d.value(depth+1, false)
		if err != nil {
			return err
		}
		m.setDecoded(k, v)
	}
	return nil
}

func (d *igDecoder) array(t byte, depth int, wantRef bool) (Value, error) {
	if depth >= d.maxDepth {
		return nil, &SyntaxError{Offset: d.pos - 1, Msg: "igbinary: nesting too deep", Err: ErrDepth}
	}
	n, err := d.count(t, igArr8)
	if err != nil {
		return nil, err
	}
	a := &Array{}
	var ret Value = a
	var id int
	if wantRef {
		r := &Reference{V: a}
		ret = r
		id = d.addRef(r, true)
	} else {
		id = d.addRef(a, true)
		if n == 0 {
			if d.empty == nil {
				d.empty = a
			} else {
				a.ownEmpty = true
			}
		}
	}
	if err := d.members(&a.m, n, depth, nil); err != nil {
		return nil, err
	}
	for i := range a.m.e {
		a.noteKey(a.m.e[i].k)
	}
	d.open[id] = false
	if ps, ok := d.pending[uint64(id)]; ok {
		// Where the array held itself through arrays only, the copies
		// hold a self array that stands for orig, the array as read
		// (kept for the encoders: it is PHP's storage, which the copies
		// and a itself may stop holding once changed).
		orig := cowCopy(a)
		standFor(a, orig, a, orig)
		for _, p := range ps {
			*p = *cowCopy(orig)
			p.twin = a
		}
		delete(d.pending, uint64(id))
	}
	return ret, nil
}

func (d *igDecoder) object(class string, depth int, wantRef bool) (Value, error) {
	if depth >= d.maxDepth {
		return nil, &SyntaxError{Offset: d.pos, Msg: "igbinary: nesting too deep", Err: ErrDepth}
	}
	id := d.addRef(nil, false)
	if err := d.need(1); err != nil {
		return nil, err
	}
	t := d.d[d.pos]
	d.pos++
	var v Value
	switch t {
	case igArr8, igArr16, igArr32:
		n, err := d.count(t, igArr8)
		if err != nil {
			return nil, err
		}
		o := &Object{Class: class}
		v = o
		if wantRef {
			v = &Reference{V: o}
		}
		d.refs[id] = v
		if err := d.members(&o.m, n, depth, &o.undef); err != nil {
			return nil, err
		}
		return v, nil
	case igObjSer8, igObjSer16, igObjSer32:
		n, err := d.uint(igWidth(t, igObjSer8))
		if err != nil {
			return nil, err
		}
		if n > uint64(len(d.d)-d.pos) {
			return nil, d.tooLarge("Serializable payload length", n)
		}
		v = &Serializable{Class: class, Payload: []byte(d.d[d.pos : d.pos+int(n)])}
		d.pos += int(n)
	case igEnumCase:
		if err := d.need(1); err != nil {
			return nil, err
		}
		ct := d.d[d.pos]
		d.pos++
		var name string
		var err error
		switch ct {
		case igStr8, igStr16, igStr32, igStr64:
			name, err = d.chars(ct)
		case igStrID8, igStrID16, igStrID32:
			name, err = d.strID(igWidth(ct, igStrID8))
		case igObjID8, igObjID16, igObjID32:
			name, err = d.strID(igWidth(ct, igObjID8))
		default:
			d.pos--
			err = d.errf("enum case name of type %#02x", ct)
		}
		if err != nil {
			return nil, err
		}
		v = Enum{Class: class, Case: name}
	default:
		d.pos--
		return nil, d.errf("unknown object type %#02x", t)
	}
	if wantRef {
		v = &Reference{V: v}
	}
	d.refs[id] = v
	return v, nil
}

func decodeIgbinary(ser *serializer, data string, opts *Options) (*Session, error) {
	d := igDecoder{cursor: cursor{d: data, name: "igbinary"}, maxDepth: opts.maxDepth()}
	if len(data) < 5 {
		return nil, &SyntaxError{Offset: 0, Msg: fmt.Sprintf("igbinary: expected at least 5 bytes, got %d", len(data))}
	}
	if v := binary.BigEndian.Uint32([]byte(data[:4])); v != 1 && v != 2 {
		return nil, &SyntaxError{Offset: 0, Msg: fmt.Sprintf("igbinary: unsupported header %q (want \"\\x00\\x00\\x00\\x02\")", data[:4])}
	}
	d.pos = 4
	if t := data[4]; t < igArr8 || t > igArr32 {
		return nil, &SyntaxError{Offset: 4, Msg: fmt.Sprintf("igbinary: session is not an array (type %#02x)", t)}
	}
	v, err := d.value(0, false)
	if err != nil {
		return nil, err
	}
	if d.copied {
		unshareLoneRefs(v.(*Array))
	}
	return sessionFromArray(ser, data, v.(*Array), opts), nil
}

// unshareLoneRefs gives the copies of shared arrays (cowCopy) the value of
// each PHP reference that only the shared storage holds. PHP counts a
// reference once per place in storage, and copies share their twin's
// storage, so such a reference has refcount 1: PHP reads it as a plain
// value in every copy, and a change through one copy separates it. The
// twin keeps the *Reference, held by one place, so that re-encoding
// writes it again as PHP wrote it (igbinary writes every reference with a
// refcount of 2 or more when it serializes, whatever held it then).
func unshareLoneRefs(root *Array) {
	rc := refCounter{storage: true}
	var v Value = root
	rc.add(&v)
	copies := rc.copies
	cyc := map[*Reference]bool{}
	for len(copies) > 0 {
		c := copies[len(copies)-1]
		copies = copies[:len(copies)-1]
		for i := range c.m.e {
			switch x := c.m.e[i].v.(type) {
			case *Reference:
				if rc.count[x] != 1 || cyclic(x, cyc) {
					continue
				}
				if a, ok := x.V.(*Array); ok {
					a := cowCopy(a)
					c.m.e[i].v = a
					copies = append(copies, a)
				} else {
					c.m.e[i].v = x.V
				}
			case *Array:
				copies = append(copies, x)
			}
		}
	}
}

// cyclic reports whether r's value holds r again (through arrays, their
// copies, objects and references). Such a reference stays shared by the
// copies: its value is an array that holds its own storage, which only
// sharing can represent. memo caches the answers.
func cyclic(r *Reference, memo map[*Reference]bool) bool {
	if c, ok := memo[r]; ok {
		return c
	}
	found := false
	w := graphWalk{visit: func(p *Value) bool {
		switch x := (*p).(type) {
		case *Reference:
			found = found || x == r
		case *Serializable:
			return false
		}
		return !found
	}}
	w.walk(&r.V)
	memo[r] = found
	return found
}

// sessionFromArray makes a whole-decoded session of the variables in a.
func sessionFromArray(ser *serializer, data string, a *Array, opts *Options) *Session {
	s := NewSession(ser.name)
	s.src = data
	s.maxDepth = opts.maxDepth()
	s.whole = true
	s.ents = make([]sEntry, len(a.m.e))
	// Memory estimate: the data's share per variable, as for the lazy
	// serializers (no walk of the values).
	size := size32(2*len(data)/max(len(a.m.e), 1) + 32)
	for i, e := range a.m.e {
		s.ents[i] = sEntry{key: e.k, val: e.v, start: -1, end: -1, st: stClean, vsize: size}
		s.valBytes += int(size)
	}
	s.sh = new(uint32)
	return s
}

// ---- encoding ----

type igRefInfo struct {
	id   uint32
	open bool
}

type igEncoder struct {
	buf   []byte
	strs  map[string]uint32
	refs  map[any]igRefInfo
	nref  uint32
	empty int64 // id of the shared empty array, -1 before it is written
	sess  *Session
	// counts: the session's references counted as PHP's storage holds
	// them, computed when a copy is compared with its twin (see lone).
	counts *refCounter
	// copies: the copies of shared arrays written out in full, by the
	// array first decoded with their storage (see sameStorage).
	copies map[*Array][]*Array
}

// lone reports whether PHP will hold r in one place when it reads the
// session back.
func (e *igEncoder) lone(r *Reference) bool {
	if e.counts == nil {
		e.counts = &refCounter{storage: true}
		for i := range e.sess.ents {
			if v, err := e.sess.entryValue(&e.sess.ents[i]); err == nil {
				e.counts.add(&v)
			}
		}
	}
	return e.counts.count[r] == 1
}

func (e *igEncoder) sized(t8 byte, n uint64) {
	switch {
	case n <= 0xff:
		e.buf = append(e.buf, t8, byte(n))
	case n <= 0xffff:
		e.buf = append(e.buf, t8+1, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, t8+2)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
}

func (e *igEncoder) long(n int64) {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	var t byte
	switch {
	case u <= 0xff:
		t = igLong8p
		e.buf = append(e.buf, t+b2u(neg), byte(u))
		return
	case u <= 0xffff:
		t = igLong16p
		e.buf = append(e.buf, t+b2u(neg), byte(u>>8), byte(u))
		return
	case u <= 0xffffffff:
		e.buf = append(e.buf, igLong32p+b2u(neg))
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(u))
		return
	}
	e.buf = append(e.buf, igLong64p+b2u(neg))
	e.buf = binary.BigEndian.AppendUint64(e.buf, u)
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func (e *igEncoder) chars(t8 byte, s string) {
	n := uint64(len(s))
	if n > 0xffffffff && t8 == igStr8 {
		e.buf = append(e.buf, igStr64)
		e.buf = binary.BigEndian.AppendUint64(e.buf, n)
	} else {
		e.sized(t8, n)
	}
	e.buf = append(e.buf, s...)
}

// str writes a string, or its id when it was written before.
func (e *igEncoder) str(s string) {
	if s == "" {
		e.buf = append(e.buf, igStrEmpty)
		return
	}
	if id, ok := e.strs[s]; ok {
		e.sized(igStrID8, uint64(id))
		return
	}
	e.strs[s] = uint32(len(e.strs))
	e.chars(igStr8, s)
}

// className writes an object header with class name c (by id when the
// string was written before).
func (e *igEncoder) className(c string) {
	if id, ok := e.strs[c]; ok {
		e.sized(igObjID8, uint64(id))
		return
	}
	e.strs[c] = uint32(len(e.strs))
	e.chars(igObj8, c)
}

func (e *igEncoder) newRef(key any, open bool) uint32 {
	id := e.nref
	e.nref++
	if key != nil {
		e.refs[key] = igRefInfo{id: id, open: open}
	}
	return id
}

func (e *igEncoder) key(k Key) {
	if k.isStr {
		e.str(k.s)
	} else {
		e.long(k.i)
	}
}

func (e *igEncoder) members(m *omap, depth int, undef []int32) error {
	e.sized(igArr8, uint64(len(m.e)+len(undef)))
	for i := range m.e {
		for len(undef) > 0 && int(undef[0]) <= i {
			e.buf = append(e.buf, igNull)
			undef = undef[1:]
		}
		e.key(m.e[i].k)
		if err := e.value(m.e[i].v, depth+1); err != nil {
			return err
		}
	}
	for range undef {
		e.buf = append(e.buf, igNull)
	}
	return nil
}

func (e *igEncoder) value(v Value, depth int) error {
	if depth > DefaultMaxDepth {
		return fmt.Errorf("%w: igbinary: values nested deeper than %d", ErrDepth, DefaultMaxDepth)
	}
	switch x := v.(type) {
	case nil, Null:
		e.buf = append(e.buf, igNull)
	case Bool:
		e.buf = append(e.buf, igFalse+b2u(bool(x)))
	case Int:
		e.long(int64(x))
	case Float:
		e.buf = append(e.buf, igDouble)
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(float64(x)))
	case String:
		e.str(string(x))
	case *Array:
		if x == nil {
			e.buf = append(e.buf, igNull)
			return nil
		}
		return e.array(x, depth)
	case *Reference:
		if x == nil {
			e.buf = append(e.buf, igNull)
			return nil
		}
		return e.reference(x, depth)
	case *Object, *Serializable, Serializable, Enum:
		return e.object(v, depth)
	default:
		return fmt.Errorf("%w: %T", ErrUnsupported, v)
	}
	return nil
}

func (e *igEncoder) backRef(t8 byte, id uint32) { e.sized(t8, uint64(id)) }

func (e *igEncoder) array(x *Array, depth int) error {
	if ri, ok := e.refs[x]; ok {
		if ri.open {
			return fmt.Errorf("%w: igbinary: an *Array contains itself (use a *Reference)", ErrDepth)
		}
		e.backRef(igRef8, ri.id)
		return nil
	}
	if x.twin != nil {
		if id, ok := e.sameStorage(x); ok {
			e.backRef(igRef8, id)
			return nil
		}
	}
	if len(x.m.e) == 0 && !x.ownEmpty {
		if e.empty >= 0 {
			e.backRef(igRef8, uint32(e.empty))
			return nil
		}
		e.empty = int64(e.nref)
	}
	id := e.newRef(x, true)
	if x.twin != nil {
		root := storageOf(x)
		if e.copies == nil {
			e.copies = map[*Array][]*Array{}
		}
		e.copies[root] = append(e.copies[root], x)
	}
	err := e.members(&x.held().m, depth, nil)
	e.refs[x] = igRefInfo{id: id}
	return err
}

// sameStorage returns the id of an array already written (or being
// written: an array that holds a copy of itself) that PHP holds as the
// same storage as x, a copy of a shared array: the array first decoded
// with that storage, or a copy of it written out in full, that still
// holds what x holds. PHP writes a back-reference to the first place it
// wrote the storage; a copy changed since decoding is storage of its own.
func (e *igEncoder) sameStorage(x *Array) (uint32, bool) {
	root := storageOf(x)
	if ri, ok := e.refs[root]; ok && copyEqual(x, root, e.lone, 0) {
		return ri.id, true
	}
	for _, c := range e.copies[root] {
		if c != x && copyEqual(x, c, e.lone, 0) {
			return e.refs[c].id, true
		}
	}
	return 0, false
}

func (e *igEncoder) reference(r *Reference, depth int) error {
	e.buf = append(e.buf, igRef)
	v := Deref(r.V)
	switch x := v.(type) {
	case *Object, *Serializable, Enum:
		// The object's own number identifies it (igbinary numbers no
		// reference to an object).
		return e.object(x, depth)
	case Serializable:
		return e.object(x, depth)
	}
	if ri, ok := e.refs[r]; ok {
		e.backRef(igRef8, ri.id)
		return nil
	}
	id := e.newRef(r, true)
	defer func() { e.refs[r] = igRefInfo{id: id} }()
	if a, ok := v.(*Array); ok && a != nil {
		return e.members(&a.m, depth, nil)
	}
	return e.value(v, depth)
}

func (e *igEncoder) object(v Value, depth int) error {
	var key any
	switch x := v.(type) {
	case *Object:
		if x == nil {
			e.buf = append(e.buf, igNull)
			return nil
		}
		key = x
	case *Serializable:
		if x == nil {
			e.buf = append(e.buf, igNull)
			return nil
		}
		key = x
	case Enum:
		key = x
	}
	if key != nil {
		if ri, ok := e.refs[key]; ok {
			e.backRef(igObjRef8, ri.id)
			return nil
		}
	}
	e.newRef(key, false)
	switch x := v.(type) {
	case *Object:
		if !validClass(x.Class) {
			return classErr("object", x.Class)
		}
		e.className(x.Class)
		return e.members(&x.m, depth, x.undef)
	case *Serializable:
		return e.serializable(x)
	case Serializable:
		return e.serializable(&x)
	case Enum:
		if !validClass(x.Class) || x.Case == "" {
			return classErr("enum", x.Class+"::"+x.Case)
		}
		e.className(x.Class)
		e.buf = append(e.buf, igEnumCase)
		e.str(x.Case)
	}
	return nil
}

func (e *igEncoder) serializable(x *Serializable) error {
	if !validClass(x.Class) {
		return classErr("Serializable", x.Class)
	}
	e.className(x.Class)
	e.sized(igObjSer8, uint64(len(x.Payload)))
	e.buf = append(e.buf, x.Payload...)
	return nil
}

// arraysEqual reports whether a and b hold the same keys and values in
// the same order (objects and references by identity).
func arraysEqual(a, b *Array, depth int) bool { return copyEqual(a, b, nil, depth) }

// copyEqual reports whether c holds what b holds, where, when lone is not
// nil, a plain value in c matches a reference in b that lone reports PHP
// holds in one place (refcount 1: PHP reads it as a plain value in a copy
// of b's storage).
func copyEqual(c, b *Array, lone func(*Reference) bool, depth int) bool {
	if c == b {
		return true
	}
	if c.self || b.self {
		// A self array holds what the array it stands for holds: PHP's
		// storage as read, which holds references as the twins do (so
		// it is compared as b).
		if depth > DefaultMaxDepth {
			return false
		}
		if c.self && !b.self {
			return copyEqual(b, c.held(), lone, depth+1)
		}
		return copyEqual(c.held(), b.held(), lone, depth+1)
	}
	if len(c.m.e) != len(b.m.e) || depth > DefaultMaxDepth {
		return false
	}
	for i := range c.m.e {
		x, y := c.m.e[i], b.m.e[i]
		if x.k != y.k || !valuesEqual(x.v, y.v, lone, depth+1) {
			return false
		}
	}
	return true
}

func valuesEqual(x, y Value, lone func(*Reference) bool, depth int) bool {
	if r, ok := y.(*Reference); ok && lone != nil && r != nil {
		if _, xr := x.(*Reference); !xr {
			return lone(r) && valuesEqual(x, r.V, lone, depth)
		}
	}
	switch a := x.(type) {
	case *Array:
		b, ok := y.(*Array)
		return ok && a != nil && b != nil && copyEqual(a, b, lone, depth)
	case Float:
		b, ok := y.(Float)
		return ok && math.Float64bits(float64(a)) == math.Float64bits(float64(b))
	case Serializable:
		return false
	case nil:
		_, ok := y.(Null)
		return y == nil || ok
	case Null:
		_, ok := y.(Null)
		return y == nil || ok
	}
	return x == y
}

// igEncoders recycles the encoders' tables.
var igEncoders = sync.Pool{New: func() any {
	return &igEncoder{strs: make(map[string]uint32, 64), refs: make(map[any]igRefInfo, 16)}
}}

func appendEncodeIgbinary(s *Session, dst []byte) ([]byte, error) {
	e := igEncoders.Get().(*igEncoder)
	e.sess = s
	defer func() {
		e.buf, e.sess, e.counts, e.copies = nil, nil, nil, nil
		if len(e.strs) <= 4096 {
			clear(e.strs)
			clear(e.refs)
			igEncoders.Put(e)
		}
	}()
	e.buf, e.empty, e.nref = append(dst, igbinaryMagic...), -1, 1 // #0: the session array
	e.sized(igArr8, uint64(len(s.ents)))
	err := s.eachVariable(func(k Key, v Value) error {
		e.key(k)
		return e.value(v, 1)
	})
	if err != nil {
		return dst, err
	}
	return e.buf, nil
}

// entryValue returns the value of a variable, decoding it from the
// original bytes if it was not decoded yet (php family only).
func (s *Session) entryValue(e *sEntry) (Value, error) {
	if e.st == stRaw {
		return s.decodeEntry(e)
	}
	return e.val, nil
}

// eachVariable calls put with the key and value of each variable, in
// order, after checking that the serializer can write the key: the loop
// of the encoders that write every value (igbinary, msgpack).
func (s *Session) eachVariable(put func(k Key, v Value) error) error {
	for i := range s.ents {
		en := &s.ents[i]
		if err := s.ser.validEncodedKey(en.key); err != nil {
			return err
		}
		v, err := s.entryValue(en)
		if err != nil {
			return err
		}
		if err := put(en.key, v); err != nil {
			return err
		}
	}
	return nil
}
