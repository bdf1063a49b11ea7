package phpsession

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/phpsession/phpsession/codec"
)

// Session is a view of one PHP session: its top-level variables ($_SESSION)
// in order. Update hands a Session to its function (valid only during the
// call; changes are saved when it returns nil); Load returns a private
// snapshot; NewSession builds one for Save. A Session is not safe for
// concurrent use.
//
// json.Marshal of a Session writes its natural JSON (see MarshalJSON), fmt
// prints it readably, and Map gives plain Go values for templates.
type Session struct {
	s     *codec.Session
	jf    *codec.JSONFields // the Manager's
	found bool
	// views are the decoded JSON fields handed out by Get, so that changes
	// made to them in place are written back as JSON (see flush).
	views map[string]*jsonView
}

// jsonView is a JSON field decoded for Get.
type jsonView struct {
	src  codec.String // the stored JSON text it was decoded from
	val  codec.Value  // what Get returned
	base string       // natural JSON of val when decoded
}

// errSessionGone is the cause of the errors of a Session that holds no
// session: the one an Update function got, used after the function
// returned, or one not made by this package (a zero Session). Its
// methods then return it (or report nothing: Has false, Len 0) instead of
// crashing.
var errSessionGone = errors.New("the Session holds no session: an Update function's Session is valid only during the call (use Load for a snapshot, NewSession for Save)")

// gone reports whether s holds no session (see errSessionGone).
func (s *Session) gone() bool { return s == nil || s.s == nil }

// Exists reports whether the session existed in Redis when it was read
// (before the current Update; a new session is empty and does not exist).
func (s *Session) Exists() bool { return !s.gone() && s.found }

// Get returns a variable as a codec.Value (codec.Int for PHP ints,
// codec.Float for floats, *codec.Array, ...). JSON fields holding valid
// JSON come back decoded by codec.ParseJSON (JSON objects as stdClass
// *codec.Object, arrays as *codec.Array, with the same number types).
// Containers returned belong to the session: changing them inside Update
// changes the session, JSON fields included (they are written back as
// JSON when the update function returns).
func (s *Session) Get(name string) (any, bool, error) {
	if s.gone() {
		return nil, false, wrap("get", "", errSessionGone)
	}
	v, ok, err := s.s.Get(name)
	if err != nil || !ok || !s.jf.Match(name) {
		return v, ok, err
	}
	str, isStr := codec.Deref(v).(codec.String)
	if !isStr {
		return v, true, nil
	}
	if jv := s.views[name]; jv != nil && jv.src == str {
		return jv.val, true, nil
	}
	val, isJSON := codec.DecodeJSONString(str)
	if !isJSON {
		return v, true, nil
	}
	if s.views == nil {
		s.views = map[string]*jsonView{}
	}
	s.views[name] = &jsonView{src: str, val: val, base: string(codec.NaturalJSON(val))}
	return val, true, nil
}

// flush writes back, as JSON text, the decoded JSON fields that were
// changed in place since Get returned them.
func (s *Session) flush() error {
	if s.gone() {
		return errSessionGone
	}
	if len(s.views) == 0 {
		return nil // no JSON field was read (an Update's usual case): no map walk
	}
	for name, jv := range s.views {
		cur, ok, err := s.s.Get(name)
		if err != nil {
			return err
		}
		if str, isStr := codec.Deref(cur).(codec.String); !ok || !isStr || str != jv.src {
			delete(s.views, name) // replaced through Codec(): that wins
			continue
		}
		text := string(codec.NaturalJSON(jv.val))
		if text == jv.base {
			continue
		}
		if err := s.s.Set(name, codec.String(text)); err != nil {
			return err
		}
		jv.src, jv.base = codec.String(text), text
	}
	return nil
}

// Value returns a variable as a PHP value, without JSON-field decoding.
func (s *Session) Value(name string) (codec.Value, bool, error) {
	if err := s.flush(); err != nil {
		return nil, false, wrap("get", "", err)
	}
	return s.s.Get(name)
}

// Unmarshal stores variable name in the Go value v points to (JSON fields
// through encoding/json, others through codec.UnmarshalValue) and reports
// whether the variable exists.
func (s *Session) Unmarshal(name string, v any) (bool, error) {
	if err := s.flush(); err != nil {
		return false, wrap("unmarshal", "", err)
	}
	ok, err := unmarshalVar(s.s, *s.jf, name, v)
	return ok, wrap("unmarshal", "", err)
}

// Decode stores the whole session in v (a pointer to a struct or map); see
// Manager.Unmarshal.
func (s *Session) Decode(v any) error {
	if err := s.flush(); err != nil {
		return wrap("unmarshal", "", err)
	}
	return wrap("unmarshal", "", unmarshalSession(s.s, *s.jf, v))
}

