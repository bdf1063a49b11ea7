package codec

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestDecodeFloatFastPath: decimal floats decode bit-identically to
// strconv.ParseFloat, around the fast path's limits too.
func TestDecodeFloatFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []string{"0", "-0", "0.0", "-0.0", "+1.5", ".5", "5.", "-.5", "1e5", "0.1", "0.3",
		"123456789012345", "1234567890123456", "12345678901234.5", "1.23456789012345", "0.000000000000001",
		"999999999999999", "9999999999999999", "-999999999999999.", "9007199254740993", "412.35", "4.9",
		"000000000000000000001.5", "0.00000000000000000000000001"}
	for i := 0; i < 20000; i++ {
		nd := 1 + r.IntN(18)
		var b strings.Builder
		if r.IntN(2) == 0 {
			b.WriteByte('-')
		}
		dot := r.IntN(nd + 1)
		for j := 0; j < nd; j++ {
			if j == dot {
				b.WriteByte('.')
			}
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		cases = append(cases, b.String())
	}
	for _, c := range cases {
		want, err := strconv.ParseFloat(c, 64)
		if err != nil {
			continue
		}
		v, err := DecodeValueString("d:"+c+";", nil)
		if err != nil {
			t.Fatalf("%q: %v", c, err)
		}
		if got := float64(v.(Float)); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: got %v (%x), want %v (%x)", c, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}
