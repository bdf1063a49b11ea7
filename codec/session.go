package codec

import (
	"fmt"
	"math"
	"sync/atomic"
	"unsafe"
)

// Handler names a PHP session serializer (session.serialize_handler).
type Handler string

// The supported session serializers.
const (
	PHP          Handler = "php"           // name|value name|value ... (PHP's default)
	PHPSerialize Handler = "php_serialize" // serialize($_SESSION)
	PHPBinary    Handler = "php_binary"    // <len byte>name value ...
	Igbinary     Handler = "igbinary"      // igbinary_serialize($_SESSION) (extension igbinary)
	Msgpack      Handler = "msgpack"       // msgpack_serialize($_SESSION) (extension msgpack)
)

// String returns the handler name.
func (h Handler) String() string { return string(h) }

type entState uint8

const (
	stRaw     entState = iota // only the original bytes; val not decoded
	stClean                   // val decoded from raw, immutable (scalar)
	stExposed                 // val decoded from raw and handed out (may be mutated)
	stSet                     // val replaced by Set; raw invalid
)

// sEntry is one top-level session variable.
//
// Offsets and counts are int32 (sessions are limited to 2 GiB; Redis
// strings to 512 MB): 72 bytes per variable instead of 96.
type sEntry struct {
	key        Key
	val        Value
	start, end int32 // raw value bytes src[start:end]; start < 0: none
	base       int32 // numbered values before this value in the original blob
	nslots     int32 // numbered values inside this value
	vsize      int32 // estimated memory of val
	hasRef     bool
	st         entState
}

// size32 clamps a size estimate to int32.
func size32(n int) int32 { return int32(min(n, math.MaxInt32)) }

// Session is a decoded PHP session: its top-level variables in order.
//
// Values of php/php_binary/php_serialize sessions are decoded lazily: the
// input is validated and split into variables by [DecodeSession], and a
// variable's value is built on its first [Session.Get]. Variables that were
// not changed are re-encoded from their original bytes.
//
// A Session is not safe for concurrent use. Even Get changes internal state
// (it decodes and caches a value), so concurrent readers need a lock or a
// Clone each (Clone itself only reads s).
type Session struct {
	h        Handler
	ser      *serializer
	src      string
	ents     []sEntry
	idx      map[Key]int
	whole    bool            // values were decoded together (cross-entry references)
	opaque   map[string]bool // Serializable classes read as opaque (see choosePayloadReading)
	modified bool
	maxDepth int
	depth0   int // nesting depth of top-level values in src (1 for php_serialize)
	srcH     Handler
	valBytes int

	// sh, for whole-decoded serializers (igbinary, msgpack): when *sh is
	// 1, the decoded (stClean) values are shared with clones and are
	// copied before one is handed out (see unshare). Set atomically by
	// Clone, which otherwise only reads s.
	sh *uint32

	// srcB is a []byte copy of src that Serializable payloads view (made
	// on first need; immutable, so clones share it).
	srcB []byte

	// Decoding scratch space; never shared between sessions (Clone resets it).
	root    *omap
	rootM   omap     // what root points to, with rootE as its one entry
	rootE   [1]entry // (part of the Session: no allocation per session)
	entSlab []entry
	arrSlab []Array
	boxes   boxedSlabs
}

// NewSession returns an empty session for handler h.
func NewSession(h Handler) *Session {
	s := &Session{h: h, srcH: h, maxDepth: DefaultMaxDepth, ser: h.lookup()}
	if s.ser == nil {
		// Unknown handlers fail on Set and Encode (ErrUnknownHandler).
		s.ser = &unknownSerializer
	}
	s.depth0 = s.ser.depth0
	return s
}

// Handler returns the session's serializer.
func (s *Session) Handler() Handler { return s.h }

// Len returns the number of variables.
func (s *Session) Len() int { return len(s.ents) }

// Names returns the variable names in order (int keys of php_serialize
// sessions as decimal text).
func (s *Session) Names() []string {
	ns := make([]string, len(s.ents))
	for i := range s.ents {
		ns[i] = s.ents[i].key.String()
	}
	return ns
}

// Keys returns the variable keys in order.
func (s *Session) Keys() []Key {
	ks := make([]Key, len(s.ents))
	for i := range s.ents {
		ks[i] = s.ents[i].key
	}
	return ks
}

