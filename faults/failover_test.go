package faults_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// waitFor polls cond (a condition on external processes) until it holds.
func waitFor(t *testing.T, max time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(max)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSentinelFailover switches the master of a Sentinel deployment while
// writers and readers run, the way an operator fails over without losing
// acknowledged writes: writes on the old master are paused until the
// replica has them all, Sentinel promotes the replica, the old master is
// demoted (what Sentinel does itself a few seconds later) and unpaused, so
// the writes it queued are refused. The Manager, opened with a
// redis-sentinel:// URL, must follow the switch: nothing acknowledged lost,
// nothing applied twice, no stale read, recovery without restart.
func TestSentinelFailover(t *testing.T) {
	if reason := knownFailure("SentinelFailover"); reason != "" {
		t.Skip("known: " + reason)
	}
	m := testenv.StartRedis(t)
	rep := testenv.StartReplica(t, m)
	sn := testenv.StartSentinel(t, m, "sentinel down-after-milliseconds mymaster 2000", "sentinel failover-timeout mymaster 5000")
	sn.WaitReplica(t, rep)
	master := func() (string, error) {
		out, err := testenv.Do(sn.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
		if err != nil {
			return "", err
		}
		hp := strings.Split(out, "\n")
		if len(hp) != 2 {
			return "", fmt.Errorf("master addr %q", out)
		}
		return hp[0] + ":" + hp[1], nil
	}
	top := topology{
		name: "sentinel",
		open: func(cfg phpsession.Config) (*phpsession.Manager, error) {
			return phpsession.OpenURL(sn.URL(), cfg)
		},
		get: func(key string) (string, error) {
			a, err := master()
			if err != nil {
				return "", err
			}
			return testenv.Do(a, "GET", key)
		},
		lockKeys: func() (map[string]int64, error) {
			a, err := master()
			if err != nil {
				return nil, err
			}
			return lockKeysOn(a)
		},
		set: func(key, value string) error {
			a, err := master()
			if err == nil {
				_, err = testenv.Do(a, "SET", key, value)
			}
			return err
		},
	}
	r := startRun(t, top, phpsession.Config{})

	m.MustDo("CLIENT", "PAUSE", "20000", "WRITE")
	waitFor(t, 10*time.Second, "replica has every write", func() error {
		mo, err := testenv.InfoField(m.Addr, "replication", "master_repl_offset")
		if err != nil {
			return err
		}
		ro, err := testenv.InfoField(rep.Addr, "replication", "slave_repl_offset")
		if err != nil {
			return err
		}
		if mo != ro {
			return fmt.Errorf("offsets %s != %s", mo, ro)
		}
		return nil
	})
	waitFor(t, 15*time.Second, "failover accepted", func() error {
		_, err := testenv.Do(sn.Addr, "SENTINEL", "FAILOVER", "mymaster")
		return err
	})
	waitFor(t, 20*time.Second, "replica promoted", func() error {
		a, err := master()
		if err == nil && a != rep.Addr {
			err = fmt.Errorf("master still %s", a)
		}
		if err == nil {
			var role string
			role, err = testenv.InfoField(rep.Addr, "replication", "role")
			if err == nil && role != "master" {
				err = fmt.Errorf("role %s", role)
			}
		}
		return err
	})
	m.MustDo("REPLICAOF", "127.0.0.1", strconv.Itoa(rep.Port))
	m.MustDo("CLIENT", "UNPAUSE")
	testenv.WaitReplicaSynced(t, m.Addr, 20*time.Second)
	r.finish()
}

// cluster returns the topology of a Redis Cluster.
func clusterTopology(c *testenv.Cluster) topology {
	return topology{
		name: "cluster",
		open: func(cfg phpsession.Config) (*phpsession.Manager, error) {
			return phpsession.Open(rueidis.ClientOption{InitAddress: c.Addrs()}, cfg)
		},
		get: func(key string) (string, error) { return c.Do(key, "GET", key) },
		lockKeys: func() (map[string]int64, error) {
			nodes, err := testenv.ClusterNodes(c.Nodes[0].Addr)
			if err != nil {
				return nil, err
			}
			var masters []string
			for _, n := range nodes {
				if n.Master {
					masters = append(masters, n.Addr)
				}
			}
			return lockKeysOn(masters...)
		},
		set: func(key, value string) error {
			_, err := c.Do(key, "SET", key, value)
			return err
		},
	}
}

// TestClusterFaults runs a 3-master, 3-replica Redis Cluster through a
// manual failover of the master of a hot session's data key (CLUSTER
// FAILOVER on its replica) and through the migration of the slots of a hot
// session's keys to another master (SETSLOT IMPORTING/MIGRATING, MIGRATE,
// SETSLOT NODE) while writers and readers run.
func TestClusterFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("a 6-node cluster is slow to start")
	}
	c := testenv.StartClusterReplicas(t, 3, 1, 2*time.Second)
	top := clusterTopology(c)
	failover := func(t *testing.T, r *run) {
		done := map[int]bool{}
		for _, key := range []string{r.m.Store().Key(r.sessions[0]), r.m.Store().LockKey(r.sessions[1])} {
			if slot := c.KeySlot(t, key); done[slot] {
				continue
			} else {
				done[slot] = true
			}
			clusterFailover(t, c, key)
			r.waitAcked(time.Now(), 5, 30*time.Second, "after failover")
		}
	}
	migration := func(t *testing.T, r *run) {
		moved := map[int]bool{}
		for _, key := range []string{r.m.Store().Key(r.sessions[0]), r.m.Store().LockKey(r.sessions[0])} {
			if slot := c.KeySlot(t, key); !moved[slot] {
				migrateSlot(t, c, r, slot)
				moved[slot] = true
			}
		}
	}
	// a hash tag in the prefix puts each session's data and lock keys
	// in one slot: batches then commit lock-free, with scripts on both
	// keys (TRYAGAIN while only one of them has moved)
	tagged := phpsession.Config{Prefix: "{phpsess}:"}
	cases := []struct {
		name   string
		cfg    phpsession.Config
		inject func(t *testing.T, r *run)
	}{
		{"Failover", phpsession.Config{}, failover},
		{"Migration", phpsession.Config{}, migration},
		{"FailoverOneSlot", tagged, failover},
		{"MigrationOneSlot", tagged, migration},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if reason := knownFailure("Cluster" + tc.name); reason != "" {
				t.Skip("known: " + reason)
			}
			r := startRun(t, top, tc.cfg)
			tc.inject(t, r)
			r.finish()
			c.WaitOK(t, 30*time.Second)
		})
	}
}

