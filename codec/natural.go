package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Natural JSON and plain Go values.
//
// MarshalJSON (on every codec value type and on *Session) writes the
// natural JSON of a value, the one PHP's json_encode() would write for
// it, so that encoding/json, a template or a log line can take a session
// as it is. ToGo gives the same view as plain Go values. The lossless
// form (that keeps what serialize() keeps) is ValueToJSON/SessionToJSON.
//
// Rules (PHP → JSON → plain Go from ToGo):
//
//	null                  null                        nil
//	bool                  true / false                bool
//	int                   integer                     int64
//	float                 number, with ".0" when      float64
//	                      integral (1.0, 1.0E+25);
//	                      NAN, INF, -INF → null       (NaN, ±Inf kept)
//	string                string; invalid UTF-8       string (bytes as they are)
//	                      bytes become U+FFFD
//	array, keys 0..n-1    array                       []any
//	in order (a list,
//	also the empty array)
//	other array           object, in PHP order; int   map[string]any
//	                      keys in decimal
//	object                object of its properties    map[string]any
//	                      (plain names: protected and
//	                      private ones too; the class
//	                      is not written; when two
//	                      members share a plain name,
//	                      the first one wins)
//	Serializable (C:)     the payload as a string     string
//	enum case             "Class::Case"               string
//	reference (&)         the referenced value        the referenced value
//	a value met again     null                        nil
//	inside itself (cycle)
//
// Numbers: wherever the API returns a codec Value, a PHP int is an Int and
// a PHP float a Float; wherever it returns plain Go values (ToGo,
// Session.Map in the root package, UnmarshalValue into an any) they are
// int64 and float64. JSON text (JSON fields) is decoded the same way, as
// PHP's json_decode() does: an integer literal that fits int64 is an int,
// any other number a float. json.Number is never returned.

// maxNaturalDepth bounds the nesting rendered; deeper values are null.
const maxNaturalDepth = 10000

type natural struct {
	buf    []byte
	onPath map[any]bool // containers being rendered (cycle detection)
	depth  int
	labels bool // String(): write class names of objects
}

// enter reports whether p may be rendered (not already on the path).
func (n *natural) enter(p any) bool {
	if n.depth >= maxNaturalDepth || n.onPath[p] {
		return false
	}
	if n.onPath == nil {
		n.onPath = map[any]bool{}
	}
	n.onPath[p] = true
	n.depth++
	return true
}

func (n *natural) leave(p any) {
	delete(n.onPath, p)
	n.depth--
}

func (n *natural) str(s string) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	n.buf = appendJSONString(n.buf, s)
}

func (n *natural) float(f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		n.buf = append(n.buf, "null"...)
		return
	}
	start := len(n.buf)
	n.buf = FormatFloat(n.buf, f)
	if !bytes.ContainsAny(n.buf[start:], ".E") {
		n.buf = append(n.buf, ".0"...)
	}
}

func (n *natural) value(v Value) {
	switch x := v.(type) {
	case nil, Null:
		n.buf = append(n.buf, "null"...)
	case Bool:
		n.buf = strconv.AppendBool(n.buf, bool(x))
	case Int:
		n.buf = strconv.AppendInt(n.buf, int64(x), 10)
	case Float:
		n.float(float64(x))
	case String:
		n.str(string(x))
	case *Reference:
		if x == nil || !n.enter(x) {
			n.buf = append(n.buf, "null"...)
			return
		}
		n.value(x.V)
		n.leave(x)
	case *Array:
		if x == nil || !n.enter(x) {
			n.buf = append(n.buf, "null"...)
			return
		}
		if x.IsList() {
			n.buf = append(n.buf, '[')
			for i := range x.m.e {
				if i > 0 {
					n.buf = append(n.buf, ',')
				}
				n.value(x.m.e[i].v)
			}
			n.buf = append(n.buf, ']')
		} else {
			n.buf = append(n.buf, '{')
			for i := range x.m.e {
				if i > 0 {
					n.buf = append(n.buf, ',')
				}
				n.str(x.m.e[i].k.String())
				n.buf = append(n.buf, ':')
				n.value(x.m.e[i].v)
			}
			n.buf = append(n.buf, '}')
		}
		n.leave(x)
	case *Object:
		if x == nil || !n.enter(x) {
			n.buf = append(n.buf, "null"...)
			return
		}
		if n.labels && x.Class != "stdClass" {
			n.buf = append(n.buf, x.Class...)
		}
		n.buf = append(n.buf, '{')
		first := true
		var seen map[string]bool
		for i := range x.m.e {
			name := ParseMember(x.m.e[i].k).Name
			if len(x.m.e) > 1 {
				if seen == nil {
					seen = make(map[string]bool, len(x.m.e))
				}
				if seen[name] {
					continue
				}
				seen[name] = true
			}
			if !first {
				n.buf = append(n.buf, ',')
			}
			first = false
			n.str(name)
			n.buf = append(n.buf, ':')
			n.value(x.m.e[i].v)
		}
		n.buf = append(n.buf, '}')
		n.leave(x)
	case *Serializable:
		if x == nil {
			n.buf = append(n.buf, "null"...)
			return
		}
		n.serializable(x)
	case Serializable:
		n.serializable(&x)
	case Enum:
		n.str(x.Class + "::" + x.Case)
	default:
		n.buf = append(n.buf, "null"...)
	}
}

