package phpsession_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

func ttlOf(t *testing.T, r *testenv.Redis, id string) int {
	t.Helper()
	n, err := strconv.Atoi(r.MustDo("TTL", "PHPREDIS_SESSION:"+id))
	require.NoError(t, err)
	return n
}

// waitTTLAbove waits until id's TTL is above n (a refresh is sent after
// the reads that caused it were answered) and returns it.
func waitTTLAbove(t *testing.T, r *testenv.Redis, id string, n int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := ttlOf(t, r, id); got > n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(time.Millisecond)
	}
}

func expireCalls(t *testing.T, r *testenv.Redis) int64 {
	t.Helper()
	calls, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	return calls["expire"]
}

// TestReadsRefreshTTLLikePHP: a PHP request that only reads its session
// puts the TTL back to gc_maxlifetime (lazy_write: EXPIRE); Go reads do the
// same, at most once per ReadRefresh for any number of reads, never for a
// session that does not exist, and never recreating one.
func TestReadsRefreshTTLLikePHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	const ttl = 1000
	m := openTest(t, r, phpsession.Config{TTL: ttl * time.Second})
	ctx := context.Background()
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, GCMaxLifetime: ttl}
	write := `session_id($argv[1]); session_start(); $_SESSION['user'] = 'alice'; session_write_close();`
	read := `session_id($argv[1]); session_start(); echo $_SESSION['user']; session_write_close();`
	phpID, goID := phpsession.NewID(), phpsession.NewID()
	for _, id := range []string{phpID, goID} {
		_, _, err := testenv.RunPHP(ctx, t, php, write, id)
		require.NoError(t, err)
		r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+id, "50") // as if the session was idle for a while
	}

	out, _, err := testenv.RunPHP(ctx, t, php, read, phpID)
	require.NoError(t, err)
	require.Equal(t, "alice", out)
	phpTTL := ttlOf(t, r, phpID)
	require.GreaterOrEqual(t, phpTTL, ttl-5, "PHP's read-only request refreshes the TTL")

	before := expireCalls(t, r)
	for i := 0; i < 200; i++ {
		v, err := phpsession.GetAs[string](ctx, m, goID, "user")
		require.NoError(t, err)
		require.Equal(t, "alice", v)
	}
	// the EXPIRE goes out after the reads were answered
	goTTL := waitTTLAbove(t, r, goID, 50)
	require.InDelta(t, phpTTL, goTTL, 5, "Go reads leave the TTL where PHP's read does")
	require.Equal(t, int64(1), expireCalls(t, r)-before, "200 reads, one EXPIRE")

	// within the interval, reads do not refresh again
	r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+goID, "50")
	for i := 0; i < 50; i++ {
		_, err := m.Get(ctx, goID, "user")
		require.NoError(t, err)
	}
	require.LessOrEqual(t, ttlOf(t, r, goID), 50)

	// a session that does not exist is neither refreshed nor created
	missing := phpsession.NewID()
	before = expireCalls(t, r)
	for i := 0; i < 20; i++ {
		_, err := m.Get(ctx, missing, "user")
		require.ErrorIs(t, err, phpsession.ErrNotFound)
	}
	require.Equal(t, int64(0), expireCalls(t, r)-before)
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+missing))
}

// TestReadRefreshInterval: once ReadRefresh has passed, the next read
// (served from memory by the fast path) refreshes the TTL again, through
// the session's actor; a session deleted meanwhile is not recreated; with
// ReadRefresh < 0 reads never refresh.
func TestReadRefreshInterval(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{TTL: 1000 * time.Second, ReadRefresh: 50 * time.Millisecond})
	ctx := context.Background()
	id := phpsession.NewID()
	require.NoError(t, m.Set(ctx, id, "user", "alice"))
	_, err := m.Get(ctx, id, "user") // caches it
	require.NoError(t, err)
	r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+id, "50")
	deadline := time.Now().Add(30 * time.Second)
	for ttlOf(t, r, id) <= 50 {
		require.True(t, time.Now().Before(deadline), "reads never refreshed the TTL")
		_, err := m.Get(ctx, id, "user")
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond) // reads spread over time, as users make them
	}
	require.GreaterOrEqual(t, ttlOf(t, r, id), 995)

	// deleted behind the Manager's back: reads find it gone and never
	// bring it back
	r.MustDo("DEL", "PHPREDIS_SESSION:"+id)
	for i := 0; i < 20; i++ {
		_, _ = m.Get(ctx, id, "user")
		time.Sleep(10 * time.Millisecond)
	}
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id))

	// off
	off := openTest(t, r, phpsession.Config{TTL: 1000 * time.Second, ReadRefresh: -1})
	id2 := phpsession.NewID()
	require.NoError(t, off.Set(ctx, id2, "user", "bob"))
	r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+id2, "50")
	before := expireCalls(t, r)
	for i := 0; i < 20; i++ {
		_, err := off.Get(ctx, id2, "user")
		require.NoError(t, err)
	}
	require.Equal(t, int64(0), expireCalls(t, r)-before)
	require.LessOrEqual(t, ttlOf(t, r, id2), 50)
}
