package phpsession_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// A slow Update fn keeps the lock: the lock is renewed while fn runs (a
// locked batch; a lock-free one holds no lock).
func TestSlowUpdateRenewsLock(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{LockExpiry: 300 * time.Millisecond, NoLockFree: true})
	ctx := context.Background()
	runs := 0
	err := m.Update(ctx, "slow", func(s *phpsession.Session) error {
		runs++
		// slow work lasting three lock lifetimes; the lock must survive
		for i := 0; i < 30; i++ {
			time.Sleep(30 * time.Millisecond)
		}
		if r.MustDo("PTTL", "PHPREDIS_SESSION:slow_LOCK") == "-2" {
			return errLockGone
		}
		return s.Set("done", true)
	})
	require.NoError(t, err)
	require.Equal(t, 1, runs)
	require.Equal(t, "done|b:1;", r.MustDo("GET", "PHPREDIS_SESSION:slow"))
}

var errLockGone = errorString("lock expired while fn ran")

type errorString string

func (e errorString) Error() string { return string(e) }

// When the lock is lost (expired and taken by someone else) the batch is
// never written under the thief's lock; it is re-read and re-run.
func TestLostLockIsRetriedNotClobbered(t *testing.T) {
	r := testenv.StartRedis(t)
	// renew far later than expiry: the lock can expire under a slow fn;
	// every batch takes the lock (the lock-free path has its own test)
	m := openTest(t, r, phpsession.Config{LockExpiry: 60 * time.Millisecond, NoLockFree: true})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "lost", "n", 1))
	lockKey := "PHPREDIS_SESSION:lost_LOCK"

	inside := make(chan struct{})
	stolen := make(chan struct{})
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- m.Update(ctx, "lost", func(s *phpsession.Session) error {
			if runs.Add(1) == 1 {
				close(inside)
				<-stolen
			}
			var n int
			if _, err := s.Unmarshal("n", &n); err != nil {
				return err
			}
			return s.Set("n", n+10)
		})
	}()
	<-inside
	// Simulate a stuck process: delete our lock (as if it had expired)
	// and let a "PHP" thief take it and write.
	r.MustDo("DEL", lockKey)
	r.MustDo("SET", lockKey, "php|thief", "PX", "100")
	r.MustDo("SET", "PHPREDIS_SESSION:lost", "n|i:100;")
	r.MustDo("DEL", lockKey)
	close(stolen)
	require.NoError(t, <-done)
	require.Equal(t, int32(2), runs.Load(), "fn re-ran after the lost lock")
	require.Equal(t, "n|i:110;", r.MustDo("GET", "PHPREDIS_SESSION:lost"), "re-read the thief's write, applied on top")
	require.GreaterOrEqual(t, m.Stats().LockLostRetries, uint64(1))
}

// Hot reads cost no Redis command; foreign writes and FLUSHALL are seen.
func TestCachedReadsAndInvalidation(t *testing.T) {
	r := testenv.StartRedis(t)
	// read refresh off: its EXPIRE (once per ReadRefresh, after the first
	// read) re-arms tracking with one read; refresh_test.go covers it
	m := openTest(t, r, phpsession.Config{ReadRefresh: -1})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:c1", `a|s:1:"x";b|i:2;`)
	v, err := phpsession.GetAs[string](ctx, m, "c1", "a")
	require.NoError(t, err)
	require.Equal(t, "x", v)

	before, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	for i := 0; i < 1000; i++ {
		n, err := phpsession.GetAs[int](ctx, m, "c1", "b")
		require.NoError(t, err)
		require.Equal(t, 2, n)
	}
	after, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	delete(after, "info")
	delete(before, "info")
	require.Equal(t, before, after, "1000 hot reads sent no command to Redis")

	// a foreign (PHP) write invalidates
	r.MustDo("SET", "PHPREDIS_SESSION:c1", `a|s:1:"y";b|i:3;`)
	require.Eventually(t, func() bool {
		n, err := phpsession.GetAs[int](ctx, m, "c1", "b")
		return err == nil && n == 3
	}, 30*time.Second, time.Millisecond)

	// FLUSHALL: nil invalidation drops everything
	r.MustDo("FLUSHALL")
	require.Eventually(t, func() bool {
		ok, err := m.Exists(ctx, "c1")
		return err == nil && !ok
	}, 30*time.Second, time.Millisecond)
}

// Close with a deadline aborts a batch stuck behind a foreign lock: the
// caller gets an error, nothing hangs.
func TestCloseAbortsStuckWork(t *testing.T) {
	r := testenv.StartRedis(t)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	require.NoError(t, err)
	r.MustDo("SET", "PHPREDIS_SESSION:stuck_LOCK", "php-cli|1") // no TTL: a PHP CLI lock
	ctx := context.Background()
	done := make(chan error, 1)
	go func() { done <- m.Set(ctx, "stuck", "k", 1) }()
	waitUntil(t, "the Set is queued", func() bool { return m.Stats().Submitted > 0 })
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = m.Close(cctx)
	require.ErrorIs(t, err, phpsession.ErrClosed)
	err = <-done
	require.Error(t, err)
	// the lock wait, aborted by Close, ends as a lock timeout (or, if the
	// abort came before the wait, as closed)
	require.True(t, errors.Is(err, phpsession.ErrLockTimeout) || errors.Is(err, phpsession.ErrClosed), "%v", err)
	require.ErrorIs(t, m.Set(ctx, "x", "k", 1), phpsession.ErrClosed)
}

// After Go wrote a session, a foreign (PHP) write must still be seen:
// Redis tracking is one-shot, so our own write must not leave a memo entry
// that nothing invalidates any more.
func TestForeignWriteAfterOwnWriteIsSeen(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		require.NoError(t, m.Set(ctx, "own", "n", i))
		r.MustDo("SET", "PHPREDIS_SESSION:own", "n|i:1000;")
		require.Eventually(t, func() bool {
			n, err := phpsession.GetAs[int](ctx, m, "own", "n")
			return err == nil && n == 1000
		}, 30*time.Second, 100*time.Microsecond, "round %d: foreign write after our write never seen", i)
	}
}

// Go waits while PHP holds the lock and proceeds after it expires or is
// released; the wait shows in Stats and in the Metrics hook.
func TestWaitForForeignLockMetrics(t *testing.T) {
	r := testenv.StartRedis(t)
	var hookWaits atomic.Int32
	m := openTest(t, r, phpsession.Config{Metrics: &phpsession.Metrics{
		LockWait: func(time.Duration) { hookWaits.Add(1) },
	}})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:w_LOCK", "php|1", "PX", "80")
	require.NoError(t, m.Set(ctx, "w", "k", 1))
	st := m.Stats()
	require.EqualValues(t, 1, st.LockWaits)
	require.Greater(t, st.LockWaitTime, 10*time.Millisecond)
	require.EqualValues(t, 1, hookWaits.Load())
	require.EqualValues(t, 1, st.Batches)
	require.EqualValues(t, 1, st.Writes)
}
