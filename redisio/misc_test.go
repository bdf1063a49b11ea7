package redisio

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/redis/rueidis"
)

func TestSentinel(t *testing.T) {
	r := testenv.StartRedis(t)
	sn := testenv.StartSentinel(t, r)
	s := openURL(t, sn.URL(), Config{})
	if s.Cluster() || s.Client().Mode() != rueidis.ClientModeSentinel {
		t.Fatalf("mode %v", s.Client().Mode())
	}
	stores := []*Store{s, openURL(t, sn.URL(), Config{})}
	mutualExclusion(t, stores, "sent", 4, 20, func() int { return counterIn(t, r, s.Key("sent")) })
}

// TestNewStore: a user-supplied client with rueidis's default multiplexing
// (several connections): waits poll, Get reads without the cache, and the
// guarantees still hold.
func TestNewStore(t *testing.T) {
	r := testenv.StartRedis(t)
	mk := func() *Store {
		c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{r.Addr}, PipelineMultiplex: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		s, err := NewStore(c, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if s.Tracking() {
			t.Fatal("NewStore claims tracking")
		}
		return s
	}
	a, b := mk(), mk()
	mutualExclusion(t, []*Store{a, b}, "ns", 4, 20, func() int { return counterIn(t, r, a.Key("ns")) })
	staleReads(t, a, b, 8, 40)
	readYourWrites(t, a, 8, 40)
}

func TestOnInvalidate(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx := context.Background()
	got := make(chan []string, 100)
	cancel := s.OnInvalidate(func(ids []string) {
		select {
		case got <- ids:
		default:
		}
	})
	defer cancel()
	r.MustDo("SET", s.Key("inv"), "a|i:1;")
	if _, err := s.Get(ctx, "inv"); err != nil { // tracks the key
		t.Fatal(err)
	}
	php := testenv.MustDial(t, r.Addr)
	if _, err := php.Do("SETEX", s.Key("inv"), "1440", "a|i:2;"); err != nil {
		t.Fatal(err)
	}
	waitIDs(t, got, func(ids []string) bool { return len(ids) == 1 && ids[0] == "inv" })

	// LockAndRead also tracks the data key (standalone: CLIENT CACHING YES;
	// split: DoCache), so changes of what it returned are reported.
	split := openTest(t, r, Config{SplitKeys: true})
	gotSplit := make(chan []string, 100)
	defer split.OnInvalidate(func(ids []string) {
		select {
		case gotSplit <- ids:
		default:
		}
	})()
	for _, tc := range []struct {
		s  *Store
		ch chan []string
	}{{s, got}, {split, gotSplit}} {
		id := "inv2" + strconv.FormatBool(tc.s.Cluster())
		l, _, err := tc.s.LockAndRead(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.s.Release(ctx, l); err != nil {
			t.Fatal(err)
		}
		if _, err := php.Do("SET", tc.s.Key(id), "x"); err != nil {
			t.Fatal(err)
		}
		waitIDs(t, tc.ch, func(ids []string) bool { return len(ids) == 1 && ids[0] == id })
	}

	// Our own Commit's invalidation has been delivered when Commit returns.
	for _, st := range []*Store{s, openTest(t, r, Config{SplitKeys: true})} {
		var mu sync.Mutex
		var seen []string
		cancelOwn := st.OnInvalidate(func(ids []string) {
			mu.Lock()
			seen = append(seen, ids...)
			mu.Unlock()
		})
		for i := 0; i < 20; i++ {
			id := "own" + strconv.Itoa(i)
			if _, err := st.Get(ctx, id); err != nil { // track the key
				t.Fatal(err)
			}
			l, _, err := st.LockAndRead(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Commit(ctx, l, WriteData, counterBytes(i)); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			found := false
			for _, x := range seen {
				found = found || x == id
			}
			mu.Unlock()
			if !found {
				t.Fatalf("split=%v: invalidation of %s not delivered before Commit returned", st.Cluster(), id)
			}
		}
		cancelOwn()
	}

	// A killed connection reports "everything" (nil).
	r.MustDo("CLIENT", "KILL", "TYPE", "normal")
	waitIDs(t, got, func(ids []string) bool { return ids == nil })
	cancel()
}

func waitIDs(t *testing.T, ch chan []string, ok func([]string) bool) {
	t.Helper()
	timeout := time.After(testenv.HangGuard)
	for {
		select {
		case ids := <-ch:
			if ok(ids) {
				return
			}
		case <-timeout:
			t.Fatal("invalidation not received")
		}
	}
}

func TestCloseWakesWaiters(t *testing.T) {
	r := testenv.StartRedis(t)
	s, err := OpenURL(r.URL(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	r.MustDo("SET", s.LockKey("c"), "vm|1")
	parked := make(chan struct{}, 1)
	s.waitHook = func(string, string) {
		select {
		case parked <- struct{}{}:
		default:
		}
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := s.LockAndRead(context.Background(), "c")
		done <- err
	}()
	<-parked
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Get(context.Background(), "c"); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}

func TestUnlockedOps(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{Prefix: "my:pfx x:", TTL: 1440 * time.Second})
	ctx := context.Background()
	if s.Key("a") != "my:pfx x:a" || s.LockKey("a") != "my:pfx x:a_LOCK" {
		t.Fatal(s.Key("a"), s.LockKey("a"))
	}
	if ok, err := s.Exists(ctx, "a"); err != nil || ok {
		t.Fatal(ok, err)
	}
	if ok, err := s.Touch(ctx, "a"); err != nil || ok {
		t.Fatal(ok, err)
	}
	if v := r.MustDo("EXISTS", s.Key("a")); v != "0" {
		t.Fatal("touch created the key")
	}
	r.MustDo("SET", s.Key("a"), "")
	if ok, err := s.Exists(ctx, "a"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	d, err := s.Get(ctx, "a")
	if err != nil || !d.Found || len(d.Bytes) != 0 {
		t.Fatalf("%+v %v", d, err)
	}
	if ok, err := s.Touch(ctx, "a"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if v := r.MustDo("TTL", s.Key("a")); v != "1440" {
		t.Fatal(v)
	}
	if ok, err := s.Destroy(ctx, "a"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if d, err := s.Get(ctx, "a"); err != nil || d.Found {
		t.Fatal("Get after Destroy", d, err)
	}
	if ok, err := s.Destroy(ctx, "a"); err != nil || ok {
		t.Fatal(ok, err)
	}
	// Empty prefix (phpredis prefix=).
	e := openTest(t, r, Config{NoPrefix: true})
	if e.Key("a") != "a" {
		t.Fatal(e.Key("a"))
	}
	// WriteTouch of a missing key does not create it.
	l, _, err := s.LockAndRead(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Commit(ctx, l, WriteTouch, nil)
	if err != nil || res.Existed {
		t.Fatal(res, err)
	}
	if v := r.MustDo("EXISTS", s.Key("b")); v != "0" {
		t.Fatal("touch created the key")
	}
	// LockHolder.
	l, _, err = s.LockAndRead(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	tok, pttl, held, err := s.LockHolder(ctx, "b")
	// PX is sent in milliseconds (the rueidis Px(time.Duration) pitfall).
	if err != nil || !held || tok != l.Token || pttl < DefaultLockExpiry-time.Second || pttl > DefaultLockExpiry {
		t.Fatal(tok, pttl, held, err)
	}
	if err := s.Release(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, l); err != nil { // idempotent
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, l, WriteData, nil); !errors.Is(err, ErrLockLost) {
		t.Fatal(err)
	}
	if _, _, held, _ := s.LockHolder(ctx, "b"); held {
		t.Fatal("still held")
	}
}

func TestOpenRejectsUnsafeOptions(t *testing.T) {
	for i, opt := range []rueidis.ClientOption{
		{InitAddress: []string{"127.0.0.1:1"}, ClientTrackingOptions: []string{"BCAST"}},
		{InitAddress: []string{"127.0.0.1:1"}, DisableCache: true},
		{InitAddress: []string{"127.0.0.1:1"}, DisableAutoPipelining: true},
		{InitAddress: []string{"127.0.0.1:1"}, ReplicaOnly: true},
	} {
		if _, err := Open(opt, Config{}); err == nil {
			t.Errorf("%d: accepted", i)
		}
	}
}

// TestManyWaitersOneSession: many goroutines of one Store queue on one
// session; every one gets the lock in turn, woken by invalidations one at a
// time.
func TestManyWaitersOneSession(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	var wg sync.WaitGroup
	ctx := context.Background()
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := incr(ctx, s, "many"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := counterIn(t, r, s.Key("many")); got != 64 {
		t.Fatal(got)
	}
	st := s.Stats()
	t.Logf("stats %+v", st)
	if st.WakeTimer > st.WakeInvalidated/10+1 {
		t.Fatalf("waits ended by timers instead of invalidations: %+v", st)
	}
	// FIFO hand-over: about one failed SET NX per acquisition, not one per
	// waiter.
	if st.Busy > 3*st.Acquired {
		t.Fatalf("thundering herd: %d busy attempts for %d acquisitions", st.Busy, st.Acquired)
	}
}

// TestSentinelFailover: after a Sentinel failover the Store follows the new
// master; no increment is lost or doubled, and a second Store reading
// without the lock throughout never sees the counter go back. Replication
// is asynchronous, so the failover is started once the replica has every
// acknowledged write, as a planned failover would (a replica promoted
// without them makes Redis lose them; docs/guarantees.md).
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	m := testenv.StartRedis(t)
	rep := testenv.StartRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(m.Port))
	waitFor(t, 10*time.Second, "replica link up", func() bool {
		info, _ := rep.Do("INFO", "replication")
		return strings.Contains(info, "master_link_status:up")
	})
	sn := testenv.StartSentinel(t, m, "sentinel down-after-milliseconds mymaster 1000", "sentinel failover-timeout mymaster 5000")
	sn.WaitReplica(t, rep)
	s := openURL(t, sn.URL(), Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	// The reader: cached unlocked reads on a Store of its own, through the
	// whole test. Errors while the master changes are allowed; a value
	// below one read before is not.
	reader := openURL(t, sn.URL(), Config{})
	stopReads := make(chan struct{})
	readsDone := make(chan struct{})
	var reads, readErrs atomic.Int64
	go func() {
		defer close(readsDone)
		pace := time.NewTicker(time.Millisecond) // a reader, not a CPU hog
		defer pace.Stop()
		last := 0
		for {
			select {
			case <-stopReads:
				return
			case <-pace.C:
			}
			d, err := reader.Get(ctx, "fo")
			if err != nil {
				readErrs.Add(1)
				continue
			}
			n, err := parseCounter(d)
			if err != nil {
				t.Error(err)
				return
			}
			if n < last {
				t.Errorf("read %d after %d: the counter went back", n, last)
				return
			}
			last = n
			reads.Add(1)
		}
	}()
	stopReader := func() {
		t.Helper()
		select {
		case <-readsDone:
		default:
			close(stopReads)
			<-readsDone
		}
	}
	defer stopReader()

	var retries atomic.Int64
	run := func(n int) {
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < n; i++ {
					if err := incrRetry(ctx, s, "fo", &retries); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	run(25)
	// "master_link_status:up" above and a WAIT sent by this test do not
	// prove the replica has the 100 increments (see
	// WaitReplicaCaughtUp): under load, Sentinel was seen promoting a
	// replica that had none of them, and the second run counted from 0
	// to 100 on it.
	testenv.WaitReplicaCaughtUp(t, m.Addr, rep.Addr, 15*time.Second)
	if got := counterIn(t, rep, s.Key("fo")); got != 100 {
		t.Fatalf("counter on the caught-up replica %d, want 100", got)
	}
	waitFor(t, 15*time.Second, "failover accepted", func() bool {
		_, err := testenv.Do(sn.Addr, "SENTINEL", "FAILOVER", "mymaster")
		return err == nil
	})
	waitFor(t, 20*time.Second, "replica promoted", func() bool {
		out, _ := testenv.Do(sn.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
		info, _ := rep.Do("INFO", "replication")
		return strings.Contains(out, strconv.Itoa(rep.Port)) && strings.Contains(info, "role:master")
	})
	// Writes acknowledged by the old master after the switch would be lost
	// when it becomes a replica (Redis's asynchronous replication, not
	// ours to fix): demote it now, as Sentinel would shortly.
	m.MustDo("REPLICAOF", "127.0.0.1", strconv.Itoa(rep.Port))
	waitFor(t, 20*time.Second, "old master demoted", func() bool {
		info, _ := m.Do("INFO", "replication")
		return strings.Contains(info, "role:slave")
	})
	run(25)
	if got := counterIn(t, rep, s.Key("fo")); got != 200 {
		mi, _ := m.Do("INFO", "replication")
		ri, _ := rep.Do("INFO", "replication")
		t.Fatalf("counter on the new master %d, want 200; old master's %d\n%s\nnew master:\n%s\nsentinel log:\n%s",
			got, counterIn(t, m, s.Key("fo")), mi, ri, sn.Log())
	}
	if v := rep.MustDo("EXISTS", s.LockKey("fo")); v != "0" {
		t.Fatal("lock left behind")
	}
	stopReader()
	// Once the reader's Store has followed the switch (its Gets may still
	// go to the old master's connection until then), it reads the new
	// master's counter.
	waitFor(t, 20*time.Second, "reader on the new master", func() bool {
		_, ok := reader.Client().Nodes()[rep.Addr]
		return ok
	})
	d, err := reader.Get(ctx, "fo")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := parseCounter(d); err != nil || n != 200 {
		t.Fatalf("reader after the switch: %d %v, want 200", n, err)
	}
	t.Logf("%d attempts retried during the switch (e.g. %v); %d reads, %d failed; stats %+v",
		retries.Load(), lastRetryErr.Load(), reads.Load(), readErrs.Load(), s.Stats())
}

// waitFor polls cond (a condition on external processes) until it holds.
func waitFor(t *testing.T, max time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(max)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
