package codec

import (
	"os"
	"testing"
	"time"
)

// TestKnownBugSetRecursiveReference documents a problem found by the
// random interop test (seeds 4 and 12): Session.Set of a value holding a
// recursive PHP reference ($a[0] = &$a; $a[1] = &$a;) takes time
// exponential in the size-accounting walk (sizeOf in session.go follows
// references without remembering them, to depth 64). Set with
// PHPSESSION_KNOWN_BUGS=1 to run it.
func TestKnownBugSetRecursiveReference(t *testing.T) {
	if os.Getenv("PHPSESSION_KNOWN_BUGS") == "" {
		t.Skip("known bug in Session.Set size accounting; PHPSESSION_KNOWN_BUGS=1 runs it")
	}
	s, err := DecodeSession(PHP, []byte(`v|a:1:{i:0;a:2:{i:0;R:2;i:1;R:2;}}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := s.Get("v")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = s.Set("v", v); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Session.Set of a recursive array still running after 5s")
	}
}
