package redisio

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
)

// chunkConn is a net.Conn whose reads return the given chunks in turn,
// then io.EOF.
type chunkConn struct {
	net.Conn
	chunks [][]byte
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.chunks[0])
	if c.chunks[0] = c.chunks[0][n:]; len(c.chunks[0]) == 0 {
		c.chunks = c.chunks[1:]
	}
	return n, nil
}

// readThrough reads stream through a movedConn, the stream split into
// chunks at cuts and read with buffers of size bufSize.
func readThrough(stream []byte, cuts []int, bufSize int) ([]byte, error) {
	var chunks [][]byte
	prev := 0
	for _, c := range cuts {
		if c > prev && c < len(stream) {
			chunks = append(chunks, stream[prev:c])
			prev = c
		}
	}
	chunks = append(chunks, stream[prev:])
	mc := &movedConn{Conn: &chunkConn{chunks: chunks}, off: new(atomic.Bool)}
	var out []byte
	buf := make([]byte, bufSize)
	for {
		n, err := mc.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// expectFiltered is the stream of replies with flushPush before each
// top-level MOVED reply.
func expectFiltered(replies [][]byte) []byte {
	var out []byte
	for _, r := range replies {
		if bytes.HasPrefix(r, movedPrefix) {
			out = append(out, flushPush...)
		}
		out = append(out, r...)
	}
	return out
}

func TestMovedConnFlushesBeforeMoved(t *testing.T) {
	moved := []byte("-MOVED 12416 127.0.0.1:7001\r\n")
	fakeInBulk := []byte("$29\r\n-MOVED 12416 127.0.0.1:7001\r\n\r\n")
	cases := []struct {
		name    string
		replies [][]byte
	}{
		{"no MOVED", [][]byte{[]byte("+OK\r\n"), []byte(":42\r\n"), []byte("$3\r\nabc\r\n"), []byte("$-1\r\n"), []byte("_\r\n")}},
		{"MOVED alone", [][]byte{moved}},
		{"MOVED between replies", [][]byte{[]byte("+OK\r\n"), moved, []byte("$3\r\nabc\r\n"), moved, moved, []byte(":1\r\n")}},
		{"other errors", [][]byte{[]byte("-ERR no\r\n"), []byte("-ASK 1 127.0.0.1:7002\r\n"), []byte("-NOSCRIPT x\r\n"), moved}},
		{"MOVED text inside a bulk string", [][]byte{fakeInBulk, []byte("+OK\r\n")}},
		{"MOVED text inside a simple string", [][]byte{[]byte("+-MOVED 1 a:1\r\n"), moved}},
		{"errors inside an EXEC array", [][]byte{[]byte("*3\r\n-MOVED 1 a:1\r\n:1\r\n*1\r\n-MOVED 2 b:2\r\n"), moved}},
		{"RESP3 aggregates", [][]byte{
			[]byte("%2\r\n+a\r\n*2\r\n:1\r\n-MOVED 3 c:3\r\n$1\r\nb\r\n~1\r\n#t\r\n"),
			[]byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n$5\r\nk-key\r\n"),
			[]byte("|1\r\n+key\r\n-MOVED 4 d:4\r\n*1\r\n,1.5\r\n"),
			[]byte("=7\r\ntxt:abc\r\n"), []byte("!5\r\nerr x\r\n"), []byte("(12345\r\n"),
			[]byte("*-1\r\n"), []byte("*0\r\n"), []byte("%0\r\n"), []byte("|0\r\n:7\r\n"),
			moved,
		}},
		{"empty bulk and large counts", [][]byte{[]byte("$0\r\n\r\n"), []byte("*2\r\n$0\r\n\r\n*0\r\n"), moved}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := bytes.Join(tc.replies, nil)
			want := expectFiltered(tc.replies)
			// every single cut point, with large and tiny read buffers
			for cut := 0; cut <= len(stream); cut++ {
				for _, size := range []int{1, 3, 16, 4096} {
					got, err := readThrough(stream, []int{cut}, size)
					if err != nil {
						t.Fatalf("cut %d, buffer %d: %v", cut, size, err)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("cut %d, buffer %d:\ngot  %q\nwant %q", cut, size, got, want)
					}
				}
			}
		})
	}
}

func TestMovedConnRejectsUnframable(t *testing.T) {
	for _, in := range []string{"?\r\n", "$?\r\n;3\r\nabc\r\n;0\r\n", "*x\r\n"} {
		if _, err := readThrough([]byte(in), nil, 64); !errors.Is(err, errBadReply) {
			t.Errorf("%q: err = %v, want errBadReply", in, err)
		}
	}
}

func TestMovedConnOffPassesThrough(t *testing.T) {
	in := []byte("-MOVED 1 a:1\r\n")
	mc := &movedConn{Conn: &chunkConn{chunks: [][]byte{in}}, off: new(atomic.Bool)}
	mc.off.Store(true)
	got, err := io.ReadAll(mc)
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("got %q, %v", got, err)
	}
}

