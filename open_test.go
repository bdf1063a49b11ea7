package phpsession_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
)

// fakeServer listens on a free loopback port and serves each connection
// with serve (then keeps it open until the test ends); it returns the
// address.
func fakeServer(t *testing.T, serve func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
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

// OpenURL on an address where something else than Redis listens fails
// with ErrUnavailable, naming the address and masking the password,
// within Config.RedisTimeout (not rueidis's 5 s dial default).
func TestOpenURLNotRedis(t *testing.T) {
	servers := []struct {
		name  string
		serve func(c net.Conn)
	}{
		{"http", func(c net.Conn) {
			_, _ = c.Read(make([]byte, 512))
			_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		}},
		{"silent", func(net.Conn) {}},
		{"closes", func(c net.Conn) { c.Close() }},
	}
	for _, srv := range servers {
		for _, cache := range []bool{true, false} {
			name := srv.name
			if !cache {
				name += "/no client cache"
			}
			t.Run(name, func(t *testing.T) {
				addr := fakeServer(t, srv.serve)
				t0 := time.Now()
				m, err := phpsession.OpenURL("redis://app:s3cret@"+addr+"/0", phpsession.Config{
					RedisTimeout:       100 * time.Millisecond,
					DisableClientCache: !cache,
				})
				took := time.Since(t0)
				if m != nil {
					t.Cleanup(func() { _ = m.Close(t.Context()) })
				}
				require.Error(t, err)
				assert.ErrorIs(t, err, phpsession.ErrUnavailable)
				assert.Contains(t, err.Error(), addr+" did not answer as a Redis server")
				assert.False(t, strings.Contains(err.Error(), "s3cret"), "the password is masked: %v", err)
				assert.False(t, errors.Is(err, context.DeadlineExceeded), "a server's silence is not the caller's deadline")
				assert.Less(t, took, rueidis.DefaultDialTimeout, "bounded by RedisTimeout")
			})
		}
	}
}
