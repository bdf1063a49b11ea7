package phpsession

import (
	"crypto/rand"
	"fmt"
)

// MaxIDLength is the longest session ID PHP accepts (php_session_valid_key).
const MaxIDLength = 256

// Defaults of PHP's session.sid_length and session.sid_bits_per_character
// (PHP's built-in values; php.ini-production uses 26 and 5).
const (
	DefaultIDLength      = 32
	DefaultIDBitsPerChar = 4
)

// idAlphabet is PHP's session ID alphabet, in PHP's order: the first 16
// characters serve sid_bits_per_character=4, the first 32 serve 5, all 64
// serve 6.
const idAlphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-"

// ValidID reports whether id is a session ID PHP would accept as a key:
// 1–256 characters from [A-Za-z0-9,-] (php_session_valid_key). Every
// Manager operation checks this before anything reaches Redis.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > MaxIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ',', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidateID returns nil for a valid session ID and an error wrapping
// ErrInvalidID otherwise.
func ValidateID(id string) error {
	if ValidID(id) {
		return nil
	}
	shown := id
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	return newErr("validate", "", ErrInvalidID, fmt.Errorf("%q is not 1-%d characters of [A-Za-z0-9,-]", shown, MaxIDLength))
}

// NewID generates a session ID the way PHP does, with the built-in
// defaults (32 characters of 4 bits: 128 bits of randomness).
func NewID() string {
	id, err := GenerateID(DefaultIDLength, DefaultIDBitsPerChar)
	if err != nil {
		panic(err) // unreachable: the defaults are valid and crypto/rand does not fail
	}
	return id
}

// GenerateID generates a session ID like PHP's session_create_id() with
// session.sid_length = length (22–256) and session.sid_bits_per_character =
// bitsPerChar (4, 5 or 6): length random bytes from the OS CSPRNG,
// bit-packed little-endian-first into bitsPerChar-bit groups, each indexing
// PHP's alphabet.
func GenerateID(length, bitsPerChar int) (string, error) {
	if length < 22 || length > MaxIDLength {
		return "", newErr("generate", "", ErrInvalidID, fmt.Errorf("sid_length %d outside 22..%d", length, MaxIDLength))
	}
	if bitsPerChar < 4 || bitsPerChar > 6 {
		return "", newErr("generate", "", ErrInvalidID, fmt.Errorf("sid_bits_per_character %d not 4, 5 or 6", bitsPerChar))
	}
	// PHP reads sid_length bytes, enough for sid_length*bits/8 bytes of
	// packed groups since bits ≤ 8.
	raw := make([]byte, length)
	if _, err := rand.Read(raw); err != nil {
		return "", newErr("generate", "", nil, err)
	}
	return encodeID(raw, length, bitsPerChar), nil
}

// encodeID is PHP's bin_to_readable: consume input bytes into a bit
// buffer (least significant first) and emit bits-wide groups.
func encodeID(in []byte, length, bits int) string {
	out := make([]byte, length)
	mask := uint(1)<<bits - 1
	var w uint
	have := 0
	p := 0
	for i := 0; i < length; i++ {
		if have < bits {
			if p < len(in) {
				w |= uint(in[p]) << have
				p++
				have += 8
			} else {
				// no more input: PHP stops; never reached with len(in) == length
				have = bits
			}
		}
		out[i] = idAlphabet[w&mask]
		w >>= bits
		have -= bits
	}
	return string(out)
}
