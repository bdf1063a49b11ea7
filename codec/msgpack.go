package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// The msgpack session serializer (extension msgpack 2.x,
// session.serialize_handler=msgpack, msgpack.php_only=On).
//
// $_SESSION is a msgpack map whose first pair is nil → 1 (the session
// array is a PHP reference); an empty session is the empty array 90.
// Lists (keys 0..n-1 in order) are msgpack arrays, other arrays maps.
// PHP-only values are maps with nil keys:
//
//	{nil: "Class", prop: value, ...}     object (mangled property names)
//	{nil: 1, nil: "Class", prop: ...}    object that is the target of a PHP reference
//	{nil: 1, key: value, ...}            array that is the target of a PHP reference
//	{nil: "Class", nil: [...]}           object written by __serialize()
//	{nil: 3, "Class": "payload"}         Serializable object
//	{nil: 4, 0: n}                       the n-th value again (same object)
//	{nil: 5, 0: n}                       a reference to the n-th value (an object)
//	{nil: 2, 0: n}                       a reference to the n-th value (an array)
//
// Values are numbered 1 (the session), 2, ... in the order the extension
// meets arrays and objects; a repeated object takes a number too, a
// repeated reference does not. The extension cannot express references to
// scalars shared by two places (it writes the value, and PHP reads back
// independent values) or enums (it writes them as objects that PHP then
// cannot read: "Cannot instantiate enum"): encoding such a value is an
// error wrapping ErrUnsupported. msgpack sessions are decoded whole.

var msgpackSerializer = serializer{
	name:     Msgpack,
	intKeys:  true,
	loneRefs: true,
	badName:  noBadName,
	depth0:   1,
	detect: func(b []byte) bool {
		c := b[0]
		return c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf || c == 0x90 && len(b) == 1
	},
	decode:       decodeMsgpack,
	appendEncode: appendEncodeMsgpack,
}

const (
	mpMarkReference = 1
	mpMarkRecursive = 2
	mpMarkCustom    = 3
	mpMarkObject    = 4
	mpMarkObjectRef = 5
)

// ---- decoding ----

type mpSlot struct {
	v Value
	m *omap // where the value was stored (to turn it into a reference)
	i int
}

type mpDecoder struct {
	cursor
	maxDepth int
	ids      []mpSlot // value n is ids[n-2]; 1 is the session
	boxes    boxedSlabs
}

// length reads a declared length or count of size bytes and checks it
// against the remaining input (each element takes at least unit bytes).
func (d *mpDecoder) length(size, unit int) (int, error) {
	n, err := d.uint(size)
	if err != nil {
		return 0, err
	}
	if n > uint64(len(d.d)-d.pos)/uint64(unit) {
		return 0, &SyntaxError{Offset: d.pos, Msg: fmt.Sprintf("msgpack: declared length %d exceeds the remaining input", n), Err: ErrTooLarge}
	}
	return int(n), nil
}

func (d *mpDecoder) bytes(n int) (string, error) {
	if err := d.need(n); err != nil {
		return "", err
	}
	s := d.d[d.pos : d.pos+n]
	d.pos += n
	return s, nil
}

// header reads a map or array header: its count and whether it is a map.
func (d *mpDecoder) header() (n int, isMap, ok bool, err error) {
	if err := d.need(1); err != nil {
		return 0, false, false, err
	}
	c := d.d[d.pos]
	switch {
	case c >= 0x80 && c <= 0x8f:
		d.pos++
		return int(c & 0x0f), true, true, nil
	case c >= 0x90 && c <= 0x9f:
		d.pos++
		return int(c & 0x0f), false, true, nil
	case c == 0xdc, c == 0xdd, c == 0xde, c == 0xdf:
		d.pos++
		size, unit := 2, 1
		if c == 0xdd || c == 0xdf {
			size = 4
		}
		if c >= 0xde {
			unit = 2
		}
		n, err := d.length(size, unit)
		return n, c >= 0xde, true, err
	}
	return 0, false, false, nil
}

