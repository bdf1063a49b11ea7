package redisio

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// owner returns the index of the cluster node serving key.
func owner(t testing.TB, c *testenv.Cluster, key string) int {
	t.Helper()
	for i, n := range c.Nodes {
		if _, err := n.Do("GET", key); err == nil {
			return i
		} else if !strings.Contains(err.Error(), "MOVED") {
			t.Fatal(err)
		}
	}
	t.Fatalf("no owner for %q", key)
	return -1
}

func clusterURL(c *testenv.Cluster) string {
	u := "redis://" + c.Nodes[0].Addr + "?"
	for i, n := range c.Nodes[1:] {
		if i > 0 {
			u += "&"
		}
		u += "addr=" + n.Addr
	}
	return u
}

// mutualExclusion runs goroutines on several Stores (standing for
// processes) incrementing one session and checks the exact final count.
func mutualExclusion(t *testing.T, stores []*Store, id string, perStore, each int, final func() int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*perStore)
	for _, s := range stores {
		for g := 0; g < perStore; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := incr(ctx, s, id); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := final(), len(stores)*perStore*each; got != want {
		t.Fatalf("counter %d, want %d", got, want)
	}
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := testenv.StartCluster(t, 3)
	url := clusterURL(c)
	newStores := func(t *testing.T, n int, cfg Config) []*Store {
		var out []*Store
		for i := 0; i < n; i++ {
			out = append(out, openURL(t, url, cfg))
		}
		return out
	}
	get := func(t *testing.T, key string) string {
		v, err := c.Nodes[owner(t, c, key)].Do("GET", key)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// An id whose data and lock keys live on different nodes.
	var splitID string
	probe := openURL(t, url, Config{})
	if !probe.Cluster() {
		t.Fatal("cluster not detected")
	}
	for i := 0; ; i++ {
		id := "c" + strconv.Itoa(i)
		if owner(t, c, probe.Key(id)) != owner(t, c, probe.LockKey(id)) {
			splitID = id
			break
		}
	}

	t.Run("no-lock-free-write-across-slots", func(t *testing.T) {
		if probe.CanWriteIfUnlocked(splitID) {
			t.Fatal("CanWriteIfUnlocked: want false for keys in different slots")
		}
		_, err := probe.WriteIfUnlocked(context.Background(), splitID, Data{}, WriteData, counterBytes(1))
		if !errors.Is(err, ErrCrossSlot) {
			t.Fatalf("err = %v, want ErrCrossSlot", err)
		}
	})

	t.Run("mutual-exclusion-split-nodes", func(t *testing.T) {
		stores := newStores(t, 4, Config{})
		if stores[0].sameNode(splitID) {
			t.Fatal("expected split keys")
		}
		mutualExclusion(t, stores, splitID, 4, 15, func() int {
			n, _ := parseCounter(Data{Bytes: []byte(get(t, stores[0].Key(splitID))), Found: true})
			return n
		})
		if v := get(t, stores[0].LockKey(splitID)); v != "(nil)" {
			t.Fatalf("lock left: %q", v)
		}
	})

	t.Run("mutual-exclusion-hash-tag", func(t *testing.T) {
		// A prefix with a hash tag puts both keys in one slot: the
		// one-script commit path is used on the cluster too.
		stores := newStores(t, 3, Config{Prefix: "{sess}:"})
		if !stores[0].sameNode("x") {
			t.Fatal("expected same slot")
		}
		mutualExclusion(t, stores, "x", 4, 15, func() int {
			n, _ := parseCounter(Data{Bytes: []byte(get(t, "{sess}:x")), Found: true})
			return n
		})
	})

	t.Run("lease-hand-over-hash-tag", func(t *testing.T) {
		// The lease keys share the session's hash tag: a waiter's turn
		// key is tracked on the node of its slot, and the hand-over's
		// invalidation wakes it there (the poll is a minute).
		cfg := Config{Prefix: "{sess}:", PollInterval: time.Minute}
		a, b := newLeaseProc(openURL(t, url, cfg)), newLeaseProc(openURL(t, url, cfg))
		if !a.CanLease("ls") {
			t.Fatal("CanLease: want true with a hash tag")
		}
		if probe.CanLease(splitID) {
			t.Fatal("CanLease: want false without a hash tag")
		}
		if _, _, _, err := probe.AcquireLease(context.Background(), splitID, nil, time.Second, true, false); !errors.Is(err, ErrCrossSlot) {
			t.Fatalf("AcquireLease without a hash tag: %v, want ErrCrossSlot", err)
		}
		const px = 5 * time.Second
		la, _, _ := a.acquire(t, "ls", nil, px, false, false)
		if la == nil {
			t.Fatal("a did not take a free lease")
		}
		done := b.wait(b.refused(t, "ls", px))
		a.sync(t)
		if !a.wanted(t, "ls") {
			t.Fatal("holder does not see the waiter")
		}
		if err := a.ReleaseLease(context.Background(), la, px); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := b.Stats(); st.WakeInvalidated != 1 || st.WakeTimer != 0 {
			t.Fatalf("b woken by %d invalidations, %d timers", st.WakeInvalidated, st.WakeTimer)
		}
		if lb, _, _ := b.acquire(t, "ls", nil, px, false, false); lb == nil {
			t.Fatal("b woken but not holding the lease")
		}
	})

	t.Run("lock-free-large-hash-tag", func(t *testing.T) {
		// Long values travel through staged keys, which must land in the
		// session's slot: the hash tag puts them there.
		s := openURL(t, url, Config{Prefix: "{sess}:"})
		ctx := context.Background()
		big := []byte(strings.Repeat("a", casStageOver+100))
		big2 := []byte(strings.Repeat("b", casStageOver+100))
		if res, err := s.WriteIfUnlocked(ctx, "lf", Data{}, WriteData, big); err != nil || !res.Applied {
			t.Fatalf("create: %+v %v", res, err)
		}
		if res, err := s.WriteIfUnlocked(ctx, "lf", Data{Bytes: big, Found: true}, WriteData, big2); err != nil || !res.Applied {
			t.Fatalf("write: %+v %v", res, err)
		}
		res, err := s.WriteIfUnlocked(ctx, "lf", Data{Bytes: big, Found: true}, WriteData, big)
		if err != nil || !res.Changed || string(res.Current.Bytes) != string(big2) {
			t.Fatalf("stale expectation: %+v %v", res.Changed, err)
		}
		if v := get(t, s.Key("lf")); v != string(big2) {
			t.Fatalf("stored %d bytes, want the second write", len(v))
		}
		node := c.Nodes[owner(t, c, s.Key("lf"))]
		if left := node.MustDo("KEYS", MarkerPrefix+"*"); left != "" {
			t.Fatalf("staged keys left: %q", left)
		}
	})

	t.Run("lock-expires-while-held", func(t *testing.T) {
		s := openURL(t, url, Config{})
		lockExpiresWhileHeld(t, s, splitID+"exp", func(k string) string { return get(t, k) },
			func(args ...string) { _, _ = c.Nodes[owner(t, c, args[1])].Do(args...) })
	})

	t.Run("stale-reads", func(t *testing.T) {
		staleReads(t, openURL(t, url, Config{}), openURL(t, url, Config{}), 16, 60)
	})

	t.Run("read-your-own-writes", func(t *testing.T) {
		readYourWrites(t, openURL(t, url, Config{}), 16, 60)
	})

	t.Run("connections-killed", func(t *testing.T) {
		s := openURL(t, url, Config{})
		do := func(args ...string) (string, error) { return c.Nodes[owner(t, c, args[1])].Do(args...) }
		at := map[int64]bool{}
		for k := int64(15); k < 300; k += 29 {
			at[k] = true
		}
		kills := 0
		hammer(t, do, s, splitID+"k", 6, 300, at, func() {
			kills++
			for _, n := range c.Nodes {
				killClients(t, n, kills)
			}
		})
	})

	t.Run("wait-for-foreign-lock", func(t *testing.T) {
		s := openURL(t, url, Config{})
		lk := s.LockKey(splitID + "w")
		node := c.Nodes[owner(t, c, lk)]
		node.MustDo("SET", lk, "vm|9")
		parked := make(chan struct{}, 1)
		s.waitHook = func(string, string) {
			select {
			case parked <- struct{}{}:
			default:
			}
		}
		done := make(chan error, 1)
		go func() {
			l, _, err := s.LockAndRead(context.Background(), splitID+"w")
			if err == nil {
				_, err = s.Commit(context.Background(), l, WriteNone, nil)
			}
			done <- err
		}()
		<-parked
		node.MustDo("EVAL", ReleaseScript, "1", lk, "vm|9")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second): // far beyond the 250 ms poll: a hang
			t.Fatal("waiter not woken")
		}
	})
}

