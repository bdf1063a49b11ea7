package codec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxEncodeDepth is the deepest nesting of arrays and objects the encoder
// writes: PHP's default unserialize_max_depth. PHP could not read deeper
// data back (and destroys a session it cannot decode), so deeper values —
// and cyclic *Arrays, whose cycle no *Reference or *Object breaks — are an
// ErrDepth error instead.
const maxEncodeDepth = DefaultMaxDepth

// encoder writes serialize() text and numbers values like PHP's
// php_var_serialize: every value gets the next number, R: does not consume
// one, objects and references are remembered to write r:/R:.
type encoder struct {
	buf    []byte
	n      int
	seen   map[any]int
	cdepth int // Serializable payloads being re-encoded around this encoder
	// prot: the arrays being written that PHP protects against recursion
	// (array elements and object properties that are arrays; see element).
	prot []*Array
}

// EncodeValue returns the serialize() text of v.
func EncodeValue(v Value) ([]byte, error) {
	return AppendValue(nil, v)
}

// AppendValue appends the serialize() text of v to dst.
func AppendValue(dst []byte, v Value) ([]byte, error) {
	e := encoder{buf: dst}
	if err := e.value(v, 0); err != nil {
		return dst, err
	}
	return e.buf, nil
}

// refKey returns the identity under which a reference is numbered: the
// object for references to objects (as PHP does), else the reference.
func refKey(r *Reference) (any, Value) {
	inner := Deref(r.V)
	switch x := inner.(type) {
	case *Object:
		return x, inner
	case *Serializable:
		return x, inner
	case Enum:
		return x, inner
	}
	return r, inner
}

func (e *encoder) remember(k any, n int) {
	if e.seen == nil {
		e.seen = make(map[any]int)
	}
	e.seen[k] = n
}

func (e *encoder) value(v Value, depth int) error {
	if r, ok := v.(*Reference); ok && r != nil {
		k, inner := refKey(r)
		if n, ok := e.seen[k]; ok {
			e.buf = append(e.buf, "R:"...)
			e.buf = appendInt64(e.buf, int64(n))
			e.buf = append(e.buf, ';')
			return nil
		}
		e.n++
		if k == any(r) {
			e.remember(k, e.n) // before the body: the value may contain R: to itself
		} // objects are remembered by body
		return e.body(inner, e.n, depth)
	}
	e.n++
	return e.body(v, e.n, depth)
}

func (e *encoder) backref(k any) bool {
	if n, ok := e.seen[k]; ok {
		e.buf = append(e.buf, "r:"...)
		e.buf = appendInt64(e.buf, int64(n))
		e.buf = append(e.buf, ';')
		return true
	}
	return false
}

func (e *encoder) str(s string) {
	e.buf = append(e.buf, "s:"...)
	e.buf = appendInt64(e.buf, int64(len(s)))
	e.buf = append(e.buf, ':', '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"', ';')
}

func (e *encoder) key(k Key) {
	if k.isStr {
		e.str(k.s)
		return
	}
	e.buf = append(e.buf, "i:"...)
	e.buf = appendInt64(e.buf, k.i)
	e.buf = append(e.buf, ';')
}

