package codec

import (
	"bytes"
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Marshaler is implemented by types that convert themselves to a PHP value.
type Marshaler interface {
	MarshalPHP() (Value, error)
}

// Unmarshaler is implemented by types that read themselves from a PHP
// value. UnmarshalPHP must copy what it keeps: the Value may be shared.
type Unmarshaler interface {
	UnmarshalPHP(Value) error
}

// PHPClasser is implemented by struct types that should be written as a
// PHP object (O:) of the returned class instead of an array. Every
// encoded field becomes a public property. Unmarshal accepts both arrays
// and objects (of any class) into structs.
type PHPClasser interface {
	PHPClass() string
}

// UnsupportedTypeError is returned by Marshal for Go types with no PHP
// equivalent (channels, functions, complex numbers, maps with other key
// types).
type UnsupportedTypeError struct {
	Type reflect.Type
	Path string // where it was met, e.g. "cart[2].opts"; empty at the top
}

// Error implements error.
func (e *UnsupportedTypeError) Error() string {
	return "codec: unsupported type " + e.Type.String() + atPath(e.Path)
}

// Unwrap returns ErrUnsupported.
func (e *UnsupportedTypeError) Unwrap() error { return ErrUnsupported }

// UnsupportedValueError is returned by Marshal for values PHP cannot hold,
// such as a uint64 above math.MaxInt64, or for structures nested deeper
// than the nesting limit (which catches pointer cycles).
type UnsupportedValueError struct {
	Value reflect.Value
	Str   string
	Path  string
}

// Error implements error.
func (e *UnsupportedValueError) Error() string {
	return "codec: unsupported value: " + e.Str + atPath(e.Path)
}

// Unwrap returns ErrUnsupported.
func (e *UnsupportedValueError) Unwrap() error { return ErrUnsupported }

// MarshalerError wraps an error returned by a Marshaler, TextMarshaler or
// by encoding an embedded Value.
type MarshalerError struct {
	Type reflect.Type
	Path string
	Err  error
}

// Error implements error.
func (e *MarshalerError) Error() string {
	return "codec: error calling MarshalPHP for type " + e.Type.String() + atPath(e.Path) + ": " + e.Err.Error()
}

// Unwrap returns ErrCodec and the underlying error.
func (e *MarshalerError) Unwrap() []error { return []error{ErrCodec, e.Err} }

func atPath(p string) string {
	if p == "" {
		return ""
	}
	return " at " + p
}

// maxMarshalDepth bounds nesting on encode, like PHP's default
// unserialize_max_depth; it also stops pointer cycles.
const maxMarshalDepth = 4096

// Marshal returns the PHP serialize() encoding of v, in the style of
// encoding/json. The result can be stored as a php_serialize session when
// v maps to an array, or placed under a name with Session.Set via
// MarshalValue (or use MarshalSession).
//
// Marshal and MarshalValue map Go values to PHP values as follows:
//
//	Go                                   PHP
//	nil, nil pointer, nil interface      null (N;)
//	bool                                 bool
//	int, int8 … int64, uint … uint64     int (uint64 above MaxInt64 is an error)
//	uintptr                              int
//	float32, float64                     float (float32 via its shortest decimal form)
//	string                               string
//	[]byte                               string (binary safe)
//	slice, array                         list: array with keys 0..n-1
//	nil slice, nil map                   empty array (a:0:{})
//	map[K]V, K string or integer kind    array, keys in sorted order (bytewise for
//	or encoding.TextMarshaler            strings, numeric for integers); string keys
//	                                     that are canonical decimal integers become int
//	                                     keys, as PHP does ("7" → 7)
//	struct                               array of its exported fields in declaration order
//	                                     (embedded structs flattened); with PHPClasser, an
//	                                     object of that class with public properties
//	pointer, interface                   the value pointed to / held
//	Marshaler                            whatever MarshalPHP returns
//	encoding.TextMarshaler               string (the text)
//	codec Value (Int, *Array, …)         itself, unchanged
//
// Struct fields use the `php` tag: `php:"name"` renames, `php:"-"` skips,
// `php:",omitempty"` omits false, 0, "", nil pointers and interfaces and
// empty slices, maps, arrays and strings, and `php:",json"` stores the
// field as a PHP string holding its encoding/json text (and reads it back
// with encoding/json: the JSONFields convention, per field). Channels, functions and complex
// numbers cannot be encoded (*UnsupportedTypeError).
//
// Marshal output is canonical PHP serialize() text: floats are printed as
// PHP prints them (serialize_precision -1), so PHP re-encodes the same
// bytes and lazy_write keeps working.
func Marshal(v any) ([]byte, error) {
	bp := marshalBufs.Get().(*[]byte)
	out, err := AppendMarshal((*bp)[:0], v)
	var res []byte
	if err == nil {
		res = bytes.Clone(out)
	}
	if cap(out) <= 1<<16 {
		*bp = out[:0]
		marshalBufs.Put(bp)
	}
	return res, err
}

// marshalBufs recycles Marshal's scratch buffers so that a call costs one
// allocation of the result's exact size.
var marshalBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// AppendMarshal appends the PHP serialize() encoding of v to dst.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := encState{buf: dst}
	err := e.append(reflect.ValueOf(v), 0)
	if err == errNeedValuePath {
		// v holds codec values with identity (objects, references, enums)
		// or Marshalers: build the whole value graph so that the encoder
		// numbers r:/R: back-references across all of it, as PHP does.
		val, err := MarshalValue(v)
		if err != nil {
			return dst, err
		}
		return AppendValue(dst, val)
	}
	if err != nil {
		return dst, err
	}
	return e.buf, nil
}

