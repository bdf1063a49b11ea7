package redisio

import (
	"bytes"
	"errors"
	"net"
	"sync/atomic"
)

// A Redis Cluster node that answers MOVED for a slot no longer serves it
// (a failover made its replica the master, or the slot migrated). The
// client-side cache of the connection to that node may still hold keys of
// the slot: Redis sends their invalidations only once the node has
// replicated the new master's writes, which after a failover can take as
// long as a full resynchronisation. Until rueidis refreshes its slot map
// it keeps routing the slot's cached reads to that connection, while
// writes follow MOVED to the new master, so a cached read could return a
// value older than a write already acknowledged.
//
// movedConn closes that gap at the connection: it scans the replies read
// from the node and, right before a top-level "-MOVED" reply, inserts the
// RESP3 push Redis itself sends when it flushes a database
// (">2 invalidate null"). rueidis's reader handles it in order, so the
// connection's whole client-side cache is dropped (and OnInvalidations
// called with nil) before the MOVED reply is delivered and the command
// redirected. Whatever route a command of a moved slot takes to its new
// master, its first MOVED has emptied the old node's cache first; every
// later read of the slot through the old connection misses the cache,
// is answered MOVED in turn and follows it.
type movedConn struct {
	net.Conn
	off *atomic.Bool // set once the client is known not to be a cluster: pass through
	// set records the connection under addr, the address dialled, until
	// it is closed (failoverWatch closes those to a demoted node).
	set  *connSet
	addr string
	sc   respScanner
	// hold is the start of a top-level error reply whose line has not
	// been read completely (not yet handed out); out holds bytes to hand
	// out before reading more.
	hold, out []byte
}

// flushPush is the RESP3 push of an invalidation of every key, as Redis
// sends it after FLUSHALL.
var flushPush = []byte(">2\r\n$10\r\ninvalidate\r\n_\r\n")

var movedPrefix = []byte("-MOVED ")

// errBadReply: the scanner met a reply it cannot frame. The connection is
// failed (and so its cache dropped) rather than passed through unscanned.
var errBadReply = errors.New("redisio: unexpected byte in a reply from Redis")

// Close removes the connection from the Store's record and closes it.
func (c *movedConn) Close() error {
	if c.set != nil {
		c.set.remove(c.addr, c)
	}
	return c.Conn.Close()
}

func (c *movedConn) Read(p []byte) (int, error) {
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			return n, nil
		}
		if len(c.hold) == 0 && c.off.Load() {
			return c.Conn.Read(p)
		}
		n, err := c.Conn.Read(p)
		if err != nil || n == 0 {
			if c.sc.broken {
				return 0, errBadReply
			}
			k := 0
			if len(c.hold) == 0 {
				k = c.filter(p[:n])
			}
			return k, err // bytes held or queued are of a broken stream
		}
		if len(c.hold) > 0 {
			b := append(c.hold, p[:n]...)
			c.hold = nil
			k := c.filter(b)
			c.out = append(b[:k:k], c.out...)
		} else if k := c.filter(p[:n]); k > 0 {
			return k, nil
		}
		if c.sc.broken {
			return 0, errBadReply
		}
	}
}

// filter scans b, which continues the stream where the last scan ended,
// and returns how many leading bytes of b may be handed out as they are.
// If it stops before the end (at a top-level error reply), the rest goes
// to c.out (with flushPush before each MOVED reply) and an incomplete
// error line at its end to c.hold.
func (c *movedConn) filter(b []byte) int {
	i := c.sc.scan(b)
	if i == len(b) {
		return i
	}
	var out []byte
	rest := b[i:]
	for len(rest) > 0 {
		// rest starts with a top-level error reply
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			c.hold = append([]byte(nil), rest...)
			break
		}
		if bytes.HasPrefix(rest, movedPrefix) {
			out = append(out, flushPush...)
		}
		out = append(out, rest[:j+1]...)
		rest = rest[j+1:]
		k := c.sc.scan(rest)
		out = append(out, rest[:k]...)
		rest = rest[k:]
	}
	c.out = out
	return i
}

// respScanner follows the framing of a RESP2/RESP3 reply stream, skipping
// bulk payloads by their length, so that it knows where each top-level
// reply starts.
type respScanner struct {
	state  uint8
	typ    byte
	neg    bool
	broken bool
	num    int64
	skip   int64 // bulk payload bytes left, CRLF included
	stack  []respFrame
}

// respFrame is an open aggregate: how many elements it still expects, and
// whether it is an attribute (which precedes an element without being
// one of its parent's).
type respFrame struct {
	left int64
	attr bool
}

const (
	scanHeader = iota
	scanLine
	scanNum
	scanPayload
)

// scan advances over b and returns len(b), or the offset of a top-level
// error reply ('-' as the first byte of a reply outside any aggregate),
// where it stops without consuming it: the caller consumes its line and
// scans on after it.
func (s *respScanner) scan(b []byte) int {
	i := 0
	for i < len(b) && !s.broken {
		switch s.state {
		case scanHeader:
			t := b[i]
			if t == '-' && len(s.stack) == 0 {
				return i
			}
			i++
			s.typ = t
			switch t {
			case '+', '-', ':', ',', '#', '_', '(':
				s.state = scanLine
			case '$', '!', '=', '*', '%', '~', '>', '|':
				s.state, s.num, s.neg = scanNum, 0, false
			default:
				s.broken = true
			}
		case scanLine:
			j := bytes.IndexByte(b[i:], '\n')
			if j < 0 {
				return len(b)
			}
			i += j + 1
			s.state = scanHeader
			s.element()
		case scanNum:
			ch := b[i]
			i++
			switch {
			case ch >= '0' && ch <= '9':
				s.num = s.num*10 + int64(ch-'0')
				if s.num > 1<<40 {
					s.broken = true
				}
			case ch == '-' && s.num == 0:
				s.neg = true
			case ch == '\r':
			case ch == '\n':
				s.state = scanHeader
				s.length()
			default: // streamed types ("?"), which Redis does not send
				s.broken = true
			}
		case scanPayload:
			k := min(int64(len(b)-i), s.skip)
			i += int(k)
			s.skip -= k
			if s.skip == 0 {
				s.state = scanHeader
				s.element()
			}
		}
	}
	return len(b)
}

// length handles the length line of a bulk or aggregate header.
func (s *respScanner) length() {
	n := s.num
	if s.neg {
		n = -n
	}
	switch s.typ {
	case '$', '!', '=':
		if n < 0 {
			s.element()
			return
		}
		s.skip, s.state = n+2, scanPayload
		return
	case '%', '|':
		n *= 2
	}
	if n <= 0 {
		if s.typ != '|' {
			s.element()
		}
		return
	}
	s.stack = append(s.stack, respFrame{left: n, attr: s.typ == '|'})
}

// element records that one complete element was read, closing the
// aggregates it completes.
func (s *respScanner) element() {
	for len(s.stack) > 0 {
		top := &s.stack[len(s.stack)-1]
		if top.left--; top.left > 0 {
			return
		}
		attr := top.attr
		s.stack = s.stack[:len(s.stack)-1]
		if attr {
			return
		}
	}
}
