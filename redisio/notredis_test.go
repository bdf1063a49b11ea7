package redisio

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// notRedisServer listens on a free loopback port and serves each
// connection with serve until the test ends; it returns the address.
func notRedisServer(t *testing.T, serve func(c net.Conn)) string {
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

// OpenURL against a server that does not speak the Redis protocol fails
// with ErrUnavailable, names the address (never a password) and returns
// within the configured Timeout.
func TestOpenURLNotRedis(t *testing.T) {
	for _, tc := range []struct {
		name  string
		serve func(c net.Conn)
	}{
		{"http", func(c net.Conn) {
			buf := make([]byte, 512)
			_, _ = c.Read(buf)
			_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
		}},
		{"silent", func(c net.Conn) {}},
		{"closes", func(c net.Conn) { c.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := notRedisServer(t, tc.serve)
			url := "redis://user:s3cret@" + addr + "/0"
			t0 := time.Now()
			s, err := OpenURL(url, Config{Timeout: 300 * time.Millisecond})
			took := time.Since(t0)
			if err == nil {
				s.Close()
				t.Fatal("OpenURL succeeded against a server that is not Redis")
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("error %q does not wrap ErrUnavailable", err)
			}
			if want := addr + " did not answer as a Redis server"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
			if took >= rueidis.DefaultDialTimeout {
				t.Errorf("took %v: not bounded by Config.Timeout", took)
			}
		})
	}
}