// members writes the elements of an array (parent) or the properties of
// an object (parent nil).
func (e *encoder) members(m *omap, depth int, parent *Array) error {
	e.buf = appendInt64(e.buf, int64(len(m.e)))
	e.buf = append(e.buf, ':', '{')
	for i := range m.e {
		e.key(m.e[i].k)
		if err := e.element(m.e[i].v, parent, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// element writes v, an element of array parent or a property of an object
// (parent nil), or a php_serialize session variable. PHP marks an array
// held there as being serialized while it writes it, and writes N; for an
// array whose storage is already marked or is the parent's own: an array
// that holds itself through a PHP reference. Only igbinary data builds
// such storage sharing in Go (an *Array with a twin; see cowCopy), so the
// check runs for arrays that have one.
func (e *encoder) element(v Value, parent *Array, depth int) error {
	x, ok := v.(*Array)
	if !ok || x == nil {
		return e.value(v, depth)
	}
	if (x.twin != nil || x.unwrapped && e.writing(x)) && e.recursive(x, parent) {
		e.n++
		e.buf = append(e.buf, 'N', ';')
		return nil
	}
	e.prot = append(e.prot, x)
	err := e.value(x, depth)
	e.prot = e.prot[:len(e.prot)-1]
	return err
}

// writing reports whether x itself is an array being written that PHP
// protects: arrays that hold each other with no PHP reference in between,
// which only Convert builds (Array.unwrapped); other Go cycles of arrays
// fail with ErrDepth, as PHP cannot build them.
func (e *encoder) writing(x *Array) bool {
	for _, p := range e.prot {
		if p == x {
			return true
		}
	}
	return false
}

// recursive reports whether x shares its storage with its parent array or
// with an array being written that PHP protects, or is one of those.
func (e *encoder) recursive(x, parent *Array) bool {
	if x.unwrapped && e.writing(x) {
		return true
	}
	if parent != nil && sharesStorage(x, parent) {
		return true
	}
	for _, p := range e.prot {
		if sharesStorage(x, p) {
			return true
		}
	}
	return false
}

// sharesStorage reports whether x and p are copies of one array PHP
// shared between places (copy on write) and still hold the same values.
func sharesStorage(x, p *Array) bool {
	return x != p && storageOf(x) == storageOf(p) && arraysEqual(x, p, 0)
}

// storageOf follows an array's twins to the array first decoded.
func storageOf(a *Array) *Array {
	for i := 0; a.twin != nil && i < maxEncodeDepth; i++ {
		a = a.twin
	}
	return a
}

func classErr(kind, class string) error {
	return fmt.Errorf("%w: %s class name %q", ErrInvalidName, kind, class)
}

// body writes v, whose number is n.
func (e *encoder) body(v Value, n, depth int) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, 'N', ';')
	case Null:
		e.buf = append(e.buf, 'N', ';')
	case Bool:
		if x {
			e.buf = append(e.buf, "b:1;"...)
		} else {
			e.buf = append(e.buf, "b:0;"...)
		}
	case Int:
		e.buf = append(e.buf, 'i', ':')
		e.buf = appendInt64(e.buf, int64(x))
		e.buf = append(e.buf, ';')
	case Float:
		e.buf = append(e.buf, 'd', ':')
		e.buf = FormatFloat(e.buf, float64(x))
		e.buf = append(e.buf, ';')
	case String:
		e.str(string(x))
	case *Array:
		if x == nil {
			e.buf = append(e.buf, 'N', ';')
			return nil
		}
		if depth >= maxEncodeDepth {
			return fmt.Errorf("%w: arrays nested deeper than %d (PHP could not read them back; a cyclic *Array?)", ErrDepth, maxEncodeDepth)
		}
		e.buf = append(e.buf, 'a', ':')
		return e.members(&x.held().m, depth, x)
	case *Object:
		if x == nil {
			e.buf = append(e.buf, 'N', ';')
			return nil
		}
		if e.backref(x) {
			return nil
		}
		if !validClass(x.Class) {
			return classErr("object", x.Class)
		}
		if depth >= maxEncodeDepth {
			return fmt.Errorf("%w: objects nested deeper than %d (PHP could not read them back)", ErrDepth, maxEncodeDepth)
		}
		e.remember(x, n)
		e.buf = append(e.buf, 'O', ':')
		e.buf = appendInt64(e.buf, int64(len(x.Class)))
		e.buf = append(e.buf, ':', '"')
		e.buf = append(e.buf, x.Class...)
		e.buf = append(e.buf, '"', ':')
		return e.members(&x.m, depth, nil)
	case *Serializable:
		if x == nil {
			e.buf = append(e.buf, 'N', ';')
			return nil
		}
		if e.backref(x) {
			return nil
		}
		e.remember(x, n)
		return e.serializable(x, n, depth)
	case Serializable:
		return e.serializable(&x, n, depth)
	case Enum:
		if e.backref(x) {
			return nil
		}
		if !validClass(x.Class) || x.Case == "" {
			return classErr("enum", x.Class+":"+x.Case)
		}
		e.remember(x, n)
		e.buf = append(e.buf, 'E', ':')
		e.buf = appendInt64(e.buf, int64(len(x.Class)+1+len(x.Case)))
		e.buf = append(e.buf, ':', '"')
		e.buf = append(e.buf, x.Class...)
		e.buf = append(e.buf, ':')
		e.buf = append(e.buf, x.Case...)
		e.buf = append(e.buf, '"', ';')
	case *Reference:
		// A nil *Reference or a reference nested in a reference.
		if x == nil {
			e.buf = append(e.buf, 'N', ';')
			return nil
		}
		return e.body(Deref(x), n, depth)
	default:
		return fmt.Errorf("%w: %T", ErrUnsupported, v)
	}
	return nil
}

