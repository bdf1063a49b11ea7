package codec

import (
	"math"
	"strconv"
)

// Kind identifies the concrete type of a [Value].
type Kind uint8

// The kinds of PHP values.
const (
	KindNull         Kind = iota // N;
	KindBool                     // b:
	KindInt                      // i:
	KindFloat                    // d:
	KindString                   // s: (and S: on decode)
	KindArray                    // a:
	KindObject                   // O:
	KindSerializable             // C:
	KindEnum                     // E:
	KindReference                // a PHP reference (&); encoded as R: on the 2nd+ occurrence
)

var kindNames = [...]string{"null", "bool", "int", "float", "string", "array", "object", "serializable", "enum", "reference"}

// String returns the lower-case name of the kind ("null", "array", ...).
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is a PHP value. The concrete types are [Null], [Bool], [Int],
// [Float], [String], [*Array], [*Object], [*Serializable] (or Serializable),
// [Enum] and [*Reference]. A nil Value is encoded as N; (null).
type Value interface {
	Kind() Kind
}

// Null is PHP's null.
type Null struct{}

// Bool is a PHP bool.
type Bool bool

// Int is a PHP int (64-bit).
type Int int64

// Float is a PHP float (IEEE double).
type Float float64

// String is a PHP string. PHP strings are byte strings: a String may hold
// any bytes, including invalid UTF-8 and NUL.
type String string

// Kind implements [Value].
func (Null) Kind() Kind { return KindNull }

// Kind implements [Value].
func (Bool) Kind() Kind { return KindBool }

// Kind implements [Value].
func (Int) Kind() Kind { return KindInt }

// Kind implements [Value].
func (Float) Kind() Kind { return KindFloat }

// Kind implements [Value].
func (String) Kind() Kind { return KindString }

// Serializable is an object written by a class implementing PHP's
// Serializable interface: C:<len>:"<Class>":<len>:{<Payload>}. The payload
// is kept verbatim. Decoding produces *Serializable so that a repeated
// occurrence of the same object (r:) keeps its identity.
//
// Payload is treated as immutable: to change it, assign a new slice (the
// payloads of one decoded value may share memory).
//
// When the payload is itself one serialize() value (the usual
// "return serialize($this->data);"), PHP numbers the values inside it with
// the same counter as the outer data, and codec does the same, so that
// later R:/r: numbers stay right. Back-references inside such a payload
// (C:6:"Legacy":4:{r:1;}) are renumbered on encode like the outer ones, as
// long as Payload is left unchanged.
type Serializable struct {
	Class   string
	Payload []byte

	// Opaque records that PHP numbered no values inside Payload: the
	// class's serialize() did not call serialize() (see below). It only
	// matters when Payload happens to be serialize() text (such as "N;")
	// and R:/r: references follow it. Decoding sets it when that reading
	// is the one that makes the references fit.
	Opaque bool

	nslots  int  // numbered values inside Payload (see payloadValues)
	counted bool // nslots is known
	base    int  // the number this value had when decoded

	inner      Value  // decoded Payload (registered, and renumbered if needed, on encode)
	innerOf    []byte // the Payload slice inner was decoded from
	refsInside bool   // Payload contains R:/r:
	// dupsInside: a repeated key inside Payload overwrote a value, so inner
	// numbers fewer values than Payload does (encoding re-encodes inner, or
	// the numbers of what follows would not fit the payload's text).
	dupsInside bool
}

// decodedPayload reports whether inner still describes Payload (the
// Payload field was not replaced).
func (x *Serializable) decodedPayload() bool {
	return x.inner != nil && len(x.Payload) == len(x.innerOf) &&
		(len(x.Payload) == 0 || &x.Payload[0] == &x.innerOf[0])
}

// Kind implements [Value].
func (Serializable) Kind() Kind { return KindSerializable }

// Enum is a PHP 8.1+ enum case, E:<len>:"<Class>:<Case>";. Like in PHP, every
// occurrence of the same case is the same object: the encoder writes the
// second and later occurrences of an equal Enum as r:<n>; exactly as PHP does.
type Enum struct {
	Class, Case string
}

// Kind implements [Value].
func (Enum) Kind() Kind { return KindEnum }

// Reference is a PHP reference (the target of &). Every place in the value
// graph that holds the same *Reference is a reference to the same variable:
// the first occurrence is encoded as the inner value, later ones as R:<n>;.
// Decoding R:<n> turns both the referenced place and the R: place into the
// same *Reference. A reference to an object is encoded like PHP does: the
// numbering follows the object.
type Reference struct {
	V Value
}

// Kind implements [Value].
func (*Reference) Kind() Kind { return KindReference }

