package codec

// LZF (liblzf's format, which phpredis's redis.session.compression=lzf
// stores without any header): a sequence of
//
//	000LLLLL <L+1 literal bytes>                 literal run of 1..32 bytes
//	LLLooooo oooooooo                            back reference, L in 1..6
//	111ooooo LLLLLLLL oooooooo                   back reference, length 7+L
//
// where a back reference copies len+2 bytes starting off+1 bytes before the
// output position (off < 8192, so len+2 is 3..264 bytes).
//
// No maintained Go LZF module is available from the module proxy, and the
// format is small, so it is implemented here.

const (
	lzfMaxLit = 1 << 5  // longest literal run
	lzfMaxOff = 1 << 13 // farthest back reference
	lzfMaxRef = 264     // longest back reference: 7+255+2
	lzfHLog   = 14      // hash table of 16384 positions
)

// lzfDecodedLen walks src without writing anything and returns the length
// it decompresses to, or ok=false when liblzf's lzf_decompress would fail
// on it (a truncated run or reference, or a reference before the start of
// the output). A separate pass lets the caller refuse an oversized result
// before allocating it, and keeps liblzf's answer for input that is not
// LZF at all: phpredis then keeps the bytes as they are.
func lzfDecodedLen(src []byte) (n int, ok bool) {
	ip := 0
	for ip < len(src) {
		ctrl := int(src[ip])
		ip++
		if ctrl < lzfMaxLit {
			ctrl++
			if ip+ctrl > len(src) {
				return 0, false
			}
			ip += ctrl
			n += ctrl
			continue
		}
		l := ctrl >> 5
		back := (ctrl&0x1f)<<8 + 1
		if ip >= len(src) {
			return 0, false
		}
		if l == 7 {
			l += int(src[ip])
			ip++
			if ip >= len(src) {
				return 0, false
			}
		}
		back += int(src[ip])
		ip++
		if back > n {
			return 0, false
		}
		n += l + 2
	}
	return n, true
}

// lzfDecode decompresses src, which lzfDecodedLen accepted as n bytes,
// appending to dst.
func lzfDecode(dst, src []byte, n int) []byte {
	base := len(dst)
	dst = append(dst, make([]byte, n)...)
	out := dst[base:]
	op, ip := 0, 0
	for ip < len(src) {
		ctrl := int(src[ip])
		ip++
		if ctrl < lzfMaxLit {
			ctrl++
			op += copy(out[op:], src[ip:ip+ctrl])
			ip += ctrl
			continue
		}
		l := ctrl >> 5
		ref := op - (ctrl&0x1f)<<8 - 1
		if l == 7 {
			l += int(src[ip])
			ip++
		}
		ref -= int(src[ip])
		ip++
		l += 2
		// Overlapping copies repeat the last bytes, as liblzf's byte loop.
		for ; l > 0; l-- {
			out[op] = out[ref]
			op++
			ref++
		}
	}
	return dst
}

// lzfEncode appends the LZF compression of src to dst. Empty input gives
// no output (liblzf returns 0 for it, which phpredis treats as "store the
// data as it is"). The output is never more than len(src)/32+1 bytes
// longer than src, within the buffer phpredis gives lzf_compress.
func lzfEncode(dst, src []byte) []byte {
	if len(src) == 0 {
		return dst
	}
	var htab [1 << lzfHLog]int32 // position+1 of the last 3-byte sequence with this hash
	lit := len(dst)              // index of the open literal run's control byte
	dst = append(dst, 0)
	nlit := 0
	i := 0
	for i+2 < len(src) {
		v := uint32(src[i])<<16 | uint32(src[i+1])<<8 | uint32(src[i+2])
		h := (v * 2654435761) >> (32 - lzfHLog)
		cand := int(htab[h]) - 1
		htab[h] = int32(i + 1)
		if cand >= 0 && i-cand <= lzfMaxOff &&
			src[cand] == src[i] && src[cand+1] == src[i+1] && src[cand+2] == src[i+2] {
			n, limit := 3, min(lzfMaxRef, len(src)-i)
			for n < limit && src[cand+n] == src[i+n] {
				n++
			}
			if nlit > 0 {
				dst[lit] = byte(nlit - 1)
			} else {
				dst = dst[:len(dst)-1]
			}
			off := i - cand - 1
			if l := n - 2; l < 7 {
				dst = append(dst, byte(l<<5|off>>8))
			} else {
				dst = append(dst, byte(7<<5|off>>8), byte(l-7))
			}
			dst = append(dst, byte(off))
			// Index the positions inside the match too (cheap, and it
			// finds the repeats that session data is full of).
			for j := i + 1; j < i+n && j+2 < len(src); j++ {
				w := uint32(src[j])<<16 | uint32(src[j+1])<<8 | uint32(src[j+2])
				htab[(w*2654435761)>>(32-lzfHLog)] = int32(j + 1)
			}
			i += n
			lit = len(dst)
			dst = append(dst, 0)
			nlit = 0
			continue
		}
		dst = append(dst, src[i])
		i++
		if nlit++; nlit == lzfMaxLit {
			dst[lit] = lzfMaxLit - 1
			lit = len(dst)
			dst = append(dst, 0)
			nlit = 0
		}
	}
	for ; i < len(src); i++ {
		dst = append(dst, src[i])
		if nlit++; nlit == lzfMaxLit {
			dst[lit] = lzfMaxLit - 1
			lit = len(dst)
			dst = append(dst, 0)
			nlit = 0
		}
	}
	if nlit > 0 {
		dst[lit] = byte(nlit - 1)
	} else {
		dst = dst[:len(dst)-1]
	}
	return dst
}