func (s *Session) find(k Key) int {
	if s.idx != nil {
		if i, ok := s.idx[k]; ok {
			return i
		}
		return -1
	}
	if len(s.ents) > 32 {
		s.idx = make(map[Key]int, len(s.ents))
		for i := range s.ents {
			s.idx[s.ents[i].key] = i
		}
		if i, ok := s.idx[k]; ok {
			return i
		}
		return -1
	}
	for i := range s.ents {
		if s.ents[i].key == k {
			return i
		}
	}
	return -1
}

// Has reports whether the variable name exists.
func (s *Session) Has(name string) bool { return s.find(s.ser.key(name)) >= 0 }

func isScalar(v Value) bool {
	switch v.(type) {
	case nil, Null, Bool, Int, Float, String, Enum:
		return true
	}
	return false
}

// decodeEntry builds the value of a raw entry.
func (s *Session) decodeEntry(e *sEntry) (Value, error) {
	d := decoder{d: s.src[:e.end], pos: int(e.start), maxDepth: s.maxDepth, build: true,
		slotBase: int(e.base), nslot: int(e.base), entryBase: int(e.base), noSlots: !e.hasRef, opaque: s.opaque,
		entSlab: s.entSlab, arrSlab: s.arrSlab, boxes: s.boxes, sess: s}
	if s.root == nil {
		s.rootM = omap{e: s.rootE[:]}
		s.root = &s.rootM
	}
	root := s.root
	err := d.value(root, 0, s.depth0)
	v := root.e[0].v
	root.e[0] = entry{}
	// Later decodes of this session carve from the same slabs.
	s.entSlab, s.arrSlab, s.boxes = d.entSlab, d.arrSlab, d.boxes
	if err != nil {
		return nil, err
	}
	if d.pos != int(e.end) {
		return nil, &SyntaxError{Offset: d.pos, Msg: "value length mismatch"}
	}
	return v, nil
}

// srcBytes returns src[:end] as bytes, from one copy made on first use
// (Serializable payloads view it).
func (s *Session) srcBytes(end int) []byte {
	if s.srcB == nil {
		s.srcB = []byte(s.src)
	}
	return s.srcB[:end]
}

// Get returns the value of the variable name, decoding it on first use.
// Containers returned by Get belong to the session: changing them changes
// the session (see [Session.Clone] for an isolated copy). A variable that
// PHP stored as a reference (a|i:1;b|R:1;) is a *Reference; [Deref] gives
// the value, and assigning Reference.V changes every place sharing it.
func (s *Session) Get(name string) (Value, bool, error) {
	return s.GetKey(s.ser.key(name))
}

// GetKey is [Session.Get] by key.
func (s *Session) GetKey(k Key) (Value, bool, error) {
	i := s.find(k)
	if i < 0 {
		return nil, false, nil
	}
	e := &s.ents[i]
	if e.st == stRaw {
		v, err := s.decodeEntry(e)
		if err != nil {
			return nil, true, err
		}
		e.val = v
		e.st = stClean
		e.vsize = size32(2*int(e.end-e.start) + 32)
		s.valBytes += int(e.vsize)
	}
	if e.st == stClean && !isScalar(e.val) {
		if s.sh != nil && atomic.LoadUint32(s.sh) == 1 {
			s.unshare()
		}
		e.st = stExposed
	}
	return e.val, true, nil
}

// Range calls fn for each variable in order, decoding values as needed,
// until fn returns false. It stops at the first decoding error.
func (s *Session) Range(fn func(name string, v Value) bool) error {
	for i := 0; i < len(s.ents); i++ {
		k := s.ents[i].key
		v, _, err := s.GetKey(k)
		if err != nil {
			return err
		}
		if !fn(k.String(), v) {
			return nil
		}
	}
	return nil
}

// Set stores v as the variable name. Names the handler cannot store give
// an error wrapping ErrInvalidName (see [Handler.ValidName]); the session is
// then unchanged. The session takes ownership of v.
func (s *Session) Set(name string, v Value) error {
	if err := s.h.ValidName(name); err != nil {
		return err
	}
	s.setKey(s.ser.key(name), v)
	return nil
}

// SetKey is [Session.Set] by key. For php and php_binary the key must be
// a string key; unlike Set, a numeric string key made with [RawStrKey]
// (as decoded from "7|...") is accepted.
func (s *Session) SetKey(k Key, v Value) error {
	if err := s.ser.validEncodedKey(k); err != nil {
		return err
	}
	s.setKey(k, v)
	return nil
}

