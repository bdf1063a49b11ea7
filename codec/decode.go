package codec

import (
	"math"
	"strconv"
	"strings"
)

// oneByteStrings holds boxed one-byte strings, so that decoding them
// allocates nothing.
var oneByteStrings = func() (t [256]Value) {
	for i := range t {
		t[i] = String([]byte{byte(i)})
	}
	return t
}()

// DefaultMaxDepth is PHP's default unserialize_max_depth.
const DefaultMaxDepth = 4096

// Options control decoding. A nil *Options means the defaults.
type Options struct {
	// MaxDepth caps the nesting of arrays and objects: 0 means
	// DefaultMaxDepth (4096, like PHP: 4096 nested arrays decode, 4097
	// fail); a negative value means unlimited.
	MaxDepth int
	// MaxSessionSize caps the decompressed size of compressed session
	// data ([Format] with a [Compression]): 0 means DefaultMaxSessionSize
	// (64 MiB); a negative value means phpredis's own limit (2 GiB - 1).
	// A frame declaring more fails with ErrSessionTooLarge before the
	// output is allocated.
	MaxSessionSize int
}

func (o *Options) maxSessionSize() int {
	switch {
	case o == nil || o.MaxSessionSize == 0:
		return DefaultMaxSessionSize
	case o.MaxSessionSize < 0:
		return maxPHPSize
	}
	return o.MaxSessionSize
}

func (o *Options) maxDepth() int {
	if o == nil || o.MaxDepth == 0 {
		return DefaultMaxDepth
	}
	if o.MaxDepth < 0 {
		return math.MaxInt
	}
	return o.MaxDepth
}

// slot is one numbered value of the reference table (build mode).
type slot struct {
	v   Value
	m   *omap // where the value is stored, for turning it into a reference
	idx int
}

// decoder parses PHP serialize() text. In build mode it produces values;
// in scan mode it only validates, counts the numbered values and notes
// references.
type decoder struct {
	d        string
	pos      int
	off      int // added to positions in errors
	maxDepth int
	build    bool

	slots    []slot // build mode: values numbered slotBase+1, ...
	kinds    []Kind // scan mode: kind of each numbered value (absolute numbering)
	nslot    int    // numbered values so far, absolute (includes slotBase)
	slotBase int    // numbers <= slotBase belong to earlier entries

	entryBase int             // scan mode: first number of the current session entry, minus one
	hasRef    bool            // an R:/r: was seen (reset per entry by the caller)
	crossRef  bool            // an R:/r: pointed before entryBase
	noRef1    bool            // php_serialize: value 1 is the session array itself
	lenient   bool            // scan only: do not range-check R:/r: (payload counting)
	opaque    map[string]bool // Serializable classes whose payloads PHP did not number (see payloadValues)
	ambiguous []string        // classes whose payloads parsed as serialize() text
	noSlots   bool            // build mode: keep no reference table (see needSlots)
	needSlots bool            // build mode with noSlots: an R:/r: was met, so the table was needed
	noKinds   bool            // scan mode: keep no kind table (see needKinds)
	needKinds bool            // scan mode with noKinds: an r: was met, so the kind table was needed

	buf     []byte   // build mode: a copy of d that Serializable payloads view (made on the first C:)
	sess    *Session // the session whose src d is (shares one copy across decodes)
	entSlab []entry  // build mode: entries for arrays/objects are carved from here
	arrSlab []Array
	boxes   boxedSlabs // build mode: boxed scalars are carved from here (see box.go)

	// dups counts arrays and objects (build mode) in which a repeated key
	// overwrote an earlier value: the overwritten value still took a
	// number, so the decoded value numbers fewer values than its text.
	dups int
}

// entries returns an empty slice with capacity n for an array's elements.
func (d *decoder) entries(n int) []entry {
	if n > 64 {
		return make([]entry, 0, n)
	}
	if cap(d.entSlab)-len(d.entSlab) < n {
		c := (len(d.d) - d.pos) / 16
		if c < 4 {
			c = 4
		} else if c > 512 {
			c = 512
		}
		if c < n {
			c = n
		}
		d.entSlab = make([]entry, 0, c)
	}
	l := len(d.entSlab)
	d.entSlab = d.entSlab[:l+n]
	return d.entSlab[l : l : l+n]
}

func (d *decoder) newArray() *Array {
	if len(d.arrSlab) == cap(d.arrSlab) {
		c := (len(d.d) - d.pos) / 64
		if c < 2 {
			c = 2
		} else if c > 64 {
			c = 64
		}
		d.arrSlab = make([]Array, 0, c)
	}
	d.arrSlab = d.arrSlab[:len(d.arrSlab)+1]
	return &d.arrSlab[len(d.arrSlab)-1]
}

func (d *decoder) errAt(pos int, msg string) error {
	return &SyntaxError{Offset: d.off + pos, Msg: msg}
}

func (d *decoder) errKind(pos int, msg string, kind error) error {
	return &SyntaxError{Offset: d.off + pos, Msg: msg, Err: kind}
}

