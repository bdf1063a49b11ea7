package codec

import (
	"errors"
	"strings"
	"testing"
)

func mustSession(t *testing.T, h Handler, data string) *Session {
	t.Helper()
	s, err := DecodeSession(h, []byte(data), nil)
	if err != nil {
		t.Fatalf("DecodeSession(%s, %q): %v", h, data, err)
	}
	return s
}

func mustEncode(t *testing.T, s *Session) string {
	t.Helper()
	b, err := s.Encode()
	if err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return string(b)
}

func TestSessionBasics(t *testing.T) {
	s := mustSession(t, PHP, `a|i:1;b|s:1:"x";c|a:1:{i:0;i:1;}`)
	if s.Len() != 3 || strings.Join(s.Names(), ",") != "a,b,c" || !s.Has("b") || s.Has("z") {
		t.Fatalf("names %v", s.Names())
	}
	if v, ok, err := s.Get("a"); err != nil || !ok || v != Int(1) {
		t.Fatalf("Get a = %v %v %v", v, ok, err)
	}
	if s.Modified() {
		t.Fatal("modified after scalar Get")
	}
	v, _, _ := s.Get("c")
	if s.Modified() {
		t.Fatal("modified after container Get without change")
	}
	v.(*Array).Append(Int(2))
	if !s.Modified() {
		t.Fatal("not modified after in-place change")
	}
	if got := mustEncode(t, s); got != `a|i:1;b|s:1:"x";c|a:2:{i:0;i:1;i:1;i:2;}` {
		t.Fatalf("encode %q", got)
	}
	if err := s.Set("d", Float(0.5)); err != nil {
		t.Fatal(err)
	}
	if !s.Delete("a") || s.Delete("a") {
		t.Fatal("Delete")
	}
	if got := mustEncode(t, s); got != `b|s:1:"x";c|a:2:{i:0;i:1;i:1;i:2;}d|d:0.5;` {
		t.Fatalf("encode %q", got)
	}
	if s.Size() <= 0 {
		t.Fatal("Size")
	}
}

func TestSessionEmpty(t *testing.T) {
	for _, h := range []Handler{PHP, PHPBinary, PHPSerialize} {
		s := mustSession(t, h, "")
		want := ""
		if h == PHPSerialize {
			want = "a:0:{}"
		}
		if got := mustEncode(t, s); got != want || s.Len() != 0 {
			t.Errorf("%s: %q", h, got)
		}
	}
	s := mustSession(t, PHPSerialize, "N;")
	if s.Len() != 0 {
		t.Fatal("N; not empty")
	}
}

func TestSessionNames(t *testing.T) {
	tests := []struct {
		h    Handler
		name string
		ok   bool
	}{
		{PHP, "a|b", false},
		{PHP, "7", false},
		{PHP, "-7", false},
		{PHP, "07", true},
		{PHP, "", true},
		{PHP, "!x", true},
		{PHP, "a\x00b", true},
		{PHPBinary, strings.Repeat("k", 127), true},
		{PHPBinary, strings.Repeat("k", 128), false},
		{PHPBinary, "a|b", true},
		{PHPBinary, "7", false},
		{PHPSerialize, "a|b", true},
		{PHPSerialize, "7", true},
		{PHPSerialize, strings.Repeat("k", 300), true},
	}
	for _, tt := range tests {
		s := NewSession(tt.h)
		err := s.Set(tt.name, Int(1))
		if (err == nil) != tt.ok {
			t.Errorf("%s Set(%q): %v", tt.h, tt.name, err)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalidName) {
				t.Errorf("%v is not ErrInvalidName", err)
			}
			if s.Len() != 0 || s.Modified() {
				t.Errorf("failed Set changed the session")
			}
		}
	}
	if _, err := ParseHandler("wddx"); !errors.Is(err, ErrUnknownHandler) {
		t.Fatal(err)
	}
	// Decoded numeric names ("7|") are kept and re-encoded as they were.
	s := mustSession(t, PHP, `7|i:1;`)
	if got := mustEncode(t, s); got != `7|i:1;` {
		t.Fatal(got)
	}
	// php_serialize int keys are reachable by their decimal name.
	s = mustSession(t, PHPSerialize, `a:2:{i:7;s:5:"seven";s:2:"ok";i:1;}`)
	if v, ok, _ := s.Get("7"); !ok || v != String("seven") {
		t.Fatal("Get 7")
	}
	if _, err := s.Convert(PHP); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("convert int key to php: %v", err)
	}
}