func (s *Session) setKey(k Key, v Value) {
	s.modified = true
	size := size32(sizeOf(v, 0))
	s.valBytes += int(size)
	if i := s.find(k); i >= 0 {
		e := &s.ents[i]
		s.valBytes -= int(e.vsize)
		e.val, e.st, e.start, e.end, e.hasRef, e.vsize = v, stSet, -1, -1, false, size
		return
	}
	s.ents = append(s.ents, sEntry{key: k, start: -1, end: -1, st: stSet, val: v, vsize: size})
	if s.idx != nil {
		s.idx[k] = len(s.ents) - 1
	}
}

// Delete removes the variable name and reports whether it existed.
func (s *Session) Delete(name string) bool {
	i := s.find(s.ser.key(name))
	if i < 0 {
		return false
	}
	s.valBytes -= int(s.ents[i].vsize)
	copy(s.ents[i:], s.ents[i+1:])
	s.ents[len(s.ents)-1] = sEntry{}
	s.ents = s.ents[:len(s.ents)-1]
	s.idx = nil
	s.modified = true
	return true
}

// Modified reports whether the session may encode differently from the
// data it was decoded from: true after Set or Delete, or when a container
// handed out by Get now encodes differently from its original bytes.
func (s *Session) Modified() bool {
	if s.modified {
		return true
	}
	if s.whole {
		if s.sh != nil && !s.anyExposed() {
			return false // decoded values are only handed out by Get
		}
		b, err := s.Encode()
		return err != nil || string(b) != s.src
	}
	var buf []byte
	for i := range s.ents {
		e := &s.ents[i]
		if e.st != stExposed {
			continue
		}
		if e.start < 0 {
			return true
		}
		enc := encoder{buf: buf[:0], n: int(e.base)}
		if err := enc.value(e.val, s.depth0); err != nil {
			return true
		}
		buf = enc.buf
		if string(buf) != s.src[e.start:e.end] {
			return true
		}
	}
	return false
}

// Encode returns the session in its handler's format. Variables that were
// not changed are copied from the original bytes (renumbering references
// where an earlier change shifted the numbering).
func (s *Session) Encode() ([]byte, error) {
	// Sized for the original plus a little: one allocation in the common
	// case of a small change.
	return s.AppendEncode(make([]byte, 0, len(s.src)+len(s.srcB)+64))
}

// AppendEncode appends the encoded session to dst.
func (s *Session) AppendEncode(dst []byte) ([]byte, error) {
	return s.ser.appendEncode(s, dst)
}

// appendEncodePHP is appendEncode for the serialize()-based family.
func appendEncodePHP(s *Session, dst []byte) ([]byte, error) {
	f := s.ser.frame
	enc := encoder{buf: dst}
	f.head(&enc, len(s.ents))
	for i := range s.ents {
		e := &s.ents[i]
		if err := s.ser.validEncodedKey(e.key); err != nil {
			return dst, err
		}
		f.name(&enc, e.key)
		if err := s.encodeEntry(&enc, e); err != nil {
			return dst, err
		}
	}
	f.tail(&enc)
	return enc.buf, nil
}

func (s *Session) encodeEntry(enc *encoder, e *sEntry) error {
	v := e.val
	if (e.st == stRaw || e.st == stClean) && e.start >= 0 {
		if !e.hasRef || int(e.base) == enc.n {
			enc.buf = append(enc.buf, s.src[e.start:e.end]...)
			enc.n += int(e.nslots)
			return nil
		}
		if e.st == stRaw {
			var err error
			if v, err = s.decodeEntry(e); err != nil {
				return err
			}
		}
	}
	if s.h == PHPSerialize {
		// The variables are elements of the session array.
		return enc.element(v, nil, s.depth0)
	}
	return enc.value(v, s.depth0)
}

func appendInt(b []byte, n int) []byte {
	var tmp [20]byte
	i := len(tmp)
	if n == 0 {
		return append(b, '0')
	}
	for n > 0 {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, tmp[i:]...)
}

// Clone returns an independent copy of s. Values that were decoded and
// handed out (or Set) are deep-copied, preserving shared objects and
// references; undecoded variables share the immutable original bytes. Cost:
// O(number of variables) plus the size of the values accessed so far.
func (s *Session) Clone() *Session {
	// A whole-decoded session none of whose values was handed out shares
	// its decoded values with the clone (both copy them before handing
	// one out, see unshare); values Set are copied.
	shared := s.sh != nil && s.whole && !s.anyExposed()
	if shared {
		atomic.StoreUint32(s.sh, 1)
	}
	c := *s
	c.root, c.entSlab, c.arrSlab, c.boxes = nil, nil, nil, boxedSlabs{}
	c.ents = make([]sEntry, len(s.ents))
	copy(c.ents, s.ents)
	c.idx = nil
	copyValues(c.ents, func(e *sEntry) bool { return !shared || e.st == stSet })
	return &c
}

