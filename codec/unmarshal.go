package codec

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Unmarshal decodes one PHP serialize() value from data and stores it in
// the value pointed to by v, following the mapping of UnmarshalValue. A
// php_serialize session blob is one such value; for php and php_binary
// session blobs, decode with DecodeSession and use UnmarshalValue on the
// variables (or Session.Unmarshal-style helpers built on it).
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	val, err := DecodeValue(data, nil)
	if err != nil {
		return err
	}
	return UnmarshalValue(val, v)
}

// UnmarshalValue stores the PHP value val in the Go value pointed to by v.
//
//	PHP                 Go target
//	null                sets pointers, interfaces, maps and slices to nil;
//	                    leaves other targets unchanged (as encoding/json)
//	bool                bool
//	int                 any integer kind (range checked), float32/64
//	float               float32, float64 (float32 range checked)
//	string              string, []byte, encoding.TextUnmarshaler
//	array               slice (the values in array order; keys ignored),
//	                    Go array (extra values dropped, missing ones zeroed),
//	                    map with string, integer or TextUnmarshaler keys (an
//	                    int key into a string-keyed map is its decimal text;
//	                    a string key into an integer-keyed map must parse),
//	                    struct (keys matched to field names exactly, then
//	                    case-insensitively; unknown keys ignored)
//	object              struct or map, by property name (visibility
//	                    prefixes of private/protected names removed)
//	anything            Unmarshaler, or a target of a codec Value type that
//	                    the value is assignable to (Value, *Array, Int, …)
//
// Into an empty interface (any) the natural Go value is stored: nil, bool,
// int64, float64, string, []any for an array whose keys are exactly
// 0..n-1 in order, map[string]any for any other array (int keys written
// in decimal), and for objects, Serializable payloads and enum cases the
// codec value itself (*Object, Serializable, Enum), which keeps class,
// visibility and order. References are followed: a target receives a
// copy of the referenced value. To keep PHP's array order and int/string
// key distinction, unmarshal into a Value or *Array instead of any.
//
// A PHP value of the wrong type for its target gives an
// *UnmarshalTypeError naming the path; decoding continues with the
// remaining values and the first such error is returned, as
// encoding/json does.
func UnmarshalValue(val Value, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	d := decState{}
	err := d.value(val, rv.Elem(), 0)
	d.finish()
	if err != nil {
		return err
	}
	return d.savedErr
}

// InvalidUnmarshalError describes an invalid argument passed to Unmarshal
// or UnmarshalValue (not a non-nil pointer).
type InvalidUnmarshalError struct {
	Type reflect.Type
}

// Error implements error.
func (e *InvalidUnmarshalError) Error() string {
	if e.Type == nil {
		return "codec: Unmarshal(nil)"
	}
	if e.Type.Kind() != reflect.Pointer {
		return "codec: Unmarshal(non-pointer " + e.Type.String() + ")"
	}
	return "codec: Unmarshal(nil " + e.Type.String() + ")"
}

// Unwrap returns ErrCodec.
func (e *InvalidUnmarshalError) Unwrap() error { return ErrCodec }

// UnmarshalTypeError describes a PHP value that cannot be stored in its
// Go target.
type UnmarshalTypeError struct {
	Value string       // description of the PHP value: "string", "int 300", "array", …
	Type  reflect.Type // Go type it could not be assigned to
	Path  string       // where: "cart[3].price", `prefs."lang"`; empty at the top
}

// Error implements error.
func (e *UnmarshalTypeError) Error() string {
	return "codec: cannot unmarshal PHP " + e.Value + " into Go value of type " + e.Type.String() + atPath(e.Path)
}

// Unwrap returns ErrCodec.
func (e *UnmarshalTypeError) Unwrap() error { return ErrCodec }

// UnmarshalerError wraps an error returned by an Unmarshaler or a
// TextUnmarshaler.
type UnmarshalerError struct {
	Type reflect.Type
	Path string
	Err  error
}