func (d *decoder) eof() error {
	return d.errAt(d.pos, "unexpected end of input")
}

// expect consumes the byte c.
func (d *decoder) expect(c byte) error {
	if d.eat(c) {
		return nil
	}
	return d.expectErr(c)
}

// eat consumes the byte c if it is next.
func (d *decoder) eat(c byte) bool {
	if d.pos < len(d.d) && d.d[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *decoder) expectErr(c byte) error {
	if d.pos >= len(d.d) {
		return d.eof()
	}
	return d.errAt(d.pos, "expected "+strconv.QuoteRune(rune(c))+", found "+quoteByte(d.d[d.pos]))
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return "byte 0x" + strconv.FormatUint(uint64(c), 16)
}

// uintThen parses [0-9]+ followed by the byte c.
func (d *decoder) uintThen(c byte) (int, error) {
	n, err := d.uint()
	if err == nil {
		err = d.expect(c)
	}
	return n, err
}

// lenThen parses "<n>:" followed by the byte open: the length of a
// string, class name, Serializable payload or enum, or an array's count.
func (d *decoder) lenThen(open byte) (int, error) {
	n, err := d.uintThen(':')
	if err == nil {
		err = d.expect(open)
	}
	return n, err
}

// uint parses [0-9]+ as a non-negative length or count.
func (d *decoder) uint() (int, error) {
	start := d.pos
	n := 0
	for d.pos < len(d.d) {
		c := d.d[d.pos]
		if c < '0' || c > '9' {
			break
		}
		if n > (math.MaxInt32-9)/10 {
			return 0, d.errKind(start, "number too large", ErrTooLarge)
		}
		n = n*10 + int(c-'0')
		d.pos++
	}
	if d.pos == start {
		if d.pos >= len(d.d) {
			return 0, d.eof()
		}
		return 0, d.errAt(d.pos, "expected digits, found "+quoteByte(d.d[d.pos]))
	}
	return n, nil
}

// int parses [+-]?[0-9]+, clamping to the int64 range like PHP 8.2.
func (d *decoder) int() (int64, error) {
	start := d.pos
	neg := false
	if d.pos < len(d.d) && (d.d[d.pos] == '-' || d.d[d.pos] == '+') {
		neg = d.d[d.pos] == '-'
		d.pos++
	}
	ds := d.pos
	var u uint64
	over := false
	for d.pos < len(d.d) {
		c := d.d[d.pos]
		if c < '0' || c > '9' {
			break
		}
		if u > (math.MaxUint64-9)/10 {
			over = true
		} else {
			u = u*10 + uint64(c-'0')
		}
		d.pos++
	}
	if d.pos == ds {
		if d.pos >= len(d.d) {
			return 0, d.eof()
		}
		return 0, d.errAt(start, "invalid integer")
	}
	if neg {
		if over || u > 1<<63 {
			return math.MinInt64, nil
		}
		return -int64(u), nil
	}
	if over || u > math.MaxInt64 {
		return math.MaxInt64, nil
	}
	return int64(u), nil
}

// push numbers a new value (everything but R:). It returns the local slot
// index in build mode.
func (d *decoder) push(m *omap, idx int, k Kind) int {
	d.nslot++
	if d.build {
		if d.noSlots {
			return -1
		}
		d.slots = append(d.slots, slot{m: m, idx: idx})
		return len(d.slots) - 1
	}
	if !d.noKinds {
		d.kinds = append(d.kinds, k)
	}
	return 0
}

func (d *decoder) store(m *omap, idx, s int, v Value) {
	if d.build {
		m.e[idx].v = v
		if s >= 0 {
			d.slots[s].v = v
		}
	}
}

// sameValue reports whether a and b are the same stored value.
func sameValue(a, b Value) bool {
	if fa, ok := a.(Float); ok {
		fb, ok := b.(Float)
		return ok && math.Float64bits(float64(fa)) == math.Float64bits(float64(fb))
	}
	return a == b
}

// ref turns the value in local slot s into a *Reference (once) and returns it.
func (d *decoder) ref(s int) *Reference {
	sl := &d.slots[s]
	if r, ok := sl.v.(*Reference); ok {
		return r
	}
	r := &Reference{V: sl.v}
	if sl.m != nil && sl.idx < len(sl.m.e) && sameValue(sl.m.e[sl.idx].v, sl.v) {
		sl.m.e[sl.idx].v = r
	}
	sl.v = r
	return r
}

// kindBackref marks, in the scan's kind table, a value written as r:.
const kindBackref Kind = 255

func isObjectKind(k Kind) bool {
	return k == KindObject || k == KindSerializable || k == KindEnum || k == kindBackref
}

// value parses one value and stores it in m.e[idx] (build mode).
func (d *decoder) value(m *omap, idx int, depth int) error {
	if d.pos+1 >= len(d.d) {
		return d.eof()
	}
	start := d.pos
	c := d.d[d.pos]
	switch c {
	case 'N', 'b', 'i', 'd', 's', 'S', 'a', 'O', 'C', 'E', 'r', 'R':
	default:
		return d.errAt(start, "unknown type "+quoteByte(c))
	}
	if d.d[d.pos+1] != ':' && c != 'N' {
		return d.errAt(d.pos+1, "expected ':' after type "+quoteByte(c))
	}
	switch c {
	case 'N':
		if d.d[d.pos+1] != ';' {
			return d.errAt(d.pos+1, "expected ';' after N")
		}
		s := d.push(m, idx, KindNull)
		d.pos += 2
		if d.build {
			d.store(m, idx, s, Null{})
		}
		return nil
	case 'b':
		if d.pos+3 >= len(d.d) {
			return d.eof()
		}
		b := d.d[d.pos+2]
		if (b != '0' && b != '1') || d.d[d.pos+3] != ';' {
			return d.errAt(d.pos+2, "invalid bool")
		}
		s := d.push(m, idx, KindBool)
		d.pos += 4
		if d.build {
			d.store(m, idx, s, Bool(b == '1'))
		}
		return nil
	case 'i':
		s := d.push(m, idx, KindInt)
		if n, next, ok := fastInt(d.d, d.pos); ok {
			d.pos = next
			if d.build {
				d.store(m, idx, s, d.boxInt(n))
			}
			return nil
		}
		d.pos += 2
		n, err := d.int()
		if err != nil {
			return err
		}
		if !d.eat(';') {
			return d.expectErr(';')
		}
		if d.build {
			d.store(m, idx, s, d.boxInt(n))
		}
		return nil
	case 'd':
		s := d.push(m, idx, KindFloat)
		d.pos += 2
		f, err := d.float()
		if err != nil {
			return err
		}
		if d.build {
			d.store(m, idx, s, d.boxFloat(f))
		}
		return nil
	case 's', 'S':
		s := d.push(m, idx, KindString)
		if c == 's' {
			if a, b, ok := fastStr(d.d, d.pos); ok {
				d.pos = b + 2
				if d.build {
					if b-a == 1 {
						d.store(m, idx, s, oneByteStrings[d.d[a]])
					} else {
						d.store(m, idx, s, d.boxString(d.d[a:b]))
					}
				}
				return nil
			}
		}
		str, err := d.str()
		if err != nil {
			return err
		}
		if d.build {
			d.store(m, idx, s, d.boxString(str))
		}
		return nil
	case 'a':
		s := d.push(m, idx, KindArray)
		return d.array(m, idx, s, depth)
	case 'O':
		s := d.push(m, idx, KindObject)
		return d.object(m, idx, s, depth)
	case 'C':
		s := d.push(m, idx, KindSerializable)
		return d.serializable(m, idx, s, depth)
	case 'E':
		s := d.push(m, idx, KindEnum)
		return d.enum(m, idx, s)
	case 'r':
		s := d.push(m, idx, kindBackref)
		own := d.nslot
		d.pos += 2
		n, err := d.uintThen(';')
		if err != nil {
			return err
		}
		if n == 0 || (n >= own && !d.lenient) {
			return d.errAt(start, "object back-reference r:"+strconv.Itoa(n)+" out of range")
		}
		d.hasRef = true
		if n <= d.entryBase {
			d.crossRef = true
		}
		if d.build {
			if n <= d.slotBase || d.noSlots {
				d.needSlots = d.noSlots
				return d.errAt(start, "reference to another session entry")
			}
			t := Deref(d.slots[n-1-d.slotBase].v)
			switch t.(type) {
			case *Object, *Serializable, Enum:
			default:
				return d.errAt(start, "r:"+strconv.Itoa(n)+" does not point to an object")
			}
			d.store(m, idx, s, t)
		} else if d.noKinds {
			d.needKinds = true
		} else if n-1 < len(d.kinds) && !isObjectKind(d.kinds[n-1]) {
			return d.errAt(start, "r:"+strconv.Itoa(n)+" does not point to an object")
		}
		return nil
	case 'R':
		d.pos += 2
		n, err := d.uintThen(';')
		if err != nil {
			return err
		}
		if n == 0 || (n > d.nslot && !d.lenient) {
			return d.errAt(start, "reference R:"+strconv.Itoa(n)+" out of range")
		}
		if n == 1 && d.noRef1 {
			return d.errAt(start, "reference to the session array itself is not supported")
		}
		d.hasRef = true
		if n <= d.entryBase {
			d.crossRef = true
		}
		if d.build {
			if n <= d.slotBase || d.noSlots {
				d.needSlots = d.noSlots
				return d.errAt(start, "reference to another session entry")
			}
			m.e[idx].v = d.ref(n - 1 - d.slotBase)
		}
		return nil
	}
	return d.errAt(start, "unknown type "+quoteByte(c))
}

// float parses the text of d: up to and including ';'.
func (d *decoder) float() (float64, error) {
	start := d.pos
	rest := d.d[d.pos:]
	switch {
	case len(rest) >= 4 && rest[:4] == "NAN;":
		d.pos += 4
		return phpNaN, nil
	case len(rest) >= 4 && rest[:4] == "INF;":
		d.pos += 4
		return math.Inf(1), nil
	case len(rest) >= 5 && rest[:5] == "-INF;":
		d.pos += 5
		return math.Inf(-1), nil
	}
	p := d.pos
	neg := false
	if p < len(d.d) && (d.d[p] == '+' || d.d[p] == '-') {
		neg = d.d[p] == '-'
		p++
	}
	var mant uint64 // the digits as an integer (meaningful for at most 19 digits)
	intDigits := 0
	for p < len(d.d) && d.d[p] >= '0' && d.d[p] <= '9' {
		mant = mant*10 + uint64(d.d[p]-'0')
		p++
		intDigits++
	}
	fracDigits := 0
	if p < len(d.d) && d.d[p] == '.' {
		p++
		for p < len(d.d) && d.d[p] >= '0' && d.d[p] <= '9' {
			mant = mant*10 + uint64(d.d[p]-'0')
			p++
			fracDigits++
		}
	}
	exp := false
	if intDigits == 0 && fracDigits == 0 {
		if p >= len(d.d) {
			d.pos = p
			return 0, d.eof()
		}
		return 0, d.errAt(start, "invalid float")
	}
	if p < len(d.d) && (d.d[p] == 'e' || d.d[p] == 'E') {
		exp = true
		p++
		if p < len(d.d) && (d.d[p] == '+' || d.d[p] == '-') {
			p++
		}
		ed := p
		for p < len(d.d) && d.d[p] >= '0' && d.d[p] <= '9' {
			p++
		}
		if p == ed {
			return 0, d.errAt(start, "invalid float exponent")
		}
	}
	if p >= len(d.d) {
		d.pos = p
		return 0, d.eof()
	}
	if d.d[p] != ';' {
		return 0, d.errAt(p, "expected ';' after float")
	}
	if !d.build {
		d.pos = p + 1
		return 0, nil
	}
	if !exp && intDigits+fracDigits <= 15 {
		// Exact fast path (as in strconv): the mantissa (< 10^15 < 2^53)
		// and 10^fracDigits are exact doubles, so one division is
		// correctly rounded, which is what ParseFloat returns.
		f := float64(mant) / exactPow10[fracDigits]
		if neg {
			f = -f
		}
		d.pos = p + 1
		return f, nil
	}
	f, err := strconv.ParseFloat(d.d[start:p], 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return 0, d.errAt(start, "invalid float")
		}
	}
	d.pos = p + 1
	return f, nil
}

