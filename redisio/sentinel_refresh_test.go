package redisio

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestSentinelMissedSwitch: a Store whose Sentinel never publishes
// +switch-master still moves to the new master (DefaultTopologyRefreshInterval).
// The failover is made by hand: the replica is promoted with REPLICAOF NO
// ONE, the old master is demoted with REPLICAOF (given a wrong masterauth
// first, so that it keeps its old data, as when it is cut off from the new
// master), and the Sentinel is told the new master with SENTINEL REMOVE and
// MONITOR, which publish -monitor and +monitor but no +switch-master. The
// old master's connections stay open, so only asking the Sentinel again
// moves the Stores: until then a writer's writes are refused (READONLY,
// then ErrUnavailable) and a reader's Get returns the old master's value.
// The waits below are hang guards of many refresh periods, not timings.
// It runs with the tracking Store of Open and with a Store on a client
// without the client-side cache (NewClient with DisableCache, as a Manager
// with DisableClientCache has).
func TestSentinelMissedSwitch(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, tc := range []struct {
		name string
		open func(t *testing.T, url string) *Store
	}{
		{"tracking", func(t *testing.T, url string) *Store { return openURL(t, url, Config{}) }},
		{"no-cache", openNoCache},
	} {
		t.Run(tc.name, func(t *testing.T) { testSentinelMissedSwitch(t, tc.open) })
	}
}

// openNoCache opens a Store on a client of url without the client-side
// cache.
func openNoCache(t *testing.T, url string) *Store {
	t.Helper()
	opt, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableCache = true
	c, err := NewClient(opt, DefaultTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	s, err := NewStore(c, Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testSentinelMissedSwitch(t *testing.T, open func(t *testing.T, url string) *Store) {
	m := testenv.StartRedis(t)
	rep := testenv.StartReplica(t, m)
	sn := testenv.StartSentinel(t, m)
	w := open(t, sn.URL())
	r := open(t, sn.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	const id = "missedswitch"
	k := w.Key(id)
	if err := incr(ctx, w, id); err != nil {
		t.Fatal(err)
	}
	// The reader's copy comes from the old master and stays in its cache.
	if d, err := r.Get(ctx, id); err != nil {
		t.Fatal(err)
	} else if n, err := parseCounter(d); err != nil || n != 1 {
		t.Fatalf("reader before the failover: %d %v, want 1", n, err)
	}
	testenv.WaitReplicaCaughtUp(t, m.Addr, rep.Addr, 15*time.Second)

	rep.MustDo("REPLICAOF", "NO", "ONE")
	m.MustDo("CONFIG", "SET", "masterauth", "wrong")
	m.MustDo("REPLICAOF", "127.0.0.1", strconv.Itoa(rep.Port))
	for _, cmd := range [][]string{
		{"SENTINEL", "REMOVE", sn.Master},
		{"SENTINEL", "MONITOR", sn.Master, "127.0.0.1", strconv.Itoa(rep.Port), "1"},
	} {
		if out, err := testenv.Do(sn.Addr, cmd...); err != nil {
			t.Fatalf("%v: %v %q", cmd, err, out)
		}
	}
	if out, _ := testenv.Do(sn.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", sn.Master); !strings.Contains(out, strconv.Itoa(rep.Port)) {
		t.Fatalf("the Sentinel names %q as master, want port %d", out, rep.Port)
	}

	// The writer: increments until one is applied. Each attempt on the old
	// master is refused and fails once its busy retries run out.
	const guard = 30 * DefaultTopologyRefreshInterval
	deadline := time.Now().Add(guard)
	refused := 0
	var lastErr error
	for {
		err := incr(ctx, w, id)
		if err == nil {
			break
		}
		refused++
		lastErr = err
		if time.Now().After(deadline) {
			t.Fatalf("writes still fail %v after the failover (%d attempts, last: %v): the writer never left the old master\nsentinel log:\n%s",
				guard, refused, lastErr, sn.Log())
		}
	}
	want := counterIn(t, rep, k)
	if want < 2 {
		t.Fatalf("the new master holds %d after an acknowledged increment, want at least 2", want)
	}

	// The reader: Gets until it returns what the new master holds.
	deadline = time.Now().Add(guard)
	last := -1
	for {
		d, err := r.Get(ctx, id)
		if err == nil {
			n, perr := parseCounter(d)
			if perr != nil {
				t.Fatal(perr)
			}
			if last = n; n == want {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reader still reads %d (last error %v) %v after the failover, the new master holds %d: it never left the old master",
				last, err, guard, want)
		}
		time.Sleep(10 * time.Millisecond)
	}

	// The reader did not get the value by replication: the old master
	// still holds the one before the failover.
	if got := counterIn(t, m, k); got != 1 {
		t.Fatalf("the old master holds %d, want 1 (it was not to replicate)", got)
	}
	if log := sn.Log(); strings.Contains(log, "+switch-master") {
		t.Fatalf("the Sentinel published +switch-master; the test needs it not to:\n%s", log)
	}
	t.Logf("%d writes refused before the switch (last: %v); writer %+v; reader %+v", refused, lastErr, w.Stats(), r.Stats())
}
