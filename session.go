package phpsession

import (
	"encoding/json"
	"sort"

	"github.com/phpsession/phpsession/codec"
)

// Session is a view of one PHP session: its top-level variables ($_SESSION)
// in order. Update hands a Session to its function (valid only during the
// call; changes are saved when it returns nil); Load returns a private
// snapshot; NewSession builds one for Save. A Session is not safe for
// concurrent use.
type Session struct {
	s     *codec.Session
	jf    codec.JSONFields
	found bool
}

// Exists reports whether the session existed in Redis when it was read
// (before the current Update; a new session is empty and does not exist).
func (s *Session) Exists() bool { return s.found }

// Get returns a variable: JSON fields holding valid JSON decoded (see
// Manager.Get), other values as codec.Value. Containers returned belong to
// the session: changing them inside Update changes the session.
func (s *Session) Get(name string) (any, bool, error) {
	return s.jf.Get(s.s, name)
}

// Value returns a variable as a PHP value, without JSON-field decoding.
func (s *Session) Value(name string) (codec.Value, bool, error) {
	return s.s.Get(name)
}

// Unmarshal stores variable name in the Go value v points to (JSON fields
// through encoding/json, others through codec.UnmarshalValue) and reports
// whether the variable exists.
func (s *Session) Unmarshal(name string, v any) (bool, error) {
	return unmarshalVar(s.s, s.jf, name, v)
}

// Decode stores the whole session in v (a pointer to a struct or map); see
// Manager.Unmarshal.
func (s *Session) Decode(v any) error { return unmarshalSession(s.s, s.jf, v) }

// Set stores a variable: a codec.Value as is, another Go value through
// codec.MarshalValue, or, for JSON fields, as a PHP string holding its
// JSON. Names the serializer cannot hold give an error wrapping ErrCodec.
func (s *Session) Set(name string, v any) error {
	return wrap("set", "", s.jf.Set(s.s, name, v))
}

// Delete removes a variable and reports whether it existed.
func (s *Session) Delete(name string) bool { return s.s.Delete(name) }

// Has reports whether the variable exists.
func (s *Session) Has(name string) bool { return s.s.Has(name) }

// Names returns the variable names in order.
func (s *Session) Names() []string { return s.s.Names() }

// Len returns the number of variables.
func (s *Session) Len() int { return s.s.Len() }

// Clear removes every variable.
func (s *Session) Clear() {
	for _, n := range s.s.Names() {
		s.s.Delete(n)
	}
}

// Encode returns the session in PHP's serialized form (the configured
// serializer); variables that were not changed keep their original bytes.
func (s *Session) Encode() ([]byte, error) {
	b, err := s.s.Encode()
	return b, wrap("encode", "", err)
}

// Codec returns the underlying codec session (for the full value model).
// Inside Update, changes to it are saved like changes through Session.
func (s *Session) Codec() *codec.Session { return s.s }

func unmarshalVar(s *codec.Session, jf codec.JSONFields, name string, out any) (bool, error) {
	v, ok, err := s.Get(name)
	if err != nil || !ok {
		return ok, err
	}
	if jf.Match(name) {
		if str, isStr := codec.Deref(v).(codec.String); isStr && json.Valid([]byte(str)) {
			return true, json.Unmarshal([]byte(str), out)
		}
	}
	return true, codec.UnmarshalValue(v, out)
}

// unmarshalSession decodes every variable into out through one PHP array,
// with JSON fields turned from their JSON text into PHP values first.
func unmarshalSession(s *codec.Session, jf codec.JSONFields, out any) error {
	arr := codec.NewArray(s.Len())
	for _, n := range s.Names() {
		v, _, err := s.Get(n)
		if err != nil {
			return err
		}
		if jf.Match(n) {
			if j, ok := codec.DecodeJSONString(v); ok {
				v = jsonToValue(j)
			}
		}
		arr.Set(codec.RawStrKey(n), v)
	}
	return codec.UnmarshalValue(arr, out)
}

// jsonToValue converts the result of codec.DecodeJSONString to PHP values
// the way PHP's json_decode($s, true) would.
func jsonToValue(j any) codec.Value {
	switch x := j.(type) {
	case nil:
		return codec.Null{}
	case bool:
		return codec.Bool(x)
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return codec.Int(i)
		}
		f, _ := x.Float64()
		return codec.Float(f)
	case string:
		return codec.String(x)
	case []any:
		a := codec.NewArray(len(x))
		for _, e := range x {
			a.Append(jsonToValue(e))
		}
		return a
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		a := codec.NewArray(len(x))
		for _, k := range keys {
			a.Set(codec.StrKey(k), jsonToValue(x[k]))
		}
		return a
	}
	return codec.Null{}
}
