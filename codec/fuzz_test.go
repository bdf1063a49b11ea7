package codec

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func addSeeds(f *testing.F, h Handler, value bool) {
	f.Helper()
	for _, v := range loadVectors(f) {
		if value {
			if b, err := hex.DecodeString(v.SerAfterHex); err == nil {
				f.Add(b)
			}
			continue
		}
		if Handler(v.Handler) == h && v.StoredHex != nil {
			if b, err := hex.DecodeString(*v.StoredHex); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		`a:3:{i:0;C:1:"M":22:{a:2:{i:0;i:1;i:1;i:2;}}i:1;O:8:"stdClass":0:{}i:2;r:6;}`,
		`a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}`, `S:3:"\61bc";`, `d:+1.5E+3;`,
	} {
		if value || h == PHPSerialize {
			f.Add([]byte(s))
		} else {
			f.Add([]byte("a|" + s + "b|R:2;"))
		}
	}
}

// FuzzDecodeValue: no panic; a decoded value encodes, and the encoding is
// stable under decode→encode.
func FuzzDecodeValue(f *testing.F) {
	addSeeds(f, "", true)
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DecodeValue(data, &Options{MaxDepth: 200})
		if len(data) > 1 && data[0] == 'a' && data[1] == ':' {
			// The lazy session scanner and the value decoder must agree.
			s, serr := DecodeSession(PHPSerialize, data, &Options{MaxDepth: 200})
			switch {
			case err == nil && serr != nil && !strings.Contains(serr.Error(), "session array itself"):
				t.Fatalf("value decodes but session scan fails: %v", serr)
			case serr == nil && err != nil && !strings.Contains(err.Error(), "trailing bytes"):
				t.Fatalf("session scan accepts but value decode fails: %v", err)
			case serr == nil && err == nil:
				c, cerr := s.Convert(PHPSerialize)
				if cerr != nil {
					t.Fatal(cerr)
				}
				a, aerr := c.Encode()
				b, berr := EncodeValue(v)
				if aerr != nil || berr != nil || !bytes.Equal(a, b) {
					t.Fatalf("session and value encodings differ: %q vs %q (%v %v)", a, b, aerr, berr)
				}
			}
		}
		if err != nil {
			return
		}
		enc, err := EncodeValue(v)
		if err != nil {
			t.Fatalf("encode of decoded %q: %v", data, err)
		}
		// The decoded value does not share memory with the input.
		buf := bytes.Clone(data)
		vb, err := DecodeValue(buf, &Options{MaxDepth: 200})
		if err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] ^= 0x55
		}
		if encb, err := EncodeValue(vb); err != nil || !bytes.Equal(encb, enc) {
			t.Fatalf("value changed with its input: %q vs %q (%v)", encb, enc, err)
		}
		v2, err := DecodeValue(enc, &Options{MaxDepth: 200})
		if err != nil {
			t.Fatalf("re-decode of %q (from %q): %v", enc, data, err)
		}
		enc2, err := EncodeValue(v2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("unstable: %q -> %q -> %q (%v)", data, enc, enc2, err)
		}
		if _, err := EncodeValue(CopyValue(v)); err != nil {
			t.Fatal(err)
		}
	})
}

func fuzzSession(t *testing.T, h Handler, data []byte) {
	opts := &Options{MaxDepth: 200}
	s, err := DecodeSession(h, data, opts)
	if err != nil {
		return
	}
	// Untouched: raw re-emission.
	enc, err := s.Encode()
	if err != nil {
		t.Fatalf("encode %q: %v", data, err)
	}
	s2, err := DecodeSession(h, enc, opts)
	if err != nil {
		t.Fatalf("re-decode %q (from %q): %v", enc, data, err)
	}
	enc2, err := s2.Encode()
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("unstable: %q -> %q -> %q (%v)", data, enc, enc2, err)
	}
	// Everything decoded, cloned and canonically re-encoded.
	for _, n := range s.Names() {
		if _, _, err := s.Get(n); err != nil {
			t.Fatalf("Get(%q) of validated %q: %v", n, data, err)
		}
	}
	c, err := s.Clone().Convert(h)
	if err != nil {
		t.Fatalf("convert: %v", err)
	}
	canon, err := c.Encode()
	if err != nil {
		t.Fatalf("canonical encode of %q: %v", data, err)
	}
	s3, err := DecodeSession(h, canon, opts)
	if err != nil {
		t.Fatalf("decode canonical %q: %v", canon, err)
	}
	c3, err := s3.Convert(h)
	if err != nil {
		t.Fatal(err)
	}
	canon2, err := c3.Encode()
	if err != nil || !bytes.Equal(canon, canon2) {
		t.Fatalf("canonical unstable: %q -> %q -> %q", data, canon, canon2)
	}
	// The raw re-emission and the values describe the same session.
	c2, err := s2.Convert(h)
	if err != nil {
		t.Fatal(err)
	}
	if canon4, err := c2.Encode(); err != nil || !bytes.Equal(canon, canon4) {
		t.Fatalf("raw and decoded disagree: %q: %q vs %q (%v)", data, canon, canon4, err)
	}
	enc3, err := s.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !s.Modified() && !bytes.Equal(enc3, enc) {
		t.Fatalf("unmodified session encodes differently after Gets: %q vs %q", enc3, enc)
	}
	_ = s.Size()
}

func FuzzDecodeSessionPHP(f *testing.F) {
	addSeeds(f, PHP, false)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSession(t, PHP, data) })
}

func FuzzDecodeSessionPHPBinary(f *testing.F) {
	addSeeds(f, PHPBinary, false)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSession(t, PHPBinary, data) })
}

func FuzzDecodeSessionPHPSerialize(f *testing.F) {
	addSeeds(f, PHPSerialize, false)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzSession(t, PHPSerialize, data) })
}
