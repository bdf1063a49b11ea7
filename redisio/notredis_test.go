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
// with ErrUnavailable, names the address (never a password) and returns
// within the configured Timeout (not rueidis's 5 s dial default).
func TestOpenURLNotRedis(t *testing.T) {
	for _, srv := range testenv.NotRedisServers {
		t.Run(srv.Name, func(t *testing.T) {
			addr := testenv.FakeServer(t, srv.Serve)
			t0 := time.Now()
			s, err := OpenURL("redis://user:s3cret@"+addr+"/0", Config{Timeout: 300 * time.Millisecond})
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
