package codec

import (
	"fmt"
	"strings"
)

// serializer is one row of the serializer table: everything codec knows
// about one session.serialize_handler. A new serializer is one file that
// fills a serializer and one entry in serializers.
type serializer struct {
	name Handler

	// arrayKeys: variable names are PHP array keys as written by
	// php_serialize (numeric strings become int keys, every name is
	// accepted). Otherwise names are kept byte for byte and numeric names
	// are refused on Set (PHP writes them as int keys and drops them when
	// reading).
	arrayKeys bool
	// intKeys: int keys decoded from data can be written back.
	intKeys bool
	// badName returns why PHP cannot store a variable with this string
	// name, or "".
	badName func(name string) string
	// loneRefs: a PHP reference that only one place holds is written as a
	// reference (msgpack); the others write it as a plain value.
	loneRefs bool
	// depth0 is the nesting depth of top-level values for the php
	// family's depth limit (1 when the session is itself an array value).
	depth0 int

	// detect reports whether b looks like this serializer's output (its
	// header or first bytes). Used by DetectHandler, in table order.
	detect func(b []byte) bool

	// decode builds a session from data (non-empty).
	decode func(h *serializer, data string, opts *Options) (*Session, error)
	// appendEncode appends the encoded session to dst.
	appendEncode func(s *Session, dst []byte) ([]byte, error)

	// frame is set for the serialize()-based family (php, php_binary,
	// php_serialize), which shares the lazy per-variable decoder.
	frame *phpFrame
}

// serializers is the table, in DetectHandler's order of preference (set
// in init: the rows' functions refer back to the table).
var serializers []*serializer

func init() {
	serializers = []*serializer{
		&igbinarySerializer,
		&msgpackSerializer,
		&phpSerializeSerializer,
		&phpBinarySerializer,
		&phpSerializer,
	}
}

// lookup returns h's row, or nil.
func (h Handler) lookup() *serializer {
	for _, s := range serializers {
		if s.name == h {
			return s
		}
	}
	return nil
}

// Handlers returns the supported serializers.
func Handlers() []Handler {
	hs := make([]Handler, 0, len(serializers))
	for _, s := range serializers {
		hs = append(hs, s.name)
	}
	return hs
}

// ParseHandler returns the Handler for a session.serialize_handler name.
func ParseHandler(name string) (Handler, error) {
	if s := Handler(name).lookup(); s != nil {
		return s.name, nil
	}
	names := make([]string, 0, len(serializers))
	for _, s := range serializers {
		names = append(names, string(s.name))
	}
	return "", fmt.Errorf("%w: %q (want one of %s)", ErrUnknownHandler, name, strings.Join(names, ", "))
}

// DetectHandler reports which serializer wrote b, judging by its first
// bytes: igbinary's "\x00\x00\x00\x02" (or \x01) header, a msgpack map (or
// the empty array of an empty msgpack session), php_serialize's "a:" or
// "N;", php_binary's length byte followed by a value, php's "name|" followed
// by a value. It is a guess from the header, not a validation: decode with
// the returned handler to know. Empty data gives false (every serializer
// writes an empty session differently, and reads empty data as empty).
func DetectHandler(b []byte) (Handler, bool) {
	if len(b) == 0 {
		return "", false
	}
	for _, s := range serializers {
		if s.detect(b) {
			return s.name, true
		}
	}
	return "", false
}

// ValidName reports whether h can store a variable called name: php
// rejects names containing '|' (PHP would silently write an empty
// session); php, php_binary, igbinary and msgpack reject numeric names such
// as "7" (PHP writes them as int keys and drops them when reading);
// php_binary rejects names longer than 127 bytes (PHP drops them).
// php_serialize accepts every name.
func (h Handler) ValidName(name string) error {
	s := h.lookup()
	if s == nil {
		return fmt.Errorf("%w: %q", ErrUnknownHandler, string(h))
	}
	if r := s.badName(name); r != "" {
		return &NameError{h, name, r}
	}
	if !s.arrayKeys {
		if _, ok := numericKey(name); ok {
			return &NameError{h, name, "numeric name (PHP drops int keys)"}
		}
	}
	return nil
}

