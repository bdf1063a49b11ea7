package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// JSONFields names the session variables whose PHP string values hold
// JSON text (a pattern of the original Python library: PHP code stores
// json_encode() output in the session, Go code wants the structure).
//
// On read, a matched variable whose value is a PHP string holding valid
// JSON is decoded into codec values by [ParseJSON] (as PHP's json_decode()
// does: objects are stdClass objects, arrays lists, integers Int, other
// numbers Float); anything else (invalid JSON, or a value that is not a
// string) is returned unchanged.
//
// On write (ToPHP), a matched variable is always stored as a PHP string
// holding valid JSON text, which PHP's json_decode() reads:
//
//	string, codec.String   stored as is when it is valid JSON (already
//	                       encoded, such as `{"a":1}`), else as the JSON
//	                       string literal of its text ("hello" → "\"hello\"")
//	json.RawMessage        stored as is (it must be valid JSON)
//	[]byte                 stored as is when it is valid JSON (the output of
//	                       json.Marshal), else encoded (base64, as encoding/json)
//	other codec values     their natural JSON (MarshalJSON), so what
//	                       FromPHP returned is written back as JSON
//	any other Go value     encoding/json, without HTML escaping
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

// IsZero reports whether f matches nothing.
func (f JSONFields) IsZero() bool { return len(f.Names) == 0 && len(f.Prefixes) == 0 }

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

// FromPHP returns the value of session variable name as the API shows
// it: for a matched name whose value is a PHP string holding valid JSON,
// the decoded JSON (see [DecodeJSONString]); otherwise v itself.
func (f JSONFields) FromPHP(name string, v Value) Value {
	if !f.Match(name) {
		return v
	}
	if x, ok := DecodeJSONString(v); ok {
		return x
	}
	return v
}

// ToPHP returns the Value to store under session variable name: for a
// matched name a PHP string holding JSON (the rules at [JSONFields]); for
// other names MarshalValue(v).
func (f JSONFields) ToPHP(name string, v any) (Value, error) {
	if !f.Match(name) {
		return MarshalValue(v)
	}
	switch x := v.(type) {
	case String:
		if json.Valid([]byte(x)) {
			return x, nil
		}
		return EncodeJSONString(string(x))
	case json.RawMessage:
		if !json.Valid(x) {
			return nil, fmt.Errorf("%w: json.RawMessage for %q is not valid JSON", ErrJSON, name)
		}
		return String(x), nil
	case []byte:
		if json.Valid(x) { // json.Marshal's output, passed on as is
			return String(x), nil
		}
	case string:
		if json.Valid([]byte(x)) {
			return String(x), nil
		}
	case Value:
		if x != nil {
			return String(naturalJSON(x)), nil
		}
	}
	return EncodeJSONString(v)
}

// Get reads session variable name from s through FromPHP.
func (f JSONFields) Get(s *Session, name string) (Value, bool, error) {
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

// DecodeJSONString decodes a PHP string holding JSON with [ParseJSON].
// It reports false if v is not a String (references are followed) or its
// text is not one valid JSON value.
func DecodeJSONString(v Value) (Value, bool) {
	s, ok := Deref(v).(String)
	if !ok {
		return nil, false
	}
	x, err := ParseJSON([]byte(s))
	if err != nil {
		return nil, false
	}
	return x, true
}

// EncodeJSONString returns v encoded as JSON (encoding/json, without HTML
// escaping and without a trailing newline) in a PHP string. PHP's
// json_decode reads it. Codec values inside v are written as natural JSON
// (their MarshalJSON).
func EncodeJSONString(v any) (Value, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	return String(bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})), nil
}
