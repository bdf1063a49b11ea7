package codec

// num reads the digits at q: their value (meaningful for k <= 9) and
// their count k. (A byte loop: an 8-bytes-at-a-time SWAR version measured
// slower, its multiplications lengthen the chain from one token's
// position to the next.)
func num(s string, q int) (n, k int) {
	for q+k < len(s) {
		c := s[q+k] - '0'
		if c > 9 {
			break
		}
		n = n*10 + int(c)
		k++
	}
	return n, k
}

// digitCount returns the number of digits at q.
func digitCount(s string, q int) int {
	k := 0
	for q+k < len(s) && s[q+k]-'0' <= 9 {
		k++
	}
	return k
}

// scanValue validates one value at d.pos in scan mode (what DecodeSession
// does for every variable), advancing d.pos and numbering the values like
// d.value(nil, 0, depth) does.
//
// The common tokens (N; b: i: d: s: a:, and i:/s: keys) are checked by one
// iterative loop over local variables: no call, allocation or interface
// per token, arrays tracked on a small explicit stack. Anything else (O:,
// C:, E:, r:, R:, S:, the rarer spellings of numbers, and every error) is
// handed, at the same position, to the general decoder, which applies the
// same rules and reports the error. So scanValue accepts exactly what
// d.value accepts, with the same error for the same input
// (TestScanValueAgrees and FuzzScanValue check this).
func (d *decoder) scanValue(depth int) error {
	if d.build || !d.noKinds {
		// The kind table (r: checks) is kept by the general path only.
		return d.value(nil, 0, depth)
	}
	s := d.d
	p := d.pos
	nslot := d.nslot
	// rem is the number of elements left in the innermost open array;
	// stack holds the counts of the enclosing arrays.
	var stackBuf [16]int
	stack := stackBuf[:0]
	rem := 0
	open := 0 // arrays open
	var err error

value:
	if p+1 < len(s) {
		c := s[p]
		if s[p+1] == ':' {
			if c == 's' {
				// s:<n>:"<n bytes>";
				n, k := num(s, p+2)
				q := p + 2 + k
				if uint(k-1) < 9 && q+1 < len(s) && s[q] == ':' && s[q+1] == '"' && n <= len(s)-q-4 {
					q += 2 + n
					if s[q] == '"' && s[q+1] == ';' {
						p = q + 2
						nslot++
						goto next
					}
				}
			} else if c == 'i' {
				// i:-?<1-18 digits>;
				q := p + 2
				if q < len(s) && s[q] == '-' {
					q++
				}
				k := digitCount(s, q)
				q += k
				if uint(k-1) < 18 && q < len(s) && s[q] == ';' {
					p = q + 1
					nslot++
					goto next
				}
			} else if c == 'a' {
				// a:<n>:{
				n, k := num(s, p+2)
				q := p + 2 + k
				if uint(k-1) < 9 && depth+1 <= d.maxDepth && q+1 < len(s) && s[q] == ':' && s[q+1] == '{' && n <= (len(s)-q-2)/6 {
					p = q + 2
					nslot++
					if open > 0 {
						stack = append(stack, rem)
					}
					open++
					rem = n
					depth++
					goto next
				}
			} else if c == 'd' {
				// d:-?<digits>[.<digits>];
				q := p + 2
				if q < len(s) && s[q] == '-' {
					q++
				}
				k := digitCount(s, q)
				q += k
				if k > 0 && q < len(s) && s[q] == '.' {
					k = digitCount(s, q+1)
					q += 1 + k
				}
				if k > 0 && q < len(s) && s[q] == ';' {
					p = q + 1
					nslot++
					goto next
				}
			} else if c == 'b' {
				if p+3 < len(s) && s[p+2]-'0' <= 1 && s[p+3] == ';' {
					p += 4
					nslot++
					goto next
				}
			}
		} else if c == 'N' && s[p+1] == ';' {
			p += 2
			nslot++
			goto next
		}
	}
	// Everything else: the general decoder, from the same position.
	d.pos, d.nslot = p, nslot
	if err = d.value(nil, 0, depth); err != nil {
		return err
	}
	p, nslot = d.pos, d.nslot

next:
	if open == 0 {
		d.pos, d.nslot = p, nslot
		return nil
	}
	if rem > 0 {
		rem--
		// The key: s:<n>:"<n bytes>"; or i:-?<1-18 digits>;
		if p+2 < len(s) && s[p+1] == ':' {
			if c := s[p]; c == 's' {
				n, k := num(s, p+2)
				q := p + 2 + k
				if uint(k-1) < 9 && q+1 < len(s) && s[q] == ':' && s[q+1] == '"' && n <= len(s)-q-4 {
					q += 2 + n
					if s[q] == '"' && s[q+1] == ';' {
						p = q + 2
						goto value
					}
				}
			} else if c == 'i' {
				q := p + 2
				if s[q] == '-' {
					q++
				}
				k := digitCount(s, q)
				q += k
				if uint(k-1) < 18 && q < len(s) && s[q] == ';' {
					p = q + 1
					goto value
				}
			}
		}
		d.pos = p
		if _, err = d.key(); err != nil {
			return err
		}
		p = d.pos
		goto value
	}
	// The end of the innermost array.
	if p >= len(s) || s[p] != '}' {
		d.pos, d.nslot = p, nslot
		return d.expect('}')
	}
	p++
	open--
	depth--
	if open > 0 {
		rem = stack[len(stack)-1]
		stack = stack[:len(stack)-1]
	}
	goto next
}
