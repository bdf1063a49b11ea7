package phpsession_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// OpenURL on an address where something else than Redis listens fails
// with ErrUnavailable, naming the address, saying why and masking the
// password; against the silent server the reason is the client's own
// deadline, so the call is bounded (TestOpenHandshakeBound shows that
// bound is Config.RedisTimeout).
func TestOpenURLNotRedis(t *testing.T) {
	for _, srv := range testenv.NotRedisServers {
		for _, cache := range []bool{true, false} {
			name := srv.Name
			if !cache {
				name += "/no client cache"
			}
			t.Run(name, func(t *testing.T) {
				addr := testenv.FakeServer(t, srv.Serve)
				m, err := phpsession.OpenURL("redis://app:s3cret@"+addr+"/0", phpsession.Config{
					RedisTimeout:       100 * time.Millisecond,
					DisableClientCache: !cache,
				})
				if m != nil {
					t.Cleanup(func() { _ = m.Close(t.Context()) })
				}
				require.Error(t, err)
				assert.ErrorIs(t, err, phpsession.ErrUnavailable)
				assert.Contains(t, err.Error(), addr+" did not answer as a Redis server ("+srv.Detail+")")
				assert.False(t, strings.Contains(err.Error(), "s3cret"), "the password is masked: %v", err)
				assert.False(t, errors.Is(err, context.DeadlineExceeded), "a server's silence is not the caller's deadline")
			})
		}
	}
}

// TestOpenHandshakeBound: Open against a server that never answers is
// bounded by Config.RedisTimeout, not rueidis's 5 s dial default, with and
// without client-side caching: rueidis ends the connection handshake at
// its dialer's Timeout, and every dial is handed a dialer whose Timeout is
// RedisTimeout.
func TestOpenHandshakeBound(t *testing.T) {
	const bound = 100 * time.Millisecond
	for _, cache := range []bool{true, false} {
		t.Run(map[bool]string{true: "client cache", false: "no client cache"}[cache], func(t *testing.T) {
			addr := testenv.FakeServer(t, testenv.NotRedisServe(t, "silent"))
			var dials testenv.DialRecorder
			opt := rueidis.ClientOption{InitAddress: []string{addr}, DialCtxFn: dials.Dial}
			m, err := phpsession.Open(opt, phpsession.Config{RedisTimeout: bound, DisableClientCache: !cache})
			if m != nil {
				t.Cleanup(func() { _ = m.Close(t.Context()) })
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, phpsession.ErrUnavailable)
			assert.Contains(t, err.Error(), "did not answer as a Redis server (no reply in time)")
			timeouts := dials.Timeouts()
			require.NotEmpty(t, timeouts, "Open dials through opt.DialCtxFn")
			for _, d := range timeouts {
				assert.Equal(t, bound, d, "a dial's handshake bound")
			}
		})
	}
}
