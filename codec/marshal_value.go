package codec

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// typeFlagCache memoises a boolean property of types.
type typeFlagCache struct{ m sync.Map }

func newTypeFlagCache() *typeFlagCache { return &typeFlagCache{} }

func (c *typeFlagCache) get(t reflect.Type, compute func(reflect.Type) bool) bool {
	if v, ok := c.m.Load(t); ok {
		return v.(bool)
	}
	b := compute(t)
	c.m.Store(t, b)
	return b
}

// MarshalValue converts a Go value to a codec Value following the same
// mapping as Marshal. Use it to put Go
// values into a Session:
//
//	v, err := codec.MarshalValue(cart)
//	if err == nil { err = sess.Set("cart", v) }
func MarshalValue(v any) (Value, error) {
	if val, ok := v.(Value); ok && val != nil {
		return val, nil
	}
	e := valState{}
	return e.value(reflect.ValueOf(v), 0)
}

type valState struct{ path pathStack }

func (e *valState) value(v reflect.Value, depth int) (Value, error) {
	if depth > maxMarshalDepth {
		return nil, &UnsupportedValueError{Value: v, Str: "nesting deeper than " + strconv.Itoa(maxMarshalDepth) + " (pointer cycle?)", Path: e.path.String()}
	}
	if !v.IsValid() {
		return Null{}, nil
	}
	t := v.Type()
	if (v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface) && v.IsNil() {
		return Null{}, nil
	}
	if v.Kind() == reflect.Interface {
		return e.value(v.Elem(), depth)
	}
	if t.PkgPath() != "" && hasCustom(t) || v.Kind() == reflect.Pointer {
		if t.Implements(valueType) {
			return v.Interface().(Value), nil
		}
		if t.Implements(marshalerType) {
			return e.marshaler(v.Interface().(Marshaler), t)
		}
		if v.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(marshalerType) {
			return e.marshaler(v.Addr().Interface().(Marshaler), t)
		}
		if t.Implements(textMarshalerType) {
			return e.text(v.Interface().(encoding.TextMarshaler), t)
		}
		if v.Kind() != reflect.Pointer && v.CanAddr() && reflect.PointerTo(t).Implements(textMarshalerType) {
			return e.text(v.Addr().Interface().(encoding.TextMarshaler), t)
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		return e.value(v.Elem(), depth+1)
	case reflect.String:
		return String(v.String()), nil
	case reflect.Bool:
		return Bool(v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Int(v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return nil, &UnsupportedValueError{Value: v, Str: fmt.Sprintf("%s %d overflows PHP int", t, u), Path: e.path.String()}
		}
		return Int(int64(u)), nil
	case reflect.Float32:
		return Float(float32To64(float32(v.Float()))), nil
	case reflect.Float64:
		return Float(v.Float()), nil
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !hasCustom(t.Elem()) {
			return String(v.Bytes()), nil
		}
		if v.IsNil() {
			return NewArray(0), nil
		}
		return e.list(v, depth)
	case reflect.Array:
		return e.list(v, depth)
	case reflect.Map:
		if v.IsNil() {
			return NewArray(0), nil
		}
		return e.mapValue(v, depth)
	case reflect.Struct:
		return e.structValue(v, depth)
	}
	return nil, &UnsupportedTypeError{Type: t, Path: e.path.String()}
}

func (e *valState) marshaler(m Marshaler, t reflect.Type) (Value, error) {
	val, err := m.MarshalPHP()
	if err != nil {
		return nil, &MarshalerError{Type: t, Path: e.path.String(), Err: err}
	}
	if val == nil {
		return Null{}, nil
	}
	return val, nil
}

func (e *valState) text(m encoding.TextMarshaler, t reflect.Type) (Value, error) {
	b, err := m.MarshalText()
	if err != nil {
		return nil, &MarshalerError{Type: t, Path: e.path.String(), Err: err}
	}
	return String(b), nil
}

func (e *valState) list(v reflect.Value, depth int) (Value, error) {
	n := v.Len()
	a := NewArray(n)
	for i := 0; i < n; i++ {
		e.path.pushIdx(i)
		x, err := e.value(v.Index(i), depth+1)
		e.path.pop()
		if err != nil {
			return nil, err
		}
		a.Append(x)
	}
	return a, nil
}

func (e *valState) mapValue(v reflect.Value, depth int) (Value, error) {
	keys, err := sortedMapKeys(v, e.path)
	if err != nil {
		return nil, err
	}
	a := NewArray(len(keys))
	for _, k := range keys {
		var key Key
		if k.isInt {
			key = IntKey(k.i)
			e.path.pushIntKey(k.i)
		} else {
			key = StrKey(k.s)
			e.path.pushStrKey(k.s)
		}
		x, err := e.value(k.v, depth+1)
		e.path.pop()
		if err != nil {
			return nil, err
		}
		a.Set(key, x)
	}
	return a, nil
}

func (e *valState) structValue(v reflect.Value, depth int) (Value, error) {
	si := cachedStructInfo(v.Type())
	class, isObj := classOf(v, si)
	var obj *Object
	var arr *Array
	if isObj {
		obj = NewObject(class)
	} else {
		arr = NewArray(len(si.fields))
	}
	for i := range si.fields {
		f := &si.fields[i]
		fv, ok := structField(v, f)
		if !ok {
			continue
		}
		e.path.pushField(f.name)
		var x Value
		var err error
		if f.asJSON {
			x, err = EncodeJSONString(fv.Interface())
			if err != nil {
				err = &MarshalerError{Type: fv.Type(), Path: e.path.String(), Err: err}
			}
		} else {
			x, err = e.value(fv, depth+1)
		}
		e.path.pop()
		if err != nil {
			return nil, err
		}
		if isObj {
			obj.Set(f.name, x)
		} else {
			arr.Set(f.nameKey, x)
		}
	}
	if isObj {
		return obj, nil
	}
	return arr, nil
}
