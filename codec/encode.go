package codec

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// maxEncodeDepth bounds recursion when encoding; only a cyclic *Array
// (a cycle not broken by a *Reference or *Object) can reach it.
const maxEncodeDepth = 1 << 16

// encoder writes serialize() text and numbers values like PHP's
// php_var_serialize: every value gets the next number, R: does not consume
// one, objects and references are remembered to write r:/R:.
type encoder struct {
	buf  []byte
	n    int
	seen map[any]int
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
			e.buf = strconv.AppendInt(e.buf, int64(n), 10)
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
		e.buf = strconv.AppendInt(e.buf, int64(n), 10)
		e.buf = append(e.buf, ';')
		return true
	}
	return false
}

func (e *encoder) str(s string) {
	e.buf = append(e.buf, "s:"...)
	e.buf = strconv.AppendInt(e.buf, int64(len(s)), 10)
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
	e.buf = strconv.AppendInt(e.buf, k.i, 10)
	e.buf = append(e.buf, ';')
}

func (e *encoder) members(m *omap, depth int) error {
	e.buf = strconv.AppendInt(e.buf, int64(len(m.e)), 10)
	e.buf = append(e.buf, ':', '{')
	for i := range m.e {
		e.key(m.e[i].k)
		if err := e.value(m.e[i].v, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
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
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
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
			return fmt.Errorf("%w: array nesting (a cyclic *Array?)", ErrDepth)
		}
		e.buf = append(e.buf, 'a', ':')
		return e.members(&x.m, depth)
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
			return fmt.Errorf("%w: object nesting", ErrDepth)
		}
		e.remember(x, n)
		e.buf = append(e.buf, 'O', ':')
		e.buf = strconv.AppendInt(e.buf, int64(len(x.Class)), 10)
		e.buf = append(e.buf, ':', '"')
		e.buf = append(e.buf, x.Class...)
		e.buf = append(e.buf, '"', ':')
		return e.members(&x.m, depth)
	case *Serializable:
		if x == nil {
			e.buf = append(e.buf, 'N', ';')
			return nil
		}
		if e.backref(x) {
			return nil
		}
		e.remember(x, n)
		return e.serializable(x, depth)
	case Serializable:
		return e.serializable(&x, depth)
	case Enum:
		if e.backref(x) {
			return nil
		}
		if !validClass(x.Class) || x.Case == "" {
			return classErr("enum", x.Class+":"+x.Case)
		}
		e.remember(x, n)
		e.buf = append(e.buf, 'E', ':')
		e.buf = strconv.AppendInt(e.buf, int64(len(x.Class)+1+len(x.Case)), 10)
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

func (e *encoder) serializable(x *Serializable, depth int) error {
	if !validClass(x.Class) {
		return classErr("serializable", x.Class)
	}
	e.buf = append(e.buf, 'C', ':')
	e.buf = strconv.AppendInt(e.buf, int64(len(x.Class)), 10)
	e.buf = append(e.buf, ':', '"')
	e.buf = append(e.buf, x.Class...)
	e.buf = append(e.buf, '"', ':')
	if x.inner != nil && x.innerSrc == string(x.Payload) && !x.Opaque {
		// Re-encode the payload with the shared counter, so that its
		// back-references follow the outer numbering.
		sub := encoder{n: e.n, seen: e.seen}
		if err := sub.value(x.inner, depth+1); err != nil {
			return err
		}
		e.n, e.seen = sub.n, sub.seen
		e.buf = strconv.AppendInt(e.buf, int64(len(sub.buf)), 10)
		e.buf = append(e.buf, ':', '{')
		e.buf = append(e.buf, sub.buf...)
		e.buf = append(e.buf, '}')
		return nil
	}
	e.buf = strconv.AppendInt(e.buf, int64(len(x.Payload)), 10)
	e.buf = append(e.buf, ':', '{')
	e.buf = append(e.buf, x.Payload...)
	e.buf = append(e.buf, '}')
	switch {
	case x.Opaque:
	case x.counted:
		e.n += x.nslots
	default:
		e.n += payloadSlots(x.Payload)
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
