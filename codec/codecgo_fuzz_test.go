package codec

import (
	"testing"
)

// FuzzSessionJSON: any session bytes the decoder accepts render to JSON
// that reads back into a session encoding to the same bytes as the
// decoded session re-encoded from its values (canonical bytes: input
// spellings PHP never writes, such as i:00; or d:0.10;, are normalised).
func FuzzSessionJSON(f *testing.F) {
	for _, s := range []string{
		`a|i:1;b|R:1;`, `v|O:8:"stdClass":1:{s:4:"self";r:1;}`, `x|a:2:{i:0;d:0.1;s:1:"k";s:2:"\x00\xff";}`,
		`c|C:6:"Legacy":3:{abc}e|E:11:"Suit:Hearts";f|r:2;`, `v|a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}`,
		`o|O:2:"Pt":2:{s:4:"` + "\x00*\x00" + `y";i:2;s:5:"` + "\x00Pt\x00" + `z";N;}`,
	} {
		f.Add(uint8(0), []byte(s))
	}
	f.Add(uint8(1), []byte(`a:2:{s:1:"a";i:1;s:1:"b";R:2;}`))
	hs := []Handler{PHP, PHPSerialize, PHPBinary}
	f.Fuzz(func(t *testing.T, hi uint8, data []byte) {
		h := hs[int(hi)%len(hs)]
		s, err := DecodeSession(h, data, nil)
		if err != nil {
			return
		}
		c, err := s.Convert(h)
		if err != nil {
			return
		}
		want, err := c.Encode()
		if err != nil {
			return
		}
		j, err := SessionToJSON(s)
		if err != nil {
			t.Fatalf("render %q: %v", data, err)
		}
		back, err := SessionFromJSON(j, "")
		if err != nil {
			t.Fatalf("read back %s: %v", j, err)
		}
		got, err := back.Encode()
		if err != nil {
			t.Fatalf("encode %s: %v", j, err)
		}
		if string(got) != string(want) {
			t.Fatalf("JSON round trip of %q:\n got %q\nwant %q\njson %s", data, got, want, j)
		}
	})
}

// FuzzValueFromJSON: arbitrary JSON never panics; whatever is accepted
// renders back to JSON that reads as a value with the same encoding.
func FuzzValueFromJSON(f *testing.F) {
	for _, s := range []string{
		`null`, `{"float":"NAN"}`, `{"list":[1,"a",{"bytes":"AP8="}]}`, `{"array":[[5,true],["k",null]]}`,
		`{"object":"X","id":1,"members":[{"name":"self","value":{"same":1}},{"name":"p","visibility":"private","class":"X","value":1},{"key":3,"value":2}]}`,
		`{"ref":1,"value":{"list":[{"ref":1}]}}`, `{"serializable":"L","payload":"abc"}`, `{"enum":"Suit","case":"Hearts"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ValueFromJSON(data)
		if err != nil {
			return
		}
		want, err := EncodeValue(v)
		if err != nil {
			return // e.g. an invalid class name
		}
		j, err := ValueToJSON(v)
		if err != nil {
			t.Fatalf("render: %v", err)
		}
		v2, err := ValueFromJSON(j)
		if err != nil {
			t.Fatalf("read back %s: %v", j, err)
		}
		got, err := EncodeValue(v2)
		if err != nil || string(got) != string(want) {
			t.Fatalf("%s → %s: got %q (%v), want %q", data, j, got, err, want)
		}
	})
}

// FuzzUnmarshal: Unmarshal of arbitrary bytes into typed and untyped
// targets never panics.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{
		`a:2:{s:2:"id";i:1;s:5:"items";a:1:{i:0;a:2:{s:3:"sku";s:1:"x";s:3:"qty";i:70000;}}}`,
		`a:1:{i:0;R:1;}`, `O:8:"stdClass":1:{s:1:"a";i:1;}`, `d:1e400;`, `a:1:{s:3:"ptr";d:NAN;}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r goRec
		_ = Unmarshal(data, &r)
		var a any
		_ = Unmarshal(data, &a)
		var m map[int8][]uint8
		_ = Unmarshal(data, &m)
		var v Value
		_ = Unmarshal(data, &v)
	})
}