// Set stores a variable: a codec.Value as is, another Go value through
// codec.MarshalValue. JSON fields are stored as a PHP string holding JSON:
// an already-encoded JSON string (`{"a":1}`), a codec.String or a
// json.RawMessage as is, other values encoded (see codec.JSONFields).
// Names the serializer cannot hold give an error wrapping ErrCodec.
func (s *Session) Set(name string, v any) error {
	if s.gone() {
		return wrap("set", "", errSessionGone)
	}
	delete(s.views, name)
	return wrap("set", "", s.jf.Set(s.s, name, v))
}

// Delete removes a variable and reports whether it existed.
func (s *Session) Delete(name string) bool {
	if s.gone() {
		return false
	}
	delete(s.views, name)
	return s.s.Delete(name)
}

// Has reports whether the variable exists.
func (s *Session) Has(name string) bool { return !s.gone() && s.s.Has(name) }

// Names returns the variable names in order.
func (s *Session) Names() []string {
	if s.gone() {
		return nil
	}
	return s.s.Names()
}

// Len returns the number of variables.
func (s *Session) Len() int {
	if s.gone() {
		return 0
	}
	return s.s.Len()
}

// Clear removes every variable.
func (s *Session) Clear() {
	if s.gone() {
		return
	}
	s.views = nil
	for _, n := range s.s.Names() {
		s.s.Delete(n)
	}
}

// Encode returns the session in PHP's serialized form (the configured
// serializer); variables that were not changed keep their original bytes.
func (s *Session) Encode() ([]byte, error) {
	if err := s.flush(); err != nil {
		return nil, wrap("encode", "", err)
	}
	b, err := s.s.Encode()
	return b, wrap("encode", "", err)
}

// Codec returns the underlying codec session (for the full value model).
// Inside Update, changes to it are saved like changes through Session.
func (s *Session) Codec() *codec.Session {
	if s.gone() {
		return nil
	}
	_ = s.flush() // an error here comes back from the next Encode or save
	return s.s
}

// MarshalJSON writes the session as one JSON object of its variables in
// order, by the natural JSON rules of codec.ToGo (a PHP list is a JSON
// array, other arrays and objects JSON objects; NaN, ±Inf and cycles are
// null). JSON fields holding JSON are embedded as JSON, not as strings.
func (s *Session) MarshalJSON() ([]byte, error) {
	if s.gone() {
		return nil, wrap("encode", "", errSessionGone)
	}
	buf := []byte{'{'}
	for i, name := range s.s.Names() {
		v, _, err := s.Get(name)
		if err != nil {
			return nil, wrap("encode", "", err)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		k, _ := json.Marshal(name)
		buf = append(buf, k...)
		buf = append(buf, ':')
		buf = append(buf, codec.NaturalJSON(v.(codec.Value))...)
	}
	return append(buf, '}'), nil
}

// String returns the natural JSON of the session, or the decoding error.
func (s *Session) String() string {
	b, err := s.MarshalJSON()
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// Map returns the variables as plain Go values for templates and
// encoders: nil, bool, int64, float64, string, []any and map[string]any
// (codec.ToGo; JSON fields decoded). The map is a copy.
func (s *Session) Map() (map[string]any, error) {
	if s.gone() {
		return nil, wrap("get", "", errSessionGone)
	}
	out := make(map[string]any, s.s.Len())
	for _, name := range s.s.Names() {
		v, _, err := s.Get(name)
		if err != nil {
			return nil, wrap("get", "", err)
		}
		out[name] = codec.ToGo(v.(codec.Value))
	}
	return out, nil
}

func unmarshalVar(s *codec.Session, jf codec.JSONFields, name string, out any) (bool, error) {
	v, ok, err := s.Get(name)
	if err != nil || !ok {
		return ok, err
	}
	if jf.Match(name) {
		if str, isStr := codec.Deref(v).(codec.String); isStr && json.Valid([]byte(str)) {
			if err := json.Unmarshal([]byte(str), out); err != nil {
				// a value that does not fit out, as codec.UnmarshalValue
				// reports it for the other variables: ErrCodec
				return true, fmt.Errorf("%w: JSON field %q: %w", codec.ErrCodec, name, err)
			}
			return true, nil
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
				v = assocArrays(j)
			}
		}
		arr.Set(codec.RawStrKey(n), v)
	}
	return codec.UnmarshalValue(arr, out)
}

// assocArrays turns the stdClass objects of decoded JSON into arrays with
// string keys, as PHP's json_decode($s, true) returns them, so that
// unmarshaling into maps and any gives maps.
func assocArrays(v codec.Value) codec.Value {
	switch x := v.(type) {
	case *codec.Array:
		for i := 0; i < x.Len(); i++ {
			k, e := x.At(i)
			x.Set(k, assocArrays(e))
		}
	case *codec.Object:
		a := codec.NewArray(x.Len())
		for i := 0; i < x.Len(); i++ {
			m, e := x.At(i)
			a.Set(codec.StrKey(m.Name), assocArrays(e))
		}
		return a
	}
	return v
}