// TestSessionReferences: one counter across the blob, cross-entry references,
// renumbering when an earlier variable changes.
func TestSessionReferences(t *testing.T) {
	// Cross-entry references decode as shared values.
	s := mustSession(t, PHP, `a|O:8:"stdClass":1:{s:1:"n";i:1;}b|r:1;c|a:1:{i:0;r:1;}`)
	a, _, _ := s.Get("a")
	b, _, _ := s.Get("b")
	if a != b {
		t.Fatal("r: across entries is not the same object")
	}
	if got := mustEncode(t, s); got != `a|O:8:"stdClass":1:{s:1:"n";i:1;}b|r:1;c|a:1:{i:0;r:1;}` {
		t.Fatal(got)
	}
	s = mustSession(t, PHP, `a|i:1;b|R:1;`)
	ra, _, _ := s.Get("a")
	rb, _, _ := s.Get("b")
	if r, ok := ra.(*Reference); !ok || ra != rb || r.V != Int(1) {
		t.Fatalf("R: across entries: %#v %#v", ra, rb)
	}
	ra.(*Reference).V = Int(5)
	if got := mustEncode(t, s); got != `a|i:5;b|R:1;` {
		t.Fatal(got)
	}
	c, err := s.Convert(PHPSerialize)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, c); got != `a:2:{s:1:"a";i:5;s:1:"b";R:2;}` {
		t.Fatal(got)
	}

	// Renumbering: an earlier variable grows, a later one keeps its
	// internal references right.
	s = mustSession(t, PHP, `x|i:1;v|a:2:{i:0;O:8:"stdClass":0:{}i:1;r:3;}`)
	if err := s.Set("x", NewArrayOf(Int(1), Int(2))); err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, s); got != `x|a:2:{i:0;i:1;i:1;i:2;}v|a:2:{i:0;O:8:"stdClass":0:{}i:1;r:5;}` {
		t.Fatal(got)
	}
	s.Delete("x")
	if got := mustEncode(t, s); got != `v|a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}` {
		t.Fatal(got)
	}
	// The same under php_serialize (outer array is value 1) and conversion.
	s = mustSession(t, PHPSerialize, `a:2:{s:1:"x";i:1;s:1:"v";a:2:{i:0;O:8:"stdClass":0:{}i:1;r:4;}}`)
	p, err := s.Convert(PHP)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, p); got != `x|i:1;v|a:2:{i:0;O:8:"stdClass":0:{}i:1;r:3;}` {
		t.Fatal(got)
	}
	pb, err := p.Convert(PHPBinary)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustEncode(t, pb); got != "\x01xi:1;\x01va:2:{i:0;O:8:\"stdClass\":0:{}i:1;r:3;}" {
		t.Fatalf("%q", got)
	}
	// A shared object Set into two variables is written once.
	s = NewSession(PHP)
	o := NewObject("stdClass")
	s.Set("a", o)
	s.Set("b", o)
	if got := mustEncode(t, s); got != `a|O:8:"stdClass":0:{}b|r:1;` {
		t.Fatal(got)
	}
	// A later variable referring into an earlier one's array.
	s = mustSession(t, PHP, `a|a:2:{i:0;i:5;i:1;O:8:"stdClass":0:{}}b|R:2;c|r:3;`)
	bv, _, _ := s.Get("b")
	av, _, _ := s.Get("a")
	if e0, _ := av.(*Array).Get(IntKey(0)); e0 != bv {
		t.Fatal("R: into an earlier array is not shared")
	}
	bv.(*Reference).V = Int(6)
	if got := mustEncode(t, s); got != `a|a:2:{i:0;i:6;i:1;O:8:"stdClass":0:{}}b|R:2;c|r:3;` {
		t.Fatal(got)
	}
	// Opaque Serializable payload that parses as a value, then references.
	s = mustSession(t, PHP, `a|C:6:"Legacy":2:{N;}b|r:1;c|O:8:"stdClass":1:{s:4:"self";r:3;}`)
	if got := mustEncode(t, s); got != `a|C:6:"Legacy":2:{N;}b|r:1;c|O:8:"stdClass":1:{s:4:"self";r:3;}` {
		t.Fatal(got)
	}
	if c, _, _ := s.Get("c"); c.(*Object) != func() Value { v, _ := c.(*Object).Get("self"); return v }() {
		t.Fatal("self reference not resolved to the object")
	}
	av, _, _ = s.Get("a")
	if !av.(*Serializable).Opaque {
		t.Fatal("Opaque not set")
	}
	// The same graph built by hand encodes the same way.
	leg := &Serializable{Class: "Legacy", Payload: []byte("N;"), Opaque: true}
	self := NewObject("stdClass")
	self.Set("self", self)
	hb := NewSession(PHP)
	hb.Set("a", leg)
	hb.Set("b", leg)
	hb.Set("c", self)
	if got := mustEncode(t, hb); got != `a|C:6:"Legacy":2:{N;}b|r:1;c|O:8:"stdClass":1:{s:4:"self";r:3;}` {
		t.Fatal(got)
	}
	// Reference to the session array itself is refused (php_serialize).
	if _, err := DecodeSession(PHPSerialize, []byte(`a:1:{s:1:"a";R:1;}`), nil); err == nil {
		t.Fatal("R:1 in php_serialize accepted")
	}
}

