package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// phpsessBin is the command built once for the tests that drive it.
var phpsessBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "phpsess-test-")
	if err != nil {
		panic(err)
	}
	phpsessBin = filepath.Join(dir, "phpsess")
	out, err := exec.Command("go", "build", "-o", phpsessBin, ".").CombinedOutput()
	if err != nil {
		os.RemoveAll(dir)
		panic("go build: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runBin runs the built phpsess with stdin and returns stdout, stderr and
// the exit status.
func runBin(t testing.TB, stdin []byte, args ...string) ([]byte, string, int) {
	t.Helper()
	cmd := exec.Command(phpsessBin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.Bytes(), se.String(), code
}

type vector struct {
	Case       string  `json:"case"`
	Handler    string  `json:"handler"`
	StoredHex  *string `json:"stored_hex"`
	ReadBackOK bool    `json:"read_back_identical"`
}

// loadVectors reads the PHP captures kept by the codec package.
func loadVectors(t testing.TB) map[string]map[string][]byte {
	t.Helper()
	b, err := os.ReadFile("../../codec/testdata/vectors.json")
	require.NoError(t, err)
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	out := map[string]map[string][]byte{}
	for _, v := range f.Vectors {
		if v.StoredHex == nil || !v.ReadBackOK {
			continue
		}
		switch v.Handler {
		case "php", "php_serialize", "php_binary":
		default:
			continue
		}
		data, err := hex.DecodeString(*v.StoredHex)
		require.NoError(t, err)
		if out[v.Case] == nil {
			out[v.Case] = map[string][]byte{}
		}
		out[v.Case][v.Handler] = data
	}
	return out
}

var handlers = []string{"php", "php_serialize", "php_binary"}

// TestDecodeEncodeVectors: decode | encode reproduces PHP's bytes.
func TestDecodeEncodeVectors(t *testing.T) {
	n := 0
	for name, byH := range loadVectors(t) {
		for _, h := range handlers {
			data, ok := byH[h]
			if !ok {
				continue
			}
			j, stderr, code := runBin(t, data, "decode", "--handler", h)
			require.Equal(t, 0, code, "%s/%s: %s", h, name, stderr)
			out, stderr, code := runBin(t, j, "encode", "--handler", h)
			require.Equal(t, 0, code, "%s/%s: %s", h, name, stderr)
			assert.Equal(t, string(data), string(out), "%s/%s via %s", h, name, j)
			n++
		}
	}
	t.Logf("%d sessions", n)
}

// TestConvertVectors: convert gives what PHP stored for the same session
// under the target serializer, or an error where PHP loses data.
func TestConvertVectors(t *testing.T) {
	same, refused := 0, 0
	for name, byH := range loadVectors(t) {
		for _, from := range handlers {
			for _, to := range handlers {
				in, ok1 := byH[from]
				want, ok2 := byH[to]
				if !ok1 || !ok2 || from == to {
					continue
				}
				out, stderr, code := runBin(t, in, "convert", "--from", from, "--to", to)
				if code != 0 {
					// Only names the target cannot hold may be refused.
					assert.Contains(t, stderr, "invalid name", "%s %s→%s", name, from, to)
					assert.Equal(t, 1, strings.Count(stderr, "\n"), stderr)
					refused++
					continue
				}
				assert.Equal(t, string(want), string(out), "%s %s→%s", name, from, to)
				same++
			}
		}
	}
	t.Logf("%d conversions equal PHP's bytes, %d refused (names the target cannot hold)", same, refused)
	assert.Greater(t, same, 300)
}

func TestCLIErrors(t *testing.T) {
	tests := []struct {
		name   string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"bad php session", `a|i:1;b|s:5:"x";`, []string{"decode", "--handler", "php"}, 1, "offset"},
		{"trailing junk", "a|i:1;\n", []string{"decode"}, 1, "offset"},
		{"bad ref", `a|R:7;`, []string{"convert", "--from", "php", "--to", "php_serialize"}, 1, "offset"},
		{"huge count", `a|a:2147483647:{`, []string{"decode"}, 1, "offset"},
		{"bad json", `{"handler":"php","vars":[["a",1.5]]}`, []string{"encode"}, 1, "float"},
		{"invalid name", `{"handler":"php","vars":[["a|b",1]]}`, []string{"encode"}, 1, "invalid name"},
		{"unknown handler", ``, []string{"decode", "--handler", "igbinary2"}, 2, "not a serializer"},
		{"missing flags", ``, []string{"convert", "--from", "php"}, 2, "--to"},
		{"unknown flag", ``, []string{"decode", "--nope"}, 2, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := runBin(t, []byte(tt.stdin), tt.args...)
			assert.Equal(t, tt.code, code, stderr)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tt.stderr)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
			assert.True(t, strings.HasPrefix(stderr, "phpsess: "), stderr)
		})
	}
}

func TestDecodePretty(t *testing.T) {
	out, stderr, code := runBin(t, []byte(`a:1:{s:1:"x";d:0.5;}`), "decode", "--handler", "php_serialize", "--pretty")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "{\n  \"handler\": \"php_serialize\",\n  \"vars\": [\n    [\n      \"x\",\n      {\n        \"float\": \"0.5\"\n      }\n    ]\n  ]\n}\n", string(out))
	back, stderr, code := runBin(t, out, "encode")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, `a:1:{s:1:"x";d:0.5;}`, string(back))
}
