package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func addExtSeeds(f *testing.F, h Handler) {
	f.Helper()
	for _, v := range loadExtVectors(f) {
		if Handler(v.Handler) == h && v.StoredHex != nil {
			if b, err := hex.DecodeString(*v.StoredHex); err == nil {
				f.Add(b)
			}
		}
	}
}

// fuzzExtSession: decoding never panics; what decodes encodes (or is refused
// with a documented error), and the encoding is stable under
// decode→encode; Convert to php_serialize works on it.
func fuzzExtSession(t *testing.T, h Handler, data []byte) {
	s, err := DecodeSession(h, data, &Options{MaxDepth: 200})
	if err != nil {
		if !errors.Is(err, ErrSyntax) {
			t.Fatalf("decode error %v is not ErrSyntax", err)
		}
		return
	}
	enc, err := s.Encode()
	if err != nil {
		if errors.Is(err, ErrInvalidName) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrDepth) {
			return
		}
		t.Fatalf("encode of decoded %x: %v", data, err)
	}
	s2, err := DecodeSession(h, enc, &Options{MaxDepth: 200})
	if err != nil {
		t.Fatalf("re-decode of %x (from %x): %v", enc, data, err)
	}
	enc2, err := s2.Encode()
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("unstable: %x → %x → %x (%v)", data, enc, enc2, err)
	}
	if c, err := s.Clone().Convert(PHPSerialize); err == nil {
		_, _ = c.Encode()
	}
}

// FuzzDecodeIgbinary fuzzes the igbinary session decoder.
func FuzzDecodeIgbinary(f *testing.F) {
	addExtSeeds(f, Igbinary)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtSession(t, Igbinary, data) })
}

// FuzzDecodeMsgpack fuzzes the msgpack session decoder.
func FuzzDecodeMsgpack(f *testing.F) {
	addExtSeeds(f, Msgpack)
	f.Fuzz(func(t *testing.T, data []byte) { fuzzExtSession(t, Msgpack, data) })
}
