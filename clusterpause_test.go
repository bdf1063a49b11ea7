package phpsession_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestClusterPausedMasterNoStaleRead: the master serving a session is
// stopped (SIGSTOP) and its replica takes its slots over (CLUSTER FAILOVER
// TAKEOVER, then FORCE: the other masters vote); another process writes the session on the new master. The
// reading process (R, a Manager with default options) only reads, from
// its memo: it sends nothing to the stopped master, so no MOVED reaches
// it, and the stopped master sends no invalidation. Its Store's failover
// watch (redisio/failover.go) sees the slots' new owner and drops the
// connection to the old one and every copy read through it. Checked,
// on counts and values:
//
//   - a read of R that starts after both the writer's acknowledged write
//     and R's drop (FailoverDrops) returns that write or a later one (the
//     order is checked: the write acknowledged before the drop);
//   - R reaches the new value while the old master is still stopped;
//   - once R read the new value it never returns an older one, also after
//     the old master is resumed (SIGCONT), learns that it was replaced and
//     becomes a replica.
//
// Without the watch, R returned the old value until its connection to the
// stopped master failed rueidis's keep-alive PING (ConnWriteTimeout, 10 s)
// or its copy's CacheTTL (1 min) ended. Each round fails over the current
// owner; a round where R's watch ran before the write was acknowledged
// proves nothing about the order and another round of the same mode is
// run (at most 3).
func TestClusterPausedMasterNoStaleRead(t *testing.T) {
	if testing.Short() {
		t.Skip("a 6-node cluster is slow to start")
	}
	c := testenv.StartClusterReplicas(t, 3, 1, 2*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 4*testenv.HangGuard)
	defer cancel()
	open := func() *phpsession.Manager {
		m, err := phpsession.Open(rueidis.ClientOption{InitAddress: c.Addrs()}, phpsession.Config{RedisTimeout: time.Second})
		require.NoError(t, err)
		t.Cleanup(func() { _ = m.Close(context.Background()) })
		return m
	}
	r := open()
	w0 := open()
	const id = "pausedmasterstaleread"
	key := r.Store().Key(id)
	slot := c.KeySlot(t, key)
	require.NoError(t, w0.Set(ctx, id, "n", 1))

	var (
		acked     atomic.Int64 // last value a writer saw acknowledged
		maxRead   atomic.Int64 // highest value R returned
		floor     atomic.Int64 // reads started after floorDrops drops return ≥ floor
		floorDrop atomic.Int64 // FailoverDrops count from which floor applies (0: none)
		reads     atomic.Int64
		mu        sync.Mutex
		failures  []string
		failed    int
	)
	fail := func(s string) {
		mu.Lock()
		if failed++; len(failures) < 5 {
			failures = append(failures, s)
		}
		mu.Unlock()
	}
	drops := func() int64 { return r.Store().Stats().FailoverDrops }
	readN := func(m *phpsession.Manager) (int64, error) {
		n, err := phpsession.GetAs[int64](ctx, m, id, "n")
		return n, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // R: reads only
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			fd, f, d := floorDrop.Load(), floor.Load(), drops()
			n, err := readN(r)
			if err != nil {
				continue
			}
			reads.Add(1)
			if fd > 0 && d >= fd && n < f {
				fail("R returned " + strconv.FormatInt(n, 10) + " after its drop, " + strconv.FormatInt(f, 10) + " having been acknowledged before it")
			}
			if m := maxRead.Load(); n < m {
				fail("R returned " + strconv.FormatInt(n, 10) + " after it had returned " + strconv.FormatInt(m, 10))
			}
			for m := maxRead.Load(); n > m && !maxRead.CompareAndSwap(m, n); m = maxRead.Load() {
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
		for _, f := range failures {
			t.Error(f)
		}
		if failed > 0 {
			t.Errorf("%d failed checks in all", failed)
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		require.NoError(t, testenv.ReturnsWithin(t, what, func() error {
			for !cond() {
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		}))
	}
	acked.Store(1)
	waitFor("R reads the first value", func() bool { return maxRead.Load() >= 1 })

	modes := []string{"TAKEOVER", "FORCE"}
	mode, tries := 0, 0
	for round := 1; mode < len(modes); round++ {
		owner, replica := c.SyncedReplica(t, slot)
		testenv.WaitReplicaCaughtUp(t, owner.Addr, replica, 20*time.Second)
		srv := c.Nodes[slices.IndexFunc(c.Nodes, func(n *testenv.Redis) bool { return n.Addr == owner.Addr })]
		before := drops()
		readsBefore := reads.Load()
		waitFor("R reads from memory", func() bool { return reads.Load() > readsBefore+100 })

		// The bytes the writer stores: the session with n = v, as the
		// library encodes it, captured from Redis.
		v := acked.Load() + 1
		scratch := id + "bytes"
		require.NoError(t, w0.Set(ctx, scratch, "n", v))
		raw, err := c.Do(w0.Store().Key(scratch), "GET", w0.Store().Key(scratch))
		require.NoError(t, err)

		require.NoError(t, srv.Signal(syscall.SIGSTOP))
		_, err = testenv.Do(replica, "CLUSTER", "FAILOVER", modes[mode])
		require.NoError(t, err)
		waitFor("replica promoted", func() bool {
			role, err := testenv.InfoField(replica, "replication", "role")
			return err == nil && role == "master"
		})
		// Another process, connected to the new master only, writes at
		// once (a plain SET, as PHP does without the lock).
		out, err := testenv.Do(replica, "SET", key, raw, "KEEPTTL")
		require.NoError(t, err)
		require.Equal(t, "OK", out)
		acked.Store(v)
		ordered := drops() == before // the write was acknowledged before R's drop
		if ordered {
			floor.Store(v)
			floorDrop.Store(before + 1)
		}
		staleBefore := reads.Load()
		waitFor("R drops the old master's copies", func() bool { return drops() > before })
		// R reaches the new value while the old master is still stopped.
		waitFor("R reads the new master's value", func() bool { return maxRead.Load() >= v })
		t.Logf("round %d (%s): %s stopped, %s took over; write of %d acknowledged %s R's drop; R made %d reads until it returned it",
			round, modes[mode], owner.Addr, replica, v, map[bool]string{true: "before", false: "after"}[ordered], reads.Load()-staleBefore)

		// The old master resumes, learns it was replaced and becomes a
		// replica; R keeps reading and never goes back.
		require.NoError(t, srv.Signal(syscall.SIGCONT))
		waitFor("old master demoted", func() bool {
			role, err := testenv.InfoField(owner.Addr, "replication", "role")
			return err == nil && role == "slave"
		})
		c.WaitOK(t, 60*time.Second)
		require.NoError(t, w0.Set(ctx, id, "n", v+1))
		acked.Store(v + 1)
		waitFor("R reads the write made after the demotion", func() bool { return maxRead.Load() >= v+1 })
		floorDrop.Store(0)
		tries++
		if ordered {
			mode, tries = mode+1, 0
		} else if tries == 3 {
			t.Fatalf("CLUSTER FAILOVER %s: in 3 rounds R's watch always ran before the write was acknowledged: the order the test checks was not observed", modes[mode])
		}
	}
	n, err := readN(r)
	require.NoError(t, err)
	require.Equal(t, acked.Load(), n)
	if mu.Lock(); len(failures) > 0 {
		mu.Unlock()
		return
	}
	mu.Unlock()
	require.False(t, errors.Is(ctx.Err(), context.DeadlineExceeded))
}
