package redisio

import (
	"context"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/internal/testenv"
)

// The views below are CLUSTER NODES lines in the format Redis 7 prints
// (id, address@cluster-port[,hostname], flags, master, ping, pong,
// config epoch, link, slots).
const (
	viewBefore = `a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460
b1 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922
c1 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
a2 127.0.0.1:7004@17004 slave a1 0 0 1 connected
`
	// a1 stopped, its replica a2 took its slots over with epoch 7
	viewFailedOver = `a2 127.0.0.1:7004@17004 myself,master - 0 0 7 connected 0-5460
a1 127.0.0.1:7001@17001 master,fail - 0 0 1 disconnected
b1 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922
c1 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
`
	// a1 resumed and demoted
	viewDemoted = `a2 127.0.0.1:7004@17004 master - 0 0 7 connected 0-5460
a1 127.0.0.1:7001@17001 myself,slave a2 0 0 7 connected
b1 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922
c1 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
`
	// slot 0 migrated from a1 to b1 (b1's epoch bumped), a1 keeps the rest
	viewMigrated = `a1 127.0.0.1:7001@17001 master - 0 0 1 connected 1-5460
b1 127.0.0.1:7002@17002 master - 0 0 8 connected 0 5461-10922
c1 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
`
	// a node that does not know who serves slots 0-5460
	viewPartial = `b1 127.0.0.1:7002@17002 myself,master - 0 0 2 connected 5461-10922
c1 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
`
	// a node that does not know its own address, with a hostname
	viewNoIP = `a1 :7001@17001,node-a myself,master - 0 0 1 connected 0-16383
`
)

// TestClusterViewDemoted: the failover watch closes the connections of a
// node only when higher-epoch owners took all its slots, and ignores a
// view older than the one it accepted (a resumed old master's).
func TestClusterViewDemoted(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prev, next string
		gone       []string
		newer      bool
	}{
		{"unchanged", viewBefore, viewBefore, nil, true},
		{"failover", viewBefore, viewFailedOver, []string{"127.0.0.1:7001"}, true},
		{"demoted after failover", viewBefore, viewDemoted, []string{"127.0.0.1:7001"}, true},
		{"resumed old master's view", viewFailedOver, viewBefore, nil, false},
		{"migration", viewBefore, viewMigrated, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gone, newer := demoted(parseClusterNodes(tc.prev, "127.0.0.1:7001"), parseClusterNodes(tc.next, "127.0.0.1:7002"))
			var addrs []string
			for _, n := range gone {
				addrs = append(addrs, n.addrs...)
			}
			if newer != tc.newer || !slices.Equal(addrs, tc.gone) {
				t.Fatalf("demoted: %v, newer %v; want %v, %v", addrs, newer, tc.gone, tc.newer)
			}
		})
	}
	// A view without an owner for a's slots keeps a1 as their owner, so
	// that the failover seen next is still a1's.
	partial := parseClusterNodes(viewPartial, "127.0.0.1:7002")
	partial.keep(parseClusterNodes(viewBefore, "127.0.0.1:7001"))
	if gone, newer := demoted(partial, parseClusterNodes(viewFailedOver, "127.0.0.1:7004")); !newer || len(gone) != 1 || gone[0].id != "a1" {
		t.Fatalf("after a partial view: demoted %v, newer %v; want a1", gone, newer)
	}
	v := parseClusterNodes(viewNoIP, "10.0.0.9:7001")
	if len(v.nodes) != 1 || !slices.Equal(v.nodes[0].addrs, []string{"10.0.0.9:7001", "node-a:7001"}) || v.nodes[0].slots != 16384 {
		t.Fatalf("node without its own address: %+v", v.nodes)
	}
}

// countWarns counts the Warn records logged.
type countWarns struct{ n *atomic.Int64 }

func (h countWarns) Enabled(context.Context, slog.Level) bool { return true }
func (h countWarns) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		h.n.Add(1)
	}
	return nil
}
func (h countWarns) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countWarns) WithGroup(string) slog.Handler      { return h }

// TestFailoverWatchRefused: with an ACL user that may not run CLUSTER
// NODES the Store works, its failover watch asks one node a round (a
// refusal is not taken for an unreachable node: every node would refuse
// alike) and says so once in the log.
func TestFailoverWatchRefused(t *testing.T) {
	c := testenv.StartCluster(t, 3)
	for _, n := range c.Nodes {
		n.MustDo("ACL", "SETUSER", "nonodes", "on", ">s3cretpw", "~*", "&*", "+@all", "-cluster|nodes")
	}
	var warns atomic.Int64
	opt := rueidis.ClientOption{InitAddress: c.Addrs(), Username: "nonodes", Password: "s3cretpw"}
	opt.ClusterOption.ShardsRefreshInterval = 20 * time.Millisecond
	s, err := Open(opt, Config{Logger: slog.New(countWarns{&warns})})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Get(ctx, "refused"); err != nil {
		t.Fatal(err)
	}
	refused := func() (n int64) {
		for _, nd := range c.Nodes {
			info, _ := nd.Do("INFO", "commandstats")
			for _, l := range strings.Split(info, "\n") {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), "cmdstat_cluster|nodes:"); ok {
					for _, f := range strings.Split(v, ",") {
						if x, ok := strings.CutPrefix(f, "rejected_calls="); ok {
							k, _ := strconv.ParseInt(x, 10, 64)
							n += k
						}
					}
				}
			}
		}
		return n
	}
	if err := testenv.ReturnsWithin(t, "refused CLUSTER NODES", func() error {
		for refused() < 20 {
			time.Sleep(10 * time.Millisecond)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := warns.Load(); n != 1 {
		t.Fatalf("%d warnings logged, want 1", n)
	}
	if _, err := s.Get(ctx, "refused"); err != nil {
		t.Fatal(err)
	}
}

// TestFailoverWatchEndsWithClose: once Close returns, the Store's failover
// watch (and any CLUSTER NODES call of it) has ended: nothing of the Store
// keeps running or calling Redis after Close.
func TestFailoverWatchEndsWithClose(t *testing.T) {
	c := testenv.StartCluster(t, 3)
	for i := 0; i < 5; i++ {
		opt := rueidis.ClientOption{InitAddress: c.Addrs()}
		opt.ClusterOption.ShardsRefreshInterval = time.Millisecond
		s, err := Open(opt, Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(context.Background(), "watch-close"); err != nil {
			t.Fatal(err)
		}
		if err := testenv.ReturnsWithin(t, "Close", func() error { s.Close(); return nil }); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if strings.Contains(stacks, "failoverWatch") || strings.Contains(stacks, "readClusterView") {
			t.Fatalf("round %d: failover watch still running after Close:\n%s", i, stacks)
		}
	}
}