// clusterFailover promotes the replica of the master serving key with
// CLUSTER FAILOVER (the coordinated mode: the master stops writes until
// the replica has caught up) and waits until the cluster agrees.
func clusterFailover(t *testing.T, c *testenv.Cluster, key string) {
	t.Helper()
	slot := c.KeySlot(t, key)
	owner, replica := c.SyncedReplica(t, slot)
	if _, err := testenv.Do(replica, "CLUSTER", "FAILOVER"); err != nil {
		t.Fatalf("CLUSTER FAILOVER on %s: %v", replica, err)
	}
	waitFor(t, 30*time.Second, "replica promoted", func() error {
		role, err := testenv.InfoField(replica, "replication", "role")
		if err == nil && role != "master" {
			err = fmt.Errorf("role %s", role)
		}
		return err
	})
	c.WaitOK(t, 30*time.Second)
	t.Logf("slot %d: %s failed over to %s", slot, owner.Addr, replica)
}

// migrateSlot moves slot to another master while the load runs, pausing
// between steps until more writes were started, so that the Manager works
// through the MIGRATING/IMPORTING state (ASK redirections; TRYAGAIN for a
// script on two keys of which only one has moved, or none exists on the
// importing node, which lasts until the slot is assigned).
func migrateSlot(t *testing.T, c *testenv.Cluster, r *run, slot int) {
	t.Helper()
	src, nodes := c.Owner(t, slot)
	var dst testenv.ClusterNode
	var masters []testenv.ClusterNode
	for _, n := range nodes {
		if n.Master {
			masters = append(masters, n)
			if n.ID != src.ID && dst.ID == "" {
				dst = n
			}
		}
	}
	s := strconv.Itoa(slot)
	must := func(addr string, args ...string) string {
		t.Helper()
		out, err := testenv.Do(addr, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", addr, args, err)
		}
		return out
	}
	must(dst.Addr, "CLUSTER", "SETSLOT", s, "IMPORTING", src.ID)
	must(src.Addr, "CLUSTER", "SETSLOT", s, "MIGRATING", dst.ID)
	r.waitStarted(nWriters/2, 30*time.Second, "slot migrating")
	host, port, _ := strings.Cut(dst.Addr, ":")
	for {
		keys := must(src.Addr, "CLUSTER", "GETKEYSINSLOT", s, "100")
		if keys == "" {
			break
		}
		args := append([]string{"MIGRATE", host, port, "", "0", "5000", "KEYS"}, strings.Split(keys, "\n")...)
		must(src.Addr, args...)
		r.waitStarted(nWriters/2, 30*time.Second, "keys migrated")
	}
	must(dst.Addr, "CLUSTER", "SETSLOT", s, "NODE", dst.ID)
	must(src.Addr, "CLUSTER", "SETSLOT", s, "NODE", dst.ID)
	for _, n := range masters {
		if n.ID != src.ID && n.ID != dst.ID {
			must(n.Addr, "CLUSTER", "SETSLOT", s, "NODE", dst.ID)
		}
	}
	c.WaitOK(t, 30*time.Second)
	t.Logf("slot %d migrated from %s to %s", slot, src.Addr, dst.Addr)
}