// genReply appends one random RESP3 reply drawn from r to b (depth bounds
// nesting).
func genReply(r *rand.Rand, b []byte, depth int) []byte {
	k := r.IntN(14)
	if depth > 3 && k >= 8 {
		k = r.IntN(8)
	}
	str := func() string {
		alphabet := "ab-\r\nMOVED $*:0"
		n := r.IntN(12)
		s := make([]byte, n)
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(s)
	}
	line := func() string { // no CR or LF
		s := []byte(str())
		for i := range s {
			if s[i] == '\r' || s[i] == '\n' {
				s[i] = ' '
			}
		}
		return string(s)
	}
	switch k {
	case 0:
		return append(b, "+"+line()+"\r\n"...)
	case 1:
		return append(b, "-MOVED "+strconv.Itoa(r.IntN(16384))+" h:1\r\n"...)
	case 2:
		return append(b, "-ERR "+line()+"\r\n"...)
	case 3:
		return append(b, ":"+strconv.Itoa(r.IntN(2000)-1000)+"\r\n"...)
	case 4:
		s := str()
		return append(b, "$"+strconv.Itoa(len(s))+"\r\n"+s+"\r\n"...)
	case 5:
		return append(b, "$-1\r\n"...)
	case 6:
		return append(b, "_\r\n"...)
	case 7:
		return append(b, "#f\r\n"...)
	default:
		n := r.IntN(4)
		typ := "*%~>"[r.IntN(4)]
		b = append(b, string(typ)+strconv.Itoa(n)+"\r\n"...)
		if typ == '%' {
			n *= 2
		}
		for range n {
			b = genReply(r, b, depth+1)
		}
		return b
	}
}

// FuzzMovedConn: a random stream of RESP3 replies, split and read in
// random pieces, comes out of movedConn unchanged but for flushPush right
// before each top-level MOVED reply.
func FuzzMovedConn(f *testing.F) {
	for i := range uint64(8) {
		f.Add(i, uint64(i*7+1))
	}
	f.Fuzz(func(t *testing.T, seed1, seed2 uint64) {
		r := rand.New(rand.NewPCG(seed1, seed2))
		var replies [][]byte
		for range 1 + r.IntN(12) {
			replies = append(replies, genReply(r, nil, 0))
		}
		stream := bytes.Join(replies, nil)
		var cuts []int
		for range r.IntN(6) {
			cuts = append(cuts, r.IntN(len(stream)+1))
		}
		for i := 1; i < len(cuts); i++ { // ascending
			for j := i; j > 0 && cuts[j] < cuts[j-1]; j-- {
				cuts[j], cuts[j-1] = cuts[j-1], cuts[j]
			}
		}
		got, err := readThrough(stream, cuts, 1+r.IntN(64))
		if err != nil {
			t.Fatal(err)
		}
		if want := expectFiltered(replies); !bytes.Equal(got, want) {
			t.Fatalf("\ngot  %q\nwant %q", got, want)
		}
	})
}

// loopConn returns the same bytes on every read.
type loopConn struct {
	net.Conn
	b []byte
}

func (c *loopConn) Read(p []byte) (int, error) { return copy(p, c.b), nil }

// BenchmarkMovedConnRead: the cost of following the replies' framing, per
// read of one round trip's replies (a cached GET's CLIENT CACHING, MULTI,
// PTTL, GET, EXEC and a script's reply), scanned ("cluster") or passed
// through ("off", as on a standalone server).
func BenchmarkMovedConnRead(b *testing.B) {
	replies := []byte("+OK\r\n+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:86399000\r\n$24\r\nn|i:123456;s|s:5:\"hello\";\r\n:1\r\n")
	for _, off := range []bool{false, true} {
		name := "cluster"
		if off {
			name = "off"
		}
		b.Run(name, func(b *testing.B) {
			mc := &movedConn{Conn: &loopConn{b: replies}, off: new(atomic.Bool)}
			mc.off.Store(off)
			buf := make([]byte, len(replies))
			b.SetBytes(int64(len(replies)))
			b.ReportAllocs()
			for b.Loop() {
				if n, err := mc.Read(buf); n != len(replies) || err != nil {
					b.Fatal(n, err)
				}
			}
		})
	}
}
