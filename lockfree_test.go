package phpsession_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// A lock-free batch whose session changed while its fn ran is not written
// over the change: the script refuses it, and the fn re-runs on the new data.
func TestLockFreeConflictReruns(t *testing.T) {
	r := testenv.StartRedis(t)
	var conflicts atomic.Int32
	m := openTest(t, r, phpsession.Config{Metrics: &phpsession.Metrics{
		Conflict: func(held bool) {
			if !held {
				conflicts.Add(1)
			}
		},
	}})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "cf", "n", 1)) // lock-free too: read, then the script
	inside := make(chan struct{})
	written := make(chan struct{})
	var runs atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- m.Update(ctx, "cf", func(s *phpsession.Session) error {
			if runs.Add(1) == 1 {
				close(inside)
				<-written
			}
			var n int
			if _, err := s.Unmarshal("n", &n); err != nil {
				return err
			}
			return s.Set("n", n+10)
		})
	}()
	<-inside
	// a writer that does not lock (or PHP, between its lock and release)
	r.MustDo("SET", "PHPREDIS_SESSION:cf", "n|i:100;")
	close(written)
	require.NoError(t, <-done)
	require.Equal(t, int32(2), runs.Load(), "fn re-ran on the new data")
	require.Equal(t, "n|i:110;", r.MustDo("GET", "PHPREDIS_SESSION:cf"))
	st := m.Stats()
	require.EqualValues(t, 1, st.Conflicts)
	require.EqualValues(t, 1, conflicts.Load())
	require.EqualValues(t, 2, st.LockFreeBatches, "the Set and the Update")
	require.EqualValues(t, 2, st.Batches)
	require.Zero(t, st.LockLostRetries)
}

// While PHP holds the lock a lock-free batch writes nothing; it waits for
// the release and then applies on top of what PHP wrote.
func TestLockFreeWaitsForHolder(t *testing.T) {
	r := testenv.StartRedis(t)
	var held atomic.Int32
	m := openTest(t, r, phpsession.Config{Metrics: &phpsession.Metrics{
		Conflict: func(h bool) {
			if h {
				held.Add(1)
			}
		},
	}})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "wh", "n", 1))
	r.MustDo("SET", "PHPREDIS_SESSION:wh_LOCK", "php|holder", "PX", "60000")
	done := make(chan error, 1)
	go func() {
		done <- m.Update(ctx, "wh", func(s *phpsession.Session) error {
			var n int
			if _, err := s.Unmarshal("n", &n); err != nil {
				return err
			}
			return s.Set("n", n+1)
		})
	}()
	for held.Load() == 0 {
		select {
		case err := <-done:
			t.Fatalf("update returned while the lock was held: %v", err)
		default:
		}
		runtime.Gosched()
	}
	require.Equal(t, "n|i:1;", r.MustDo("GET", "PHPREDIS_SESSION:wh"), "nothing written while PHP holds the lock")
	// PHP writes and releases.
	r.MustDo("SET", "PHPREDIS_SESSION:wh", "n|i:50;")
	r.MustDo("DEL", "PHPREDIS_SESSION:wh_LOCK")
	require.NoError(t, <-done)
	require.Equal(t, "n|i:51;", r.MustDo("GET", "PHPREDIS_SESSION:wh"))
	st := m.Stats()
	require.EqualValues(t, 1, st.LockWaits)
	require.EqualValues(t, 2, st.LockFreeBatches, "the Set (which read the unknown session first) and the Update")
	require.EqualValues(t, 2, st.Batches)
}

// NoLockFree: every batch takes the lock.
func TestNoLockFree(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{NoLockFree: true})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		require.NoError(t, m.Set(ctx, "nl", "n", i))
	}
	st := m.Stats()
	require.EqualValues(t, 3, st.Batches)
	require.Zero(t, st.LockFreeBatches)
}

// A session the process has never seen, written while PHP holds its lock:
// the first batch reads it without the lock, waits for the release and
// applies on top of PHP's write; Go never takes the lock.
func TestLockFreeFirstWriteWaitsForHolder(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:fw", "n|i:1;")
	r.MustDo("SET", "PHPREDIS_SESSION:fw_LOCK", "php|holder", "PX", "60000")
	before, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		done <- m.Update(ctx, "fw", func(s *phpsession.Session) error {
			var n int
			if _, err := s.Unmarshal("n", &n); err != nil {
				return err
			}
			return s.Set("n", n+1)
		})
	}()
	waitUntil(t, "the lock-free commit is refused", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Update returned before its commit was refused: %v", err)
		default:
		}
		return m.Stats().Conflicts > 0
	})
	r.MustDo("SET", "PHPREDIS_SESSION:fw", "n|i:7;")
	r.MustDo("DEL", "PHPREDIS_SESSION:fw_LOCK")
	require.NoError(t, <-done)
	require.Equal(t, "n|i:8;", r.MustDo("GET", "PHPREDIS_SESSION:fw"))
	after, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	require.Equal(t, before["set"]+1, after["set"], "only this test's own SET of the data: Go never tried SET NX on the lock")
	require.EqualValues(t, 1, m.Stats().LockFreeBatches)
}

// A writer that does not lock and changes the session between every
// lock-free try cannot starve a batch: after 8 such changes the batch takes
// the lock, and runs once more under it.
func TestLockFreeFallsBackToLockAgainstNonLockingWriter(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "nlw", "n", 0))
	st0 := m.Stats()
	runs := 0
	require.NoError(t, m.Update(ctx, "nlw", func(s *phpsession.Session) error {
		runs++
		if runs <= 9 {
			// the foreign writer strikes between this try's read and write
			r.MustDo("SET", "PHPREDIS_SESSION:nlw", fmt.Sprintf("n|i:%d;", 100*runs))
		}
		var n int
		if _, err := s.Unmarshal("n", &n); err != nil {
			return err
		}
		return s.Set("n", n+1)
	}))
	require.Equal(t, 10, runs, "1 try + 8 re-runs lock-free, then 1 under the lock")
	require.Equal(t, "n|i:901;", r.MustDo("GET", "PHPREDIS_SESSION:nlw"))
	st := m.Stats()
	require.EqualValues(t, 9, st.Conflicts-st0.Conflicts)
	require.EqualValues(t, 1, st.Batches-st0.Batches)
	require.EqualValues(t, 0, st.LockFreeBatches-st0.LockFreeBatches, "the batch ended under the lock")
}
