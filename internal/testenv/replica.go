package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartReplica starts a redis-server replicating master (persistence off)
// and returns once its link to the master is up and the initial sync is
// done. Extra args are appended to its command line.
func StartReplica(t testing.TB, master *Redis, extra ...string) *Redis {
	t.Helper()
	args := append([]string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}, extra...)
	r := StartRedis(t, args...)
	WaitReplicaSynced(t, r.Addr, 30*time.Second)
	return r
}

// WaitReplicaSynced waits (polling INFO replication) until the replica at
// addr reports master_link_status:up and no sync in progress.
func WaitReplicaSynced(t testing.TB, addr string, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for {
		info, err := Do(addr, "INFO", "replication")
		if err == nil && strings.Contains(info, "master_link_status:up") &&
			strings.Contains(info, "master_sync_in_progress:0") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not in sync after %v: %v %s", addr, max, err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitReplicaCaughtUp waits until the replica at replica has applied every
// write that the master at master had accepted when it was called: its
// slave_repl_offset reaches the master_repl_offset read first. "master_link_status:up"
// does not say that: after a diskless initial sync the master starts streaming
// to the replica only once the replica's first REPLCONF ACK arrives (sent by
// its once-a-second cron), and on a loaded machine writes acknowledged
// meanwhile were seen missing from the replica for seconds. Nor does WAIT
// sent on a connection of its own: it waits for the writes of the
// connection that sends it, and returns at once for one that wrote nothing.
func WaitReplicaCaughtUp(t testing.TB, master, replica string, max time.Duration) {
	t.Helper()
	v, err := InfoField(master, "replication", "master_repl_offset")
	if err != nil {
		t.Fatalf("master offset: %v", err)
	}
	want, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("master offset %q: %v", v, err)
	}
	deadline := time.Now().Add(max)
	for {
		v, err := InfoField(replica, "replication", "slave_repl_offset")
		if err == nil {
			if got, perr := strconv.ParseInt(v, 10, 64); perr == nil && got >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not caught up with %s after %v: offset %q, want %d (%v)", replica, master, max, v, want, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// InfoField returns one field of INFO section on addr ("" when absent).
func InfoField(addr, section, field string) (string, error) {
	info, err := Do(addr, "INFO", section)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(info, "\n") {
		l = strings.TrimSpace(l)
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return v, nil
		}
	}
	return "", nil
}

// ClusterNode is one line of CLUSTER NODES.
type ClusterNode struct {
	ID       string
	Addr     string // host:port
	Master   bool
	MasterID string // for a replica, its master's ID
	Slots    [][2]int
}

// HasSlot reports whether the node serves slot.
func (n ClusterNode) HasSlot(slot int) bool {
	for _, r := range n.Slots {
		if slot >= r[0] && slot <= r[1] {
			return true
		}
	}
	return false
}

// ClusterNodes parses CLUSTER NODES as seen by the node at addr (migrating
// and importing slot markers are skipped).
func ClusterNodes(addr string) ([]ClusterNode, error) {
	out, err := Do(addr, "CLUSTER", "NODES")
	if err != nil {
		return nil, err
	}
	var nodes []ClusterNode
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		n := ClusterNode{ID: f[0], Addr: strings.SplitN(f[1], "@", 2)[0], MasterID: f[3]}
		n.Master = strings.Contains(f[2], "master")
		if strings.Contains(f[2], "fail") && !strings.Contains(f[2], "fail?") {
			continue
		}
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") {
				continue
			}
			a, b, ok := strings.Cut(s, "-")
			lo, _ := strconv.Atoi(a)
			hi := lo
			if ok {
				hi, _ = strconv.Atoi(b)
			}
			n.Slots = append(n.Slots, [2]int{lo, hi})
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// StartClusterReplicas starts a Redis Cluster of masters masters, each with
// replicas replicas (`redis-cli --cluster create --cluster-replicas`), and
// returns once every slot is served, cluster_state is ok on every node and
// every replica is in sync. Node timeout is nodeTimeout (e.g. 2s) so that
// failures are detected quickly.
func StartClusterReplicas(t testing.TB, masters, replicas int, nodeTimeout time.Duration) *Cluster {
	t.Helper()
	checkOff(t)
	if masters < 3 {
		masters = 3
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		missing(t, "redis-cli")
	}
	c := &Cluster{}
	for i := 0; i < masters*(1+replicas); i++ {
		dir := t.TempDir()
		c.Nodes = append(c.Nodes, StartRedis(t, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.Itoa(int(nodeTimeout/time.Millisecond)),
			"--enable-debug-command", "yes"))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.WaitOK(t, 60*time.Second)
	return c
}

// WaitOK waits until every node reports cluster_state:ok with all slots
// served, agrees on the set of masters, and every replica's link is up.
func (c *Cluster) WaitOK(t testing.TB, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for _, node := range c.Nodes {
		for {
			err := c.nodeOK(node.Addr)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok after %v: %v", max, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (c *Cluster) nodeOK(addr string) error {
	info, err := Do(addr, "CLUSTER", "INFO")
	if err != nil {
		return err
	}
	if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
		return fmt.Errorf("%s: %s", addr, info)
	}
	role, err := InfoField(addr, "replication", "role")
	if err != nil {
		return err
	}
	if role == "slave" {
		if st, _ := InfoField(addr, "replication", "master_link_status"); st != "up" {
			return fmt.Errorf("%s: replica link %q", addr, st)
		}
	}
	// every node agrees on who serves slot 0 (gossip has converged)
	nodes, err := ClusterNodes(addr)
	if err != nil {
		return err
	}
	ref, err := ClusterNodes(c.Nodes[0].Addr)
	if err != nil {
		return err
	}
	if a, b := layout(nodes), layout(ref); a != b {
		return fmt.Errorf("%s: views differ: %s vs %s", addr, a, b)
	}
	return nil
}

// layout renders who serves which slots and who replicates whom, sorted,
// so that two nodes' views compare equal when gossip has converged.
func layout(nodes []ClusterNode) string {
	var parts []string
	for _, n := range nodes {
		if n.Master {
			parts = append(parts, fmt.Sprintf("%s:%v", n.ID, n.Slots))
		} else {
			parts = append(parts, n.ID+"<"+n.MasterID)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// KeySlot returns the cluster slot of key.
func (c *Cluster) KeySlot(t testing.TB, key string) int {
	t.Helper()
	s, err := Do(c.Nodes[0].Addr, "CLUSTER", "KEYSLOT", key)
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	n, _ := strconv.Atoi(s)
	return n
}

// Owner returns the master serving slot and the nodes list it came from,
// as seen by the first node that answers.
func (c *Cluster) Owner(t testing.TB, slot int) (ClusterNode, []ClusterNode) {
	t.Helper()
	for _, n := range c.Nodes {
		nodes, err := ClusterNodes(n.Addr)
		if err != nil {
			continue
		}
		for _, cn := range nodes {
			if cn.Master && cn.HasSlot(slot) {
				return cn, nodes
			}
		}
	}
	t.Fatalf("no owner of slot %d", slot)
	return ClusterNode{}, nil
}

// SyncedReplica returns the master serving slot and the address of a
// replica of it that has completed its synchronisation (the one a failover
// of the slot promotes), failing the test if it has none.
func (c *Cluster) SyncedReplica(t testing.TB, slot int) (owner ClusterNode, replica string) {
	t.Helper()
	owner, nodes := c.Owner(t, slot)
	for _, n := range nodes {
		if !n.Master && n.MasterID == owner.ID {
			replica = n.Addr
		}
	}
	if replica == "" {
		t.Fatalf("no replica of %s (slot %d)", owner.Addr, slot)
	}
	WaitReplicaSynced(t, replica, 20*time.Second)
	return owner, replica
}

// Do sends a command to the node serving key, following MOVED.
func (c *Cluster) Do(key string, args ...string) (string, error) {
	addr := c.Nodes[0].Addr
	for i := 0; i < 5; i++ {
		out, err := Do(addr, args...)
		if err == nil || !strings.HasPrefix(out, "MOVED ") {
			return out, err
		}
		f := strings.Fields(out)
		addr = f[len(f)-1]
	}
	return "", fmt.Errorf("too many redirections for %s", key)
}