// scalar reads a value that is not an array or map.
func (d *mpDecoder) scalar() (Value, error) {
	if err := d.need(1); err != nil {
		return nil, err
	}
	c := d.d[d.pos]
	d.pos++
	switch {
	case c <= 0x7f:
		return smallInts[c], nil
	case c >= 0xe0:
		return d.boxes.int(int64(int8(c)), 0), nil
	case c >= 0xa0 && c <= 0xbf:
		s, err := d.bytes(int(c & 0x1f))
		if err != nil {
			return nil, err
		}
		return d.boxes.str(s, len(d.d)-d.pos), nil
	}
	switch c {
	case 0xc0:
		return Null{}, nil
	case 0xc2:
		return Bool(false), nil
	case 0xc3:
		return Bool(true), nil
	case 0xcc, 0xcd, 0xce, 0xcf:
		u, err := d.uint(1 << (c - 0xcc))
		if err != nil {
			return nil, err
		}
		if u > math.MaxInt64 {
			// PHP reads it as a decimal string.
			return String(strconv.FormatUint(u, 10)), nil
		}
		return d.boxes.int(int64(u), len(d.d)-d.pos), nil
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		u, err := d.uint(size)
		if err != nil {
			return nil, err
		}
		shift := 64 - 8*size
		return d.boxes.int(int64(u<<shift)>>shift, len(d.d)-d.pos), nil
	case 0xca:
		u, err := d.uint(4)
		return Float(math.Float32frombits(uint32(u))), err
	case 0xcb:
		u, err := d.uint(8)
		if err != nil {
			return nil, err
		}
		return d.boxes.float(math.Float64frombits(u), len(d.d)-d.pos), nil
	case 0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6:
		size := 1
		switch c {
		case 0xda, 0xc5:
			size = 2
		case 0xdb, 0xc6:
			size = 4
		}
		n, err := d.length(size, 1)
		if err != nil {
			return nil, err
		}
		s, err := d.bytes(n)
		if err != nil {
			return nil, err
		}
		return d.boxes.str(s, len(d.d)-d.pos), nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		// fixext: PHP reads extension values as null.
		_, err := d.bytes(1 + 1<<(c-0xd4))
		return Null{}, err
	case 0xc7, 0xc8, 0xc9:
		n, err := d.length(1<<(c-0xc7), 1)
		if err != nil {
			return nil, err
		}
		_, err = d.bytes(n + 1)
		return Null{}, err
	}
	d.pos--
	return nil, d.errf("unknown type byte %#02x", c)
}

func (d *mpDecoder) newID(v Value) int {
	d.ids = append(d.ids, mpSlot{v: v})
	return len(d.ids) - 1
}

// value reads a value; slot is the index in ids of an array or object
// it created (-1 for none), for the caller to record where it stored it.
func (d *mpDecoder) value(depth int) (Value, int, error) {
	n, isMap, ok, err := d.header()
	if err != nil {
		return nil, -1, err
	}
	if !ok {
		v, err := d.scalar()
		if err != nil {
			return nil, -1, err
		}
		return v, -1, nil
	}
	if depth >= d.maxDepth {
		return nil, -1, &SyntaxError{Offset: d.pos, Msg: "msgpack: nesting too deep", Err: ErrDepth}
	}
	if !isMap {
		a := &Array{}
		id := d.newID(a)
		if n == 0 {
			a.ownEmpty = true
		}
		a.m.e = make([]entry, 0, n)
		for i := 0; i < n; i++ {
			v, slot, err := d.value(depth + 1)
			if err != nil {
				return nil, -1, err
			}
			a.m.e = append(a.m.e, entry{IntKey(int64(i)), v})
			d.record(slot, &a.m, i)
		}
		a.next, a.hasNext = int64(n), n > 0
		return a, id, nil
	}
	return d.mapValue(n, depth)
}

func (d *mpDecoder) record(slot int, m *omap, i int) {
	if slot >= 0 {
		d.ids[slot].m, d.ids[slot].i = m, i
	}
}

// markerAhead reports whether the next pair has a nil key, and the byte
// after it.
func (d *mpDecoder) markerAhead() (bool, byte) {
	if d.pos+1 < len(d.d) && d.d[d.pos] == 0xc0 {
		return true, d.d[d.pos+1]
	}
	return false, 0
}

