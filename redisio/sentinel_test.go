package redisio

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestSentinelSwitchWatch: LockWatched's promise (a copy read with
// tracking, still fresh when LockWatched returns, with no invalidation
// counted by the Watch, is what the data key held when the lock was
// taken) holds across a Sentinel switch. rueidis dials the new master,
// swaps it in, then closes the old master's connection, which waits for
// its commands in flight; a copy read through the old connection after
// the dial (the Store drops everything there) and before the swap must not
// pass for fresh once the lock was taken on the new master, which another
// process may have written meanwhile. The test holds the dial until it
// has read such a copy and written the key on the new master, and pauses
// the old master so that its connection's close waits.
func TestSentinelSwitchWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	m := testenv.StartRedis(t)
	rep := testenv.StartReplica(t, m)
	sn := testenv.StartSentinel(t, m, "sentinel down-after-milliseconds mymaster 1000", "sentinel failover-timeout mymaster 5000")
	sn.WaitReplica(t, rep)
	opt, err := ParseURL(sn.URL())
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var released atomic.Bool
	dialing := make(chan struct{}, 1)
	opt.DialCtxFn = func(ctx context.Context, dst string, d *net.Dialer, tc *tls.Config) (net.Conn, error) {
		if dst == rep.Addr && !released.Load() {
			select {
			case dialing <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return d.DialContext(ctx, "tcp", dst)
	}
	s, err := Open(opt, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	unblock := func() {
		if !released.Swap(true) {
			close(release)
		}
	}
	t.Cleanup(unblock)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	id := "switch"
	k := s.Key(id)
	// The memo's rule (cache.Memo): a copy is fresh while no invalidation
	// of its key, and no nil one, reached OnInvalidate since its read
	// began.
	var seq atomic.Int64
	cancelSub := s.OnInvalidate(func(ids []string) {
		if ids == nil || slices.Contains(ids, id) {
			seq.Add(1)
		}
	})
	defer cancelSub()

	m.MustDo("SET", k, "n|i:1;")
	// Outside a switch a Watch counts nothing: the Sentinel's own
	// connection is not taken for a second master.
	l0, w0, err := s.LockWatched(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	inv0 := w0.Invalidations()
	w0.Close()
	if err := s.Release(ctx, l0); err != nil {
		t.Fatal(err)
	}
	if inv0 != 0 {
		t.Fatalf("before the failover a Watch counted %d invalidations", inv0)
	}
	testenv.WaitReplicaCaughtUp(t, m.Addr, rep.Addr, 15*time.Second)
	waitFor(t, 15*time.Second, "failover accepted", func() bool {
		_, err := testenv.Do(sn.Addr, "SENTINEL", "FAILOVER", "mymaster")
		return err == nil
	})
	select {
	case <-dialing:
	case <-ctx.Done():
		t.Fatal("rueidis never dialled the new master")
	}
	// The switch has begun: the old master's connection is still the one
	// in use. Read through it, as a memo would.
	before := seq.Load()
	copyRead, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if string(copyRead.Bytes) != "n|i:1;" {
		t.Fatalf("read %q through the old master", copyRead.Bytes)
	}
	// Another process, already on the new master, writes the session.
	rep.MustDo("SET", k, "n|i:2;")
	// The old master's connection will wait for its PING when closed.
	m.MustDo("CLIENT", "PAUSE", "3000", "ALL")
	unblock()
	waitFor(t, 20*time.Second, "switched to the new master", func() bool {
		_, ok := s.Client().Nodes()[rep.Addr]
		return ok
	})
	l, w, err := s.LockWatched(ctx, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	fresh := seq.Load() == before
	inv := w.Invalidations()
	held := rep.MustDo("GET", k)
	t.Logf("copy %q fresh=%v, Watch counted %d, the key holds %q", copyRead.Bytes, fresh, inv, held)
	if fresh && inv == 0 && held != string(copyRead.Bytes) {
		t.Errorf("LockWatched vouched for a copy read from the old master (%q) while the new master held %q when the lock was taken", copyRead.Bytes, held)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
}