func (n *natural) serializable(x *Serializable) {
	if n.labels {
		n.buf = append(n.buf, x.Class...)
		n.buf = append(n.buf, '(')
		n.str(string(x.Payload))
		n.buf = append(n.buf, ')')
		return
	}
	n.str(string(x.Payload))
}

func naturalJSON(v Value) []byte {
	n := natural{}
	n.value(v)
	return n.buf
}

func naturalString(v Value) string {
	n := natural{labels: true}
	n.value(v)
	return string(n.buf)
}

// MarshalJSON writes null (see the natural JSON rules at ToGo).
func (Null) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

// String returns "null".
func (Null) String() string { return "null" }

// MarshalJSON writes the float as a JSON number ("1.0" when integral) and
// NaN and ±Inf, which JSON cannot hold, as null.
func (f Float) MarshalJSON() ([]byte, error) { return naturalJSON(f), nil }

// MarshalJSON writes "Class::Case".
func (e Enum) MarshalJSON() ([]byte, error) { return naturalJSON(e), nil }

// String returns "Class::Case".
func (e Enum) String() string { return e.Class + "::" + e.Case }

// MarshalJSON writes the natural JSON of the array: a JSON array for a
// list (keys 0..n-1 in order), else a JSON object in PHP's order.
func (a *Array) MarshalJSON() ([]byte, error) { return naturalJSON(a), nil }

// String returns the array as natural JSON, with the class names of the
// objects inside it.
func (a *Array) String() string { return naturalString(a) }

// MarshalJSON writes the object's properties as a JSON object (plain
// names; the class is not written).
func (o *Object) MarshalJSON() ([]byte, error) { return naturalJSON(o), nil }

// String returns the class name followed by the properties as JSON
// ("Cart{"items":[]}"; stdClass objects show no class).
func (o *Object) String() string { return naturalString(o) }

// MarshalJSON writes the payload as a JSON string.
func (x *Serializable) MarshalJSON() ([]byte, error) { return naturalJSON(x), nil }

// String returns Class("payload").
func (x *Serializable) String() string { return naturalString(x) }

// MarshalJSON writes the referenced value.
func (r *Reference) MarshalJSON() ([]byte, error) { return naturalJSON(r), nil }

// String returns the referenced value's text.
func (r *Reference) String() string { return naturalString(r) }

// NaturalJSON returns the natural JSON of v (the rules at [ToGo]); it is
// what json.Marshal writes for v, without the HTML escaping encoding/json
// adds.
func NaturalJSON(v Value) []byte { return naturalJSON(v) }

// ToGo returns v as plain Go values: nil, bool, int64, float64, string,
// []any (PHP lists) and map[string]any (other arrays, objects), following
// the natural JSON rules above, so that json.Marshal(ToGo(v)) and
// json.Marshal(v) describe the same document (except for map key order
// and NaN/±Inf, which ToGo keeps).
func ToGo(v Value) any {
	g := toGo{}
	return g.value(v)
}

type toGo struct {
	onPath map[any]bool
	depth  int
}

func (g *toGo) enter(p any) bool {
	if g.depth >= maxNaturalDepth || g.onPath[p] {
		return false
	}
	if g.onPath == nil {
		g.onPath = map[any]bool{}
	}
	g.onPath[p] = true
	g.depth++
	return true
}

func (g *toGo) leave(p any) {
	delete(g.onPath, p)
	g.depth--
}

