package redisio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestClusterFailoverNoStaleRead fails the master of a session's data key
// over to its replica again and again (CLUSTER FAILOVER, FAILOVER FORCE,
// FAILOVER TAKEOVER) while one Store writes the session under the lock and
// reads it back through the client-side cache, and a second Store
// (another process) reads it under the lock and without.
//
// The old master's connection keeps its client-side cache after the slot
// moved: until the old master has replicated the new master's writes it
// sends no invalidation, and until rueidis refreshes its slot map reads of
// the slot still go to that connection, while writes follow MOVED to the
// new master. Checked:
//
//   - the writer's Get started after its Commit of n was acknowledged
//     returns n or later (read-your-own-writes);
//   - the second Store's LockAndRead started after the writer's Commit of n
//     was acknowledged returns n or later (a lock-protected read);
//   - the second Store's reads never go back in time.
func TestClusterFailoverNoStaleRead(t *testing.T) {
	if testing.Short() {
		t.Skip("a 6-node cluster is slow to start")
	}
	c := testenv.StartClusterReplicas(t, 3, 1, 2*time.Second)
	url := clusterURL(c)
	cfg := Config{Timeout: 2 * time.Second, LockTimeout: 20 * time.Second}
	w := openURL(t, url, cfg)
	r := openURL(t, url, cfg)
	pure := openURL(t, url, cfg)
	const id = "failoverstale"
	key := w.Key(id)
	slot := strconv.Itoa(c.KeySlot(t, key))

	ctx, cancel := context.WithCancel(context.Background())
	var (
		acked atomic.Int64 // last value whose Commit the writer saw acknowledged
		gate  sync.RWMutex // held by the writer around a write, see failoverSlot
		wg    sync.WaitGroup
		phase atomic.Value // the failover under way, for reports
		mu    sync.Mutex
		seen  = map[string]int{} // check failed (phase and check) → times
		first = map[string]string{}
	)
	phase.Store("before the first failover")
	// report records a failed check: how often each check failed in each
	// phase, with the first example.
	report := func(check, format string, args ...any) {
		k := phase.Load().(string) + ": " + check
		mu.Lock()
		defer mu.Unlock()
		if seen[k]++; seen[k] == 1 {
			first[k] = fmt.Sprintf(format, args...)
		}
	}
	value := func(d Data) int64 {
		if !d.Found {
			return 0
		}
		n, err := strconv.ParseInt(string(d.Bytes), 10, 64)
		if err != nil {
			report("bytes", "unexpected bytes %q", d.Bytes)
		}
		return n
	}
	finish := func() {
		cancel()
		wg.Wait()
		for k, n := range seen {
			t.Errorf("%s: %d times, first: %s", k, n, first[k])
		}
	}
	defer func() {
		if ctx.Err() == nil {
			finish()
		}
	}()
	// The writer: lock, commit n, read back. Errors while the slot moves
	// (unavailable, outcome unknown) are expected and retried with the next
	// value; only nil counts as acknowledged.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); ctx.Err() == nil; n++ {
			gate.RLock()
			l, _, err := w.LockAndRead(ctx, id)
			if err == nil {
				_, err = w.Commit(ctx, l, WriteData, []byte(strconv.FormatInt(n, 10)))
			}
			gate.RUnlock()
			if err != nil {
				continue
			}
			acked.Store(n)
			d, err := w.Get(ctx, id)
			if err == nil && value(d) < n {
				report("writer's Get", "writer: Get returned %d after its Commit of %d was acknowledged", value(d), n)
			}
		}
	}()
	// More reads of the writer's Store, concurrent with its writes.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a := acked.Load()
				d, err := w.Get(ctx, id)
				if err == nil && value(d) < a {
					report("writer's Store's Get", "writer's Store: Get returned %d after the Commit of %d was acknowledged", value(d), a)
				}
			}
		}()
	}
	// The second Store: reads under the lock, and cached reads.
	wg.Add(1)
	go func() {
		defer wg.Done()
		var last int64
		for ctx.Err() == nil {
			a := acked.Load()
			l, d, err := r.LockAndRead(ctx, id)
			if err != nil {
				continue
			}
			_ = r.Release(ctx, l)
			v := value(d)
			if v < a {
				report("other Store's LockAndRead", "other Store: LockAndRead returned %d after the Commit of %d was acknowledged", v, a)
			}
			if v < last {
				report("other Store's LockAndRead went back", "other Store: LockAndRead returned %d after it had read %d", v, last)
			}
			last = max(last, v)
			for range 4 {
				d, err := r.Get(ctx, id)
				if err != nil {
					break
				}
				if v := value(d); v < last {
					report("other Store's Get went back", "other Store: Get returned %d after it had read %d", v, last)
				} else {
					last = v
				}
			}
		}
	}()

	// A third Store only reads, without the lock: it sends nothing to the
	// old master once its reads are answered from the cache, so no MOVED
	// reaches it. Its stale reads are counted (they end when its slot map
	// is refreshed, DefaultShardsRefreshInterval, or the old master
	// replicates); that it reaches the new master's writes while the old
	// master still cannot replicate them is checked after each failover.
	var pureLast atomic.Int64
	var pureStale sync.Map // phase → *atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			a := acked.Load()
			d, err := pure.Get(ctx, id)
			if err != nil {
				continue
			}
			v := value(d)
			if v < a {
				n, _ := pureStale.LoadOrStore(phase.Load().(string), new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
			if v < pureLast.Load() {
				report("reader's Get went back", "reader: Get returned %d after it had read %d", v, pureLast.Load())
			}
			pureLast.Store(v)
		}
	}()
	pureReaches := func(what string) {
		t.Helper()
		target := acked.Load()
		// shorter than CacheTTL (1 min), after which the cached copies
		// expire anyway
		deadline := time.Now().Add(30 * time.Second)
		for pureLast.Load() < target {
			if time.Now().After(deadline) {
				t.Fatalf("%s: a Store that only reads still reads %d, %d was acknowledged", what, pureLast.Load(), target)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	progress := func(what string) {
		t.Helper()
		from := acked.Load()
		deadline := time.Now().Add(60 * time.Second)
		for acked.Load() < from+30 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the writer did not progress (acknowledged %d)", what, acked.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	modes := []string{"", "FORCE", "TAKEOVER"}
	rounds := 9
	for round := range rounds {
		progress("before failover")
		mode := modes[round%len(modes)]
		phase.Store(fmt.Sprintf("failover %d (%q)", round+1, mode))
		demoted := failoverSlot(t, c, slot, mode, &gate)
		progress("after failover " + mode)
		pureReaches("after failover " + mode)
		if _, err := testenv.Do(demoted, "CONFIG", "SET", "masterauth", ""); err != nil {
			t.Fatalf("CONFIG SET masterauth on %s: %v", demoted, err)
		}
		c.WaitOK(t, 60*time.Second)
	}
	finish()
	pureStale.Range(func(k, v any) bool {
		t.Logf("%s: the Store that only reads returned a value older than an acknowledged Commit %d times", k, v.(*atomic.Int64).Load())
		return true
	})
	t.Logf("writer acknowledged %d commits; writer %+v; other %+v", acked.Load(), w.Stats(), r.Stats())
}

// failoverSlot promotes the replica of the master serving slot with
// CLUSTER FAILOVER [mode] and returns the old master's address once the
// replica reports itself master and the old master itself a replica. The
// old master is given a wrong masterauth first, so that it cannot
// replicate the new master until the caller clears it (CONFIG SET
// masterauth ""): meanwhile it answers MOVED for the slot but has not
// applied the new master's writes, as during a long full
// resynchronisation, so its clients get no invalidation for them. For FORCE and TAKEOVER (which do not wait for the replica to
// catch up) gate is held from before the replica is waited for until the
// old master knows it is a replica, so that no write the old master
// acknowledged is lost to asynchronous replication (writers hold gate for
// reading).
func failoverSlot(t *testing.T, c *testenv.Cluster, slot, mode string, gate *sync.RWMutex) (promoted string) {
	t.Helper()
	n, _ := strconv.Atoi(slot)
	owner, replica := c.SyncedReplica(t, n)
	if _, err := testenv.Do(owner.Addr, "CONFIG", "SET", "masterauth", "wrong"); err != nil {
		t.Fatalf("CONFIG SET masterauth on %s: %v", owner.Addr, err)
	}
	args := []string{"CLUSTER", "FAILOVER"}
	if mode != "" {
		args = append(args, mode)
		gate.Lock()
		defer gate.Unlock()
		waitUntil(t, 20*time.Second, "replica caught up", func() error {
			mo, err := testenv.InfoField(owner.Addr, "replication", "master_repl_offset")
			if err != nil {
				return err
			}
			ro, err := testenv.InfoField(replica, "replication", "master_repl_offset")
			if err != nil {
				return err
			}
			if mo != ro {
				return fmt.Errorf("offsets %s (master) and %s (replica)", mo, ro)
			}
			return nil
		})
	}
	if _, err := testenv.Do(replica, args...); err != nil {
		t.Fatalf("%s on %s: %v", strings.Join(args, " "), replica, err)
	}
	waitUntil(t, 30*time.Second, "replica promoted", func() error {
		role, err := testenv.InfoField(replica, "replication", "role")
		if err == nil && role != "master" {
			err = errors.New("role " + role)
		}
		return err
	})
	waitUntil(t, 30*time.Second, "old master demoted", func() error {
		role, err := testenv.InfoField(owner.Addr, "replication", "role")
		if err == nil && role != "slave" {
			err = errors.New("role " + role)
		}
		return err
	})
	t.Logf("slot %s: %s failed over to %s (%s)", slot, owner.Addr, replica, strings.Join(args, " "))
	return owner.Addr
}

func waitUntil(t *testing.T, max time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(max)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %v", what, max, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