// errNeedValuePath makes the direct encoder hand over to the value path.
var errNeedValuePath = errors.New("codec: internal: need value path")

// pathStack records how the encoder or decoder reached the current value,
// so that errors can name it; it is turned into text only for an error.
type pathStack []pathSeg

type pathSeg struct {
	name string // field name, or map key text
	i    int64  // list index or int map key
	kind uint8
}

const (
	segField uint8 = iota
	segStrKey
	segIntKey
	segIndex
)

func (p *pathStack) pushField(name string) { *p = append(*p, pathSeg{name: name, kind: segField}) }
func (p *pathStack) pushStrKey(k string)   { *p = append(*p, pathSeg{name: k, kind: segStrKey}) }
func (p *pathStack) pushIntKey(k int64)    { *p = append(*p, pathSeg{i: k, kind: segIntKey}) }
func (p *pathStack) pushIdx(i int)         { *p = append(*p, pathSeg{i: int64(i), kind: segIndex}) }
func (p *pathStack) pop()                  { *p = (*p)[:len(*p)-1] }

// String renders the path: fields and map keys joined by ".", string map
// keys quoted, list indexes in brackets: cart[3].options."color".
func (p pathStack) String() string {
	var sb strings.Builder
	for _, s := range p {
		if s.kind == segIndex {
			sb.WriteString("[" + strconv.FormatInt(s.i, 10) + "]")
			continue
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		switch s.kind {
		case segField:
			sb.WriteString(s.name)
		case segStrKey:
			sb.WriteString(strconv.Quote(s.name))
		case segIntKey:
			sb.WriteString(strconv.FormatInt(s.i, 10))
		}
	}
	return sb.String()
}

type encState struct {
	buf  []byte
	path pathStack
}

func (e *encState) appendInt(n int64) {
	e.buf = append(e.buf, 'i', ':')
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, ';')
}

func (e *encState) appendString(s string) {
	e.buf = append(e.buf, 's', ':')
	e.buf = strconv.AppendInt(e.buf, int64(len(s)), 10)
	e.buf = append(e.buf, ':', '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"', ';')
}

func (e *encState) appendBytes(s []byte) {
	e.buf = append(e.buf, 's', ':')
	e.buf = strconv.AppendInt(e.buf, int64(len(s)), 10)
	e.buf = append(e.buf, ':', '"')
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, '"', ';')
}

// appendKey writes an array key with PHP's numeric-string normalisation.
func (e *encState) appendKey(s string) {
	if n, ok := phpIntKey(s); ok {
		e.appendInt(n)
		return
	}
	e.appendString(s)
}

func (e *encState) appendFloat(f float64) error {
	e.buf = append(e.buf, 'd', ':')
	e.buf = FormatFloat(e.buf, f)
	e.buf = append(e.buf, ';')
	return nil
}

func (e *encState) arrayHeader(n int) {
	e.buf = append(e.buf, 'a', ':')
	e.buf = strconv.AppendInt(e.buf, int64(n), 10)
	e.buf = append(e.buf, ':', '{')
}

func float32To64(f float32) float64 {
	f64 := float64(f)
	if math.IsInf(f64, 0) || math.IsNaN(f64) || f64 == 0 {
		return f64
	}
	// Shortest decimal form of the float32, read back as a float64: 0.1f
	// becomes 0.1 rather than 0.10000000149011612.
	g, err := strconv.ParseFloat(strconv.FormatFloat(f64, 'g', -1, 32), 64)
	if err != nil {
		return f64
	}
	return g
}

func (e *encState) append(v reflect.Value, depth int) error {
	if !v.IsValid() {
		e.buf = append(e.buf, 'N', ';')
		return nil
	}
	return encoderFor(v.Type())(e, v, depth)
}

