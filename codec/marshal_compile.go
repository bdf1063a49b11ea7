package codec

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// Per-type compiled encoders for Marshal: the type questions (methods,
// kind, struct layout) are answered once per type, so that encoding a
// value costs no reflection lookups beyond reading it. Types with their
// own encoding (codec values, Marshaler, TextMarshaler) use the general
// path in encState.appendSlow.

type encFunc func(e *encState, v reflect.Value, depth int) error

var encCache sync.Map // reflect.Type → encFunc

func encoderFor(t reflect.Type) encFunc {
	if f, ok := encCache.Load(t); ok {
		return f.(encFunc)
	}
	// Recursive types: publish a forwarding encoder while compiling.
	var (
		wg sync.WaitGroup
		f  encFunc
	)
	wg.Add(1)
	fi, loaded := encCache.LoadOrStore(t, encFunc(func(e *encState, v reflect.Value, depth int) error {
		wg.Wait()
		return f(e, v, depth)
	}))
	if loaded {
		return fi.(encFunc)
	}
	f = newEncoder(t)
	wg.Done()
	encCache.Store(t, f)
	return f
}

func tooDeep(e *encState, v reflect.Value) error {
	return &UnsupportedValueError{Value: v, Str: "nesting deeper than " + strconv.Itoa(maxMarshalDepth) + " (pointer cycle?)", Path: e.path.String()}
}

func slowEncoder(e *encState, v reflect.Value, depth int) error { return e.appendSlow(v, depth) }

