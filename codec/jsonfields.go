package codec

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// JSONFields names the session variables whose PHP string values hold
// JSON text (a pattern of the original Python library: PHP code stores
// json_encode() output in the session, Go code wants the structure).
//
// On read, a matched variable whose value is a PHP string holding valid
// JSON is decoded into a Go value; anything else (invalid JSON, or a value
// that is not a string) is returned unchanged as a codec Value. On write,
// a Go value for a matched variable is stored as a PHP string holding its
// JSON encoding; codec Values are stored as they are, so what was read is
// written back unchanged.
//
// Only top-level session variables are matched, by exact name or by
// prefix. The zero JSONFields matches nothing.
type JSONFields struct {
	Names    []string // exact variable names
	Prefixes []string // name prefixes
}

// DefaultJSONFields returns the fields of the original Python library:
// the names scart_items, ga_data, session_view_log and MPIReceive, and the
// prefix trace_list_.
func DefaultJSONFields() JSONFields {
	return JSONFields{
		Names:    []string{"scart_items", "ga_data", "session_view_log", "MPIReceive"},
		Prefixes: []string{"trace_list_"},
	}
}

// Match reports whether the session variable name holds JSON.
func (f JSONFields) Match(name string) bool {
	if slices.Contains(f.Names, name) {
		return true
	}
	for _, p := range f.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// FromPHP returns the Go view of the value of session variable name: for
// a matched name whose value is a PHP string holding valid JSON, the
// decoded JSON (see DecodeJSONString); otherwise v itself.
func (f JSONFields) FromPHP(name string, v Value) any {
	if !f.Match(name) {
		return v
	}
	if x, ok := DecodeJSONString(v); ok {
		return x
	}
	return v
}

// ToPHP returns the Value to store under session variable name. For a
// matched name, a Go value is stored as a PHP string holding its JSON
// (see EncodeJSONString); a codec Value (for example the String that
// FromPHP returned for text that is not JSON) is stored unchanged. For
// other names ToPHP is MarshalValue.
func (f JSONFields) ToPHP(name string, v any) (Value, error) {
	if !f.Match(name) {
		return MarshalValue(v)
	}
	if val, ok := v.(Value); ok && val != nil {
		return val, nil
	}
	return EncodeJSONString(v)
}

// Get reads session variable name from s through FromPHP.
func (f JSONFields) Get(s *Session, name string) (any, bool, error) {
	v, ok, err := s.Get(name)
	if err != nil || !ok {
		return nil, ok, err
	}
	return f.FromPHP(name, v), true, nil
}

// Set stores v under session variable name in s through ToPHP.
func (f JSONFields) Set(s *Session, name string, v any) error {
	val, err := f.ToPHP(name, v)
	if err != nil {
		return err
	}
	return s.Set(name, val)
}

// DecodeJSONString decodes a PHP string holding JSON. It reports false
// if v is not a String (references are followed) or its text is not one
// valid JSON value. JSON objects become map[string]any, arrays []any,
// numbers json.Number (so that big integers and the number text survive),
// strings string, true/false bool and null nil.
func DecodeJSONString(v Value) (any, bool) {
	s, ok := Deref(v).(String)
	if !ok {
		return nil, false
	}
	b := []byte(s)
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, false
	}
	return out, true
}

// EncodeJSONString returns v encoded as JSON (encoding/json, without HTML
// escaping and without a trailing newline) in a PHP string. PHP's
// json_decode reads it.
func EncodeJSONString(v any) (Value, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return String(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), nil
}