func (e *encoder) serializable(x *Serializable, n, depth int) error {
	if !validClass(x.Class) {
		return classErr("serializable", x.Class)
	}
	e.buf = append(e.buf, 'C', ':')
	e.buf = appendInt64(e.buf, int64(len(x.Class)))
	e.buf = append(e.buf, ':', '"')
	e.buf = append(e.buf, x.Class...)
	e.buf = append(e.buf, '"', ':')
	if !x.Opaque && x.decodedPayload() && e.cdepth < maxPayloadReencode && (x.dupsInside || x.refsInside && n != x.base) {
		// The numbering moved and the payload holds R:/r:, or a repeated
		// key inside it dropped a numbered value: re-encode it with the
		// shared counter so that its references, and the numbers after
		// it, follow.
		sub := encoder{n: e.n, seen: e.seen, cdepth: e.cdepth + 1}
		if err := sub.value(x.inner, depth+1); err != nil {
			return err
		}
		e.n, e.seen = sub.n, sub.seen
		e.buf = appendInt64(e.buf, int64(len(sub.buf)))
		e.buf = append(e.buf, ':', '{')
		e.buf = append(e.buf, sub.buf...)
		e.buf = append(e.buf, '}')
		return nil
	}
	e.buf = appendInt64(e.buf, int64(len(x.Payload)))
	e.buf = append(e.buf, ':', '{')
	e.buf = append(e.buf, x.Payload...)
	e.buf = append(e.buf, '}')
	return e.walkPayload(x, depth)
}

// maxPayloadReencode bounds re-encoding of Serializable payloads nested in
// payloads (each level copies its payload once; deeper levels are written
// as they were decoded).
const maxPayloadReencode = 8

// walkPayload numbers (and registers the objects of) the values PHP
// numbered inside a payload written verbatim.
func (e *encoder) walkPayload(x *Serializable, depth int) error {
	switch {
	case x.Opaque:
	case x.decodedPayload():
		return e.walk(x.inner, depth+1)
	case x.counted:
		e.n += x.nslots
	default:
		e.n += payloadSlots(x.Payload)
	}
	return nil
}

// walk numbers v like value does, without writing anything.
func (e *encoder) walk(v Value, depth int) error {
	if r, ok := v.(*Reference); ok && r != nil {
		k, inner := refKey(r)
		if _, ok := e.seen[k]; ok {
			return nil
		}
		e.n++
		if k == any(r) {
			e.remember(k, e.n)
		}
		return e.walkBody(inner, e.n, depth)
	}
	e.n++
	return e.walkBody(v, e.n, depth)
}

func (e *encoder) walkBody(v Value, n, depth int) error {
	switch x := v.(type) {
	case *Array:
		if x == nil {
			return nil
		}
		if depth >= maxEncodeDepth {
			return fmt.Errorf("%w: arrays nested deeper than %d", ErrDepth, maxEncodeDepth)
		}
		for i := range x.m.e {
			if err := e.walk(x.m.e[i].v, depth+1); err != nil {
				return err
			}
		}
	case *Object:
		if x == nil {
			return nil
		}
		if _, ok := e.seen[x]; ok {
			return nil
		}
		if depth >= maxEncodeDepth {
			return fmt.Errorf("%w: objects nested deeper than %d", ErrDepth, maxEncodeDepth)
		}
		e.remember(x, n)
		for i := range x.m.e {
			if err := e.walk(x.m.e[i].v, depth+1); err != nil {
				return err
			}
		}
	case *Serializable:
		if x == nil {
			return nil
		}
		if _, ok := e.seen[x]; ok {
			return nil
		}
		e.remember(x, n)
		return e.walkPayload(x, depth)
	case Serializable:
		return e.walkPayload(&x, depth)
	case Enum:
		if _, ok := e.seen[x]; !ok {
			e.remember(x, n)
		}
	case *Reference:
		if x != nil {
			return e.walkBody(Deref(x), n, depth)
		}
	}
	return nil
}

// payloadSlots counts the numbered values of a payload that is one
// serialize() value (0 for an opaque payload).
func payloadSlots(p []byte) int {
	d := decoder{d: string(p), maxDepth: DefaultMaxDepth, lenient: true}
	if err := d.value(nil, 0, 0); err != nil || d.pos != len(p) {
		return 0
	}
	return d.nslot
}

var _ = errors.New
var _ = math.MaxInt

// appendInt64 is strconv.AppendInt(b, n, 10) with a fast path for the
// small numbers (lengths, counts, keys) that dominate serialize() text.
func appendInt64(b []byte, n int64) []byte {
	switch {
	case n >= 0 && n < 10:
		return append(b, byte('0'+n))
	case n >= 10 && n < 100:
		return append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return strconv.AppendInt(b, n, 10)
}