func newEncoder(t reflect.Type) encFunc {
	if hasCustom(t) {
		return slowEncoder
	}
	switch t.Kind() {
	case reflect.String:
		return func(e *encState, v reflect.Value, _ int) error { e.appendString(v.String()); return nil }
	case reflect.Bool:
		return func(e *encState, v reflect.Value, _ int) error {
			if v.Bool() {
				e.buf = append(e.buf, "b:1;"...)
			} else {
				e.buf = append(e.buf, "b:0;"...)
			}
			return nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *encState, v reflect.Value, _ int) error { e.appendInt(v.Int()); return nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(e *encState, v reflect.Value, _ int) error {
			u := v.Uint()
			if u > math.MaxInt64 {
				return &UnsupportedValueError{Value: v, Str: fmt.Sprintf("%s %d overflows PHP int", v.Type(), u), Path: e.path.String()}
			}
			e.appendInt(int64(u))
			return nil
		}
	case reflect.Float64:
		return func(e *encState, v reflect.Value, _ int) error { return e.appendFloat(v.Float()) }
	case reflect.Float32:
		return func(e *encState, v reflect.Value, _ int) error { return e.appendFloat(float32To64(float32(v.Float()))) }
	case reflect.Interface:
		return func(e *encState, v reflect.Value, depth int) error {
			if v.IsNil() {
				e.buf = append(e.buf, 'N', ';')
				return nil
			}
			x := v.Elem()
			return encoderFor(x.Type())(e, x, depth)
		}
	case reflect.Pointer:
		elem := encoderFor(t.Elem())
		return func(e *encState, v reflect.Value, depth int) error {
			if v.IsNil() {
				e.buf = append(e.buf, 'N', ';')
				return nil
			}
			if depth >= maxMarshalDepth {
				return tooDeep(e, v)
			}
			return elem(e, v.Elem(), depth+1)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !hasCustom(t.Elem()) {
			return func(e *encState, v reflect.Value, _ int) error { e.appendBytes(v.Bytes()); return nil }
		}
		elem := encoderFor(t.Elem())
		return func(e *encState, v reflect.Value, depth int) error {
			if v.IsNil() {
				e.buf = append(e.buf, "a:0:{}"...)
				return nil
			}
			return e.listWith(v, depth, elem)
		}
	case reflect.Array:
		elem := encoderFor(t.Elem())
		return func(e *encState, v reflect.Value, depth int) error { return e.listWith(v, depth, elem) }
	case reflect.Map:
		kt := t.Key()
		switch {
		case kt.Kind() == reflect.String, kt.Kind() >= reflect.Int && kt.Kind() <= reflect.Uintptr,
			kt.Implements(textMarshalerType):
		default:
			return func(e *encState, v reflect.Value, _ int) error {
				return &UnsupportedTypeError{Type: v.Type(), Path: e.path.String()}
			}
		}
		elem := encoderFor(t.Elem())
		return func(e *encState, v reflect.Value, depth int) error { return e.mapWith(v, depth, elem) }
	case reflect.Struct:
		si := cachedStructInfo(t)
		encs := fieldEncoders(si)
		return func(e *encState, v reflect.Value, depth int) error { return e.structWith(v, depth, si, encs) }
	}
	return func(e *encState, v reflect.Value, _ int) error {
		return &UnsupportedTypeError{Type: v.Type(), Path: e.path.String()}
	}
}

func (e *encState) listWith(v reflect.Value, depth int, elem encFunc) error {
	if depth >= maxMarshalDepth {
		return tooDeep(e, v)
	}
	n := v.Len()
	e.arrayHeader(n)
	for i := 0; i < n; i++ {
		e.appendInt(int64(i))
		e.path.pushIdx(i)
		err := elem(e, v.Index(i), depth+1)
		e.path.pop()
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encState) mapWith(v reflect.Value, depth int, elem encFunc) error {
	if v.IsNil() {
		e.buf = append(e.buf, "a:0:{}"...)
		return nil
	}
	if depth >= maxMarshalDepth {
		return tooDeep(e, v)
	}
	keys, err := sortedMapKeys(v, e.path)
	if err != nil {
		return err
	}
	e.arrayHeader(len(keys))
	for _, k := range keys {
		if k.isInt {
			e.appendInt(k.i)
			e.path.pushIntKey(k.i)
		} else {
			e.appendString(k.s)
			e.path.pushStrKey(k.s)
		}
		err := elem(e, k.v, depth+1)
		e.path.pop()
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encState) structWith(v reflect.Value, depth int, si *structInfo, encs []encFunc) error {
	if depth >= maxMarshalDepth {
		return tooDeep(e, v)
	}
	n := countFields(v, si)
	class, isObj := classOf(v, si)
	if isObj {
		e.buf = append(e.buf, 'O', ':')
		e.buf = strconv.AppendInt(e.buf, int64(len(class)), 10)
		e.buf = append(e.buf, ':', '"')
		e.buf = append(e.buf, class...)
		e.buf = append(e.buf, '"', ':')
		e.buf = strconv.AppendInt(e.buf, int64(n), 10)
		e.buf = append(e.buf, ':', '{')
	} else {
		e.arrayHeader(n)
	}
	for i := range si.fields {
		f := &si.fields[i]
		fv, ok := structField(v, f)
		if !ok {
			continue
		}
		if isObj {
			e.buf = append(e.buf, f.memberKey...)
		} else {
			e.buf = append(e.buf, f.arrayKey...)
		}
		e.path.pushField(f.name)
		err := encs[i](e, fv, depth+1)
		e.path.pop()
		if err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

// jsonFieldEncoder writes a `php:",json"` field as a PHP string holding
// its JSON encoding.
func jsonFieldEncoder(e *encState, v reflect.Value, _ int) error {
	s, err := EncodeJSONString(v.Interface())
	if err != nil {
		return &MarshalerError{Type: v.Type(), Path: e.path.String(), Err: err}
	}
	e.appendString(string(s.(String)))
	return nil
}

// fieldEncoders returns the encoders of the fields of si.
func fieldEncoders(si *structInfo) []encFunc {
	encs := make([]encFunc, len(si.fields))
	for i := range si.fields {
		if si.fields[i].asJSON {
			encs[i] = jsonFieldEncoder
			continue
		}
		encs[i] = encoderFor(si.fields[i].typ)
	}
	return encs
}
