package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/phpsession/phpsession/internal/testenv"
)

func TestFormatFloatTable(t *testing.T) {
	tests := []struct {
		f    float64
		want string
	}{
		{0, "0"},
		{math.Copysign(0, -1), "-0"},
		{1, "1"},
		{-1, "-1"},
		{2, "2"},
		{100, "100"},
		{1.5, "1.5"},
		{0.1, "0.1"},
		{pointThree(), "0.30000000000000004"},
		{0.0001, "0.0001"},
		{0.00001, "1.0E-5"},
		{-1.25e-5, "-1.25E-5"},
		{1.5e-7, "1.5E-7"},
		{1e15, "1000000000000000"},
		{1e16, "10000000000000000"},
		{1e17, "1.0E+17"},
		{1.2345678901234568e17, "1.2345678901234568E+17"},
		{1e20, "1.0E+20"},
		{1e100, "1.0E+100"},
		{5e-324, "5.0E-324"},
		{math.MaxFloat64, "1.7976931348623157E+308"},
		{2.2250738585072014e-308, "2.2250738585072014E-308"},
		{math.Inf(1), "INF"},
		{math.Inf(-1), "-INF"},
		{math.NaN(), "NAN"},
		{-math.NaN(), "NAN"},
		{123456789012345678, "1.2345678901234568E+17"},
		{99999999999999999, "1.0E+17"},
		{9007199254740993, "9007199254740992"},
		{0.5, "0.5"},
		{0.001234, "0.001234"},
		{1234.5678, "1234.5678"},
		{-0.0001, "-0.0001"},
		{3.0e-4, "0.0003"},
	}
	for _, tt := range tests {
		got := string(FormatFloat(nil, tt.f))
		if got != tt.want {
			t.Errorf("FormatFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}

// TestFloatVectors checks the float_* vectors PHP wrote.
func TestFloatVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if v.Handler != "php" || !strings.HasPrefix(v.Case, "float_") || v.StoredHex == nil {
			continue
		}
		data := mustHex(t, *v.StoredHex)
		s, err := DecodeSession(PHP, data, nil)
		if err != nil {
			t.Fatal(err)
		}
		val, _, err := s.Get("v")
		if err != nil {
			t.Fatal(err)
		}
		f, ok := val.(Float)
		if !ok {
			t.Fatalf("%s: %T", v.Case, val)
		}
		want := string(data[len("v|d:") : len(data)-1])
		if got := string(FormatFloat(nil, float64(f))); got != want {
			t.Errorf("%s: FormatFloat = %q, PHP wrote %q", v.Case, got, want)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("only %d float vectors", n)
	}
}

func randomFloats(n int) []float64 {
	r := rand.New(rand.NewPCG(1, 2))
	fs := make([]float64, 0, n)
	for len(fs) < n {
		var f float64
		switch r.IntN(6) {
		case 0: // any bit pattern
			f = math.Float64frombits(r.Uint64())
		case 1: // around the fixed/exponent thresholds
			e := r.IntN(12) - 6
			if r.IntN(2) == 0 {
				e = 14 + r.IntN(6)
			}
			f = (r.Float64()*9 + 1) * math.Pow(10, float64(e))
		case 2: // integers
			f = float64(r.Int64N(1<<62)) / float64(uint64(1)<<r.IntN(62))
		case 3: // short decimals
			f = float64(r.IntN(100000)) / math.Pow(10, float64(r.IntN(10)))
		case 4: // subnormals and extremes
			f = math.Float64frombits(r.Uint64() & (1<<52 - 1))
			if r.IntN(2) == 0 {
				f = math.MaxFloat64 / float64(1+r.IntN(1000))
			}
		case 5: // exact powers of ten
			f = math.Pow(10, float64(r.IntN(40)-20))
		}
		if r.IntN(2) == 0 {
			f = -f
		}
		fs = append(fs, f)
	}
	return fs
}

// TestFormatFloatAgainstPHP runs real PHP on many random floats (one php
// process) and compares serialize() with FormatFloat.
func TestFormatFloatAgainstPHP(t *testing.T) {
	php := testenv.RequirePHP(t)
	fs := randomFloats(30000)
	var in bytes.Buffer
	var b [8]byte
	for _, f := range fs {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(f))
		in.WriteString(hex.EncodeToString(b[:]))
		in.WriteByte('\n')
	}
	script := `while (($l = fgets(STDIN)) !== false) { $f = unpack("e", hex2bin(trim($l)))[1]; echo serialize($f), "\n"; }`
	cmd := exec.Command(php, "-n", "-d", "serialize_precision=-1", "-r", script)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(fs) {
		t.Fatalf("php printed %d lines for %d floats", len(lines), len(fs))
	}
	bad := 0
	for i, f := range fs {
		want := lines[i]
		got := "d:" + string(FormatFloat(nil, f)) + ";"
		if got != want {
			bad++
			if bad < 20 {
				t.Errorf("%x (%v): got %s, PHP %s", math.Float64bits(f), f, got, want)
			}
		}
		// And PHP's text decodes to the same float.
		v, err := DecodeValueString(want, nil)
		if err != nil {
			t.Fatalf("decode %s: %v", want, err)
		}
		g := float64(v.(Float))
		if math.Float64bits(g) != math.Float64bits(f) && !(math.IsNaN(g) && math.IsNaN(f)) {
			t.Errorf("decode %s = %v, want %v", want, g, f)
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d floats differ", bad, len(fs))
	}
}

func pointThree() float64 {
	a, b := 0.1, 0.2
	return a + b
}
