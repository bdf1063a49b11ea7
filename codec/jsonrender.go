package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// ErrJSON is wrapped by the errors of ValueFromJSON and SessionFromJSON.
var ErrJSON = codecErr("invalid JSON rendering")

// maxRenderDepth bounds recursion when rendering (a cyclic *Array that is
// not broken by a reference or object cannot be rendered).
const maxRenderDepth = 1 << 16

type renderer struct {
	buf   []byte
	count map[any]int // occurrences of identity-bearing pointers
	ids   map[any]int // label given at first occurrence
	next  int
}

// ValueToJSON renders v in the lossless JSON form described at
// SessionToJSON (the VALUE production).
func ValueToJSON(v Value) ([]byte, error) {
	r := renderer{}
	r.countValue(v, 0)
	if err := r.value(v, 0); err != nil {
		return nil, err
	}
	return r.buf, nil
}

// SessionToJSON renders every variable of s (decoding all of them) in the
// lossless JSON form below.
//
// ValueToJSON / SessionToJSON write, and ValueFromJSON / SessionFromJSON
// read back, a JSON document that keeps everything serialize() keeps, so
// that decode → JSON → encode reproduces PHP's bytes exactly. It is the
// format of `phpsess decode` and `phpsess encode` (docs/cli-codec.md).
//
// A session is an object with the handler and the variables in order:
//
//	{"handler": "php", "vars": [[NAME, VALUE], ...]}
//
// where NAME is a STRING, or a JSON integer for the int keys a
// php_serialize session can hold.
//
// A VALUE is one of:
//
//	null                                      PHP null
//	true, false                               bool
//	-42                                       int: a JSON integer (no fraction, no exponent)
//	{"float": "0.1"}                          float, as PHP's serialize() prints it
//	                                          ("1.0E+25", "-0", "INF", "-INF", "NAN")
//	STRING                                    string
//	{"list": [VALUE, ...]}                    array whose keys are 0..n-1 in order
//	{"array": [[KEY, VALUE], ...]}            any other array, in order; KEY is a JSON
//	                                          integer (int key) or a STRING (string key)
//	{"object": "Class", "members": [MEMBER, ...]}
//	                                          object (O:); optional "id" (see below)
//	{"serializable": "Class", "payload": STRING}
//	                                          object of a Serializable class (C:), payload
//	                                          verbatim; optional "id", "opaque", "inner"
//	{"enum": "Suit", "case": "Hearts"}        enum case (E:)
//	{"ref": N, "value": VALUE}                a PHP reference (&): the first place that holds it
//	{"ref": N}                                the same reference again (R: in serialize())
//	{"same": N}                               the object with "id": N again (r:)
//
// A STRING is a JSON string when the PHP string is valid UTF-8 (NUL and
// control bytes are \u escapes), else {"bytes": "<standard base64>"}.
//
// A MEMBER is {"name": STRING, "value": VALUE}, plus "visibility":
// "protected" or "private" and, for private members, "class": the
// declaring class (PHP mangles these names as \0*\0name and
// \0Class\0name); a member with an int key (possible for __serialize()
// objects) is {"key": 5, "value": VALUE}.
//
// Identity: an object or Serializable object that occurs more than once
// carries "id": N at its first occurrence, and later occurrences are
// {"same": N}; a PHP reference that occurs more than once is
// {"ref": N, "value": ...} at its first occurrence and {"ref": N} later.
// N are labels numbered from 1 in document order, one sequence for both
// kinds, shared by all variables of a session (references may cross
// variables); they are not PHP's R:/r: numbers, which the encoder
// computes. Cycles (an object holding itself) use the same forms.
//
// Serializable payloads: PHP numbers the values inside a payload that a
// class's serialize() produced with serialize() together with the outer
// data. "opaque": true records that it did not (the payload only looks
// like serialize() text), which changes how later R:/r: count. When an
// object or reference inside such a payload is also referred to from
// outside it (or the other way round), "inner" carries the payload's
// values, rendered like any VALUE and sharing the labels, so that the
// identity survives; the payload text stays authoritative for the bytes.
//
// Readers accept any JSON whitespace and member order inside the tagged
// objects; unknown tags or extra fields are errors.
func SessionToJSON(s *Session) ([]byte, error) {
	keys := s.Keys()
	vals := make([]Value, len(keys))
	for i, k := range keys {
		v, _, err := s.GetKey(k)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	r := renderer{}
	for _, v := range vals {
		r.countValue(v, 0)
	}
	r.buf = append(r.buf, `{"handler":`...)
	r.str(string(s.Handler()))
	r.buf = append(r.buf, `,"vars":[`...)
	for i, k := range keys {
		if i > 0 {
			r.buf = append(r.buf, ',')
		}
		r.buf = append(r.buf, '[')
		r.key(k)
		r.buf = append(r.buf, ',')
		if err := r.value(vals[i], 0); err != nil {
			return nil, err
		}
		r.buf = append(r.buf, ']')
	}
	r.buf = append(r.buf, "]}"...)
	return r.buf, nil
}

// identity returns the pointer under which v is tracked, if any.
func identity(v Value) (any, bool) {
	switch x := v.(type) {
	case *Object:
		return x, x != nil
	case *Serializable:
		return x, x != nil
	case *Reference:
		return x, x != nil
	}
	return nil, false
}

func (r *renderer) countValue(v Value, depth int) {
	if depth > maxRenderDepth {
		return
	}
	if p, ok := identity(v); ok {
		if r.count == nil {
			r.count = map[any]int{}
		}
		r.count[p]++
		if r.count[p] > 1 {
			return
		}
	}
	switch x := v.(type) {
	case Enum:
		if r.count == nil {
			r.count = map[any]int{}
		}
		r.count[x]++
	case *Array:
		x.Range(func(_ Key, e Value) bool { r.countValue(e, depth+1); return true })
	case *Object:
		x.Range(func(_ Member, e Value) bool { r.countValue(e, depth+1); return true })
	case *Reference:
		r.countValue(x.V, depth+1)
	case *Serializable:
		if inner, ok := serializableInner(x); ok {
			r.countValue(inner, depth+1)
		}
	}
}

// linkedInner reports whether the decoded payload of x holds an object or
// reference that occurs more than once in the document (so that the JSON
// must carry it for the identity to survive).
func (r *renderer) linkedInner(v Value, depth int) bool {
	if depth > maxRenderDepth {
		return false
	}
	if p, ok := identity(v); ok && r.count[p] > 1 {
		return true
	}
	if e, ok := v.(Enum); ok && r.count[e] > 1 {
		return true // enum cases are shared (r:) like objects
	}
	found := false
	switch x := v.(type) {
	case *Array:
		x.Range(func(_ Key, e Value) bool { found = r.linkedInner(e, depth+1); return !found })
	case *Object:
		x.Range(func(_ Member, e Value) bool { found = r.linkedInner(e, depth+1); return !found })
	case *Reference:
		found = r.linkedInner(x.V, depth+1)
	case *Serializable:
		if inner, ok := serializableInner(x); ok {
			found = r.linkedInner(inner, depth+1)
		}
	}
	return found
}

// str writes a STRING.
func (r *renderer) str(s string) {
	if !utf8.ValidString(s) {
		r.buf = append(r.buf, `{"bytes":"`...)
		r.buf = base64.StdEncoding.AppendEncode(r.buf, []byte(s))
		r.buf = append(r.buf, `"}`...)
		return
	}
	r.buf = appendJSONString(r.buf, s)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes a valid UTF-8 string as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0x7f {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func (r *renderer) key(k Key) {
	if k.IsInt() {
		r.buf = strconv.AppendInt(r.buf, k.Int(), 10)
		return
	}
	r.str(k.String())
}

// label returns the label of p and whether this is its first occurrence;
// label 0 means p occurs only once and needs none.
func (r *renderer) label(p any) (int, bool) {
	if r.count[p] < 2 {
		return 0, true
	}
	if id, ok := r.ids[p]; ok {
		return id, false
	}
	if r.ids == nil {
		r.ids = map[any]int{}
	}
	r.next++
	r.ids[p] = r.next
	return r.next, true
}

func (r *renderer) value(v Value, depth int) error {
	if depth > maxRenderDepth {
		return fmt.Errorf("%w: nesting deeper than %d (cyclic array?)", ErrDepth, maxRenderDepth)
	}
	switch x := v.(type) {
	case nil, Null:
		r.buf = append(r.buf, "null"...)
	case Bool:
		if x {
			r.buf = append(r.buf, "true"...)
		} else {
			r.buf = append(r.buf, "false"...)
		}
	case Int:
		r.buf = strconv.AppendInt(r.buf, int64(x), 10)
	case Float:
		r.buf = append(r.buf, `{"float":"`...)
		r.buf = FormatFloat(r.buf, float64(x))
		r.buf = append(r.buf, `"}`...)
	case String:
		r.str(string(x))
	case *Array:
		if x.IsList() {
			r.buf = append(r.buf, `{"list":[`...)
			var err error
			i := 0
			x.Range(func(_ Key, e Value) bool {
				if i > 0 {
					r.buf = append(r.buf, ',')
				}
				i++
				err = r.value(e, depth+1)
				return err == nil
			})
			r.buf = append(r.buf, "]}"...)
			return err
		}
		r.buf = append(r.buf, `{"array":[`...)
		var err error
		i := 0
		x.Range(func(k Key, e Value) bool {
			if i > 0 {
				r.buf = append(r.buf, ',')
			}
			i++
			r.buf = append(r.buf, '[')
			r.key(k)
			r.buf = append(r.buf, ',')
			err = r.value(e, depth+1)
			r.buf = append(r.buf, ']')
			return err == nil
		})
		r.buf = append(r.buf, "]}"...)
		return err
	case *Object:
		id, first := r.label(x)
		if !first {
			r.same(id)
			return nil
		}
		r.buf = append(r.buf, `{"object":`...)
		r.str(x.Class)
		if id > 0 {
			r.buf = append(r.buf, `,"id":`...)
			r.buf = strconv.AppendInt(r.buf, int64(id), 10)
		}
		r.buf = append(r.buf, `,"members":[`...)
		var err error
		i := 0
		x.Range(func(m Member, e Value) bool {
			if i > 0 {
				r.buf = append(r.buf, ',')
			}
			i++
			if m.Key.IsInt() {
				r.buf = append(r.buf, `{"key":`...)
				r.buf = strconv.AppendInt(r.buf, m.Key.Int(), 10)
			} else {
				r.buf = append(r.buf, `{"name":`...)
				r.str(m.Name)
				switch m.Visibility {
				case Protected:
					r.buf = append(r.buf, `,"visibility":"protected"`...)
				case Private:
					r.buf = append(r.buf, `,"visibility":"private","class":`...)
					r.str(m.Class)
				}
			}
			r.buf = append(r.buf, `,"value":`...)
			err = r.value(e, depth+1)
			r.buf = append(r.buf, '}')
			return err == nil
		})
		r.buf = append(r.buf, "]}"...)
		return err
	case *Serializable:
		id, first := r.label(x)
		if !first {
			r.same(id)
			return nil
		}
		return r.serializable(x, id, depth)
	case Serializable:
		return r.serializable(&x, 0, depth)
	case Enum:
		r.buf = append(r.buf, `{"enum":`...)
		r.str(x.Class)
		r.buf = append(r.buf, `,"case":`...)
		r.str(x.Case)
		r.buf = append(r.buf, '}')
	case *Reference:
		id, first := r.label(x)
		if !first {
			r.buf = append(r.buf, `{"ref":`...)
			r.buf = strconv.AppendInt(r.buf, int64(id), 10)
			r.buf = append(r.buf, '}')
			return nil
		}
		if id == 0 {
			// Held in one place only: a reference PHP writes as a plain value.
			r.buf = append(r.buf, `{"ref":0,"value":`...)
		} else {
			r.buf = append(r.buf, `{"ref":`...)
			r.buf = strconv.AppendInt(r.buf, int64(id), 10)
			r.buf = append(r.buf, `,"value":`...)
		}
		if err := r.value(x.V, depth+1); err != nil {
			return err
		}
		r.buf = append(r.buf, '}')
	default:
		return fmt.Errorf("%w: %T", ErrUnsupported, v)
	}
	return nil
}

func (r *renderer) serializable(x *Serializable, id, depth int) error {
	r.buf = append(r.buf, `{"serializable":`...)
	r.str(x.Class)
	if id > 0 {
		r.buf = append(r.buf, `,"id":`...)
		r.buf = strconv.AppendInt(r.buf, int64(id), 10)
	}
	r.buf = append(r.buf, `,"payload":`...)
	r.str(string(x.Payload))
	if x.Opaque {
		r.buf = append(r.buf, `,"opaque":true`...)
	}
	if inner, ok := serializableInner(x); ok && r.linkedInner(inner, depth+1) {
		r.buf = append(r.buf, `,"inner":`...)
		if err := r.value(inner, depth+1); err != nil {
			return err
		}
	}
	r.buf = append(r.buf, '}')
	return nil
}

// ---- reading ----

type jsonReader struct {
	labels map[int64]Value
	refs   map[int64]bool // label names a *Reference (true) or an object (false)
}

func jsonErr(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg += " at " + path
	}
	return fmt.Errorf("%w: %s", ErrJSON, msg)
}

func parseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %v at offset %d", ErrJSON, err, se.Offset)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: unexpected end of input at offset %d", ErrJSON, len(data))
		}
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON value at offset %d", ErrJSON, dec.InputOffset())
	}
	if _, err := dec.Token(); err == nil {
		return nil, fmt.Errorf("%w: trailing data after the JSON value at offset %d", ErrJSON, dec.InputOffset())
	}
	return doc, nil
}