var exactPow10 = [16]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// str parses s:<len>:"<bytes>"; or S:<len>:"<escaped>"; starting at the type byte.
func (d *decoder) str() (string, error) {
	esc := d.d[d.pos] == 'S'
	d.pos += 2
	n, err := d.lenThen('"')
	if err != nil {
		return "", err
	}
	if esc {
		return d.escaped(n)
	}
	if n > len(d.d)-d.pos-2 {
		return "", d.errKind(d.pos, "string length "+strconv.Itoa(n)+" exceeds input", ErrTooLarge)
	}
	s := d.d[d.pos : d.pos+n]
	d.pos += n
	if d.d[d.pos] != '"' || d.d[d.pos+1] != ';' {
		return "", d.errAt(d.pos, "expected '\";' after string")
	}
	d.pos += 2
	return s, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// escaped decodes the body of an S: string of n decoded bytes.
func (d *decoder) escaped(n int) (string, error) {
	if n > len(d.d)-d.pos-2 {
		return "", d.errKind(d.pos, "string length "+strconv.Itoa(n)+" exceeds input", ErrTooLarge)
	}
	// Built in scan mode too: S: keys need their decoded text. S: is rare.
	buf := make([]byte, 0, n)
	for i := 0; i < n; i++ {
		if d.pos >= len(d.d) {
			return "", d.eof()
		}
		c := d.d[d.pos]
		if c == '\\' {
			if d.pos+2 >= len(d.d) {
				return "", d.eof()
			}
			h, ok1 := unhex(d.d[d.pos+1])
			l, ok2 := unhex(d.d[d.pos+2])
			if !ok1 || !ok2 {
				return "", d.errAt(d.pos, "invalid escape in S: string")
			}
			c = h<<4 | l
			d.pos += 3
		} else {
			d.pos++
		}
		buf = append(buf, c)
	}
	if d.pos+1 >= len(d.d) {
		return "", d.eof()
	}
	if d.d[d.pos] != '"' || d.d[d.pos+1] != ';' {
		return "", d.errAt(d.pos, "expected '\";' after string")
	}
	d.pos += 2
	return string(buf), nil
}

// fastInt parses the common form i:<digits>; or i:-<digits>; (at most 18
// digits, so no overflow) at p. Anything else is left to the general path,
// which also produces the error messages.
func fastInt(d string, p int) (int64, int, bool) {
	q := p + 2
	if q >= len(d) || d[p+1] != ':' {
		return 0, 0, false
	}
	neg := d[q] == '-'
	if neg {
		q++
	}
	st := q
	var n int64
	for q < len(d) {
		c := d[q] - '0'
		if c > 9 {
			break
		}
		n = n*10 + int64(c)
		q++
	}
	if q == st || q-st > 18 || q >= len(d) || d[q] != ';' {
		return 0, 0, false
	}
	if neg {
		n = -n
	}
	return n, q + 1, true
}

// fastStr parses the common form s:<n>:"<n bytes>"; (n of at most 9
// digits) at p and returns the bounds of the bytes; the value ends at b+2.
func fastStr(d string, p int) (a, b int, ok bool) {
	q := p + 2
	if q >= len(d) || d[p+1] != ':' {
		return 0, 0, false
	}
	st := q
	n := 0
	for q < len(d) {
		c := d[q] - '0'
		if c > 9 {
			break
		}
		n = n*10 + int(c)
		q++
	}
	if q == st || q-st > 9 || q+1 >= len(d) || d[q] != ':' || d[q+1] != '"' {
		return 0, 0, false
	}
	a = q + 2
	if n > len(d)-a-2 {
		return 0, 0, false
	}
	b = a + n
	if d[b] != '"' || d[b+1] != ';' {
		return 0, 0, false
	}
	return a, b, true
}

// key parses an array or object key (i:, s: or S:).
func (d *decoder) key() (Key, error) {
	if d.pos+1 >= len(d.d) {
		return Key{}, d.eof()
	}
	switch d.d[d.pos] {
	case 'i':
		if n, next, ok := fastInt(d.d, d.pos); ok {
			d.pos = next
			return Key{i: n}, nil
		}
		if d.d[d.pos+1] != ':' {
			return Key{}, d.errAt(d.pos+1, "expected ':'")
		}
		d.pos += 2
		n, err := d.int()
		if err != nil {
			return Key{}, err
		}
		if !d.eat(';') {
			return Key{}, d.expectErr(';')
		}
		return Key{i: n}, nil
	case 's', 'S':
		if a, b, ok := fastStr(d.d, d.pos); ok && d.d[d.pos] == 's' {
			d.pos = b + 2
			return Key{s: d.d[a:b], isStr: true}, nil
		}
		if d.d[d.pos+1] != ':' {
			return Key{}, d.errAt(d.pos+1, "expected ':'")
		}
		s, err := d.str()
		if err != nil {
			return Key{}, err
		}
		return Key{s: s, isStr: true}, nil
	}
	return Key{}, d.errAt(d.pos, "invalid array key type "+quoteByte(d.d[d.pos]))
}

// count parses "<n>:{" and checks n against the remaining input.
func (d *decoder) count() (int, error) {
	n, err := d.lenThen('{')
	if err != nil {
		return 0, err
	}
	// Every element needs at least 6 bytes ("i:0;N;"), plus the closing '}'.
	if n > (len(d.d)-d.pos)/6 {
		return 0, d.errKind(d.pos, "element count "+strconv.Itoa(n)+" exceeds input", ErrTooLarge)
	}
	return n, nil
}

func (d *decoder) enter(depth int) error {
	if depth+1 > d.maxDepth {
		return d.errKind(d.pos, "maximum depth of "+strconv.Itoa(d.maxDepth)+" exceeded", ErrDepth)
	}
	return nil
}

func (d *decoder) array(m *omap, idx, s, depth int) error {
	if err := d.enter(depth); err != nil {
		return err
	}
	d.pos += 2
	n, err := d.count()
	if err != nil {
		return err
	}
	if !d.build {
		return d.scanElements(n, depth)
	}
	var a *Array
	var am *omap
	if d.build {
		a = d.newArray()
		am = &a.m
		if n > 0 {
			a.m.e = d.entries(n)
		}
		d.store(m, idx, s, a)
	}
	var seen uint64 // Bloom filter of the keys so far: most keys are new
	for i := 0; i < n; i++ {
		// The key: s:/i: inline, the rest (and errors) by d.key.
		var k Key
		if p := d.pos; p < len(d.d) && d.d[p] == 's' {
			if a, b, ok := fastStr(d.d, p); ok {
				d.pos = b + 2
				k = Key{s: d.d[a:b], isStr: true}
				if v, ok := numericKey(k.s); ok {
					k = Key{i: v}
				}
				goto haveKey
			}
		} else if p < len(d.d) && d.d[p] == 'i' {
			if v, next, ok := fastInt(d.d, p); ok {
				d.pos = next
				k = Key{i: v}
				goto haveKey
			}
		}
		{
			var err error
			if k, err = d.key(); err != nil {
				return err
			}
			if k.isStr {
				if v, ok := numericKey(k.s); ok {
					k = Key{i: v}
				}
			}
		}
	haveKey:
		var ei int
		if d.build {
			bit := keyBit(k)
			if seen&bit == 0 && a.m.idx == nil {
				// Certainly a new key.
				seen |= bit
				a.noteKey(k)
				a.m.e = pushKey(a.m.e, k)
				ei = len(a.m.e) - 1
			} else if !k.isStr && !a.full && (!a.hasNext || k.i >= a.next) && a.m.idx == nil {
				// Strictly above every int key so far: cannot be a duplicate
				// of an int key; string keys never equal int keys.
				a.noteKey(k)
				a.m.e = pushKey(a.m.e, k)
				ei = len(a.m.e) - 1
				if a.m.idx != nil {
					a.m.idx[k] = int32(ei)
				}
			} else {
				a.noteKey(k)
				ei = a.m.setDecoded(k, nil)
			}
		}
		if d.noSlots && d.pos < len(d.d) {
			// Inline fast paths for scalar elements (no reference table
			// to maintain).
			switch d.d[d.pos] {
			case 's':
				if a, b, ok := fastStr(d.d, d.pos); ok {
					d.pos = b + 2
					d.nslot++
					if b-a == 1 {
						am.e[ei].v = oneByteStrings[d.d[a]]
					} else {
						am.e[ei].v = d.boxString(d.d[a:b])
					}
					continue
				}
			case 'i':
				if v, next, ok := fastInt(d.d, d.pos); ok {
					d.pos = next
					d.nslot++
					am.e[ei].v = d.boxInt(v)
					continue
				}
			case 'a':
				// As d.value does for a:, without its dispatch.
				if d.pos+1 < len(d.d) && d.d[d.pos+1] == ':' {
					d.nslot++
					if err := d.array(am, ei, -1, depth+1); err != nil {
						return err
					}
					continue
				}
			case 'd':
				if d.pos+1 < len(d.d) && d.d[d.pos+1] == ':' {
					d.nslot++
					d.pos += 2
					f, err := d.float()
					if err != nil {
						return err
					}
					am.e[ei].v = d.boxFloat(f)
					continue
				}
			}
		}
		if err := d.value(am, ei, depth+1); err != nil {
			return err
		}
	}
	if len(am.e) < n {
		d.dups++
	}
	return d.expect('}')
}

// scanElements validates the n key/value pairs of an array in scan mode,
// with inline fast paths for the common s:/i: keys and values (the general
// path handles, and reports errors for, everything else).
func (d *decoder) scanElements(n, depth int) error {
	for i := 0; i < n; i++ {
		p := d.pos
		if p < len(d.d) {
			switch d.d[p] {
			case 's':
				if _, b, ok := fastStr(d.d, p); ok {
					d.pos = b + 2
					goto value
				}
			case 'i':
				if _, next, ok := fastInt(d.d, p); ok {
					d.pos = next
					goto value
				}
			}
		}
		if _, err := d.key(); err != nil {
			return err
		}
	value:
		p = d.pos
		if p < len(d.d) {
			switch d.d[p] {
			case 's':
				if _, b, ok := fastStr(d.d, p); ok {
					d.pos = b + 2
					d.push(nil, 0, KindString)
					continue
				}
			case 'i':
				if _, next, ok := fastInt(d.d, p); ok {
					d.pos = next
					d.push(nil, 0, KindInt)
					continue
				}
			}
		}
		if err := d.value(nil, 0, depth+1); err != nil {
			return err
		}
	}
	return d.expect('}')
}

// validClass reports whether PHP accepts name as a class name in unserialize.
func validClass(name string) bool {
	if name == "" || name[0] == '\\' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 0x80 || c == '_' || c == '\\' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			continue
		}
		return false
	}
	return true
}