// copyValues replaces the values of the variables for which want reports
// true by deep copies, with one memo for all of them, so that values
// shared between variables stay shared.
func copyValues(ents []sEntry, want func(e *sEntry) bool) {
	var memo map[any]Value
	for i := range ents {
		e := &ents[i]
		if e.val != nil && !isScalar(e.val) && want(e) {
			if memo == nil {
				memo = make(map[any]Value)
			}
			e.val = deepCopy(e.val, memo)
		}
	}
}

// Size returns an approximation of the memory held by the session, in bytes.
func (s *Session) Size() int {
	return int(unsafe.Sizeof(*s)) + len(s.src) + len(s.srcB) + len(s.ents)*int(unsafe.Sizeof(sEntry{})) + s.valBytes
}

// Convert returns a copy of the session under handler h (the session
// itself is unchanged), as PHP writes it under h after reading it: a
// reference that only one place holds in igbinary or msgpack data is a
// plain value to PHP's other serializers. Names h cannot hold give an error wrapping
// ErrInvalidName. References are renumbered for the target format and all
// values are re-encoded canonically (as PHP writes them after reading).
func (s *Session) Convert(h Handler) (*Session, error) {
	to := h.lookup()
	if to == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHandler, string(h))
	}
	c := s.Clone()
	c.unshare() // the values are changed below
	for i := range c.ents {
		e := &c.ents[i]
		if e.start >= 0 {
			// Re-encode every value canonically, as PHP would.
			if e.st == stRaw {
				v, err := c.decodeEntry(e)
				if err != nil {
					return nil, err
				}
				e.val = v
			}
			e.st, e.start, e.end = stSet, -1, -1
		}
		k, err := to.convertKey(e.key)
		if err != nil {
			return nil, err
		}
		e.key = k
	}
	if !to.loneRefs && s.ser.frame == nil {
		// For the php family, a reference that only an igbinary array
		// shared between copies holds is one place, as PHP holds it once
		// read (refcount 1): its value is written, and where that value
		// holds the array again, the encoder writes N; as PHP does.
		unwrapLoneRefs(c.ents, to.name == PHP || to.name == PHPBinary, to.frame != nil)
	}
	if (s.ser.frame != nil) != (to.frame != nil) {
		convertPayloads(c.ents, to.frame != nil)
	}
	if h != c.h {
		c.modified = true
	}
	c.h, c.ser, c.depth0 = h, to, to.depth0
	c.idx = nil
	return c, nil
}

// sizeOf estimates the memory of a value. Shared containers are counted
// once, and at most sizeBudget nodes are visited (a graph of shared
// objects can have exponentially many paths).
func sizeOf(v Value, _ int) int {
	st := sizeState{budget: sizeBudget}
	return st.size(v)
}

const sizeBudget = 1 << 16

type sizeState struct {
	seen   map[any]bool
	budget int
}

func (st *sizeState) once(p any) bool {
	if st.seen == nil {
		st.seen = make(map[any]bool)
	}
	if st.seen[p] {
		return false
	}
	st.seen[p] = true
	return true
}

func (st *sizeState) size(v Value) int {
	if st.budget <= 0 {
		return 16
	}
	st.budget--
	switch x := v.(type) {
	case String:
		return 16 + len(x)
	case *Array:
		if x == nil || !st.once(x) {
			return 8
		}
		n := 48
		for i := range x.m.e {
			n += 40 + len(x.m.e[i].k.s) + st.size(x.m.e[i].v)
		}
		return n
	case *Object:
		if x == nil || !st.once(x) {
			return 8
		}
		n := 64 + len(x.Class)
		for i := range x.m.e {
			n += 40 + len(x.m.e[i].k.s) + st.size(x.m.e[i].v)
		}
		return n
	case *Serializable:
		if x == nil || !st.once(x) {
			return 8
		}
		return 48 + len(x.Class) + len(x.Payload)
	case *Reference:
		if x == nil || !st.once(x) {
			return 8
		}
		return 16 + st.size(x.V)
	}
	return 16
}

// deepCopy copies v; memo preserves shared pointers (objects, references,
// arrays) and cycles.
// deepCopyEntries copies an ordered map's entries, values deeply (the key
// index is rebuilt lazily by the copy).
func deepCopyEntries(src []entry, memo map[any]Value) []entry {
	dst := make([]entry, len(src))
	for i := range src {
		dst[i] = entry{src[i].k, deepCopy(src[i].v, memo)}
	}
	return dst
}

