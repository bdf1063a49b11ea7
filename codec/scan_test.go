package codec

import (
	"encoding/hex"
	"fmt"
	"os"
	"testing"
)

// scanBoth runs the fast scanner and the general decoder in scan mode on
// the same input and describes both outcomes.
func scanBoth(data string, maxDepth int) (fast, slow string) {
	run := func(fastPath bool) string {
		d := decoder{d: data, maxDepth: maxDepth, noKinds: true}
		var err error
		if fastPath {
			err = d.scanValue(0)
		} else {
			err = d.value(nil, 0, 0)
		}
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("pos=%d nslot=%d hasRef=%v crossRef=%v needKinds=%v amb=%q",
			d.pos, d.nslot, d.hasRef, d.crossRef, d.needKinds, d.ambiguous)
	}
	return run(true), run(false)
}

func scanSeeds(t testing.TB) []string {
	seeds := []string{
		`a:0:{}`, `a:1:{i:0;a:1:{i:0;a:0:{}}}`, `a:2:{s:1:"a";N;s:1:"b";b:1;}`,
		`a:3:{i:-5;d:-1.5;i:7;d:1e5;s:0:"";d:.5;}`, `d:NAN;`, `d:-INF;`, `i:+1;`,
		`i:1234567890123456789;`, `i:-123456789012345678;`, `s:01:"a";`, `S:1:"\61";`,
		`a:1:{S:1:"\61";i:1;}`, `O:8:"stdClass":1:{s:1:"a";r:1;}`, `a:2:{i:0;i:1;i:1;R:2;}`,
		`a:1:{i:0;C:3:"Foo":4:{N;N;}}`, `E:7:"Foo:Bar";`, `a:2:{i:0;}`, `a:1:{i:0;i:1;`,
		`a:9:{}`, `s:5:"ab";`, `s:2:"ab"`, `b:2;`, `N:`, `a:1:{d:1;i:1;}`, `a:1:{i:0;d:1.;}`,
		`a:1:{i:0;d:;}`, `a:1:{i:0;d:-;}`, `a:1:{i:0;i:-;}`, `a:1:{i:0;i:;}`, `i:1`,
		`a:1000000000:{}`, `s:1000000000:"a";`, `a:1:{i:0;a:1:{i:0;a:1:{i:0;N;}}}`,
		`a:1:{s:2:"ab";i:1;}x`, `r:1;`, `R:1;`, `x`, ``, `a`, `a:`, `s:`, `d:1.5e+3;`,
	}
	for _, h := range []Handler{PHPSerialize} {
		if b, err := os.ReadFile("testdata/bench_session_" + string(h) + ".bin"); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	for _, v := range loadVectors(t) {
		if b, err := hex.DecodeString(v.SerAfterHex); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	return seeds
}

// TestScanValueAgrees: the session scanner's fast path accepts exactly
// what the general decoder accepts, with the same position, numbering
// and error, also on every truncation and many one-byte changes of the
// seeds.
func TestScanValueAgrees(t *testing.T) {
	check := func(data string, md int) {
		t.Helper()
		if f, s := scanBoth(data, md); f != s {
			t.Fatalf("maxDepth %d, input %q:\nfast: %s\nslow: %s", md, data, f, s)
		}
	}
	repl := []byte{'0', '1', '9', ':', ';', '"', '{', '}', '-', '.', 'a', 's', 'i', 'd', 'N', 'b', 'x', 0xff}
	for _, seed := range scanSeeds(t) {
		for _, md := range []int{1, 2, 3, 4096} {
			check(seed, md)
		}
		if len(seed) > 600 && testing.Short() {
			continue
		}
		for i := 0; i <= len(seed); i++ {
			check(seed[:i], 4096)
			if i < len(seed) {
				b := []byte(seed)
				for _, c := range repl {
					b[i] = c
					check(string(b), 4096)
				}
			}
		}
	}
}

func FuzzScanValue(f *testing.F) {
	for _, s := range scanSeeds(f) {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, md uint8) {
		maxDepth := int(md)%8 + 1
		if md >= 128 {
			maxDepth = 4096
		}
		if fa, sl := scanBoth(string(data), maxDepth); fa != sl {
			t.Fatalf("maxDepth %d, input %q:\nfast: %s\nslow: %s", maxDepth, data, fa, sl)
		}
	})
}
