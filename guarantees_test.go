package phpsession_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
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
// with a deadline-free context fails with an error wrapping ErrUnavailable
// (a write whose fate is unknown: ErrOutcomeUnknown), ended by the
// Store's own bound rather than a caller's deadline: under SIGSTOP its
// error says no reply came within RedisTimeout (redisio's
// TestUnavailableCallsAreBounded shows that each Store call sends a few
// round trips, each bounded by RedisTimeout). A call with its own short
// deadline does not leave the session stuck; once Redis is back the same
// Manager works again.
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

			noReply := fmt.Sprintf("no reply within %v", timeout)
			calls := map[string]func(id string) error{
				"Get":     func(id string) error { _, err := m.Get(bg, id, "n"); return err },
				"Exists":  func(id string) error { _, err := m.Exists(bg, id); return err },
				"Set":     func(id string) error { return m.Set(bg, id, "n", 3) },
				"Destroy": func(id string) error { _, err := m.Destroy(bg, id); return err },
			}
			for name, call := range calls {
				for _, id := range []string{"u1", "new" + name} {
					err := testenv.ReturnsWithin(t, name+" "+id, func() error { return call(id) })
					t.Logf("%s %s: %v", name, id, err)
					if err == nil {
						continue // a read may still be answered from memory (fresh, not expired)
					}
					if !errors.Is(err, phpsession.ErrUnavailable) && !errors.Is(err, phpsession.ErrOutcomeUnknown) {
						t.Errorf("%s %s: %v: want ErrUnavailable", name, id, err)
					}
					require.ErrorIs(t, err, phpsession.ErrSession)
					require.NotErrorIs(t, err, context.DeadlineExceeded, "Redis's silence reported as the caller's deadline")
					if fault == "sigstop" && !strings.Contains(err.Error(), noReply) {
						t.Errorf("%s %s: %v: not ended by the RedisTimeout bound (%q)", name, id, err, noReply)
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

// Close returns once its context ends even when Redis hangs (SIGSTOP) with
// a call in flight that Close would otherwise wait for, and while closing
// the rueidis client cannot finish. With RedisTimeout an hour, nothing but
// Close's context can end that call while the test runs (rueidis does not
// ping a connection with commands in flight); and the client's close,
// which against a silent server ends only by closing its connection, is
// held until the test ends by connections whose Close blocks. Close is
// still waiting when its context is cancelled, and returns after it while
// Redis is still stopped and the connections are held: it waits neither
// for Redis nor for the client's close. The call in flight is answered
// with an error once the connections may close.
func TestCloseWithinContextWhenRedisHangs(t *testing.T) {
	r := testenv.StartRedis(t)
	held := &closeHeld{release: make(chan struct{})}
	opt := rueidis.ClientOption{InitAddress: []string{r.Addr}, DialCtxFn: held.Dial}
	m, err := phpsession.Open(opt, phpsession.Config{RedisTimeout: time.Hour})
	require.NoError(t, err)
	bg := context.Background()
	require.NoError(t, m.Set(bg, "hang", "n", 1))
	stopRedis(t, r)
	t.Cleanup(held.releaseAll) // before Redis resumes (cleanups run last first)
	inflight := make(chan error, 1)
	go func() { inflight <- m.Set(bg, "hang", "n", 2) }()
	waitSubmitted(t, m, 2)
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- m.Close(ctx) }()
	// Close has begun once calls fail with ErrClosed (asked with a
	// cancelled context: before Close, the call returns its context's
	// error without waiting for the stopped Redis).
	dead, kill := context.WithCancel(bg)
	kill()
	deadline := time.Now().Add(testenv.HangGuard)
	for _, err := m.Exists(dead, "other"); !errors.Is(err, phpsession.ErrClosed); _, err = m.Exists(dead, "other") {
		if time.Now().After(deadline) {
			t.Fatalf("Close never began: %v", err)
		}
		runtime.Gosched()
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) before its context ended, with a call in flight on a stopped Redis", err)
	case err := <-inflight:
		t.Fatalf("the call in flight was answered (%v) while Redis is stopped and before Close's context ended", err)
	default:
	}
	cancel()
	select {
	case err = <-closed:
	case <-time.After(testenv.HangGuard):
		t.Fatalf("Close did not return %v after its context ended: it waits for the stopped Redis or the client's close", testenv.HangGuard)
	}
	require.ErrorIs(t, err, phpsession.ErrClosed)
	require.ErrorIs(t, err, context.Canceled)
	held.releaseAll() // rueidis ends the aborted call by closing its connection
	select {
	case err := <-inflight:
		require.Error(t, err)
	case <-time.After(testenv.HangGuard):
		t.Fatal("the in-flight call was never answered")
	}
}

// closeHeld is a rueidis DialCtxFn whose connections' Close blocks until
// releaseAll: while they are held, closing the client cannot finish if
// Redis is silent.
type closeHeld struct {
	release chan struct{}
	once    sync.Once
}

// Dial is the DialCtxFn.
func (h *closeHeld) Dial(ctx context.Context, dst string, nd *net.Dialer, _ *tls.Config) (net.Conn, error) {
	c, err := nd.DialContext(ctx, "tcp", dst)
	if err != nil {
		return nil, err
	}
	return &heldConn{Conn: c, release: h.release}, nil
}

// releaseAll lets the connections' Close calls proceed.
func (h *closeHeld) releaseAll() { h.once.Do(func() { close(h.release) }) }

type heldConn struct {
	net.Conn
	release chan struct{}
}

func (c *heldConn) Close() error {
	<-c.release
	return c.Conn.Close()
}