// appendSlow encodes any value, answering the type questions for this
// value; the compiled encoders use it for types with their own encoding.
func (e *encState) appendSlow(v reflect.Value, depth int) error {
	if depth > maxMarshalDepth {
		return &UnsupportedValueError{Value: v, Str: "nesting deeper than " + strconv.Itoa(maxMarshalDepth) + " (pointer cycle?)", Path: e.path.String()}
	}
	if !v.IsValid() {
		e.buf = append(e.buf, 'N', ';')
		return nil
	}
	t := v.Type()
	// Fast paths for the common concrete kinds without methods.
	if t.PkgPath() == "" || !hasCustom(t) {
		switch v.Kind() {
		case reflect.String:
			e.appendString(v.String())
			return nil
		case reflect.Bool:
			if v.Bool() {
				e.buf = append(e.buf, "b:1;"...)
			} else {
				e.buf = append(e.buf, "b:0;"...)
			}
			return nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.appendInt(v.Int())
			return nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			u := v.Uint()
			if u > math.MaxInt64 {
				return &UnsupportedValueError{Value: v, Str: fmt.Sprintf("%s %d overflows PHP int", t, u), Path: e.path.String()}
			}
			e.appendInt(int64(u))
			return nil
		case reflect.Float64:
			return e.appendFloat(v.Float())
		case reflect.Float32:
			return e.appendFloat(float32To64(float32(v.Float())))
		}
	}
	if v.Kind() == reflect.Pointer && v.IsNil() || v.Kind() == reflect.Interface && v.IsNil() {
		e.buf = append(e.buf, 'N', ';')
		return nil
	}
	if v.Kind() == reflect.Interface {
		return e.append(v.Elem(), depth)
	}
	// Values of the codec model pass through unchanged.
	if t.Implements(valueType) {
		switch x := v.Interface().(Value).(type) {
		case Null:
			e.buf = append(e.buf, 'N', ';')
		case Bool:
			if x {
				e.buf = append(e.buf, "b:1;"...)
			} else {
				e.buf = append(e.buf, "b:0;"...)
			}
		case Int:
			e.appendInt(int64(x))
		case Float:
			return e.appendFloat(float64(x))
		case String:
			e.appendString(string(x))
		default:
			// Arrays, objects, references, enums: values with identity
			// or containing it; the value path numbers them.
			return errNeedValuePath
		}
		return nil
	}
	if t.Implements(marshalerType) || v.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
		// A Marshaler may return values with identity; the value path
		// numbers them correctly.
		return errNeedValuePath
	}
	if t.Implements(textMarshalerType) {
		return e.appendText(v.Interface().(encoding.TextMarshaler), t)
	}
	if v.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
		return e.appendText(v.Addr().Interface().(encoding.TextMarshaler), t)
	}
	switch v.Kind() {
	case reflect.Pointer:
		return e.append(v.Elem(), depth+1)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		// named scalar type with unrelated methods
		return e.appendScalar(v)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !hasCustom(t.Elem()) {
			e.appendBytes(v.Bytes())
			return nil
		}
		if v.IsNil() {
			e.buf = append(e.buf, "a:0:{}"...)
			return nil
		}
		return e.listWith(v, depth, (*encState).append)
	case reflect.Array:
		return e.listWith(v, depth, (*encState).append)
	case reflect.Map:
		return e.mapWith(v, depth, (*encState).append)
	case reflect.Struct:
		return e.appendStruct(v, depth)
	}
	return &UnsupportedTypeError{Type: t, Path: e.path.String()}
}