func (g *toGo) value(v Value) any {
	switch x := v.(type) {
	case nil, Null:
		return nil
	case Bool:
		return bool(x)
	case Int:
		return int64(x)
	case Float:
		return float64(x)
	case String:
		return string(x)
	case *Reference:
		if x == nil || !g.enter(x) {
			return nil
		}
		defer g.leave(x)
		return g.value(x.V)
	case *Array:
		if x == nil || !g.enter(x) {
			return nil
		}
		defer g.leave(x)
		if x.IsList() {
			out := make([]any, len(x.m.e))
			for i := range x.m.e {
				out[i] = g.value(x.m.e[i].v)
			}
			return out
		}
		out := make(map[string]any, len(x.m.e))
		for i := range x.m.e {
			out[x.m.e[i].k.String()] = g.value(x.m.e[i].v)
		}
		return out
	case *Object:
		if x == nil || !g.enter(x) {
			return nil
		}
		defer g.leave(x)
		out := make(map[string]any, len(x.m.e))
		for i := range x.m.e {
			name := ParseMember(x.m.e[i].k).Name
			if _, dup := out[name]; !dup {
				out[name] = g.value(x.m.e[i].v)
			}
		}
		return out
	case *Serializable:
		if x == nil {
			return nil
		}
		return string(x.Payload)
	case Serializable:
		return string(x.Payload)
	case Enum:
		return x.Class + "::" + x.Case
	}
	return nil
}

// MarshalJSON writes the session's variables as one JSON object, in
// order, each by the natural JSON rules (see [ToGo]). A variable that
// cannot be decoded gives an error.
func (s *Session) MarshalJSON() ([]byte, error) {
	n := natural{}
	if err := s.naturalTo(&n); err != nil {
		return nil, err
	}
	return n.buf, nil
}

// String returns the session as natural JSON, with the class names of
// objects; a variable that cannot be decoded shows as its error.
func (s *Session) String() string {
	n := natural{labels: true}
	if err := s.naturalTo(&n); err != nil {
		return "<" + err.Error() + ">"
	}
	return string(n.buf)
}

func (s *Session) naturalTo(n *natural) error {
	n.buf = append(n.buf, '{')
	for i, k := range s.Keys() {
		v, _, err := s.GetKey(k)
		if err != nil {
			return err
		}
		if i > 0 {
			n.buf = append(n.buf, ',')
		}
		n.str(k.String())
		n.buf = append(n.buf, ':')
		n.value(v)
	}
	n.buf = append(n.buf, '}')
	return nil
}

// Map returns the session's variables as plain Go values (see [ToGo]).
func (s *Session) Map() (map[string]any, error) {
	out := make(map[string]any, s.Len())
	for _, k := range s.Keys() {
		v, _, err := s.GetKey(k)
		if err != nil {
			return nil, err
		}
		out[k.String()] = ToGo(v)
	}
	return out, nil
}

// ParseJSON decodes one JSON document into codec values the way PHP's
// json_decode() does without its assoc flag: objects become stdClass
// *Object (members in document order), arrays list *Array, integer
// literals that fit int64 Int, other numbers Float, strings String, and
// true/false/null Bool/Null. The natural JSON of the result (MarshalJSON)
// is the same document, up to number formatting and whitespace.
// Invalid JSON, or more than one value, gives an error wrapping ErrJSON.
func ParseJSON(data []byte) (Value, error) {
	if !json.Valid(data) {
		return nil, fmt.Errorf("%w: not one valid JSON value", ErrJSON)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseJSONValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrJSON)
	}
	return v, nil
}

func parseJSONValue(dec *json.Decoder, depth int) (Value, error) {
	if depth > maxNaturalDepth {
		return nil, fmt.Errorf("%w: %w: nesting deeper than %d", ErrJSON, ErrDepth, maxNaturalDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return Null{}, nil
	case bool:
		return Bool(t), nil
	case string:
		return String(t), nil
	case json.Number:
		return jsonNumber(string(t)), nil
	case json.Delim:
		switch t {
		case '[':
			a := NewArray()
			for dec.More() {
				e, err := parseJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a.Append(e)
			}
			_, err := dec.Token()
			return a, err
		case '{':
			o := NewObject("stdClass")
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				e, err := parseJSONValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.SetKey(RawStrKey(k), e)
			}
			_, err := dec.Token()
			return o, err
		}
	}
	return nil, fmt.Errorf("%w: unexpected token %v", ErrJSON, tok)
}

// jsonNumber reads a JSON number as json_decode() does: an integer
// literal within int64 is an Int, anything else a Float.
func jsonNumber(t string) Value {
	if !strings.ContainsAny(t, ".eE") {
		if i, err := strconv.ParseInt(t, 10, 64); err == nil {
			return Int(i)
		}
	}
	f, _ := strconv.ParseFloat(t, 64)
	return Float(f)
}
