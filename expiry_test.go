package phpsession_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// A session whose key expired in Redis is not served from memory, even
// when Redis never reports the expiry (active expiry off: the key is only
// dropped when touched, so no invalidation comes).
func TestExpiredSessionNotServed(t *testing.T) {
	r := testenv.StartRedis(t, "--enable-debug-command", "yes")
	r.MustDo("DEBUG", "SET-ACTIVE-EXPIRE", "0")
	// reads do not refresh the TTL here: the key must expire
	m := openTest(t, r, phpsession.Config{ReadRefresh: -1})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:exp", "x|i:1;", "PX", "300")
	v, err := phpsession.GetAs[int](ctx, m, "exp", "x")
	require.NoError(t, err)
	require.Equal(t, 1, v)
	ok, err := m.Exists(ctx, "exp")
	require.NoError(t, err)
	require.True(t, ok)
	// wait until Redis reports the key gone (EXISTS expires it lazily, on
	// another connection: no invalidation reaches the Manager's)
	deadline := time.Now().Add(30 * time.Second)
	for r.MustDo("PEXPIRETIME", "PHPREDIS_SESSION:exp") != "-2" {
		require.True(t, time.Now().Before(deadline), "the key never expired")
		time.Sleep(20 * time.Millisecond)
	}
	_, err = m.Get(ctx, "exp", "x")
	require.ErrorIs(t, err, phpsession.ErrNotFound, "an expired session was served")
	ok, err = m.Exists(ctx, "exp")
	require.NoError(t, err)
	require.False(t, ok)
}