func (d *mpDecoder) int() (int64, error) {
	v, err := d.scalar()
	if err != nil {
		return 0, err
	}
	n, ok := v.(Int)
	if !ok {
		return 0, d.errf("want an int, got %s", v.Kind())
	}
	return int64(n), nil
}

func (d *mpDecoder) str() (string, error) {
	at := d.pos
	v, err := d.scalar()
	if err != nil {
		return "", err
	}
	s, ok := v.(String)
	if !ok {
		d.pos = at
		return "", d.errf("want a string, got %s", v.Kind())
	}
	return string(s), nil
}

func (d *mpDecoder) mapValue(n, depth int) (Value, int, error) {
	start := d.pos
	if n == 0 {
		// PHP reads an empty map as an empty stdClass object.
		o := &Object{Class: "stdClass"}
		return o, d.newID(o), nil
	}
	nilKey, mark := d.markerAhead()
	if nilKey && (mark == mpMarkRecursive || mark == mpMarkObjectRef || mark == mpMarkObject) {
		if n != 2 {
			return nil, -1, d.errf("back-reference map of %d pairs", n)
		}
		d.pos += 2
		if _, err := d.scalar(); err != nil { // the key (0)
			return nil, -1, err
		}
		at := d.pos
		id, err := d.int()
		if err != nil {
			return nil, -1, err
		}
		return d.backRef(mark, id, at)
	}
	var ref *Reference
	id := d.newID(nil)
	if nilKey && mark == mpMarkCustom {
		if n != 2 {
			return nil, -1, d.errf("Serializable map of %d pairs", n)
		}
		d.pos += 2
		class, err := d.str()
		if err != nil {
			return nil, -1, err
		}
		payload, err := d.str()
		if err != nil {
			return nil, -1, err
		}
		v := &Serializable{Class: class, Payload: []byte(payload)}
		d.ids[id].v = v
		return v, id, nil
	}
	if nilKey && mark == mpMarkReference {
		d.pos += 2
		n--
		ref = &Reference{}
		nilKey, mark = false, 0
		if n > 0 {
			nilKey, mark = d.markerAhead()
		}
	}
	if nilKey && (mark >= 0xa0 && mark <= 0xbf || mark == 0xd9 || mark == 0xda || mark == 0xdb) {
		d.pos++
		class, err := d.str()
		if err != nil {
			return nil, -1, err
		}
		n--
		o := &Object{Class: class}
		var v Value = o
		if ref != nil {
			ref.V = o
			v = ref
		}
		d.ids[id].v = v
		if isNil, _ := d.markerAhead(); isNil && n == 1 && ref == nil {
			// __serialize(): {nil: "Class", nil: [...]}.
			d.pos++
			inner, slot, err := d.value(depth + 1)
			if err != nil {
				return nil, -1, err
			}
			a, ok := inner.(*Array)
			if !ok {
				return nil, -1, d.errf("__serialize data of %s is not an array", class)
			}
			_ = slot
			o.magic = true
			o.m.e = a.m.e
			return v, id, nil
		}
		if err := d.pairs(&o.m, n, depth); err != nil {
			return nil, -1, err
		}
		return v, id, nil
	}
	if nilKey {
		d.pos = start
		return nil, -1, d.errf("unsupported PHP marker in map")
	}
	a := &Array{}
	var v Value = a
	if ref != nil {
		ref.V = a
		v = ref
	}
	d.ids[id].v = v
	if err := d.pairs(&a.m, n, depth); err != nil {
		return nil, -1, err
	}
	for i := range a.m.e {
		a.noteKey(a.m.e[i].k)
	}
	return v, id, nil
}

func (d *mpDecoder) pairs(m *omap, n, depth int) error {
	m.e = make([]entry, 0, n)
	for i := 0; i < n; i++ {
		at := d.pos
		kv, err := d.scalar()
		if err != nil {
			return err
		}
		var k Key
		switch x := kv.(type) {
		case Int:
			k = IntKey(int64(x))
		case String:
			k = RawStrKey(string(x))
		default:
			d.pos = at
			return d.errf("map key of type %s", kv.Kind())
		}
		v, slot, err := d.value(depth + 1)
		if err != nil {
			return err
		}
		j := m.setDecoded(k, v)
		d.record(slot, m, j)
	}
	return nil
}

