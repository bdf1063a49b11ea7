package testenv

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"time"
)

// Conn is a persistent raw RESP2 connection that sends one command and
// waits for its reply, the way phpredis talks to Redis. It is not safe for
// concurrent use.
type Conn struct {
	c  net.Conn
	br *bufio.Reader
	b  bytes.Buffer
}

// Dial opens a Conn to addr.
func Dial(addr string) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, br: bufio.NewReader(c)}, nil
}

// MustDial is Dial that fails the test on error and closes the connection
// at cleanup.
func MustDial(t interface {
	Helper()
	Fatalf(string, ...any)
	Cleanup(func())
}, addr string) *Conn {
	t.Helper()
	c, err := Dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Do sends one command and returns its reply rendered as Redis.Do does.
func (c *Conn) Do(args ...string) (string, error) {
	c.b.Reset()
	fmt.Fprintf(&c.b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&c.b, "$%d\r\n%s\r\n", len(a), a)
	}
	_ = c.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.c.Write(c.b.Bytes()); err != nil {
		return "", err
	}
	return readReply(c.br)
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// CommandCalls returns the calls counter of each command from INFO
// commandstats on addr (keys are lower-case command names, e.g. "set",
// "evalsha", "client|caching").
func CommandCalls(addr string) (map[string]int64, error) {
	s, err := Do(addr, "INFO", "commandstats")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, line := range bytes.Split([]byte(s), []byte("\n")) {
		line = bytes.TrimSpace(line)
		if !bytes.HasPrefix(line, []byte("cmdstat_")) {
			continue
		}
		i := bytes.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		name := string(line[len("cmdstat_"):i])
		var calls int64
		if _, err := fmt.Sscanf(string(line[i+1:]), "calls=%d", &calls); err == nil {
			out[name] = calls
		}
	}
	return out, nil
}
