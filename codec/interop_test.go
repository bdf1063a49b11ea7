package codec

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestPHPInterop runs real PHP on testdata/interop_cases.php (references,
// shared objects, cycles, Serializable payloads sharing the counter, enums,
// visibility, SPL classes) and checks, for every case and handler: decode →
// encode is byte-identical (untouched and fully decoded), and Convert to
// each other handler gives exactly the bytes PHP writes under that handler.
func TestPHPInterop(t *testing.T) {
	checkInterop(t, runPHPSessions(t, "testdata/interop_cases.php"))
}

// TestPHPInteropRandom does the same for randomly generated sessions
// (nested arrays with int, numeric-string and binary keys, random float bit
// patterns, binary strings, objects shared at random, enums, references
// between variables and recursive arrays).
func TestPHPInteropRandom(t *testing.T) {
	n := "150"
	if testing.Short() {
		n = "30"
	}
	seed := "42"
	if s := os.Getenv("CODEC_INTEROP_SEED"); s != "" { // to explore more sessions
		seed = s
	}
	checkInterop(t, runPHPSessions(t, "testdata/interop_random.php", seed, n))
}

func runPHPSessions(t *testing.T, script string, args ...string) []byte {
	t.Helper()
	php := testenv.RequirePHP(t)
	argv := append([]string{"-n", "-d", "session.save_handler=files", "-d", "session.save_path=" + t.TempDir(),
		"-d", "session.use_cookies=0", "-d", "serialize_precision=-1", script}, args...)
	out, err := exec.Command(php, argv...).Output()
	if err != nil {
		t.Fatalf("php %s: %v", script, err)
	}
	return out
}

func checkInterop(t *testing.T, out []byte) {
	t.Helper()
	cases := map[string]map[Handler][]byte{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("bad line %q", line)
		}
		b, err := hex.DecodeString(f[2])
		if err != nil {
			t.Fatal(err)
		}
		if cases[f[0]] == nil {
			cases[f[0]] = map[Handler][]byte{}
			order = append(order, f[0])
		}
		cases[f[0]][Handler(f[1])] = b
	}
	if len(order) < 5 {
		t.Fatalf("only %d cases", len(order))
	}
	handlers := []Handler{PHP, PHPBinary, PHPSerialize}
	for _, name := range order {
		for _, h := range handlers {
			data := cases[name][h]
			t.Run(name+"/"+string(h), func(t *testing.T) {
				s, err := DecodeSession(h, data, nil)
				if err != nil {
					t.Fatalf("decode %q: %v", data, err)
				}
				if got := mustEncode(t, s); got != string(data) {
					t.Fatalf("untouched:\n got %q\nwant %q", got, data)
				}
				// Fully decoded and re-encoded from values.
				full, err := s.Convert(h)
				if err != nil {
					t.Fatal(err)
				}
				if got := mustEncode(t, full); got != string(data) {
					t.Fatalf("from values:\n got %q\nwant %q", got, data)
				}
				// Clones encode the same.
				if got := mustEncode(t, full.Clone()); got != string(data) {
					t.Fatalf("clone:\n got %q\nwant %q", got, data)
				}
				for _, h2 := range handlers {
					c, err := s.Convert(h2)
					if err != nil {
						t.Fatalf("convert to %s: %v", h2, err)
					}
					got, err := c.Encode()
					if err != nil {
						t.Fatal(err)
					}
					if want := cases[name][h2]; !bytes.Equal(got, want) {
						t.Fatalf("convert to %s:\n got %q\nwant %q", h2, got, want)
					}
				}
			})
		}
	}
}
