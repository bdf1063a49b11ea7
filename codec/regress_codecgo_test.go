package codec

import (
	"testing"
	"time"
)

// TestSetRecursiveReferenceIsFast: Session.Set of a value holding a
// recursive PHP reference ($a[0] = &$a; $a[1] = &$a;) returns promptly
// (its size accounting once took time exponential in the nesting; found by
// the random interop test, seeds 4 and 12).
func TestSetRecursiveReferenceIsFast(t *testing.T) {
	s, err := DecodeSession(PHP, []byte(`v|a:1:{i:0;a:2:{i:0;R:2;i:1;R:2;}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Get("v")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Set("v", v) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Session.Set of a recursive array still running after 10s")
	}
	b, err := s.Encode()
	if err != nil || string(b) != `v|a:1:{i:0;a:2:{i:0;R:2;i:1;R:2;}}` {
		t.Fatalf("%q %v", b, err)
	}
}

// TestRefIntoSerializablePayload: a value outside a Serializable payload
// that points (r:) at an object inside it (a class whose serialize()
// calls serialize(), sharing PHP's counter) re-encodes as PHP wrote it.
func TestRefIntoSerializablePayload(t *testing.T) {
	for _, in := range []string{
		`a|C:6:"Nested":19:{O:8:"stdClass":0:{}}b|r:2;`,
		`x|C:6:"Nested":29:{a:1:{i:0;O:8:"stdClass":0:{}}}y|a:1:{i:0;r:3;}`,
		`x|i:5;a|C:6:"Nested":22:{a:2:{i:0;i:1;i:1;R:1;}}`,
		`x|a:1:{i:0;i:5;}a|C:6:"Nested":14:{a:1:{i:0;R:2;}}`,
		`x|C:6:"Legacy":2:{N;}a|O:8:"stdClass":1:{s:4:"self";r:2;}`,
		`x|C:6:"Nested":18:{E:10:"Suit:Clubs";}y|r:2;z|r:2;`,
	} {
		s, err := DecodeSession(PHP, []byte(in), nil)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		b, err := s.Encode()
		if err != nil || string(b) != in {
			t.Errorf("lazy: %q %v, want %q", b, err, in)
		}
		j, err := SessionToJSON(s)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		s2, err := SessionFromJSON(j, "")
		if err != nil {
			t.Errorf("%s: %v", j, err)
			continue
		}
		if b, err := s2.Encode(); err != nil || string(b) != in {
			t.Errorf("JSON: %q %v, want %q (%s)", b, err, in, j)
		}
	}
}