// Error implements error.
func (e *UnmarshalerError) Error() string {
	return "codec: error unmarshaling into " + e.Type.String() + atPath(e.Path) + ": " + e.Err.Error()
}

// Unwrap returns ErrCodec and the underlying error.
func (e *UnmarshalerError) Unwrap() []error { return []error{ErrCodec, e.Err} }

type decState struct {
	savedErr error // first type error (decoding goes on)

	// Error paths are built while unwinding, so that the success path
	// records nothing: the pending error's path still lacks the segments
	// of the levels 1..errLevel, which the containers add as they return.
	pending  pathSetter
	errLevel int
	errSegs  pathStack // innermost first

	natBase int                 // depth of the interface target natural() fills
	active  map[*Reference]bool // references being unmarshalled (cycle check)
	natMemo map[*Reference]any  // natural() results per reference
}

// pathSetter is an error whose path is filled in after unwinding.
type pathSetter interface {
	error
	setPath(string)
}

// ErrRecursive is wrapped by the error Unmarshal returns for a PHP value
// that contains itself through a reference (a recursive array, PHP's
// $a[0] = &$a): Go values cannot hold such a cycle.
var ErrRecursive = codecErr("recursive PHP reference")

type recursiveError struct{ path string }

func (e *recursiveError) Error() string    { return ErrRecursive.Error() + atPath(e.path) }
func (e *recursiveError) Unwrap() error    { return ErrRecursive }
func (e *recursiveError) setPath(p string) { e.path = p }

func (e *UnmarshalTypeError) setPath(p string) { e.Path = p }
func (e *UnmarshalerError) setPath(p string)   { e.Path = p }

// fail records err, met at depth: hard errors end the decoding and
// replace any pending one; a type error is kept only if it is the first.
func (d *decState) fail(err pathSetter, depth int, hard bool) error {
	if !hard {
		if d.savedErr != nil {
			return nil
		}
		d.savedErr = err
	}
	d.pending, d.errLevel, d.errSegs = err, depth, d.errSegs[:0]
	return err
}

// leave adds the segment of a child at childDepth to the pending error's
// path when the error came from that child.
func (d *decState) leave(childDepth int, seg pathSeg) {
	if d.pending != nil && d.errLevel == childDepth {
		d.errSegs = append(d.errSegs, seg)
		d.errLevel--
	}
}

// finish fills in the pending error's path.
func (d *decState) finish() {
	if d.pending == nil {
		return
	}
	p := make(pathStack, len(d.errSegs))
	for i, s := range d.errSegs {
		p[len(p)-1-i] = s
	}
	d.pending.setPath(p.String())
}

// enterRef marks r as being unmarshalled; it fails if r is already (a
// cycle).
func (d *decState) enterRef(r *Reference, depth int) error {
	if d.active == nil {
		d.active = map[*Reference]bool{}
	}
	if d.active[r] {
		return d.fail(&recursiveError{}, depth, true)
	}
	d.active[r] = true
	return nil
}

func (d *decState) typeErr(desc string, t reflect.Type, depth int) {
	d.fail(&UnmarshalTypeError{Value: desc, Type: t}, depth, false)
}

// describe names a PHP value for error messages.
func describe(val Value) string {
	switch x := val.(type) {
	case Null:
		return "null"
	case Bool:
		return "bool"
	case Int:
		return "int " + strconv.FormatInt(int64(x), 10)
	case Float:
		return "float " + strconv.FormatFloat(float64(x), 'g', -1, 64)
	case String:
		return "string"
	case *Array:
		return "array"
	case *Object:
		return "object " + x.Class
	case Serializable:
		return "Serializable " + x.Class
	case *Serializable:
		return "Serializable " + x.Class
	case Enum:
		return "enum " + x.Class + "::" + x.Case
	case *Enum:
		return "enum " + x.Class + "::" + x.Case
	}
	return "value"
}

