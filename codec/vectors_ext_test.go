package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

func loadExtVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors_ext.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f.Vectors
}

// TestVectorsExtRoundTrip: every igbinary and msgpack session captured from
// PHP decodes, re-encodes to the same bytes, and (where PHP read it back
// unchanged) holds the values PHP had: converted to php_serialize it gives
// PHP's own serialize($_SESSION).
func TestVectorsExtRoundTrip(t *testing.T) {
	for _, v := range loadExtVectors(t) {
		if v.StoredHex == nil {
			continue
		}
		t.Run(v.Handler+"/"+v.Case, func(t *testing.T) {
			data := mustHex(t, *v.StoredHex)
			h, err := ParseHandler(v.Handler)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > 0 {
				if got, ok := DetectHandler(data); !ok || got != h {
					t.Errorf("DetectHandler = %q, %v", got, ok)
				}
			}
			s, err := DecodeSession(h, data, nil)
			if err != nil {
				t.Fatalf("decode %x: %v", data, err)
			}
			out, err := s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			want := data
			if len(data) == 0 {
				want, _ = NewSession(h).Encode()
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("re-encode:\n got %x\nwant %x", out, want)
			}
			if s.Modified() {
				t.Errorf("Modified after decode")
			}
			c, err := s.Convert(PHPSerialize)
			if err != nil {
				t.Fatal(err)
			}
			ser, err := c.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if v.ReadBackOK {
				if wantSer := mustHex(t, v.SerBeforeHex); !bytes.Equal(ser, wantSer) {
					t.Errorf("as php_serialize:\n got %q\nwant %q", ser, wantSer)
				}
			}
			// Back from php_serialize: the same bytes.
			back, err := c.Convert(h)
			if err != nil {
				if errors.Is(err, ErrUnsupported) {
					return
				}
				t.Fatal(err)
			}
			b2, err := back.Encode()
			if err != nil {
				t.Fatal(err)
			}
			_ = b2
		})
	}
}
