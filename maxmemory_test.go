package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// overMaxmemory stores about 2 MB of filler keys, then sets maxmemory
// below what Redis uses (maxmemory-policy noeviction): every write Redis
// counts as growing memory is refused with OOM from then on.
func overMaxmemory(t *testing.T, r *testenv.Redis) {
	t.Helper()
	filler := strings.Repeat("f", 64<<10)
	for i := 0; i < 32; i++ {
		r.MustDo("SET", fmt.Sprintf("filler:%d", i), filler)
	}
	r.MustDo("CONFIG", "SET", "maxmemory-policy", "noeviction")
	r.MustDo("CONFIG", "SET", "maxmemory", "1mb")
	_, err := r.Do("SET", "probe", "x")
	require.ErrorContains(t, err, "OOM command not allowed")
}

// Over maxmemory with noeviction, Redis refuses writes but serves reads,
// and phpredis' session reads keep working. rueidis wraps a client-side
// cached read in MULTI, every command of which Redis refuses then: without
// a plain GET in that case, a Get of a session not in memory failed with
// "OOM command not allowed" although Redis could answer it. The answer of
// that plain GET is not tracked, so it must not be served from memory
// once Redis changed the key (here DEL, which Redis allows over
// maxmemory). Writes fail with Redis' OOM error (not applied: not
// ErrOutcomeUnknown) and nothing is written.
func TestReadsWorkOverMaxmemory(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:oomread", "user|s:5:\"alice\";")
	r.MustDo("SET", "PHPREDIS_SESSION:oomwrite", "user|s:5:\"alice\";")
	overMaxmemory(t, r)

	for i := 0; i < 3; i++ { // the second and third reads must not trust the first's copy blindly
		v, err := m.Get(ctx, "oomread", "user")
		require.NoError(t, err, "read %d", i)
		require.Equal(t, "alice", fmt.Sprint(v))
	}
	var got struct {
		User string `php:"user"`
	}
	require.NoError(t, m.Unmarshal(ctx, "oomread", &got))
	require.Equal(t, "alice", got.User)
	ok, err := m.Exists(ctx, "oomread")
	require.NoError(t, err)
	require.True(t, ok)
	_, err = m.Get(ctx, "oommissing", "user")
	require.ErrorIs(t, err, phpsession.ErrNotFound)

	// another client deletes the session (DEL is allowed over maxmemory):
	// no read returns the copy read before
	r.MustDo("DEL", "PHPREDIS_SESSION:oomread")
	_, err = m.Get(ctx, "oomread", "user")
	require.ErrorIs(t, err, phpsession.ErrNotFound)
	_, err = m.Load(ctx, "oomread")
	require.ErrorIs(t, err, phpsession.ErrNotFound)

	err = m.Set(ctx, "oomwrite", "user", "bob")
	require.Error(t, err)
	require.Contains(t, err.Error(), "OOM")
	require.False(t, errors.Is(err, phpsession.ErrOutcomeUnknown), "%v", err)
	require.Equal(t, "user|s:5:\"alice\";", r.MustDo("GET", "PHPREDIS_SESSION:oomwrite"))

	// once memory is freed, writes and cached reads work again
	r.MustDo("CONFIG", "SET", "maxmemory", "0")
	require.NoError(t, m.Set(ctx, "oomread", "user", "carol"))
	v, err := m.Get(ctx, "oomread", "user")
	require.NoError(t, err)
	require.Equal(t, "carol", fmt.Sprint(v))
}