func (d *mpDecoder) backRef(mark byte, n int64, at int) (Value, int, error) {
	if n < 2 || n-2 >= int64(len(d.ids)) || d.ids[n-2].v == nil {
		return nil, -1, &SyntaxError{Offset: at, Msg: fmt.Sprintf("msgpack: reference to value %d, which does not exist", n)}
	}
	sl := &d.ids[n-2]
	switch mark {
	case mpMarkObject:
		// A repeated object takes a number of its own.
		v := Deref(sl.v)
		if !isObjectValue(v) {
			return nil, -1, &SyntaxError{Offset: at, Msg: fmt.Sprintf("msgpack: object reference to value %d, which is not an object", n)}
		}
		return v, d.newID(v), nil
	case mpMarkObjectRef:
		if r, ok := sl.v.(*Reference); ok {
			return r, -1, nil
		}
		if !isObjectValue(sl.v) {
			return nil, -1, &SyntaxError{Offset: at, Msg: fmt.Sprintf("msgpack: object reference to value %d, which is not an object", n)}
		}
		// The object's first place is no PHP reference: PHP wraps the
		// object in a reference of its own here (refcount 1), which no
		// other place shares. Only this place holds r; the encoders write
		// it as the object again (and msgpack's as this marker again).
		return &Reference{V: sl.v}, -1, nil
	}
	// mpMarkRecursive: a reference to an array.
	if r, ok := sl.v.(*Reference); ok {
		return r, -1, nil
	}
	a, ok := sl.v.(*Array)
	if !ok || sl.m == nil {
		return nil, -1, &SyntaxError{Offset: at, Msg: fmt.Sprintf("msgpack: array reference to value %d, which is not a finished array", n)}
	}
	// The first occurrence was written without the reference marker (an
	// empty array): it becomes the reference too.
	r := &Reference{V: a}
	sl.m.e[sl.i].v = r
	sl.v = r
	return r, -1, nil
}

func isObjectValue(v Value) bool {
	switch v.(type) {
	case *Object, *Serializable:
		return true
	}
	return false
}

func decodeMsgpack(ser *serializer, data string, opts *Options) (*Session, error) {
	d := mpDecoder{cursor: cursor{d: data, name: "msgpack"}, maxDepth: opts.maxDepth()}
	n, isMap, ok, err := d.header()
	if err != nil {
		return nil, err
	}
	if !ok || (!isMap && n != 0) {
		return nil, &SyntaxError{Offset: 0, Msg: fmt.Sprintf("msgpack: session is not a map (type byte %#02x)", data[0])}
	}
	root := &Array{}
	if isMap && n > 0 {
		if nilKey, mark := d.markerAhead(); nilKey && mark == mpMarkReference {
			d.pos += 2
			n--
		} else {
			return nil, d.errf("session map does not start with the reference marker nil → 1")
		}
		if err := d.pairs(&root.m, n, 0); err != nil {
			return nil, err
		}
	}
	return sessionFromArray(ser, data, root, opts), nil
}

// ---- encoding ----

type mpEncoder struct {
	buf  []byte
	n    int // the last value number used
	objs map[any]int
	refs map[*Reference]int
}

func (e *mpEncoder) head(short, b16 byte, n int) {
	switch {
	case n < 16:
		e.buf = append(e.buf, short|byte(n))
	case n < 65536:
		e.buf = append(e.buf, b16, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, b16+1)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
}

func (e *mpEncoder) long(d int64) {
	switch {
	case d < -(1 << 5):
		switch {
		case d < -(1 << 31):
			e.buf = append(e.buf, 0xd3)
			e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(d))
		case d < -(1 << 15):
			e.buf = append(e.buf, 0xd2)
			e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(d))
		case d < -(1 << 7):
			e.buf = append(e.buf, 0xd1, byte(d>>8), byte(d))
		default:
			e.buf = append(e.buf, 0xd0, byte(d))
		}
	case d < 1<<7:
		e.buf = append(e.buf, byte(d))
	case d < 1<<8:
		e.buf = append(e.buf, 0xcc, byte(d))
	case d < 1<<16:
		e.buf = append(e.buf, 0xcd, byte(d>>8), byte(d))
	case d < 1<<32:
		e.buf = append(e.buf, 0xce)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(d))
	default:
		e.buf = append(e.buf, 0xcf)
		e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(d))
	}
}

