package codec

import (
	"errors"
	"strings"
	"testing"
)

func TestSmallAPI(t *testing.T) {
	o := NewObject("User")
	o.SetKey(MangledKey("a", Public, ""), Int(1))
	o.SetKey(MangledKey("b", Protected, ""), Int(2))
	o.SetKey(MangledKey("c", Private, "User"), Int(3))
	var names []string
	o.Range(func(m Member, v Value) bool {
		names = append(names, m.Visibility.String()+":"+m.Name)
		return true
	})
	if strings.Join(names, ",") != "public:a,protected:b,private:c" {
		t.Fatal(names)
	}
	if m, v := o.At(2); m.Class != "User" || v != Int(3) {
		t.Fatal(m, v)
	}
	if !o.Delete("c") || o.Delete("c") || !o.DeleteKey(MangledKey("b", Protected, "")) || o.Len() != 1 {
		t.Fatal("delete")
	}
	if _, ok := o.GetKey(RawStrKey("a")); !ok {
		t.Fatal("GetKey")
	}
	a := NewArrayOf(Int(1), Int(2))
	if !a.IsList() || len(a.Keys()) != 2 || a.Keys()[1].Int() != 1 {
		t.Fatal("list")
	}
	a.Set(StrKey("x"), Null{})
	if a.IsList() || a.Keys()[2].String() != "x" || a.Keys()[2].IsInt() {
		t.Fatal("keys")
	}
	if KindEnum.String() != "enum" || Kind(200).String() != "kind(200)" {
		t.Fatal("kind names")
	}
	for _, v := range []Value{Null{}, Bool(true), Int(1), Float(1), String(""), NewArray(), NewObject("X"),
		&Serializable{Class: "X"}, Serializable{Class: "X"}, Enum{"E", "C"}, &Reference{}} {
		_ = v.Kind().String()
	}
	v, n, err := DecodeValuePrefix([]byte("i:5;garbage"), nil)
	if err != nil || v != Int(5) || n != 4 {
		t.Fatal(v, n, err)
	}
	if _, err := DecodeValue([]byte("i:5;garbage"), nil); err == nil {
		t.Fatal("trailing bytes accepted")
	}
	s := NewSession(PHPBinary)
	if s.Handler() != PHPBinary || s.Handler().String() != "php_binary" {
		t.Fatal("handler")
	}
	if err := s.SetKey(IntKey(1), Null{}); !errors.Is(err, ErrInvalidName) {
		t.Fatal(err)
	}
	if err := s.SetKey(RawStrKey("7"), Null{}); err != nil { // as decoded from "\x017N;"
		t.Fatal(err)
	}
	if ks := s.Keys(); len(ks) != 1 || ks[0].String() != "7" {
		t.Fatal(ks)
	}
	if got := mustEncode(t, s); got != "\x017N;" {
		t.Fatalf("%q", got)
	}
}

// TestSerializablePayloadNumbering: objects and references inside a nested
// serialize() payload take numbers from the outer counter; verbatim
// payloads are numbered by walking their values, and renumbered when an
// earlier change moved the numbering.
func TestSerializablePayloadNumbering(t *testing.T) {
	// numbers: x=1, l=2, payload array=3, stdClass=4, inner array=5.
	in := `x|i:1;l|C:6:"Legacy":47:{a:2:{i:0;O:8:"stdClass":0:{}i:1;a:1:{i:0;R:4;}}}o|r:4;`
	s, err := DecodeSession(PHP, []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, s); got != in {
		t.Fatalf("untouched:\n%s\n%s", got, in)
	}
	c, err := s.Convert(PHP)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, c); got != in {
		t.Fatalf("from values:\n%s\n%s", got, in)
	}
	// Shift the numbering: x becomes a 2-element array (+2 numbers).
	if err := c.Set("x", NewArrayOf(Int(1), Int(2))); err != nil {
		t.Fatal(err)
	}
	want := `x|a:2:{i:0;i:1;i:1;i:2;}l|C:6:"Legacy":47:{a:2:{i:0;O:8:"stdClass":0:{}i:1;a:1:{i:0;R:6;}}}o|r:6;`
	if got := mustEncode(t, c); got != want {
		t.Fatalf("shifted:\n%s\n%s", got, want)
	}
	// And it reads back.
	if _, err := DecodeSession(PHP, []byte(want), nil); err != nil {
		t.Fatal(err)
	}
}

// A repeated key inside a Serializable payload overwrote a value that
// still took a number (PHP numbers every value it reads). Re-encoding from
// the values must not keep the payload's text while numbering what follows
// by the decoded payload: the payload is re-encoded, and references after
// it follow (found by FuzzDecodeValue).
func TestSerializablePayloadWithRepeatedKey(t *testing.T) {
	// numbers: outer=1, C "0"=2, payload array=3, b:0=4 (overwritten), i:0=5, C "00000000"=6
	in := `a:3:{i:0;C:1:"0":22:{a:2:{i:1;b:0;i:1;i:0;}}i:1;C:8:"00000000":0:{}i:2;r:6;}`
	want := `a:3:{i:0;C:1:"0":14:{a:1:{i:1;i:0;}}i:1;C:8:"00000000":0:{}i:2;r:5;}`
	v, err := DecodeValue([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := v.(*Array)
	target, _ := a.Get(IntKey(1))
	ref, _ := a.Get(IntKey(2))
	if Deref(ref) != target {
		t.Fatalf("r:6 decoded to %#v, want the second object %#v", ref, target)
	}
	enc, err := EncodeValue(v)
	if err != nil || string(enc) != want {
		t.Fatalf("encode: %q (%v), want %q", enc, err, want)
	}
	v2, err := DecodeValue(enc, nil)
	if err != nil {
		t.Fatalf("re-decode: %v", err)
	}
	if enc2, err := EncodeValue(v2); err != nil || string(enc2) != want {
		t.Fatalf("unstable: %q (%v)", enc2, err)
	}
	// The lazy session path agrees.
	s, err := DecodeSession(PHPSerialize, []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Its variables reference each other, so the session is encoded from
	// its values even untouched (PHP never writes a repeated key).
	if got := mustEncode(t, s); got != want {
		t.Fatalf("untouched session: %q, want %q", got, want)
	}
	c, err := s.Convert(PHPSerialize)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, c); got != want {
		t.Fatalf("converted: %q, want %q", got, want)
	}
}