// ValueFromJSON reads a value in the lossless JSON form (see
// SessionToJSON).
func ValueFromJSON(data []byte) (Value, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	r := jsonReader{}
	return r.value(doc, "$")
}

// SessionFromJSON reads a session in the lossless JSON form (see
// SessionToJSON) and returns it as a session for handler h; if h is
// empty, the document's "handler" is used. Names h cannot hold give an
// error wrapping ErrInvalidName.
func SessionFromJSON(data []byte, h Handler) (*Session, error) {
	doc, err := parseJSON(data)
	if err != nil {
		return nil, err
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, jsonErr("$", "want an object with \"handler\" and \"vars\"")
	}
	for k := range obj {
		if k != "handler" && k != "vars" {
			return nil, jsonErr("$", "unknown field %q", k)
		}
	}
	if h == "" {
		hs, ok := obj["handler"].(string)
		if !ok {
			return nil, jsonErr("$.handler", "want the serialize handler name")
		}
		h = Handler(hs)
	}
	if _, err := ParseHandler(string(h)); err != nil {
		return nil, err
	}
	vars, ok := obj["vars"].([]any)
	if !ok {
		return nil, jsonErr("$.vars", "want an array of [name, value] pairs")
	}
	r := jsonReader{}
	s := NewSession(h)
	for i, e := range vars {
		path := "$.vars[" + strconv.Itoa(i) + "]"
		pair, ok := e.([]any)
		if !ok || len(pair) != 2 {
			return nil, jsonErr(path, "want a [name, value] pair")
		}
		k, err := r.key(pair[0], path+"[0]")
		if err != nil {
			return nil, err
		}
		v, err := r.value(pair[1], path+"[1]")
		if err != nil {
			return nil, err
		}
		if h.lookup().arrayKeys && !k.IsInt() {
			k = StrKey(k.String())
		}
		if err := s.SetKey(k, v); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return s, nil
}

func (r *jsonReader) str(x any, path string) (string, error) {
	switch y := x.(type) {
	case string:
		return y, nil
	case map[string]any:
		b, ok := y["bytes"].(string)
		if !ok || len(y) != 1 {
			return "", jsonErr(path, `want a string or {"bytes": base64}`)
		}
		raw, err := base64.StdEncoding.DecodeString(b)
		if err != nil {
			return "", jsonErr(path, "bad base64: %v", err)
		}
		return string(raw), nil
	}
	return "", jsonErr(path, `want a string or {"bytes": base64}`)
}

func jsonInt(x any) (int64, bool) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

// key reads an array key without numeric normalisation of strings (the
// renderer writes int keys as JSON integers).
func (r *jsonReader) key(x any, path string) (Key, error) {
	if _, ok := x.(json.Number); ok {
		i, ok := jsonInt(x)
		if !ok {
			return Key{}, jsonErr(path, "array key %v is not an int64", x)
		}
		return IntKey(i), nil
	}
	s, err := r.str(x, path)
	if err != nil {
		return Key{}, err
	}
	return RawStrKey(s), nil
}

func onlyFields(m map[string]any, path string, allowed ...string) error {
outer:
	for k := range m {
		for _, a := range allowed {
			if k == a {
				continue outer
			}
		}
		return jsonErr(path, "unexpected field %q", k)
	}
	return nil
}

func (r *jsonReader) setLabel(id int64, v Value, isRef bool, path string) error {
	if id <= 0 {
		return jsonErr(path, "id must be positive")
	}
	if r.labels == nil {
		r.labels, r.refs = map[int64]Value{}, map[int64]bool{}
	}
	if _, dup := r.labels[id]; dup {
		return jsonErr(path, "id %d defined twice", id)
	}
	r.labels[id], r.refs[id] = v, isRef
	return nil
}

func (r *jsonReader) value(x any, path string) (Value, error) {
	switch y := x.(type) {
	case nil:
		return Null{}, nil
	case bool:
		return Bool(y), nil
	case json.Number:
		i, ok := jsonInt(y)
		if !ok {
			return nil, jsonErr(path, `number %s is not an int64 (floats are {"float": "text"})`, y)
		}
		return Int(i), nil
	case string:
		return String(y), nil
	case []any:
		return nil, jsonErr(path, `bare JSON array: use {"list": [...]} or {"array": [[key, value], ...]}`)
	case map[string]any:
		return r.tagged(y, path)
	}
	return nil, jsonErr(path, "unexpected JSON %T", x)
}

func (r *jsonReader) tagged(m map[string]any, path string) (Value, error) {
	switch {
	case m["bytes"] != nil:
		s, err := r.str(m, path)
		return String(s), err
	case m["float"] != nil:
		if err := onlyFields(m, path, "float"); err != nil {
			return nil, err
		}
		t, ok := m["float"].(string)
		if !ok {
			return nil, jsonErr(path, `want {"float": "text"}`)
		}
		f, err := parseFloatText(t)
		if err != nil {
			return nil, jsonErr(path, "bad float %q", t)
		}
		return Float(f), nil
	case m["list"] != nil:
		if err := onlyFields(m, path, "list"); err != nil {
			return nil, err
		}
		l, ok := m["list"].([]any)
		if !ok {
			return nil, jsonErr(path, `want {"list": [...]}`)
		}
		a := NewArray(len(l))
		for i, e := range l {
			v, err := r.value(e, path+".list["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			a.Set(IntKey(int64(i)), v)
		}
		return a, nil
	case m["array"] != nil:
		if err := onlyFields(m, path, "array"); err != nil {
			return nil, err
		}
		l, ok := m["array"].([]any)
		if !ok {
			return nil, jsonErr(path, `want {"array": [[key, value], ...]}`)
		}
		a := NewArray(len(l))
		for i, e := range l {
			p := path + ".array[" + strconv.Itoa(i) + "]"
			pair, ok := e.([]any)
			if !ok || len(pair) != 2 {
				return nil, jsonErr(p, "want a [key, value] pair")
			}
			k, err := r.key(pair[0], p+"[0]")
			if err != nil {
				return nil, err
			}
			if !k.IsInt() {
				if _, numeric := phpIntKey(k.String()); numeric {
					return nil, jsonErr(p+"[0]", "string key %q would be an int key in PHP; write it as a JSON integer", k.String())
				}
			}
			v, err := r.value(pair[1], p+"[1]")
			if err != nil {
				return nil, err
			}
			if _, dup := a.Get(k); dup {
				return nil, jsonErr(p, "duplicate key %s", k.String())
			}
			a.Set(k, v)
		}
		return a, nil
	case m["object"] != nil:
		if err := onlyFields(m, path, "object", "id", "members"); err != nil {
			return nil, err
		}
		class, err := r.str(m["object"], path+".object")
		if err != nil {
			return nil, err
		}
		o := NewObject(class)
		if idv, ok := m["id"]; ok {
			id, ok := jsonInt(idv)
			if !ok {
				return nil, jsonErr(path+".id", "want an integer")
			}
			if err := r.setLabel(id, o, false, path); err != nil {
				return nil, err
			}
		}
		members, ok := m["members"].([]any)
		if !ok && m["members"] != nil {
			return nil, jsonErr(path+".members", "want an array")
		}
		for i, e := range members {
			p := path + ".members[" + strconv.Itoa(i) + "]"
			mm, ok := e.(map[string]any)
			if !ok {
				return nil, jsonErr(p, `want {"name": ..., "value": ...}`)
			}
			if err := onlyFields(mm, p, "name", "key", "visibility", "class", "value"); err != nil {
				return nil, err
			}
			var k Key
			if kv, ok := mm["key"]; ok {
				n, ok := jsonInt(kv)
				if !ok || mm["name"] != nil {
					return nil, jsonErr(p, `"key" must be an integer, without "name"`)
				}
				k = IntKey(n)
			} else {
				name, err := r.str(mm["name"], p+".name")
				if err != nil {
					return nil, err
				}
				vis := Public
				switch mm["visibility"] {
				case nil, "public":
				case "protected":
					vis = Protected
				case "private":
					vis = Private
				default:
					return nil, jsonErr(p+".visibility", "want public, protected or private")
				}
				class := ""
				if vis == Private {
					if class, err = r.str(mm["class"], p+".class"); err != nil {
						return nil, err
					}
				} else if mm["class"] != nil {
					return nil, jsonErr(p+".class", "only private members have a class")
				}
				k = MangledKey(name, vis, class)
			}
			if _, ok := mm["value"]; !ok {
				return nil, jsonErr(p, `missing "value"`)
			}
			v, err := r.value(mm["value"], p+".value")
			if err != nil {
				return nil, err
			}
			if _, dup := o.GetKey(k); dup {
				return nil, jsonErr(p, "duplicate member")
			}
			o.SetKey(k, v)
		}
		return o, nil
	case m["serializable"] != nil:
		if err := onlyFields(m, path, "serializable", "id", "payload", "opaque", "inner"); err != nil {
			return nil, err
		}
		class, err := r.str(m["serializable"], path+".serializable")
		if err != nil {
			return nil, err
		}
		payload, err := r.str(m["payload"], path+".payload")
		if err != nil {
			return nil, err
		}
		sv := &Serializable{Class: class, Payload: []byte(payload)}
		switch o := m["opaque"].(type) {
		case nil:
		case bool:
			sv.Opaque = o
		default:
			return nil, jsonErr(path+".opaque", "want true or false")
		}
		if idv, ok := m["id"]; ok {
			id, ok := jsonInt(idv)
			if !ok {
				return nil, jsonErr(path+".id", "want an integer")
			}
			if err := r.setLabel(id, sv, false, path); err != nil {
				return nil, err
			}
		}
		if iv, ok := m["inner"]; ok {
			if sv.Opaque {
				return nil, jsonErr(path+".inner", "an opaque payload has no inner values")
			}
			inner, err := r.value(iv, path+".inner")
			if err != nil {
				return nil, err
			}
			setSerializableInner(sv, inner)
		}
		return sv, nil
	case m["enum"] != nil:
		if err := onlyFields(m, path, "enum", "case"); err != nil {
			return nil, err
		}
		class, err := r.str(m["enum"], path+".enum")
		if err != nil {
			return nil, err
		}
		c, err := r.str(m["case"], path+".case")
		if err != nil {
			return nil, err
		}
		return Enum{Class: class, Case: c}, nil
	case m["ref"] != nil:
		if err := onlyFields(m, path, "ref", "value"); err != nil {
			return nil, err
		}
		id, ok := jsonInt(m["ref"])
		if !ok {
			return nil, jsonErr(path+".ref", "want an integer")
		}
		inner, hasValue := m["value"]
		if !hasValue {
			v, ok := r.labels[id]
			if !ok || !r.refs[id] {
				return nil, jsonErr(path, "ref %d used before its {\"ref\": %d, \"value\": ...}", id, id)
			}
			return v, nil
		}
		ref := &Reference{}
		if id != 0 {
			if err := r.setLabel(id, ref, true, path); err != nil {
				return nil, err
			}
		}
		v, err := r.value(inner, path+".value")
		if err != nil {
			return nil, err
		}
		ref.V = v
		return ref, nil
	case m["same"] != nil:
		if err := onlyFields(m, path, "same"); err != nil {
			return nil, err
		}
		id, ok := jsonInt(m["same"])
		if !ok {
			return nil, jsonErr(path+".same", "want an integer")
		}
		v, ok := r.labels[id]
		if !ok || r.refs[id] {
			return nil, jsonErr(path, "same %d does not name an earlier object", id)
		}
		return v, nil
	}
	return nil, jsonErr(path, "unknown tagged value (want one of bytes, float, list, array, object, serializable, enum, ref, same)")
}

// parseFloatText reads PHP's float text (and Go's).
func parseFloatText(t string) (float64, error) {
	switch t {
	case "NAN":
		return phpNaN, nil
	case "INF":
		return math.Inf(1), nil
	case "-INF":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(t, 64)
}

// same writes the back-reference form {"same":id} of a value rendered before.
func (r *renderer) same(id int) {
	r.buf = append(r.buf, `{"same":`...)
	r.buf = strconv.AppendInt(r.buf, int64(id), 10)
	r.buf = append(r.buf, '}')
}