// Deref returns v with any *Reference wrappers removed.
func Deref(v Value) Value {
	for {
		r, ok := v.(*Reference)
		if !ok || r == nil {
			return v
		}
		v = r.V
	}
}

// Key is a PHP array key: an int or a string. The zero Key is the int 0.
// Keys are comparable and may be used as Go map keys.
type Key struct {
	s     string
	i     int64
	isStr bool
}

// IntKey returns the int key i.
func IntKey(i int64) Key { return Key{i: i} }

// StrKey returns the key PHP uses for the string s as an array key: a
// canonical decimal integer within int64 range ("123", "-12", but not "0123",
// "-0", " 1", "1.5" or "9223372036854775808") becomes an int key, as in PHP.
func StrKey(s string) Key {
	if i, ok := numericKey(s); ok {
		return Key{i: i}
	}
	return Key{s: s, isStr: true}
}

// RawStrKey returns a string key without numeric normalisation. Object
// member names and session variable names use it ("7" stays the string
// "7").
func RawStrKey(s string) Key { return Key{s: s, isStr: true} }

// IsInt reports whether k is an int key.
func (k Key) IsInt() bool { return !k.isStr }

// Int returns the int value of an int key (0 for string keys).
func (k Key) Int() int64 { return k.i }

// String returns the string of a string key, or the decimal text of an int key.
func (k Key) String() string {
	if k.isStr {
		return k.s
	}
	return strconv.FormatInt(k.i, 10)
}