// validEncodedKey checks a stored key at encode time. Keys decoded from
// data ("7|..." in php) are accepted as written.
func (s *serializer) validEncodedKey(k Key) error {
	if !k.isStr {
		if !s.intKeys {
			return &NameError{s.name, k.String(), "int key (PHP drops it)"}
		}
		return nil
	}
	if r := s.badName(k.s); r != "" {
		return &NameError{s.name, k.s, r}
	}
	return nil
}

// key returns the key of variable name.
func (s *serializer) key(name string) Key {
	if s.arrayKeys {
		return StrKey(name)
	}
	return RawStrKey(name)
}

// convertKey maps a key of another serializer's session to this one.
func (s *serializer) convertKey(k Key) (Key, error) {
	if s.arrayKeys && k.isStr {
		k = StrKey(k.s)
	}
	if err := s.validEncodedKey(k); err != nil {
		return k, err
	}
	return k, nil
}

func noBadName(string) string { return "" }

// looksLike wraps a decoding error with the serializer the data seems to
// come from, when that is not h.
func looksLike(h Handler, data string, err error) error {
	other, ok := DetectHandler([]byte(data[:min(len(data), 256)]))
	if !ok || other == h {
		return err
	}
	if se, ok := err.(*SyntaxError); ok {
		c := *se
		c.LooksLike = other
		return &c
	}
	return err
}

// unwrapLoneRefs replaces every *Reference that only one place in the
// session holds by its value (PHP's refcount-1 references), except, when
// keepTopObjects, one that is itself a session variable and holds an
// object: the php and php_binary serializers hand each variable to
// serialize() as it is, which writes a reference to an object met before
// as R: even at refcount 1 (only array elements and properties are
// unwrapped), while a plain object is written r:. With storage, places
// are counted as PHP's storage holds them (refCounter.storage): a
// reference only copies of one shared array hold is held once.
func unwrapLoneRefs(ents []sEntry, keepTopObjects, storage bool) {
	rc := refCounter{payloads: true, storage: storage}
	for i := range ents {
		rc.add(&ents[i].val)
	}
	top := map[*Value]bool{}
	if keepTopObjects {
		for i := range ents {
			if r, ok := ents[i].val.(*Reference); ok && r != nil && isObjectValue(r.V) {
				top[&ents[i].val] = true
			}
		}
	}
	w := graphWalk{visit: func(p *Value) bool {
		if r, ok := (*p).(*Reference); ok && r != nil && rc.count[r] == 1 && !top[p] {
			if a, ok := r.V.(*Array); ok && a != nil && storage {
				a.unwrapped = true
			}
			*p = r.V
		}
		return true
	}}
	for i := range ents {
		w.walk(&ents[i].val)
	}
}

// convertPayloads renumbers the references inside Serializable payloads
// that are serialize() text, between the serialize()-based family (where
// a payload's values share the outer reference counter, as PHP's nested
// serialize() calls do) and igbinary/msgpack (where the class's
// serialize() runs on its own and numbers from 1).
func convertPayloads(ents []sEntry, toPHP bool) {
	var w graphWalk
	w.visit = func(p *Value) bool {
		if x, ok := (*p).(*Serializable); ok {
			if x != nil && w.first(x) {
				convertPayload(x, toPHP)
			}
			return false
		}
		return true
	}
	for i := range ents {
		w.walk(&ents[i].val)
	}
}

func convertPayload(x *Serializable, toPHP bool) {
	if x.Opaque {
		return
	}
	if toPHP {
		// Decoded, the payload's values (objects, enums) take part in
		// the session's numbering as in PHP.
		if x.decodedPayload() {
			return
		}
		v, n, err := decodeValue(string(x.Payload), nil)
		if err != nil || n != len(x.Payload) {
			return
		}
		x.inner, x.innerOf, x.refsInside, x.base = v, x.Payload, true, -1
		return
	}
	if !x.decodedPayload() || !payloadHasRefs(string(x.Payload)) {
		return
	}
	if p, err := EncodeValue(x.inner); err == nil {
		x.Payload, x.inner, x.innerOf = p, nil, nil
	}
}
