package codec

import (
	"fmt"
	"reflect"
)

// UnmarshalSession stores the variables of s in the value pointed to by v
// (typically a struct whose `php` tags name session variables, or a
// map[string]any), as UnmarshalValue does for an array holding the
// session's variables. Every variable is decoded.
func UnmarshalSession(s *Session, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	keys := s.Keys()
	a := NewArray(len(keys))
	for _, k := range keys {
		x, _, err := s.GetKey(k)
		if err != nil {
			return err
		}
		a.Set(k, x)
	}
	return UnmarshalValue(a, v)
}

// MarshalSession returns a new session for handler h whose variables are
// the entries of v, which must map to a PHP array (a struct, a map with
// string keys, …; see Marshal). Names h cannot hold give an error
// wrapping ErrInvalidName.
func MarshalSession(h Handler, v any) (*Session, error) {
	if _, err := ParseHandler(string(h)); err != nil {
		return nil, err
	}
	val, err := MarshalValue(v)
	if err != nil {
		return nil, err
	}
	a, ok := val.(*Array)
	if !ok {
		return nil, fmt.Errorf("%w: MarshalSession: %T maps to a PHP %s, not an array", ErrUnsupported, v, val.Kind())
	}
	s := NewSession(h)
	for i := 0; i < a.Len(); i++ {
		k, x := a.At(i)
		if s.ser.arrayKeys {
			err = s.SetKey(k, x)
		} else {
			err = s.Set(keyText(k), x)
		}
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}