// numericKey reports whether s is a canonical decimal int64 as PHP's
// ZEND_HANDLE_NUMERIC_STR understands it.
func numericKey(s string) (int64, bool) {
	n := len(s)
	if n == 0 || n > 20 {
		return 0, false
	}
	i := 0
	neg := false
	if s[0] == '-' {
		neg = true
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if s[i] < '0' || s[i] > '9' {
		return 0, false
	}
	if s[i] == '0' && n-i > 1 { // leading zero
		return 0, false
	}
	if s[i] == '0' && neg { // "-0"
		return 0, false
	}
	var u uint64
	for j := i; j < n; j++ {
		c := s[j]
		if c < '0' || c > '9' {
			return 0, false
		}
		if u > (math.MaxUint64-9)/10 {
			return 0, false
		}
		u = u*10 + uint64(c-'0')
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// entry is one key/value pair of an ordered map.
type entry struct {
	k Key
	v Value
}

// omap is an insertion-ordered map used by Array and Object.
type omap struct {
	e   []entry
	idx map[Key]int32
}

const indexThreshold = 16

func (m *omap) find(k Key) int {
	if m.idx != nil {
		if i, ok := m.idx[k]; ok {
			return int(i)
		}
		return -1
	}
	if len(m.e) > indexThreshold {
		m.idx = make(map[Key]int32, len(m.e))
		for i := range m.e {
			m.idx[m.e[i].k] = int32(i)
		}
		if i, ok := m.idx[k]; ok {
			return int(i)
		}
		return -1
	}
	for i := range m.e {
		if m.e[i].k == k {
			return i
		}
	}
	return -1
}

// setDecoded is set for decoding: duplicates are rare, so small and
// medium maps are searched linearly instead of building an index.
func (m *omap) setDecoded(k Key, v Value) int {
	if m.idx == nil && len(m.e) <= 64 {
		for i := range m.e {
			if m.e[i].k == k {
				m.e[i].v = v
				return i
			}
		}
		m.e = append(m.e, entry{k, v})
		return len(m.e) - 1
	}
	return m.set(k, v)
}

// set stores v under k, keeping the position of an existing key. It
// returns the index of the entry.
func (m *omap) set(k Key, v Value) int {
	if i := m.find(k); i >= 0 {
		m.e[i].v = v
		return i
	}
	m.e = append(m.e, entry{k, v})
	i := len(m.e) - 1
	if m.idx != nil {
		m.idx[k] = int32(i)
	}
	return i
}

func (m *omap) get(k Key) (Value, bool) {
	if i := m.find(k); i >= 0 {
		return m.e[i].v, true
	}
	return nil, false
}

func (m *omap) del(k Key) bool {
	i := m.find(k)
	if i < 0 {
		return false
	}
	copy(m.e[i:], m.e[i+1:])
	m.e[len(m.e)-1] = entry{}
	m.e = m.e[:len(m.e)-1]
	m.idx = nil
	return true
}

// Array is a PHP array: an insertion-ordered map with int or string keys.
// The zero Array is empty and ready to use. Arrays are values in PHP: an
// *Array that appears twice in a graph is encoded twice (use a [*Reference]
// for PHP's &).
type Array struct {
	m       omap
	next    int64 // PHP nNextFreeElement: largest int key used + 1
	hasNext bool  // an int key was used (else Append uses 0)
	full    bool  // key math.MaxInt64 was used: Append has no key left

	// ownEmpty: when empty, this array is one PHP allocated for itself,
	// not PHP's shared immutable empty array (igbinary writes the shared
	// one once and refers back to it; see igbinary.go).
	ownEmpty bool
	// self: this array stands where PHP's array held its own storage
	// with no PHP reference in between (igbinary data: a back-reference
	// to the array being read, through arrays only). It is empty in Go;
	// its twin is the array it stands for (as read, never handed out),
	// which the encoders write and compare in its place (held). Storing
	// into it makes it an ordinary array.
	self bool
	// twin is the array PHP shared this one's storage with (copy on
	// write) when it was decoded: igbinary writes such a copy as a
	// back-reference while both are still equal.
	twin *Array
	// unwrapped: this array was the value of a PHP reference that only
	// igbinary shared storage held, put in the reference's places by
	// Session.Convert for the php family; it may hold itself through
	// arrays, and the encoder writes N; where it recurs, as PHP does.
	unwrapped bool
}

// held returns the array whose elements the encoders write for a: for a
// self array, the array it stands for.
func (a *Array) held() *Array {
	if a.self && a.twin != nil {
		return a.twin
	}
	return a
}

// NewArray returns an empty array with room for n elements.
func NewArray(n ...int) *Array {
	a := &Array{}
	if len(n) > 0 && n[0] > 0 {
		a.m.e = make([]entry, 0, n[0])
	}
	return a
}

// NewArrayOf returns the list array [vals[0], vals[1], ...] (keys 0..n-1).
func NewArrayOf(vals ...Value) *Array {
	a := &Array{next: int64(len(vals)), hasNext: len(vals) > 0}
	a.m.e = make([]entry, len(vals))
	for i, v := range vals {
		a.m.e[i] = entry{Key{i: int64(i)}, v}
	}
	return a
}

// Kind implements [Value].
func (*Array) Kind() Kind { return KindArray }

// Len returns the number of elements.
func (a *Array) Len() int { return len(a.m.e) }

// Get returns the element stored under k.
func (a *Array) Get(k Key) (Value, bool) { return a.m.get(k) }

// Set stores v under k. An existing key keeps its position (like PHP).
func (a *Array) Set(k Key, v Value) {
	a.self = false
	a.noteKey(k)
	a.m.set(k, v)
}

func (a *Array) noteKey(k Key) {
	if !k.isStr && !a.full && (!a.hasNext || k.i >= a.next) {
		a.hasNext = true
		if k.i == math.MaxInt64 {
			a.full = true
		} else {
			a.next = k.i + 1
		}
	}
}

// Delete removes k and reports whether it was present. Like PHP, deleting
// does not lower the next key used by [Array.Append].
func (a *Array) Delete(k Key) bool { return a.m.del(k) }

// Append stores v under the next free int key (PHP's $a[] = v): one more
// than the largest int key ever used (even if deleted since, and also for
// negative keys: [-5 => x] appends at -4), or 0. It returns that key. If
// no key is free (key 9223372036854775807 was used) nothing is stored and
// math.MinInt64 (never a key Append uses) is returned, like PHP's "Cannot
// add element to the array as the next element is already occupied".
func (a *Array) Append(v Value) int64 {
	if a.full {
		return math.MinInt64
	}
	k := a.next
	a.Set(IntKey(k), v)
	return k
}

// Keys returns the keys in order.
func (a *Array) Keys() []Key {
	ks := make([]Key, len(a.m.e))
	for i := range a.m.e {
		ks[i] = a.m.e[i].k
	}
	return ks
}

// Range calls fn for each element in order until fn returns false. fn must
// not add or delete elements of a.
func (a *Array) Range(fn func(Key, Value) bool) {
	for i := 0; i < len(a.m.e); i++ {
		if !fn(a.m.e[i].k, a.m.e[i].v) {
			return
		}
	}
}

// At returns the i-th element in order (0 <= i < Len()).
func (a *Array) At(i int) (Key, Value) { return a.m.e[i].k, a.m.e[i].v }

// IsList reports whether the keys are 0, 1, ..., Len()-1 in order.
func (a *Array) IsList() bool {
	for i := range a.m.e {
		if a.m.e[i].k.isStr || a.m.e[i].k.i != int64(i) {
			return false
		}
	}
	return true
}

// Visibility is the visibility of an object member.
type Visibility uint8

// Member visibilities, from the mangled member name: "\x00*\x00name" is
// protected, "\x00Class\x00name" private, a plain name public.
const (
	Public Visibility = iota
	Protected
	Private
)

// String returns "public", "protected" or "private".
func (v Visibility) String() string {
	switch v {
	case Protected:
		return "protected"
	case Private:
		return "private"
	}
	return "public"
}

// Member describes one member of an object.
type Member struct {
	Key        Key        // the serialized member key, mangled (\0*\0name, \0Class\0name) as PHP wrote it
	Name       string     // the plain property name
	Visibility Visibility // from the mangling
	Class      string     // the declaring class of a private member
}

// ParseMember splits a serialized member key into its parts.
func ParseMember(k Key) Member {
	m := Member{Key: k, Name: k.String()}
	if !k.isStr || len(k.s) < 2 || k.s[0] != 0 {
		return m
	}
	for j := 1; j < len(k.s); j++ {
		if k.s[j] == 0 {
			cls := k.s[1:j]
			m.Name = k.s[j+1:]
			if cls == "*" {
				m.Visibility = Protected
			} else {
				m.Visibility = Private
				m.Class = cls
			}
			return m
		}
	}
	return m
}

// MangledKey returns the serialized member key for a property name with the
// given visibility (class is the declaring class of a private property).
func MangledKey(name string, vis Visibility, class string) Key {
	switch vis {
	case Protected:
		return RawStrKey("\x00*\x00" + name)
	case Private:
		return RawStrKey("\x00" + class + "\x00" + name)
	}
	return RawStrKey(name)
}

// Object is a PHP object written as O:: the class name and its members in
// order. Member keys are kept as PHP wrote them (mangled names for protected
// and private properties; __serialize() objects may use int keys). Objects
// have identity: the same *Object appearing twice in a graph is encoded as
// r:<n>; the second time, like PHP.
type Object struct {
	Class string
	m     omap

	// undef lists where igbinary wrote an uninitialized typed property
	// (a lone null in place of name and value): before member undef[i].
	// PHP skips these when reading; they are kept to re-encode the same
	// bytes.
	undef []int32
	// magic: msgpack wrote the members as the array __serialize()
	// returned ({nil: "Class", nil: [...]}), not as properties.
	magic bool
}

// NewObject returns an object of the given class with no members.
func NewObject(class string) *Object { return &Object{Class: class} }

// Kind implements [Value].
func (*Object) Kind() Kind { return KindObject }

// Len returns the number of members.
func (o *Object) Len() int { return len(o.m.e) }

// findName returns the index of the member with plain name name:
// public first, then protected, then private.
func (o *Object) findName(name string) int {
	if i := o.m.find(RawStrKey(name)); i >= 0 {
		return i
	}
	if i := o.m.find(RawStrKey("\x00*\x00" + name)); i >= 0 {
		return i
	}
	for i := range o.m.e {
		k := o.m.e[i].k
		if k.isStr && len(k.s) > len(name)+1 && k.s[0] == 0 && k.s[len(k.s)-len(name)-1] == 0 && k.s[len(k.s)-len(name):] == name {
			if ParseMember(k).Name == name {
				return i
			}
		}
	}
	return -1
}

// Get returns the member with the plain property name name, whatever its
// visibility (public, then protected, then private).
func (o *Object) Get(name string) (Value, bool) {
	if i := o.findName(name); i >= 0 {
		return o.m.e[i].v, true
	}
	return nil, false
}

// Set stores v in the member with the plain name name; a new member is
// added as public.
func (o *Object) Set(name string, v Value) {
	if i := o.findName(name); i >= 0 {
		o.m.e[i].v = v
		return
	}
	o.m.set(RawStrKey(name), v)
}

// Delete removes the member with the plain name name.
func (o *Object) Delete(name string) bool {
	if i := o.findName(name); i >= 0 {
		return o.m.del(o.m.e[i].k)
	}
	return false
}

// GetKey returns the member stored under the exact (mangled) key k.
func (o *Object) GetKey(k Key) (Value, bool) { return o.m.get(k) }

// SetKey stores v under the exact (mangled) key k; see [MangledKey].
func (o *Object) SetKey(k Key, v Value) { o.m.set(k, v) }

// DeleteKey removes the member with the exact key k.
func (o *Object) DeleteKey(k Key) bool { return o.m.del(k) }

// Members returns the members in order.
func (o *Object) Members() []Member {
	ms := make([]Member, len(o.m.e))
	for i := range o.m.e {
		ms[i] = ParseMember(o.m.e[i].k)
	}
	return ms
}

// Range calls fn for each member in order until fn returns false.
func (o *Object) Range(fn func(Member, Value) bool) {
	for i := 0; i < len(o.m.e); i++ {
		if !fn(ParseMember(o.m.e[i].k), o.m.e[i].v) {
			return
		}
	}
}

// At returns the i-th member in order.
func (o *Object) At(i int) (Member, Value) { return ParseMember(o.m.e[i].k), o.m.e[i].v }
