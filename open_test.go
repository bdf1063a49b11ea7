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
// with ErrUnavailable, naming the address and masking the password,
// within Config.RedisTimeout (not rueidis's 5 s dial default).
func TestOpenURLNotRedis(t *testing.T) {
	for _, srv := range testenv.NotRedisServers {
		for _, cache := range []bool{true, false} {
			name := srv.Name
			if !cache {
				name += "/no client cache"
			}
			t.Run(name, func(t *testing.T) {
				addr := testenv.FakeServer(t, srv.Serve)
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
