package bench

import (
	"bytes"
	"testing"
)

// TestCodecsAgree checks the stand-in and the project codec produce the
// same bytes on the seed session, and that both parse what they wrote.
func TestCodecsAgree(t *testing.T) {
	for _, size := range []int{0, 300, 4096} {
		seed := SeedSession(size)
		if _, err := splitSession(seed); err != nil {
			t.Fatalf("seed %d: %v", size, err)
		}
		a, b := seed, seed
		for i := 0; i < 3; i++ {
			var err error
			if a, err = (StandInCodec{}).Incr(a, "n"); err != nil {
				t.Fatal(err)
			}
			if b, err = (ProjectCodec{}).Incr(b, "n"); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(a, b) {
			t.Fatalf("size %d: stand-in %q\nproject %q", size, a, b)
		}
		for _, c := range []SessionCodec{StandInCodec{}, ProjectCodec{}} {
			if n, err := c.Int(a, "n"); err != nil || n != 3 {
				t.Fatalf("%s: n = %d, %v", c.Name(), n, err)
			}
		}
	}
}

func FuzzIntKey(f *testing.F) {
	f.Add(SeedSession(200))
	f.Add([]byte(`n|i:1;a|a:1:{i:0;s:1:"x";}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = IntKey(b, "n")
		_, _ = incrBlob(b, "n")
	})
}
