package phpsession_test

import (
	"context"
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// waitSubmitted spins until the Manager has queued n operations in all.
func waitSubmitted(t *testing.T, m *phpsession.Manager, n uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for m.Stats().Submitted < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d operations queued", m.Stats().Submitted, n)
		}
		runtime.Gosched()
	}
}

// After Close every call returns ErrClosed, reads served from memory
// included.
func TestCallsAfterCloseReturnErrClosed(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "closed", "x", 1))
	_, err := m.Get(ctx, "closed", "x") // fills the memo
	require.NoError(t, err)
	_, err = m.Get(ctx, "closed", "x") // served from it
	require.NoError(t, err)
	require.NoError(t, m.Close(ctx))
	calls := map[string]func() error{
		"Get":       func() error { _, err := m.Get(ctx, "closed", "x"); return err },
		"GetValue":  func() error { _, err := m.GetValue(ctx, "closed", "x"); return err },
		"GetAs":     func() error { _, err := phpsession.GetAs[int](ctx, m, "closed", "x"); return err },
		"Load":      func() error { _, err := m.Load(ctx, "closed"); return err },
		"Unmarshal": func() error { var v map[string]any; return m.Unmarshal(ctx, "closed", &v) },
		"Exists":    func() error { _, err := m.Exists(ctx, "closed"); return err },
		"Set":       func() error { return m.Set(ctx, "closed", "x", 2) },
		"Update":    func() error { return m.Update(ctx, "closed", func(*phpsession.Session) error { return nil }) },
		"Delete":    func() error { _, err := m.Delete(ctx, "closed", "x"); return err },
		"Destroy":   func() error { _, err := m.Destroy(ctx, "closed"); return err },
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), phpsession.ErrClosed, name)
	}
	require.Equal(t, "x|i:1;", r.MustDo("GET", "PHPREDIS_SESSION:closed"))
}

// stopRedis SIGSTOPs the server (it keeps its connections but answers
// nothing) until the returned function resumes it (also at cleanup).
func stopRedis(t *testing.T, r *testenv.Redis) (resume func()) {
	t.Helper()
	pid := r.Server.PID()
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	resume = func() { _ = syscall.Kill(pid, syscall.SIGCONT) }
	t.Cleanup(resume)
	return resume
}

// While Redis answers nothing (SIGSTOP) or is gone (killed), every call
// with a deadline-free context fails within a few RedisTimeouts with an
// error wrapping ErrUnavailable (a write whose fate is unknown:
// ErrOutcomeUnknown); a call with its own short deadline does not leave
// the session stuck; once Redis is back the same Manager works again.
func TestManagerUnavailableBoundedAndRecovers(t *testing.T) {
	for _, fault := range []string{"sigstop", "killed"} {
		t.Run(fault, func(t *testing.T) {
			r := testenv.StartRedis(t)
			const timeout = 300 * time.Millisecond
			m := openTest(t, r, phpsession.Config{RedisTimeout: timeout})
			bg := context.Background()
			for _, id := range []string{"u1", "u2", "u3"} {
				require.NoError(t, m.Set(bg, id, "n", 1))
			}
			resume := func() {}
			switch fault {
			case "sigstop":
				resume = stopRedis(t, r)
			case "killed":
				r.Stop()
				resume = r.Restart
			}
			// a caller with its own short deadline gives up first
			short, cancel := context.WithTimeout(bg, 50*time.Millisecond)
			err := m.Set(short, "u1", "n", 2)
			cancel()
			require.Error(t, err)

			bound := 4 * timeout * 3 // round trip + reconcile, retried; generous for a loaded machine
			calls := map[string]func(id string) error{
				"Get":     func(id string) error { _, err := m.Get(bg, id, "n"); return err },
				"Exists":  func(id string) error { _, err := m.Exists(bg, id); return err },
				"Set":     func(id string) error { return m.Set(bg, id, "n", 3) },
				"Destroy": func(id string) error { _, err := m.Destroy(bg, id); return err },
			}
			for name, call := range calls {
				for _, id := range []string{"u1", "new" + name} {
					start := time.Now()
					err := call(id)
					took := time.Since(start)
					t.Logf("%s %s: %v after %v", name, id, err, took.Round(time.Millisecond))
					if err == nil {
						continue // a read may still be answered from memory (fresh, not expired)
					}
					if !errors.Is(err, phpsession.ErrUnavailable) && !errors.Is(err, phpsession.ErrOutcomeUnknown) {
						t.Errorf("%s %s: %v: want ErrUnavailable", name, id, err)
					}
					require.ErrorIs(t, err, phpsession.ErrSession)
					require.NotErrorIs(t, err, context.DeadlineExceeded, "Redis's silence reported as the caller's deadline")
					if took > bound {
						t.Errorf("%s %s: took %v, bound %v", name, id, took, bound)
					}
				}
			}
			resume()
			// recovery on the same Manager, on the session the short
			// deadline abandoned too
			var lastErr error
			for try := 0; try < 50; try++ {
				if lastErr = m.Set(bg, "u1", "n", 4); lastErr == nil {
					break
				}
				require.True(t, errors.Is(lastErr, phpsession.ErrUnavailable) || errors.Is(lastErr, phpsession.ErrOutcomeUnknown), "%v", lastErr)
				time.Sleep(timeout / 3)
			}
			require.NoError(t, lastErr)
			v, err := phpsession.GetAs[int](bg, m, "u1", "n")
			require.NoError(t, err)
			require.Equal(t, 4, v)
		})
	}
}

// Close returns within its context even when Redis hangs (SIGSTOP) with
// work in flight.
func TestCloseWithinContextWhenRedisHangs(t *testing.T) {
	r := testenv.StartRedis(t)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	require.NoError(t, err)
	bg := context.Background()
	require.NoError(t, m.Set(bg, "hang", "n", 1))
	stopRedis(t, r)
	inflight := make(chan error, 1)
	go func() { inflight <- m.Set(bg, "hang", "n", 2) }()
	waitSubmitted(t, m, 2)
	ctx, cancel := context.WithTimeout(bg, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Close(ctx)
	took := time.Since(start)
	require.ErrorIs(t, err, phpsession.ErrClosed)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	t.Logf("Close took %v", took)
	// rueidis's own close waits a second for a silent server
	require.Less(t, took, 800*time.Millisecond, "Close overran its 200 ms context")
	select {
	case err := <-inflight:
		require.Error(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("the in-flight call was never answered")
	}
}