// className parses <len>:"<name>" and validates the name.
func (d *decoder) className() (string, error) {
	n, err := d.lenThen('"')
	if err != nil {
		return "", err
	}
	if n > len(d.d)-d.pos-2 {
		return "", d.errKind(d.pos, "class name length exceeds input", ErrTooLarge)
	}
	name := d.d[d.pos : d.pos+n]
	if !validClass(name) {
		return "", d.errAt(d.pos, "invalid class name")
	}
	d.pos += n
	if d.d[d.pos] != '"' || d.d[d.pos+1] != ':' {
		return "", d.errAt(d.pos, "expected '\":' after class name")
	}
	d.pos += 2
	return name, nil
}

// pushKey appends an entry with key k and no value. Assigning the key
// field alone costs one write barrier instead of a bulk copy.
func pushKey(e []entry, k Key) []entry {
	l := len(e)
	if l == cap(e) {
		return append(e, entry{k: k})
	}
	e = e[:l+1]
	e[l].k = k
	return e
}

// keyBit hashes a key to one bit of a 64-bit Bloom filter.
func keyBit(k Key) uint64 {
	var h uint64
	if k.isStr {
		h = uint64(len(k.s)) * 0x9E3779B1
		if len(k.s) > 0 {
			h += uint64(k.s[0])*31 + uint64(k.s[len(k.s)-1])*131 + uint64(k.s[len(k.s)/2])*7
		}
	} else {
		h = uint64(k.i) * 0x9E3779B97F4A7C15
		h ^= h >> 29
	}
	return 1 << ((h ^ h>>6) & 63)
}