const maxUnmarshalDepth = 10000

// indirect walks down pointers, allocating as needed, until it reaches a
// non-pointer or a value implementing Unmarshaler / TextUnmarshaler /
// Value. isNull makes it stop at the last settable pointer so that it can
// be set to nil.
func indirect(v reflect.Value, isNull bool) (Unmarshaler, encoding.TextUnmarshaler, reflect.Value) {
	// Like encoding/json: start from the address if possible so that
	// pointer-receiver methods are found.
	if v.Kind() != reflect.Pointer && v.Type().Name() != "" && v.CanAddr() {
		v = v.Addr()
	}
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() {
			e := v.Elem()
			if e.Kind() == reflect.Pointer && !e.IsNil() && (!isNull || e.Elem().Kind() == reflect.Pointer) {
				v = e
				continue
			}
		}
		if v.Kind() != reflect.Pointer {
			break
		}
		if isNull && v.CanSet() {
			break
		}
		if v.Elem().Kind() == reflect.Interface && v.Elem().Elem().Equal(v) {
			v = v.Elem()
			break
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		if v.Type().NumMethod() > 0 && v.CanInterface() {
			if u, ok := v.Interface().(Unmarshaler); ok {
				return u, nil, reflect.Value{}
			}
			if !isNull {
				if u, ok := v.Interface().(encoding.TextUnmarshaler); ok {
					return nil, u, reflect.Value{}
				}
			}
		}
		v = v.Elem()
	}
	return nil, nil, v
}

func (d *decState) value(val Value, v reflect.Value, depth int) error {
	return d.valueK(val, v, depth, -1)
}

// plainFlag is plainTarget as the plainKnown argument of valueK.
func plainFlag(t reflect.Type) int8 {
	if plainTarget(t) {
		return 1
	}
	return 0
}

// valueK is value with plainTarget(v.Type()) already known (1 or 0) or
// not (-1); containers look it up once for all their elements.
func (d *decState) valueK(val Value, v reflect.Value, depth int, plainKnown int8) error {
	if depth > maxUnmarshalDepth {
		return d.fail(&UnmarshalTypeError{Value: "nesting deeper than " + strconv.Itoa(maxUnmarshalDepth), Type: v.Type()}, depth, true)
	}
	if r, ok := val.(*Reference); ok && r != nil {
		if err := d.enterRef(r, depth); err != nil {
			return err
		}
		defer delete(d.active, r)
	}
	val = Deref(val)
	if val == nil {
		val = Null{}
	}
	_, isNull := val.(Null)

	// Plain targets (no methods that matter, not a pointer, interface or
	// codec type) skip the indirection checks.
	if !isNull && (plainKnown == 1 || plainKnown < 0 && plainTarget(v.Type())) {
		return d.plain(val, v, depth)
	}

	// A target of a codec Value type takes the value as it is.
	if v.Kind() != reflect.Pointer || !v.Type().Implements(unmarshalerType) {
		if v.Type().Implements(valueType) || v.Type() == valueType {
			rv := reflect.ValueOf(val)
			if rv.Type().AssignableTo(v.Type()) {
				v.Set(rv)
				return nil
			}
			if v.Kind() == reflect.Interface && isNull {
				v.SetZero()
				return nil
			}
		}
	}

	u, tu, pv := indirect(v, isNull)
	if u != nil {
		if err := u.UnmarshalPHP(val); err != nil {
			return d.fail(&UnmarshalerError{Type: reflect.TypeOf(u), Err: err}, depth, true)
		}
		return nil
	}
	if tu != nil {
		s, ok := val.(String)
		if !ok {
			d.typeErr(describe(val), reflect.TypeOf(tu), depth)
			return nil
		}
		if err := tu.UnmarshalText([]byte(s)); err != nil {
			return d.fail(&UnmarshalerError{Type: reflect.TypeOf(tu), Err: err}, depth, true)
		}
		return nil
	}
	v = pv
	t := v.Type()
	// After indirection the target may itself be a codec Value type.
	if t.Implements(valueType) || t == valueType {
		rv := reflect.ValueOf(val)
		if rv.Type().AssignableTo(t) {
			v.Set(rv)
			return nil
		}
	}

	if isNull {
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer, reflect.Map, reflect.Slice:
			v.SetZero()
		}
		return nil
	}

	if v.Kind() == reflect.Interface {
		if v.NumMethod() != 0 {
			// Non-empty interface: only a codec value can satisfy it (handled above).
			d.typeErr(describe(val), t, depth)
			return nil
		}
		d.natBase = depth
		nat, err := d.natural(val, depth)
		if err != nil {
			return err
		}
		if nat == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(nat))
		}
		return nil
	}

	return d.plain(val, v, depth)
}

