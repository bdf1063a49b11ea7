package redisio

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/internal/testenv"
)

// OpenURL against a server that does not speak the Redis protocol fails
// with ErrUnavailable, names the address (never a password) and says why;
// against the silent server the reason is the client's own deadline, so
// the call is bounded (TestOpenHandshakeBound shows that bound is
// Config.Timeout).
func TestOpenURLNotRedis(t *testing.T) {
	for _, srv := range testenv.NotRedisServers {
		t.Run(srv.Name, func(t *testing.T) {
			addr := testenv.FakeServer(t, srv.Serve)
			s, err := OpenURL("redis://user:s3cret@"+addr+"/0", Config{Timeout: 300 * time.Millisecond})
			if err == nil {
				s.Close()
				t.Fatal("OpenURL succeeded against a server that is not Redis")
			}
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("error %q does not wrap ErrUnavailable", err)
			}
			if want := addr + " did not answer as a Redis server (" + srv.Detail + ")"; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

// TestOpenHandshakeBound: Open against a server that never answers is
// bounded by Config.Timeout, not rueidis's 5 s default: rueidis ends the
// connection handshake at its dialer's Timeout, and every dial Open makes
// is handed a dialer whose Timeout is Config.Timeout.
func TestOpenHandshakeBound(t *testing.T) {
	addr := testenv.FakeServer(t, testenv.NotRedisServe(t, "silent"))
	const bound = 300 * time.Millisecond
	var dials testenv.DialRecorder
	opt := rueidis.ClientOption{InitAddress: []string{addr}, DialCtxFn: dials.Dial}
	s, err := Open(opt, Config{Timeout: bound})
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded against a server that never answers")
	}
	if want := "did not answer as a Redis server (no reply in time)"; !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %q: want ErrUnavailable saying %q", err, want)
	}
	timeouts := dials.Timeouts()
	if len(timeouts) == 0 {
		t.Fatal("Open did not dial through opt.DialCtxFn")
	}
	for _, d := range timeouts {
		if d != bound {
			t.Errorf("a dial's handshake bound is %v, want Config.Timeout %v", d, bound)
		}
	}
}
