package codec

import "fmt"

// cursor is the byte reader the binary decoders (igbinary, msgpack) share:
// the input, the read position, and the serializer's name for errors.
type cursor struct {
	d    string
	pos  int
	name string // "igbinary", "msgpack": prefixes error messages
}

// errf returns a *SyntaxError at the current position.
func (c *cursor) errf(format string, args ...any) error {
	return &SyntaxError{Offset: c.pos, Msg: c.name + ": " + fmt.Sprintf(format, args...)}
}

// need checks that n more bytes are there.
func (c *cursor) need(n int) error {
	if n < 0 || len(c.d)-c.pos < n {
		return &SyntaxError{Offset: c.pos, Msg: c.name + ": unexpected end of data"}
	}
	return nil
}

// uint reads a big-endian unsigned integer of size (at most 8) bytes.
func (c *cursor) uint(size int) (uint64, error) {
	if err := c.need(size); err != nil {
		return 0, err
	}
	var v uint64
	for i := 0; i < size; i++ {
		v = v<<8 | uint64(c.d[c.pos+i])
	}
	c.pos += size
	return v, nil
}