// plainCache remembers which target types need none of the special
// handling of decState.value.
var plainCache = newTypeFlagCache()

func plainTarget(t reflect.Type) bool {
	return plainCache.get(t, func(t reflect.Type) bool {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface:
			return false
		}
		pt := reflect.PointerTo(t)
		return !t.Implements(valueType) && !t.Implements(unmarshalerType) && !pt.Implements(unmarshalerType) &&
			!t.Implements(textUnmarshalerType) && !pt.Implements(textUnmarshalerType)
	})
}

// plain stores val into a target that is not a pointer, interface,
// codec value or (Text)Unmarshaler.
func (d *decState) plain(val Value, v reflect.Value, depth int) error {
	t := v.Type()
	switch x := val.(type) {
	case Null:
		return nil
	case Bool:
		if v.Kind() != reflect.Bool {
			d.typeErr("bool", t, depth)
			return nil
		}
		v.SetBool(bool(x))
	case Int:
		switch v.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if v.OverflowInt(int64(x)) {
				d.typeErr(describe(x), t, depth)
				return nil
			}
			v.SetInt(int64(x))
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			if x < 0 || v.OverflowUint(uint64(x)) {
				d.typeErr(describe(x), t, depth)
				return nil
			}
			v.SetUint(uint64(x))
		case reflect.Float32, reflect.Float64:
			v.SetFloat(float64(x))
		default:
			d.typeErr(describe(x), t, depth)
		}
	case Float:
		switch v.Kind() {
		case reflect.Float64:
			v.SetFloat(float64(x))
		case reflect.Float32:
			f := float64(x)
			if !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
				d.typeErr(describe(x), t, depth)
				return nil
			}
			v.SetFloat(f)
		default:
			d.typeErr(describe(x), t, depth)
		}
	case String:
		switch {
		case v.Kind() == reflect.String:
			v.SetString(string(x))
		case v.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
			v.SetBytes([]byte(x))
		default:
			d.typeErr("string", t, depth)
		}
	case *Array:
		return d.array(x, v, depth)
	case *Object:
		return d.object(x, v, depth)
	default:
		d.typeErr(describe(val), t, depth)
	}
	return nil
}

// entries gives indexed access to the elements of an array or the members
// of an object (without closures, which would allocate).
type entries struct {
	a *Array
	o *Object
}

func (e entries) len() int {
	if e.a != nil {
		return e.a.Len()
	}
	return e.o.Len()
}

// at returns the i-th key (object members: the plain property name as a
// string key) and value.
func (e entries) at(i int) (Key, Value) {
	if e.a != nil {
		return e.a.At(i)
	}
	m, v := e.o.At(i)
	if m.Key.IsInt() {
		return m.Key, v
	}
	return RawStrKey(m.Name), v
}

