package main

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestGetDoesNotRefreshTTL: inspecting a session is not activity: phpsess
// get leaves its TTL alone (a Manager's reads refresh it, as PHP's do).
func TestGetDoesNotRefreshTTL(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	r.MustDo("SET", "PHPREDIS_SESSION:idle1", `user|s:5:"alice";`, "EX", "50")
	u := "--redis=" + r.URL()
	before, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	for i := 0; i < 3; i++ {
		require.Contains(t, mustCLI(t, u, "get", "idle1"), "alice")
		require.Contains(t, mustCLI(t, u, "get", "idle1", "user"), "alice")
	}
	after, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	require.Equal(t, before["expire"], after["expire"], "no EXPIRE sent")
	ttl, err := strconv.Atoi(r.MustDo("TTL", "PHPREDIS_SESSION:idle1"))
	require.NoError(t, err)
	require.LessOrEqual(t, ttl, 50)
}