func TestSessionCloneIsolation(t *testing.T) {
	orig := mustSession(t, PHP, `n|i:1;cart|a:1:{i:0;a:1:{s:2:"id";i:7;}}o|O:8:"stdClass":0:{}p|r:5;`)
	// Expose a container in the original before cloning.
	oc, _, _ := orig.Get("cart")
	c := orig.Clone()
	cc, _, _ := c.Get("cart")
	if cc == oc {
		t.Fatal("clone shares a decoded container")
	}
	item, _ := cc.(*Array).Get(IntKey(0))
	item.(*Array).Set(StrKey("id"), Int(8))
	cc.(*Array).Append(Int(9))
	co, _, _ := c.Get("o")
	co.(*Object).Set("x", Int(1))
	c.Set("n", Int(2))
	c.Delete("p")
	if got := mustEncode(t, orig); got != `n|i:1;cart|a:1:{i:0;a:1:{s:2:"id";i:7;}}o|O:8:"stdClass":0:{}p|r:5;` {
		t.Fatalf("original changed: %q", got)
	}
	if orig.Modified() {
		t.Fatal("original reports modified")
	}
	if got := mustEncode(t, c); got != `n|i:2;cart|a:2:{i:0;a:1:{s:2:"id";i:8;}i:1;i:9;}o|O:8:"stdClass":1:{s:1:"x";i:1;}` {
		t.Fatalf("clone: %q", got)
	}
	// Mutating the original's exposed container does not reach a clone.
	c2 := orig.Clone()
	oc.(*Array).Append(Int(1))
	if got := mustEncode(t, c2); got != `n|i:1;cart|a:1:{i:0;a:1:{s:2:"id";i:7;}}o|O:8:"stdClass":0:{}p|r:5;` {
		t.Fatalf("clone changed by original: %q", got)
	}
	// Shared identity survives cloning in whole-blob mode.
	c3 := orig.Clone()
	o3, _, _ := c3.Get("o")
	p3, _, _ := c3.Get("p")
	if o3 != p3 {
		t.Fatal("clone lost shared object identity")
	}
}