func (d *decState) array(a *Array, v reflect.Value, depth int) error {
	t := v.Type()
	switch v.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && t.Elem().PkgPath() == "" {
			d.typeErr("array", t, depth)
			return nil
		}
		n := a.Len()
		if v.IsNil() || v.Cap() < n {
			v.Set(reflect.MakeSlice(t, n, n))
		} else {
			v.SetLen(n)
		}
		pk := plainFlag(t.Elem())
		for i := 0; i < n; i++ {
			_, x := a.At(i)
			err := d.valueK(x, v.Index(i), depth+1, pk)
			d.leave(depth+1, pathSeg{i: int64(i), kind: segIndex})
			if err != nil {
				return err
			}
		}
		return nil
	case reflect.Array:
		n := v.Len()
		i := 0
		pk := plainFlag(t.Elem())
		for ; i < n && i < a.Len(); i++ {
			_, x := a.At(i)
			err := d.valueK(x, v.Index(i), depth+1, pk)
			d.leave(depth+1, pathSeg{i: int64(i), kind: segIndex})
			if err != nil {
				return err
			}
		}
		for ; i < n; i++ {
			v.Index(i).SetZero()
		}
		return nil
	case reflect.Map:
		return d.toMap(v, depth, entries{a: a})
	case reflect.Struct:
		return d.toStruct(v, depth, entries{a: a})
	}
	d.typeErr("array", t, depth)
	return nil
}

func (d *decState) object(o *Object, v reflect.Value, depth int) error {
	switch v.Kind() {
	case reflect.Map:
		return d.toMap(v, depth, entries{o: o})
	case reflect.Struct:
		return d.toStruct(v, depth, entries{o: o})
	}
	d.typeErr(describe(o), v.Type(), depth)
	return nil
}

func keyText(k Key) string {
	if k.IsInt() {
		return strconv.FormatInt(k.Int(), 10)
	}
	return k.String()
}

// mapKeyInt converts an array key for an integer-keyed map.
func (d *decState) mapKeyInt(k Key, kt reflect.Type, depth int) (int64, bool) {
	if k.IsInt() {
		return k.Int(), true
	}
	n, err := strconv.ParseInt(k.String(), 10, 64)
	if err != nil {
		d.typeErr("array key "+strconv.Quote(k.String()), kt, depth)
		return 0, false
	}
	return n, true
}

func (d *decState) toMap(v reflect.Value, depth int, es entries) error {
	t := v.Type()
	kt := t.Key()
	textKey := kt.Kind() != reflect.String && reflect.PointerTo(kt).Implements(textUnmarshalerType)
	switch {
	case kt.Kind() == reflect.String, textKey,
		kt.Kind() >= reflect.Int && kt.Kind() <= reflect.Uintptr:
	default:
		d.typeErr("array", t, depth)
		return nil
	}
	n := es.len()
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, n))
	}
	// Scratch key and element, reused for every entry (SetMapIndex copies).
	kv := reflect.New(kt).Elem()
	ev := reflect.New(t.Elem()).Elem()
	pk := plainFlag(t.Elem())
	for i := 0; i < n; i++ {
		k, x := es.at(i)
		switch {
		case textKey:
			kv.SetZero()
			if e := kv.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(keyText(k))); e != nil {
				return d.fail(&UnmarshalerError{Type: kt, Err: e}, depth, true)
			}
		case kt.Kind() == reflect.String:
			kv.SetString(keyText(k))
		case kt.Kind() >= reflect.Int && kt.Kind() <= reflect.Int64:
			n, ok := d.mapKeyInt(k, kt, depth)
			if !ok {
				continue
			}
			if kv.OverflowInt(n) {
				d.typeErr("array key "+keyText(k), kt, depth)
				continue
			}
			kv.SetInt(n)
		default: // unsigned
			n, ok := d.mapKeyInt(k, kt, depth)
			if !ok {
				continue
			}
			if n < 0 || kv.OverflowUint(uint64(n)) {
				d.typeErr("array key "+keyText(k), kt, depth)
				continue
			}
			kv.SetUint(uint64(n))
		}
		if old := v.MapIndex(kv); old.IsValid() {
			ev.Set(old)
		} else {
			ev.SetZero()
		}
		err := d.valueK(x, ev, depth+1, pk)
		if d.pending != nil && d.errLevel == depth+1 {
			if k.IsInt() {
				d.leave(depth+1, pathSeg{i: k.Int(), kind: segIntKey})
			} else {
				d.leave(depth+1, pathSeg{name: k.String(), kind: segStrKey})
			}
		}
		if err != nil {
			return err
		}
		v.SetMapIndex(kv, ev)
	}
	return nil
}

