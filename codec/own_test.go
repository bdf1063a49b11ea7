package codec

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestDecodeValueDoesNotRetainInput: DecodeValue parses a view of the
// caller's bytes and copies what it keeps, so overwriting the input
// afterwards must not change the decoded value.
func TestDecodeValueDoesNotRetainInput(t *testing.T) {
	inputs := [][]byte{
		[]byte(`a:4:{s:3:"key";s:5:"value";i:7;O:3:"Foo":2:{s:1:"a";s:3:"abc";s:6:"` + "\x00*\x00prot" + `";E:7:"Foo:Bar";}s:1:"c";C:3:"Foo":23:{a:1:{s:1:"x";s:1:"y";}}s:1:"d";a:1:{S:3:"\61bc";S:3:"\61bc";}}`),
		[]byte(`a:2:{i:0;O:8:"stdClass":1:{s:4:"self";r:2;}i:1;R:2;}`),
	}
	for _, v := range loadVectors(t) {
		if b, err := hex.DecodeString(v.SerAfterHex); err == nil {
			inputs = append(inputs, b)
		}
	}
	for _, in := range inputs {
		want, err := DecodeValueString(string(in), nil)
		if err != nil {
			continue
		}
		wantEnc, err := EncodeValue(want)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Clone(in)
		got, err := DecodeValue(buf, nil)
		if err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		for i := range buf {
			buf[i] = 'Z'
		}
		gotEnc, err := EncodeValue(got)
		if err != nil || !bytes.Equal(gotEnc, wantEnc) {
			t.Fatalf("%q: after overwriting the input: %q, want %q (%v)", in, gotEnc, wantEnc, err)
		}
	}
}