func (e *encState) appendScalar(v reflect.Value) error {
	switch v.Kind() {
	case reflect.String:
		e.appendString(v.String())
	case reflect.Bool:
		if v.Bool() {
			e.buf = append(e.buf, "b:1;"...)
		} else {
			e.buf = append(e.buf, "b:0;"...)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.appendInt(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return &UnsupportedValueError{Value: v, Str: fmt.Sprintf("%s %d overflows PHP int", v.Type(), u), Path: e.path.String()}
		}
		e.appendInt(int64(u))
	case reflect.Float32:
		return e.appendFloat(float32To64(float32(v.Float())))
	case reflect.Float64:
		return e.appendFloat(v.Float())
	}
	return nil
}

func (e *encState) appendText(m encoding.TextMarshaler, t reflect.Type) error {
	b, err := m.MarshalText()
	if err != nil {
		return &MarshalerError{Type: t, Path: e.path.String(), Err: err}
	}
	e.appendBytes(b)
	return nil
}

// mapKey is one map key in PHP form, for sorting.
type mapKey struct {
	isInt bool
	i     int64
	s     string
	v     reflect.Value
}

// sortedMapKeys converts and sorts the keys of a map: integer keys
// numerically, string keys bytewise; when both occur (string keys that
// are numeric turn into ints), ints come first.
func sortedMapKeys(v reflect.Value, path pathStack) ([]mapKey, error) {
	kt := v.Type().Key()
	keys := make([]mapKey, 0, v.Len())
	// The values are copied into one slice (one allocation) rather than
	// one reflect.Value allocation each.
	vals := reflect.MakeSlice(reflect.SliceOf(v.Type().Elem()), v.Len(), v.Len())
	iter := v.MapRange()
	textKey := kt.Kind() != reflect.String && kt.Implements(textMarshalerType)
	kv := reflect.New(kt).Elem()
	for i := 0; iter.Next(); i++ {
		kv.SetIterKey(iter)
		k := kv
		var mk mapKey
		mk.v = vals.Index(i)
		mk.v.SetIterValue(iter)
		switch {
		case textKey:
			if k.Kind() == reflect.Pointer && k.IsNil() {
				mk.s = ""
				break
			}
			b, err := k.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return nil, &MarshalerError{Type: kt, Path: path.String(), Err: err}
			}
			mk.s = string(b)
		case kt.Kind() == reflect.String:
			mk.s = k.String()
		case kt.Kind() >= reflect.Int && kt.Kind() <= reflect.Int64:
			mk.isInt, mk.i = true, k.Int()
		case kt.Kind() >= reflect.Uint && kt.Kind() <= reflect.Uintptr:
			u := k.Uint()
			if u > math.MaxInt64 {
				return nil, &UnsupportedValueError{Value: k, Str: fmt.Sprintf("map key %d overflows PHP int", u), Path: path.String()}
			}
			mk.isInt, mk.i = true, int64(u)
		default:
			return nil, &UnsupportedTypeError{Type: v.Type(), Path: path.String()}
		}
		if !mk.isInt {
			if n, ok := phpIntKey(mk.s); ok {
				mk.isInt, mk.i = true, n
			}
		}
		keys = append(keys, mk)
	}
	slices.SortFunc(keys, func(a, b mapKey) int {
		switch {
		case a.isInt && b.isInt:
			return cmp.Compare(a.i, b.i)
		case a.isInt:
			return -1
		case b.isInt:
			return 1
		}
		return strings.Compare(a.s, b.s)
	})
	return keys, nil
}

func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// structField returns field f of v and whether it is encoded (it is not
// when it sits behind a nil embedded pointer, or is empty and omitempty).
func structField(v reflect.Value, f *field) (reflect.Value, bool) {
	fv, ok := fieldByIndex(v, f.index, false)
	if !ok || f.omitEmpty && isEmptyValue(fv) {
		return reflect.Value{}, false
	}
	return fv, true
}

// countFields returns the number of encoded fields of v.
func countFields(v reflect.Value, si *structInfo) int {
	if !si.variable {
		return len(si.fields)
	}
	n := 0
	for i := range si.fields {
		if _, ok := structField(v, &si.fields[i]); ok {
			n++
		}
	}
	return n
}

func (e *encState) appendStruct(v reflect.Value, depth int) error {
	si := cachedStructInfo(v.Type())
	return e.structWith(v, depth, si, fieldEncoders(si))
}

// classOf returns the PHP class of a struct value implementing PHPClasser.
func classOf(v reflect.Value, si *structInfo) (string, bool) {
	switch si.classer {
	case classerValue:
		return v.Interface().(PHPClasser).PHPClass(), true
	case classerPointer:
		if v.CanAddr() {
			return v.Addr().Interface().(PHPClasser).PHPClass(), true
		}
		p := reflect.New(v.Type())
		p.Elem().Set(v)
		return p.Interface().(PHPClasser).PHPClass(), true
	}
	return "", false
}

// customCache remembers, per named type, whether it has any of the
// interfaces that change its encoding.
var customCache = newTypeFlagCache()

func hasCustom(t reflect.Type) bool {
	return customCache.get(t, func(t reflect.Type) bool {
		pt := reflect.PointerTo(t)
		return t.Implements(valueType) || t.Implements(marshalerType) || pt.Implements(marshalerType) ||
			t.Implements(textMarshalerType) || pt.Implements(textMarshalerType)
	})
}

// phpIntKey reports whether s is a canonical decimal integer within int64
// range, which PHP stores as an integer array key ("7", "-12", but not
// "07", "-0", "+1", " 1" or "9223372036854775808").
func phpIntKey(s string) (int64, bool) {
	n := len(s)
	if n == 0 || n > 20 {
		return 0, false
	}
	i := 0
	if s[0] == '-' {
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if s[i] == '0' && (n-i > 1 || i == 1) { // leading zero, or "-0"
		return 0, false
	}
	for j := i; j < n; j++ {
		if s[j] < '0' || s[j] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}