// lockExpiresWhileHeld: a Commit after our lock expired (or was taken by
// someone else) must fail with ErrLockLost and write nothing. The test
// expires the lock itself (PEXPIRE 1 ms) when it wants it gone: with a
// short LockExpiry instead, a stalled machine would let the lock expire
// before the calls that must still hold it.
func lockExpiresWhileHeld(t *testing.T, s *Store, id string, get func(key string) string, do func(args ...string)) {
	ctx := context.Background()
	do("SET", s.Key(id), "n|i:1;")
	for _, mode := range []WriteMode{WriteData, WriteTouch, WriteDelete, WriteNone} {
		for _, stolen := range []bool{false, true} {
			l, _, err := s.LockAndRead(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			// Expire it, and wait (condition poll) until Redis dropped it.
			do("PEXPIRE", s.LockKey(id), "1")
			for get(s.LockKey(id)) != "(nil)" {
				time.Sleep(5 * time.Millisecond)
			}
			if stolen {
				do("SET", s.LockKey(id), "php|1", "NX")
			}
			_, err = s.Commit(ctx, l, mode, counterBytes(99))
			if !errors.Is(err, ErrLockLost) {
				t.Fatalf("mode %v stolen %v: got %v, want ErrLockLost", mode, stolen, err)
			}
			if v := get(s.Key(id)); v != "n|i:1;" {
				t.Fatalf("mode %v: data changed to %q", mode, v)
			}
			if stolen {
				if v := get(s.LockKey(id)); v != "php|1" {
					t.Fatalf("foreign lock touched: %q", v)
				}
				do("DEL", s.LockKey(id))
			}
		}
	}
	// Renew and CommitKeep of an expired lock fail the same way.
	l, _, err := s.LockAndRead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CommitKeep(ctx, l, WriteData, counterBytes(2)); err != nil {
		t.Fatal(err)
	}
	if err := s.Renew(ctx, l); err != nil {
		t.Fatal(err)
	}
	do("PEXPIRE", s.LockKey(id), "1")
	for get(s.LockKey(id)) != "(nil)" {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Renew(ctx, l); !errors.Is(err, ErrLockLost) {
		t.Fatalf("renew: %v", err)
	}
	if v := get(s.Key(id)); v != "n|i:2;" {
		t.Fatalf("data %q", v)
	}
}
