package codec

import (
	"fmt"
	"strings"
)

// phpFrame is how a serialize()-based serializer frames the variables
// around PHP serialize() values.
type phpFrame struct {
	// countsSession: the session array is value #1 of the R:/r: numbering.
	countsSession bool
	// scan splits data into variables with d, calling add(key, start)
	// after each value. done means the session is complete as it is.
	scan func(d *decoder, s *Session, data string, opts *Options, add func(Key, int)) (done bool, err error)
	head func(enc *encoder, n int)
	name func(enc *encoder, k Key)
	tail func(enc *encoder)
}

// scanVariable scans the value of variable k, nested at depth, and
// calls add(k, start) with where its bytes start.
func (d *decoder) scanVariable(k Key, depth int, add func(Key, int)) error {
	d.entryBase, d.hasRef = d.nslot, false
	start := d.pos
	if err := d.scanValue(depth); err != nil {
		return err
	}
	add(k, start)
	return nil
}

func noHead(*encoder, int) {}
func noTail(*encoder)      {}

// isValueStart reports whether b starts with a serialize() token.
func isValueStart(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	switch b[0] {
	case 'N':
		return b[1] == ';'
	case 'b', 'i', 'd', 's', 'S', 'a', 'O', 'C', 'E', 'r', 'R':
		return b[1] == ':'
	}
	return false
}

var phpSerializer = serializer{
	name: PHP,
	badName: func(name string) string {
		if strings.IndexByte(name, '|') >= 0 {
			return "contains '|' (PHP would write an empty session)"
		}
		return ""
	},
	detect: func(b []byte) bool {
		bar := strings.IndexByte(string(b), '|')
		return bar >= 0 && isValueStart(b[bar+1:])
	},
	decode:       decodePHPFamily,
	appendEncode: appendEncodePHP,
	frame: &phpFrame{
		scan: func(d *decoder, s *Session, data string, _ *Options, add func(Key, int)) (bool, error) {
			s.ents = make([]sEntry, 0, min(strings.Count(data, "|"), 64))
			for d.pos < len(data) {
				bar := strings.IndexByte(data[d.pos:], '|')
				if bar < 0 {
					return false, &SyntaxError{Offset: d.pos, Msg: "missing '|' after variable name"}
				}
				name := data[d.pos : d.pos+bar]
				d.pos += bar + 1
				if err := d.scanVariable(RawStrKey(name), 0, add); err != nil {
					return false, err
				}
			}
			return false, nil
		},
		head: noHead,
		name: func(enc *encoder, k Key) {
			enc.buf = append(enc.buf, k.s...)
			enc.buf = append(enc.buf, '|')
		},
		tail: noTail,
	},
}

var phpBinarySerializer = serializer{
	name: PHPBinary,
	badName: func(name string) string {
		if len(name) > 127 {
			return "longer than 127 bytes (PHP drops it)"
		}
		return ""
	},
	detect: func(b []byte) bool {
		n := int(b[0])
		return n < 128 && len(b) > n+1 && isValueStart(b[1+n:])
	},
	decode:       decodePHPFamily,
	appendEncode: appendEncodePHP,
	frame: &phpFrame{
		scan: func(d *decoder, s *Session, data string, _ *Options, add func(Key, int)) (bool, error) {
			s.ents = make([]sEntry, 0, min(len(data)/64+1, 64))
			for d.pos < len(data) {
				n := int(data[d.pos] & 0x7f)
				if n >= len(data)-d.pos-1 {
					return false, &SyntaxError{Offset: d.pos, Msg: "variable name length exceeds input", Err: ErrTooLarge}
				}
				name := data[d.pos+1 : d.pos+1+n]
				d.pos += 1 + n
				if err := d.scanVariable(RawStrKey(name), 0, add); err != nil {
					return false, err
				}
			}
			return false, nil
		},
		head: noHead,
		name: func(enc *encoder, k Key) {
			enc.buf = append(enc.buf, byte(len(k.s)))
			enc.buf = append(enc.buf, k.s...)
		},
		tail: noTail,
	},
}

var phpSerializeSerializer = serializer{
	name:      PHPSerialize,
	arrayKeys: true,
	intKeys:   true,
	badName:   noBadName,
	depth0:    1,
	detect: func(b []byte) bool {
		return len(b) >= 2 && (b[0] == 'a' && b[1] == ':' || b[0] == 'N' && b[1] == ';')
	},
	decode:       decodePHPFamily,
	appendEncode: appendEncodePHP,
	frame: &phpFrame{
		countsSession: true,
		scan: func(d *decoder, s *Session, data string, opts *Options, add func(Key, int)) (bool, error) {
			if strings.HasPrefix(data, "N;") {
				return true, nil
			}
			if len(data) < 2 || data[0] != 'a' || data[1] != ':' {
				if _, _, err := decodeValue(data, opts); err != nil {
					return false, err
				}
				return false, &SyntaxError{Offset: 0, Msg: "php_serialize session is not an array"}
			}
			d.pos = 2
			n, err := d.count()
			if err != nil {
				return false, err
			}
			d.nslot = 1
			d.noRef1 = true
			if !d.noKinds {
				d.kinds = append(d.kinds, KindArray)
			}
			s.ents = make([]sEntry, 0, n)
			for i := 0; i < n; i++ {
				k, err := d.key()
				if err != nil {
					return false, err
				}
				if k.isStr {
					k = StrKey(k.s)
				}
				if err := d.scanVariable(k, 1, add); err != nil {
					return false, err
				}
			}
			return false, d.expect('}')
		},
		head: func(enc *encoder, n int) {
			enc.buf = append(enc.buf, 'a', ':')
			enc.buf = appendInt(enc.buf, n)
			enc.buf = append(enc.buf, ':', '{')
			enc.n = 1
		},
		name: func(enc *encoder, k Key) { enc.key(k) },
		tail: func(enc *encoder) { enc.buf = append(enc.buf, '}') },
	},
}

// unknownSerializer stands in for a Handler that is not in the table:
// every operation fails with ErrUnknownHandler.
var unknownSerializer = serializer{
	badName: func(string) string { return "unknown serialize handler" },
	detect:  func([]byte) bool { return false },
	decode: func(s *serializer, _ string, _ *Options) (*Session, error) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHandler, string(s.name))
	},
	appendEncode: func(s *Session, dst []byte) ([]byte, error) {
		return dst, fmt.Errorf("%w: %q", ErrUnknownHandler, string(s.h))
	},
}