func deepCopy(v Value, memo map[any]Value) Value {
	switch x := v.(type) {
	case *Array:
		if x == nil {
			return x
		}
		if c, ok := memo[x]; ok {
			return c
		}
		c := &Array{next: x.next, hasNext: x.hasNext, full: x.full, ownEmpty: x.ownEmpty, self: x.self, unwrapped: x.unwrapped}
		memo[x] = c
		c.m.e = deepCopyEntries(x.m.e, memo)
		if x.twin != nil {
			c.twin, _ = deepCopy(x.twin, memo).(*Array)
		}
		return c
	case *Object:
		if x == nil {
			return x
		}
		if c, ok := memo[x]; ok {
			return c
		}
		c := &Object{Class: x.Class, undef: x.undef, magic: x.magic}
		memo[x] = c
		c.m.e = deepCopyEntries(x.m.e, memo)
		return c
	case *Reference:
		if x == nil {
			return x
		}
		if c, ok := memo[x]; ok {
			return c
		}
		c := &Reference{}
		memo[x] = c
		c.V = deepCopy(x.V, memo)
		return c
	case *Serializable:
		if x == nil {
			return x
		}
		if c, ok := memo[x]; ok {
			return c
		}
		c := new(Serializable)
		*c = *x // Payload is immutable: shared
		memo[x] = c
		if x.inner != nil {
			c.inner = deepCopy(x.inner, memo)
		}
		return c
	case Serializable:
		c := x
		if x.inner != nil {
			c.inner = deepCopy(x.inner, memo)
		}
		return c
	}
	return v
}

// CopyValue returns a deep copy of v that shares no mutable state with it
// (shared objects and references inside v stay shared within the copy).
func CopyValue(v Value) Value {
	if isScalar(v) {
		return v
	}
	return deepCopy(v, make(map[any]Value))
}

// DecodeSession decodes session data written by PHP with handler h.
// Empty data is an empty session. The data is validated completely (any
// malformed input is an error naming its offset), but values are built
// only when read. data is copied; the caller may reuse it.
//
// php_serialize: N; is an empty session; a top-level value that is not an
// array is an error (PHP would make $_SESSION that scalar); bytes after the
// array are ignored, as PHP does.
func DecodeSession(h Handler, data []byte, opts *Options) (*Session, error) {
	return DecodeSessionString(h, string(data), opts)
}

type seg struct {
	ent        int // index of the entry this segment became
	start, end int
}

// DecodeSessionString is [DecodeSession] for a string; the session keeps
// a reference to data instead of copying it.
func DecodeSessionString(h Handler, data string, opts *Options) (*Session, error) {
	ser := h.lookup()
	if ser == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHandler, string(h))
	}
	if len(data) > math.MaxInt32 {
		return nil, &SyntaxError{Offset: 0, Msg: "session data larger than 2 GiB", Err: ErrTooLarge}
	}
	if len(data) == 0 {
		s := NewSession(h)
		s.maxDepth = opts.maxDepth()
		return s, nil
	}
	s, err := ser.decode(ser, data, opts)
	if err != nil {
		return nil, looksLike(h, data, err)
	}
	return s, nil
}

