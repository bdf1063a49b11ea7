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
