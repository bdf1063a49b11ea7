package codec

import (
	"math"
	"strconv"
)

// FormatFloat appends f as PHP's serialize() writes it with
// serialize_precision=-1 (the default since PHP 7.1): the shortest digits
// that round-trip, fixed notation for 1e-4 <= |f| < 1e17 without a
// trailing ".0" ("1", "0.1", "100000"), otherwise "1.0E+17"/"1.5E-7"
// exponent notation, and "-0", "INF", "-INF", "NAN".
func FormatFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NAN"...)
	case math.IsInf(f, 1):
		return append(dst, "INF"...)
	case math.IsInf(f, -1):
		return append(dst, "-INF"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0"...)
		}
		return append(dst, '0')
	}
	// Small integers: fast path.
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	// Short decimals (prices, ratios): f = M / 10^k with the smallest k is
	// the shortest text that reads back as f, which is what PHP prints.
	if a := math.Abs(f); a >= 1e-4 && a < 1e9 {
		for k := 1; k <= 6; k++ {
			m := math.Round(f * pow10[k])
			if math.Abs(m) >= 1<<53 {
				break
			}
			// m and 10^k are exact, so the division is correctly rounded:
			// the decimal m/10^k reads back as f.
			if m/pow10[k] == f {
				return appendDecimal(dst, int64(m), k)
			}
		}
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	// e looks like "-d.ddde+XX" or "de-XX".
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	var digits [24]byte
	nd := 0
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	// exponent
	i++ // skip 'e'
	neg := e[i] == '-'
	i++
	x := 0
	for ; i < len(e); i++ {
		x = x*10 + int(e[i]-'0')
	}
	if neg {
		x = -x
	}
	decpt := x + 1
	d := digits[:nd]
	if decpt < -3 || decpt > 17 {
		dst = append(dst, d[0], '.')
		if nd == 1 {
			dst = append(dst, '0')
		} else {
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'E')
		if x < 0 {
			dst = append(dst, '-')
			x = -x
		} else {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(x), 10)
	}
	if decpt <= 0 {
		dst = append(dst, '0', '.')
		for j := decpt; j < 0; j++ {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	if decpt >= nd {
		dst = append(dst, d...)
		for j := nd; j < decpt; j++ {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, d[:decpt]...)
	dst = append(dst, '.')
	return append(dst, d[decpt:]...)
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6}

// appendDecimal appends m / 10^k in fixed notation (k >= 1, m not a
// multiple of 10).
func appendDecimal(dst []byte, m int64, k int) []byte {
	if m < 0 {
		dst = append(dst, '-')
		m = -m
	}
	var tmp [24]byte
	ds := strconv.AppendInt(tmp[:0], m, 10)
	if len(ds) <= k {
		dst = append(dst, '0', '.')
		for i := len(ds); i < k; i++ {
			dst = append(dst, '0')
		}
		return append(dst, ds...)
	}
	dst = append(dst, ds[:len(ds)-k]...)
	dst = append(dst, '.')
	return append(dst, ds[len(ds)-k:]...)
}

// phpNaN is the NAN PHP makes when it reads "NAN" (x86-64's default
// quiet NaN). Its bits matter to igbinary and msgpack, which write floats
// as raw IEEE bits.
var phpNaN = math.Float64frombits(0x7ff8000000000000)
