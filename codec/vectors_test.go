package codec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

type vector struct {
	Case         string  `json:"case"`
	Handler      string  `json:"handler"`
	PHPSource    string  `json:"php_source"`
	StoredHex    *string `json:"stored_hex"`
	SerBeforeHex string  `json:"php_serialize_of_session_before"`
	SerAfterHex  string  `json:"php_serialize_of_session_after_read"`
	ReadBackOK   bool    `json:"read_back_identical"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
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

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVectorsSessionRoundTrip: every stored session decodes and re-encodes
// byte for byte, both untouched (raw re-emission) and fully decoded.
func TestVectorsSessionRoundTrip(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.StoredHex == nil {
			continue
		}
		t.Run(v.Handler+"/"+v.Case, func(t *testing.T) {
			data := mustHex(t, *v.StoredHex)
			h, err := ParseHandler(v.Handler)
			if err != nil {
				t.Fatal(err)
			}
			s, err := DecodeSession(h, data, nil)
			if err != nil {
				t.Fatalf("decode %q: %v", data, err)
			}
			out, err := s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			want := data
			if len(data) == 0 && h == PHPSerialize {
				want = []byte("a:0:{}")
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("untouched re-encode:\n got %q\nwant %q", out, want)
			}
			// Decode every value, mark them changed, re-encode.
			for _, n := range s.Names() {
				val, ok, err := s.Get(n)
				if err != nil || !ok {
					t.Fatalf("Get(%q): %v %v", n, ok, err)
				}
				_ = val
			}
			if s.Modified() {
				t.Errorf("Modified after read-only Gets")
			}
			out, err = s.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, want) {
				t.Fatalf("decoded re-encode:\n got %q\nwant %q", out, want)
			}
			// The whole session as one value (php_serialize of $_SESSION).
			ser := mustHex(t, v.SerAfterHex)
			val, err := DecodeValue(ser, nil)
			if err != nil {
				t.Fatalf("DecodeValue(%q): %v", ser, err)
			}
			enc, err := EncodeValue(val)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, ser) {
				t.Fatalf("value re-encode:\n got %q\nwant %q", enc, ser)
			}
		})
	}
}