// decodePHPFamily is decode for the serialize()-based serializers.
func decodePHPFamily(ser *serializer, data string, opts *Options) (*Session, error) {
	h := ser.name
	var s *Session
	err := choosePayloadReading(data, func(opaque map[string]bool) ([]string, bool, error) {
		sess, amb, err := decodeSession(h, data, opts, opaque)
		if err != nil {
			return amb, false, err
		}
		s = sess
		if (len(amb) == 0 && len(opaque) == 0) || !hasRefs(data) {
			return nil, true, nil
		}
		// Check the reading: values re-encoded must give the input.
		c, err := sess.Convert(h)
		if err != nil {
			return amb, false, nil
		}
		enc, err := c.Encode()
		return amb, err == nil && string(enc) == data, nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func decodeSession(h Handler, data string, opts *Options, opaque map[string]bool) (*Session, []string, error) {
	// The kind table (for checking that r: points to an object) is only
	// kept once the scan met an r: token: a scan without it that met none
	// is exact, and one that met one (even if it failed afterwards) is
	// redone with the table.
	if len(data) > math.MaxInt32 {
		return nil, nil, &SyntaxError{Offset: 0, Msg: "session data larger than 2 GiB", Err: ErrTooLarge}
	}
	s, amb, needKinds, err := decodeSessionMode(h, data, opts, opaque, false)
	if needKinds {
		s, amb, _, err = decodeSessionMode(h, data, opts, opaque, true)
	}
	return s, amb, err
}

func decodeSessionMode(h Handler, data string, opts *Options, opaque map[string]bool, kinds bool) (_ *Session, ambiguous []string, needKinds bool, _ error) {
	s := NewSession(h)
	if s.ser.frame == nil {
		return nil, nil, false, fmt.Errorf("%w: %q", ErrUnknownHandler, string(h))
	}
	s.src = data
	s.maxDepth = opts.maxDepth()
	if len(data) == 0 {
		return s, nil, false, nil
	}
	s.opaque = opaque
	d := decoder{d: data, maxDepth: s.maxDepth, opaque: opaque}
	defer func() { ambiguous, needKinds = d.ambiguous, d.needKinds }()
	if d.noKinds = !kinds; !d.noKinds {
		d.kinds = make([]Kind, 0, len(data)/8+1)
	}
	var seen uint64 // Bloom filter of the names so far: duplicates are rare
	// segs lists the values in blob order; it is only kept once a
	// duplicate name makes it differ from the entry order.
	var segs []seg
	dup := false
	add := func(k Key, start int) {
		e := sEntry{key: k, start: int32(start), end: int32(d.pos), base: int32(d.entryBase),
			nslots: int32(d.nslot - d.entryBase), hasRef: d.hasRef}
		bit := keyBit(k)
		if seen&bit == 0 {
			seen |= bit
		} else if i := s.find(k); i >= 0 {
			if !dup {
				dup = true
				segs = entrySegs(s.ents)
			}
			s.ents[i] = e
			segs = append(segs, seg{i, start, d.pos})
			return
		}
		s.ents = append(s.ents, e)
		if s.idx != nil {
			s.idx[k] = len(s.ents) - 1
		}
		if dup {
			segs = append(segs, seg{len(s.ents) - 1, start, d.pos})
		}
	}
	done, err := s.ser.frame.scan(&d, s, data, opts, add)
	if err != nil {
		return nil, nil, false, err
	}
	if done {
		return s, nil, false, nil
	}
	if d.crossRef {
		if !dup {
			segs = entrySegs(s.ents)
		}
		if err := s.decodeWhole(segs); err != nil {
			return nil, nil, false, err
		}
	}
	return s, nil, false, nil
}

func entrySegs(es []sEntry) []seg {
	segs := make([]seg, len(es), len(es)+4)
	for i := range es {
		segs[i] = seg{i, int(es[i].start), int(es[i].end)}
	}
	return segs
}

// decodeWhole builds every value with one reference table, for sessions
// whose values refer to each other.
func (s *Session) decodeWhole(segs []seg) error {
	d := decoder{d: s.src, maxDepth: s.maxDepth, build: true, opaque: s.opaque, sess: s}
	if s.ser.frame.countsSession {
		d.nslot = 1
		d.slots = append(d.slots, slot{v: Null{}}) // the session array itself
	}
	root := omap{e: make([]entry, len(segs))}
	for i, sg := range segs {
		d.pos = sg.start
		if err := d.value(&root, i, s.depth0); err != nil {
			return err
		}
	}
	for i, sg := range segs {
		e := &s.ents[sg.ent]
		e.val = root.e[i].v
		e.st = stClean
		e.vsize = size32(2*(sg.end-sg.start) + 32)
		e.start, e.end = -1, -1
	}
	for i := range s.ents {
		if !isScalar(s.ents[i].val) {
			s.ents[i].st = stExposed
		}
	}
	s.whole = true
	s.valBytes = 0
	for i := range s.ents {
		s.valBytes += int(s.ents[i].vsize)
	}
	return nil
}

// anyExposed reports whether a variable's value was handed out by Get.
func (s *Session) anyExposed() bool {
	for i := range s.ents {
		if s.ents[i].st == stExposed {
			return true
		}
	}
	return false
}

// unshare gives s its own copy of the decoded values it may share with
// clones (one copy for all variables, so that values shared between
// variables stay shared).
func (s *Session) unshare() {
	if s.sh == nil || atomic.LoadUint32(s.sh) == 0 {
		return
	}
	copyValues(s.ents, func(e *sEntry) bool { return e.st == stClean })
	s.sh = new(uint32)
}