func (d *decState) toStruct(v reflect.Value, depth int, es entries) error {
	si := cachedStructInfo(v.Type())
	n := es.len()
	for j := 0; j < n; j++ {
		k, x := es.at(j)
		var name string
		if k.IsInt() {
			name = strconv.FormatInt(k.Int(), 10)
		} else {
			name = k.String()
		}
		i, ok := si.byName[name]
		if !ok {
			i, ok = si.byFold[strings.ToLower(name)]
		}
		if !ok {
			continue
		}
		f := &si.fields[i]
		fv, ok := fieldByIndex(v, f.index, true)
		if !ok {
			continue
		}
		var err error
		if f.asJSON {
			err = d.jsonField(x, fv, depth+1)
		} else {
			err = d.valueK(x, fv, depth+1, f.plain)
		}
		d.leave(depth+1, pathSeg{name: f.name, kind: segField})
		if err != nil {
			return err
		}
	}
	return nil
}

// natural converts a PHP value to the Go value stored into an empty
// interface (see UnmarshalValue).
func (d *decState) natural(val Value, depth int) (any, error) {
	if depth > maxUnmarshalDepth {
		return nil, fmt.Errorf("%w: unmarshal nesting deeper than %d", ErrDepth, maxUnmarshalDepth)
	}
	if r, ok := val.(*Reference); ok && r != nil {
		// A reference met again gives the same Go value (maps and slices
		// are shared, as the PHP reference is), which also bounds the work
		// on graphs that share much.
		if nat, ok := d.natMemo[r]; ok {
			return nat, nil
		}
		if err := d.enterRef(r, d.natBase); err != nil {
			return nil, err
		}
		nat, err := d.natural(r.V, depth+1)
		delete(d.active, r)
		if err != nil {
			return nil, err
		}
		if d.natMemo == nil {
			d.natMemo = map[*Reference]any{}
		}
		d.natMemo[r] = nat
		return nat, nil
	}
	val = Deref(val)
	switch x := val.(type) {
	case nil, Null:
		return nil, nil
	case Bool:
		return bool(x), nil
	case Int:
		return int64(x), nil
	case Float:
		return float64(x), nil
	case String:
		return string(x), nil
	case *Array:
		n := x.Len()
		if x.IsList() {
			out := make([]any, n)
			for i := 0; i < n; i++ {
				_, e := x.At(i)
				nat, err := d.natural(e, depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = nat
			}
			return out, nil
		}
		out := make(map[string]any, n)
		for i := 0; i < n; i++ {
			k, e := x.At(i)
			nat, err := d.natural(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[keyText(k)] = nat
		}
		return out, nil
	}
	return val, nil
}

// jsonField reads a `php:",json"` field: a PHP string holding JSON is
// decoded with encoding/json into the field; null leaves it unchanged;
// any other PHP value is a type error.
func (d *decState) jsonField(val Value, v reflect.Value, depth int) error {
	switch x := Deref(val).(type) {
	case nil, Null:
		return nil
	case String:
		if err := json.Unmarshal([]byte(x), v.Addr().Interface()); err != nil {
			return d.fail(&UnmarshalerError{Type: v.Type(), Err: err}, depth, true)
		}
		return nil
	}
	d.typeErr(describe(val)+" (want a string holding JSON)", v.Type(), depth)
	return nil
}