func TestSessionBinaryAndSerializeErrors(t *testing.T) {
	tests := []struct {
		h      Handler
		in     string
		offset int
	}{
		{PHP, "a|i:1;b", 6},
		{PHP, "a|i:1;\n", 6},
		{PHP, "a|i:1;b|i:2", 11},
		{PHPBinary, "\x81x", 0},
		{PHPBinary, "\x01xi:1;\x05y", 6},
		{PHPSerialize, "garbage", 0},
		{PHPSerialize, "i:5;", 0},
		{PHPSerialize, "a:1:{s:1:\"a\";i:1;", 17},
	}
	for _, tt := range tests {
		_, err := DecodeSession(tt.h, []byte(tt.in), nil)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s %q: %v", tt.h, tt.in, err)
			continue
		}
		if se.Offset != tt.offset {
			t.Errorf("%s %q: offset %d, want %d (%v)", tt.h, tt.in, se.Offset, tt.offset, err)
		}
	}
}

func TestSessionRangeAndSize(t *testing.T) {
	s := mustSession(t, PHP, `a|i:1;b|a:1:{i:0;s:3:"xyz";}c|N;`)
	var names []string
	if err := s.Range(func(n string, v Value) bool {
		names = append(names, n+":"+v.Kind().String())
		return n != "b"
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a:int,b:array" {
		t.Fatal(names)
	}
	base := s.Size()
	big := String(strings.Repeat("x", 10000))
	s.Set("big", big)
	if s.Size() < base+10000 {
		t.Fatalf("Size %d after adding 10 kB to %d", s.Size(), base)
	}
	for i := 0; i < 100; i++ {
		s.Set("big", big)
	}
	if s.Size() > base+20000 {
		t.Fatalf("Size grows on repeated Set: %d", s.Size())
	}
	s.Delete("big")
	if s.Size() > base+1000 {
		t.Fatalf("Size %d after Delete, base %d", s.Size(), base)
	}
}

// TestSharedGraphCosts: a decoded graph where every object refers twice to
// the previous one has exponentially many paths; Set, Size, Clone,
// Modified and Encode must stay linear.
func TestSharedGraphCosts(t *testing.T) {
	var b strings.Builder
	const n = 60
	b.WriteString("v|a:" + itoa(n) + ":{")
	for i := 0; i < n; i++ {
		b.WriteString("i:" + itoa(i) + ";")
		if i == 0 {
			b.WriteString(`O:8:"stdClass":0:{}`)
			continue
		}
		// object i has two members pointing to object i-1 (value numbers:
		// the array is 1, object i is 2+3i... computed below)
		prev := 2 + 3*(i-1)
		b.WriteString(`O:8:"stdClass":2:{s:1:"a";r:` + itoa(prev) + `;s:1:"b";r:` + itoa(prev) + `;}`)
	}
	b.WriteString("}")
	in := b.String()
	// Fix up the numbering: object 0 takes one number, each later object three.
	in = strings.Replace(in, `i:0;O:8:"stdClass":0:{}`, `i:0;O:8:"stdClass":2:{s:1:"a";N;s:1:"b";N;}`, 1)
	s := mustSession(t, PHP, in)
	v, _, err := s.Get("v")
	if err != nil {
		t.Fatal(err)
	}
	c := NewSession(PHP)
	if err := c.Set("v", v); err != nil {
		t.Fatal(err)
	}
	if c.Size() > 1<<20 {
		t.Fatalf("Size %d", c.Size())
	}
	cl := s.Clone()
	if !cl.Modified() && mustEncode(t, cl) != in {
		t.Fatal("clone differs")
	}
	if got := mustEncode(t, c); got != in {
		t.Fatalf("re-encode differs:\n%s\n%s", got, in)
	}
}