func (d *decoder) object(m *omap, idx, s, depth int) error {
	if err := d.enter(depth); err != nil {
		return err
	}
	d.pos += 2
	class, err := d.className()
	if err != nil {
		return err
	}
	n, err := d.count()
	if err != nil {
		return err
	}
	var seen uint64
	var o *Object
	var om *omap
	if d.build {
		o = &Object{Class: class}
		om = &o.m
		if n > 0 {
			o.m.e = d.entries(n)
		}
		d.store(m, idx, s, o)
	}
	for i := 0; i < n; i++ {
		k, err := d.key()
		if err != nil {
			return err
		}
		var ei int
		if d.build {
			if bit := keyBit(k); seen&bit == 0 && o.m.idx == nil {
				seen |= bit
				o.m.e = pushKey(o.m.e, k)
				ei = len(o.m.e) - 1
			} else {
				ei = o.m.setDecoded(k, nil)
			}
		}
		if err := d.value(om, ei, depth+1); err != nil {
			return err
		}
	}
	if d.build && len(om.e) < n {
		d.dups++
	}
	return d.expect('}')
}

func (d *decoder) serializable(m *omap, idx, s, depth int) error {
	d.pos += 2
	class, err := d.className()
	if err != nil {
		return err
	}
	n, err := d.lenThen('{')
	if err != nil {
		return err
	}
	if n > len(d.d)-d.pos-1 {
		return d.errKind(d.pos, "payload length exceeds input", ErrTooLarge)
	}
	ps := d.pos
	p := d.d[d.pos : d.pos+n]
	if d.pos+n >= len(d.d) || d.d[d.pos+n] != '}' {
		return d.errAt(d.pos+n, "expected '}' after Serializable payload")
	}
	var x *Serializable
	if d.build {
		// Payloads are views of one copy of the input: nested payloads
		// would otherwise cost quadratic memory.
		if d.buf == nil {
			if d.sess != nil {
				d.buf = d.sess.srcBytes(len(d.d))
			} else {
				d.buf = []byte(d.d)
			}
		}
		pl := d.buf[ps : ps+n : ps+n]
		x = &Serializable{Class: class, Payload: pl, counted: true, Opaque: d.opaque[class], base: d.nslot}
		d.store(m, idx, s, x)
	}
	// The payload is parsed one level deeper, so that C: nested in C:
	// payloads is bounded by MaxDepth like arrays are.
	var inner int
	var val Value
	dups := d.dups
	if depth+1 <= d.maxDepth {
		inner, val, _ = d.payloadValues(class, ps, ps+n, depth+1)
	}
	_ = p
	if x != nil {
		x.nslots = inner
		if inner > 0 {
			// Keep the decoded payload: encoding registers the objects
			// inside it, which later r:/R: of the outer data may point to
			// (PHP shares one table between the payload and the outer
			// data), and renumbers its back-references if needed.
			x.inner, x.innerOf, x.refsInside = val, x.Payload, payloadHasRefs(p)
			x.dupsInside = d.dups > dups
		}
	}
	d.pos = ps + n + 1
	return nil
}