func (e *mpEncoder) str(s string) {
	n := len(s)
	switch {
	case n < 32:
		e.buf = append(e.buf, 0xa0|byte(n))
	case n < 256:
		e.buf = append(e.buf, 0xd9, byte(n))
	case n < 65536:
		e.buf = append(e.buf, 0xda, byte(n>>8), byte(n))
	default:
		e.buf = append(e.buf, 0xdb)
		e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(n))
	}
	e.buf = append(e.buf, s...)
}

func (e *mpEncoder) key(k Key) {
	if k.isStr {
		e.str(k.s)
	} else {
		e.long(k.i)
	}
}

// marker writes {nil: mark, 0: n}.
func (e *mpEncoder) marker(mark byte, n int) {
	e.buf = append(e.buf, 0x82, 0xc0, mark, 0x00)
	e.long(int64(n))
}

func isList(m *omap) bool {
	for i := range m.e {
		if m.e[i].k.isStr || m.e[i].k.i != int64(i) {
			return false
		}
	}
	return true
}

func (e *mpEncoder) pairs(m *omap, depth int) error {
	for i := range m.e {
		e.key(m.e[i].k)
		if err := e.value(m.e[i].v, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// arrayBody writes the elements of a plain array (or __serialize data).
func (e *mpEncoder) arrayBody(m *omap, depth int) error {
	if len(m.e) == 0 {
		e.buf = append(e.buf, 0x90)
		return nil
	}
	if isList(m) {
		e.head(0x90, 0xdc, len(m.e))
		for i := range m.e {
			if err := e.value(m.e[i].v, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	e.head(0x80, 0xde, len(m.e))
	return e.pairs(m, depth)
}

func (e *mpEncoder) value(v Value, depth int) error {
	if depth > DefaultMaxDepth {
		return fmt.Errorf("%w: msgpack: values nested deeper than %d (a cyclic *Array?)", ErrDepth, DefaultMaxDepth)
	}
	switch x := v.(type) {
	case nil, Null:
		e.buf = append(e.buf, 0xc0)
	case Bool:
		e.buf = append(e.buf, 0xc2+b2u(bool(x)))
	case Int:
		e.long(int64(x))
	case Float:
		e.buf = append(e.buf, 0xcb)
		e.buf = binary.BigEndian.AppendUint64(e.buf, math.Float64bits(float64(x)))
	case String:
		e.str(string(x))
	case *Array:
		if x == nil {
			e.buf = append(e.buf, 0xc0)
			return nil
		}
		if x.self {
			return fmt.Errorf("%w: msgpack: an array that holds itself (PHP's msgpack extension recurses without end on it)", ErrUnsupported)
		}
		e.n++
		return e.arrayBody(&x.m, depth)
	case *Reference:
		if x == nil {
			e.buf = append(e.buf, 0xc0)
			return nil
		}
		return e.reference(x, depth)
	case *Object, *Serializable, Serializable:
		return e.object(v, false, depth)
	case Enum:
		return fmt.Errorf("%w: msgpack cannot store the enum %s::%s (PHP's msgpack extension writes enums as objects it cannot read back)", ErrUnsupported, x.Class, x.Case)
	default:
		return fmt.Errorf("%w: %T", ErrUnsupported, v)
	}
	return nil
}

func (e *mpEncoder) reference(r *Reference, depth int) error {
	v := Deref(r.V)
	switch x := v.(type) {
	case *Object, *Serializable:
		return e.object(x, true, depth)
	case *Array:
		if x == nil {
			break
		}
		if n, ok := e.refs[r]; ok {
			e.marker(mpMarkRecursive, n)
			return nil
		}
		e.n++
		e.refs[r] = e.n
		if len(x.m.e) == 0 {
			// The extension writes an empty array without the marker.
			e.buf = append(e.buf, 0x90)
			return nil
		}
		e.head(0x80, 0xde, len(x.m.e)+1)
		e.buf = append(e.buf, 0xc0, mpMarkReference)
		return e.pairs(&x.m, depth)
	case Enum:
		return e.value(x, depth)
	}
	// A reference to a scalar is written as the value: PHP reads it back
	// as it was only if no other place shared it.
	if _, shared := e.refs[r]; !shared {
		e.refs[r] = 0
		return e.value(v, depth)
	}
	return fmt.Errorf("%w: msgpack cannot store a PHP reference to a %s (the extension writes the value and PHP reads back independent copies)", ErrUnsupported, Deref(v).Kind())
}

func (e *mpEncoder) object(v Value, inRef bool, depth int) error {
	var key any
	switch x := v.(type) {
	case *Object:
		if x == nil {
			e.buf = append(e.buf, 0xc0)
			return nil
		}
		key = x
	case *Serializable:
		if x == nil {
			e.buf = append(e.buf, 0xc0)
			return nil
		}
		key = x
	}
	if key != nil {
		if n, ok := e.objs[key]; ok {
			if inRef {
				e.marker(mpMarkObjectRef, n)
				return nil
			}
			e.n++ // a repeated object takes a number too
			e.marker(mpMarkObject, n)
			return nil
		}
	}
	e.n++
	if key != nil {
		e.objs[key] = e.n
	}
	switch x := v.(type) {
	case *Object:
		if !validClass(x.Class) {
			return classErr("object", x.Class)
		}
		if x.magic || magicClasses[x.Class] {
			e.buf = append(e.buf, 0x82, 0xc0)
			e.str(x.Class)
			e.buf = append(e.buf, 0xc0)
			e.n++ // the array __serialize() returned
			return e.arrayBody(&x.m, depth)
		}
		extra := 1
		if inRef {
			extra = 2
		}
		e.head(0x80, 0xde, len(x.m.e)+extra)
		if inRef {
			e.buf = append(e.buf, 0xc0, mpMarkReference)
		}
		e.buf = append(e.buf, 0xc0)
		e.str(x.Class)
		return e.pairs(&x.m, depth)
	case *Serializable:
		return e.serializable(x)
	case Serializable:
		return e.serializable(&x)
	}
	return nil
}

func (e *mpEncoder) serializable(x *Serializable) error {
	if !validClass(x.Class) {
		return classErr("Serializable", x.Class)
	}
	e.buf = append(e.buf, 0x82, 0xc0, mpMarkCustom)
	e.str(x.Class)
	e.str(string(x.Payload))
	return nil
}

func appendEncodeMsgpack(s *Session, dst []byte) ([]byte, error) {
	if len(s.ents) == 0 {
		return append(dst, 0x90), nil
	}
	e := mpEncoder{buf: dst, n: 1, objs: make(map[any]int), refs: make(map[*Reference]int)}
	e.head(0x80, 0xde, len(s.ents)+1)
	e.buf = append(e.buf, 0xc0, mpMarkReference)
	err := s.eachVariable(func(k Key, v Value) error {
		e.key(k)
		return e.value(v, 1)
	})
	if err != nil {
		return dst, err
	}
	return e.buf, nil
}

// magicClasses are PHP 8.2's own classes with __serialize(), which the
// msgpack extension always writes as {nil: class, nil: data} (objects of
// user classes with __serialize() are only known as such when decoded
// from msgpack).
var magicClasses = map[string]bool{
	"DateTime": true, "DateTimeImmutable": true, "DateTimeZone": true, "DateInterval": true, "DatePeriod": true,
	"ArrayObject": true, "ArrayIterator": true, "RecursiveArrayIterator": true,
	"SplDoublyLinkedList": true, "SplQueue": true, "SplStack": true, "SplFixedArray": true, "SplObjectStorage": true,
	"HashContext": true, `Random\Randomizer`: true, `Random\Engine\Mt19937`: true,
	`Random\Engine\PcgOneseq128XslRr64`: true, `Random\Engine\Xoshiro256StarStar`: true,
}
