package testenv

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// NotRedisServers are listeners that are not Redis, for tests of what a
// client does when pointed at the wrong address: an HTTP server (answers
// "HTTP/1.1 400 Bad Request"), one that never answers, one that closes
// every connection. Detail is how redisio's ErrUnavailable message
// describes each ("ADDR did not answer as a Redis server (DETAIL)"); for
// the silent one it is the client's own deadline ending the handshake.
var NotRedisServers = []struct {
	Name   string
	Serve  func(c net.Conn)
	Detail string
}{
	{"http", func(c net.Conn) {
		_, _ = c.Read(make([]byte, 512))
		_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
	}, "its reply began with 'H'"},
	{"silent", func(net.Conn) {}, "no reply in time"},
	{"closes", func(c net.Conn) { c.Close() }, "it closed the connection"},
}

// FakeServer listens on a free loopback port and serves each connection
// with serve (then keeps it open until the test ends); it returns the
// address.
func FakeServer(t testing.TB, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		ln.Close()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				serve(c)
				<-done
				c.Close()
			}()
		}
	}()
	return ln.Addr().String()
}

// NotRedisServe returns the Serve function of the NotRedisServers entry
// called name ("http", "silent", "closes").
func NotRedisServe(t testing.TB, name string) func(net.Conn) {
	t.Helper()
	for _, srv := range NotRedisServers {
		if srv.Name == name {
			return srv.Serve
		}
	}
	t.Fatalf("no NotRedisServers entry %q", name)
	return nil
}

// DialRecorder is a rueidis ClientOption.DialCtxFn that dials over TCP
// and records the Timeout of each dialer rueidis hands it: the bound
// rueidis puts on the connection's handshake.
type DialRecorder struct {
	mu       sync.Mutex
	timeouts []time.Duration
}

// Dial is the DialCtxFn.
func (d *DialRecorder) Dial(ctx context.Context, dst string, nd *net.Dialer, _ *tls.Config) (net.Conn, error) {
	d.mu.Lock()
	d.timeouts = append(d.timeouts, nd.Timeout)
	d.mu.Unlock()
	return nd.DialContext(ctx, "tcp", dst)
}

// Timeouts returns the dialers' Timeouts recorded so far.
func (d *DialRecorder) Timeouts() []time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.timeouts)
}