// payloadValues numbers the values inside a Serializable payload. PHP's
// Serializable::serialize() implementations usually return serialize() of
// something, and the nested serialize()/unserialize() share the outer
// reference counter, so those values take numbers too. A payload that is
// not exactly one serialize() value is opaque and numbers nothing. It
// returns how many numbers the payload used.
// payloadHasRefs reports whether a payload may contain R:/r: tokens.
func payloadHasRefs(p string) bool {
	return strings.Contains(p, "R:") || strings.Contains(p, "r:")
}

func (d *decoder) payloadValues(class string, ps, pe, depth int) (int, Value, bool) {
	if pe == ps || d.opaque[class] {
		return 0, nil, false
	}
	saveD, saveN, saveSlots, saveKinds := d.d, d.nslot, len(d.slots), len(d.kinds)
	saveHas, saveCross := d.hasRef, d.crossRef
	d.d = d.d[:pe]
	d.pos = ps
	d.hasRef = false
	var tmp *omap
	if d.build {
		tmp = &omap{e: make([]entry, 1)}
	}
	err := d.value(tmp, 0, depth)
	ok := err == nil && d.pos == pe
	d.d = saveD
	refs := d.hasRef
	if !ok {
		d.nslot = saveN
		d.slots = d.slots[:saveSlots]
		d.kinds = d.kinds[:saveKinds]
		d.hasRef, d.crossRef = saveHas, saveCross
		return 0, nil, false
	}
	d.hasRef = saveHas || refs
	d.noteAmbiguous(class)
	var v Value
	if tmp != nil {
		v = tmp.e[0].v
	}
	return d.nslot - saveN, v, refs
}

