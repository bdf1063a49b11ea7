// Package redact renders credentials (session IDs, lock tokens) for error
// messages and logs: a short prefix, enough to tell sessions apart in a
// log, far too little to use. Every error and log line of the module shows
// IDs and tokens only through this package.
package redact

// MaxShown is the most characters of a secret ever shown.
const MaxShown = 6

// ID returns the redacted form of a session ID or lock token: its first
// characters followed by "…". At most a quarter of the secret and never
// more than MaxShown characters are shown (6 of a 32-character PHP ID:
// 24 of its 128 bits), so short secrets show little or nothing.
func ID(s string) string {
	n := len(s) / 4
	if n > MaxShown {
		n = MaxShown
	}
	// never cut inside a UTF-8 sequence (invalid IDs can hold anything)
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	out := make([]byte, 0, n+len("…"))
	for i := 0; i < n; i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 || c == '"' || c == '\\' {
			c = '?' // keep log lines one line of plain text
		}
		out = append(out, c)
	}
	return string(append(out, "…"...))
}
