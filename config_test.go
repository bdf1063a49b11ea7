package phpsession

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/phpsession/phpsession/redisio"
)

// TestConfigDefaultsShared: the settings Config shares with redisio take
// redisio's defaults (applied by redisio.Config.WithDefaults, the one
// place they are applied), and a set value, or NoPrefix's empty prefix,
// is kept.
func TestConfigDefaultsShared(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Config
		want Config
	}{
		{"unset", Config{}, Config{
			Prefix: redisio.DefaultPrefix, LockSuffix: redisio.DefaultLockSuffix,
			TTL: redisio.DefaultTTL, LockExpiry: redisio.DefaultLockExpiry, LockTimeout: redisio.DefaultLockTimeout,
			RedisTimeout: redisio.DefaultTimeout, ClientCacheBytes: redisio.DefaultClientCacheBytes,
			ClientCacheKeys: redisio.DefaultMaxCachedKeys,
		}},
		{"set", Config{
			Prefix: "p:", LockSuffix: "_L", TTL: time.Hour, LockExpiry: 2 * time.Second, LockTimeout: time.Second,
			RedisTimeout: time.Second, ClientCacheBytes: 1 << 10, ClientCacheKeys: 7,
		}, Config{
			Prefix: "p:", LockSuffix: "_L", TTL: time.Hour, LockExpiry: 2 * time.Second, LockTimeout: time.Second,
			RedisTimeout: time.Second, ClientCacheBytes: 1 << 10, ClientCacheKeys: 7,
		}},
		{"no prefix", Config{NoPrefix: true}, Config{
			Prefix: "", LockSuffix: redisio.DefaultLockSuffix,
			TTL: redisio.DefaultTTL, LockExpiry: redisio.DefaultLockExpiry, LockTimeout: redisio.DefaultLockTimeout,
			RedisTimeout: redisio.DefaultTimeout, ClientCacheBytes: redisio.DefaultClientCacheBytes,
			ClientCacheKeys: redisio.DefaultMaxCachedKeys,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.in.withDefaults()
			assert.Equal(t, tc.want.Prefix, got.Prefix)
			assert.Equal(t, tc.want.LockSuffix, got.LockSuffix)
			assert.Equal(t, tc.want.TTL, got.TTL)
			assert.Equal(t, tc.want.LockExpiry, got.LockExpiry)
			assert.Equal(t, tc.want.LockTimeout, got.LockTimeout)
			assert.Equal(t, tc.want.RedisTimeout, got.RedisTimeout)
			assert.Equal(t, tc.want.ClientCacheBytes, got.ClientCacheBytes)
			assert.Equal(t, tc.want.ClientCacheKeys, got.ClientCacheKeys)
		})
	}
}