func (d *decoder) enum(m *omap, idx, s int) error {
	d.pos += 2
	start := d.pos
	n, err := d.lenThen('"')
	if err != nil {
		return err
	}
	if n > len(d.d)-d.pos-2 {
		return d.errKind(d.pos, "enum length exceeds input", ErrTooLarge)
	}
	body := d.d[d.pos : d.pos+n]
	colon := -1
	for i := 0; i < len(body); i++ {
		if body[i] == ':' {
			colon = i
			break
		}
	}
	if colon <= 0 || colon == len(body)-1 || !validClass(body[:colon]) {
		return d.errAt(start, "invalid enum "+strconv.Quote(body))
	}
	d.pos += n
	if d.d[d.pos] != '"' || d.d[d.pos+1] != ';' {
		return d.errAt(d.pos, "expected '\";' after enum")
	}
	d.pos += 2
	if d.build {
		d.store(m, idx, s, Enum{Class: body[:colon], Case: body[colon+1:]})
	}
	return nil
}

// DecodeValue decodes exactly one serialize() value. Trailing bytes after
// the value are an error (use [DecodeValuePrefix] to allow them). Strings in
// the result share one copy of data.
func DecodeValue(data []byte, opts *Options) (Value, error) {
	return DecodeValueString(string(data), opts)
}

// DecodeValueString is [DecodeValue] for a string input; the result's
// strings share memory with data.
func DecodeValueString(data string, opts *Options) (Value, error) {
	v, n, err := decodeValue(data, opts)
	if err != nil {
		return nil, err
	}
	if n != len(data) {
		return nil, &SyntaxError{Offset: n, Msg: "trailing bytes after value"}
	}
	return v, nil
}

// DecodeValuePrefix decodes one serialize() value at the start of data and
// returns it with the number of bytes it used.
func DecodeValuePrefix(data []byte, opts *Options) (Value, int, error) {
	return decodeValue(string(data), opts)
}

func decodeValue(data string, opts *Options) (Value, int, error) {
	var v Value
	var n int
	err := choosePayloadReading(data, func(opaque map[string]bool) ([]string, bool, error) {
		amb, pos, val, err := decodeValueMode(data, opts, opaque)
		if err != nil {
			return amb, false, err
		}
		v, n = val, pos
		if (len(amb) == 0 && len(opaque) == 0) || !hasRefs(data) {
			return nil, true, nil
		}
		enc, err := EncodeValue(val)
		return amb, err == nil && string(enc) == data[:pos], nil
	})
	if err != nil {
		return nil, 0, err
	}
	return v, n, nil
}

func (d *decoder) noteAmbiguous(class string) {
	for _, c := range d.ambiguous {
		if c == class {
			return
		}
	}
	d.ambiguous = append(d.ambiguous, class)
}

func hasRefs(data string) bool {
	return strings.Contains(data, "R:") || strings.Contains(data, "r:")
}

// choosePayloadReading decides how to number the values inside
// Serializable (C:) payloads. PHP numbers them only when the class's
// serialize()/unserialize() call serialize()/unserialize() themselves (the
// usual implementation); a class that returns a stored string verbatim
// numbers nothing, and a payload such as "N;" looks the same either way.
// The reading only matters when R:/r: references follow. try decodes with
// the given classes read as opaque and reports the classes whose payloads
// parsed as serialize() text and whether the result re-encodes to the
// input exactly (as everything PHP writes does). Readings are tried per
// class (up to three classes, eight attempts), nested first; the first
// exact one wins, else the first that decodes.
func choosePayloadReading(data string, try func(opaque map[string]bool) (ambiguous []string, exact bool, err error)) error {
	var known []string
	var firstErr error
	var fallback map[string]bool
	haveFallback := false
	for mask := 0; mask < 8 && mask < 1<<len(known) || mask == 0; mask++ {
		var opaque map[string]bool
		for i, c := range known {
			if mask&(1<<i) != 0 {
				if opaque == nil {
					opaque = make(map[string]bool)
				}
				opaque[c] = true
			}
		}
		amb, exact, err := try(opaque)
		for _, c := range amb {
			if !slicesContains(known, c) && len(known) < 3 {
				known = append(known, c)
			}
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if exact {
			return nil
		}
		if !haveFallback {
			fallback, haveFallback = opaque, true
		}
	}
	if !haveFallback {
		return firstErr
	}
	_, _, err := try(fallback)
	return err
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// decodeValueMode decodes the value at the start of data. The reference
// table is only kept once the decode met an R:/r: token: a decode without
// it that met none is exact, and one that met one is redone with it.
func decodeValueMode(data string, opts *Options, opaque map[string]bool) (ambiguous []string, pos int, _ Value, _ error) {
	d := decoder{d: data, maxDepth: opts.maxDepth(), build: true, opaque: opaque, noSlots: true}
	root := omap{e: make([]entry, 1)}
	err := d.value(&root, 0, 0)
	if d.needSlots {
		d = decoder{d: data, maxDepth: opts.maxDepth(), build: true, opaque: opaque}
		root.e[0] = entry{}
		err = d.value(&root, 0, 0)
	}
	if err != nil {
		return d.ambiguous, d.pos, nil, err
	}
	return d.ambiguous, d.pos, root.e[0].v, nil
}
