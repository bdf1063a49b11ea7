package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestClusterLsLocksMigrate: on a 3-master Redis Cluster, ls and locks scan
// every master, and set/get/migrate work across slots.
func TestClusterLsLocksMigrate(t *testing.T) {
	t.Parallel()
	cl := testenv.StartCluster(t, 3)
	addrs := cl.Addrs()
	c := rawClient(t, addrs...)
	ctx := context.Background()
	const n = 60
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("PHPREDIS_SESSION:c%02d", i)
		require.NoError(t, c.Do(ctx, c.B().Set().Key(k).Value(fmt.Sprintf("i|i:%d;s|s:1:\"x\";", i)).ExSeconds(600).Build()).Error())
	}
	require.NoError(t, c.Do(ctx, c.B().Set().Key("PHPREDIS_SESSION:c07_LOCK").Value("php|77").Build()).Error())
	// keys really are spread over the masters
	perNode := map[string]int{}
	for _, a := range addrs {
		var cnt int
		fmt.Sscan(testenvDo(t, a, "DBSIZE"), &cnt)
		perNode[a] = cnt
	}
	for a, cnt := range perNode {
		assert.Greater(t, cnt, 5, "node %s", a)
	}

	u := "--redis=redis://" + addrs[0] + "?addr=" + addrs[1]
	rows := jsonLines(t, mustCLI(t, u, "--json", "ls", "--scan-count", "10"))
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r["id"].(string)] = true
		if r["id"] == "c07" {
			assert.Equal(t, "php|77", r["lock_holder"])
		}
	}
	assert.Len(t, ids, n)
	locks := jsonLines(t, mustCLI(t, u, "--json", "locks"))
	require.Len(t, locks, 1)
	assert.Equal(t, "c07", locks[0]["id"])

	// writes through the coordinator in split (cluster) mode, seen by watch
	w := startCLI(t, u, "watch", "c01", "--count", "1", "--timeout", "60s")
	readLine(t, w.err, 30*time.Second)
	mustCLI(t, u, "set", "c01", "s", `"yz"`)
	assert.Contains(t, readLine(t, w.out, 30*time.Second), `~s: "x" → "yz"`)
	require.Equal(t, 0, w.wait(t, 30*time.Second))
	assert.Contains(t, mustCLI(t, u, "get", "c01"), `s => string(2) "yz"`)

	res := cli(t, "", u, "--json", "migrate", "--from", "php", "--to", "php_serialize", "--lock-timeout", "200ms", "--scan-count", "10")
	sum := jsonLines(t, res.Out)
	require.Len(t, sum, 1, res.Err)
	assert.EqualValues(t, n-1, sum[0]["converted"])
	assert.EqualValues(t, 1, sum[0]["failed"]) // c07 is locked
	assert.Contains(t, mustCLI(t, u, "--handler", "php_serialize", "get", "c02", "i"), "int(2)")
}

func testenvDo(t *testing.T, addr string, args ...string) string {
	t.Helper()
	s, err := testenv.Do(addr, args...)
	require.NoError(t, err)
	return s
}

// TestStatsFromBench: bench serves its coordinator's metrics with
// --stats-addr, and stats polls them.
func TestStatsFromBench(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	b := startCLI(t, "bench", "--redis", r.URL(), "--scenario", "hot", "--targets", "lib", "--writers", "8",
		"--duration", "60s", "--stats-addr", "127.0.0.1:0")
	line := readLine(t, b.err, 30*time.Second)
	_, rest, ok := strings.Cut(line, "serving coordinator metrics on http://")
	require.True(t, ok, line)
	addr := strings.TrimSuffix(rest, "/debug/vars")

	// wait until the workload has started (the source reports updates)
	for deadline := time.Now().Add(40 * time.Second); ; {
		res := cli(t, "", "--json", "stats", "--from", addr, "--interval", "100ms", "--count", "1")
		require.Equal(t, 0, res.Code, res.Err)
		p := jsonLines(t, res.Out)
		require.Len(t, p, 1)
		if p[0]["totals"].(map[string]any)["updates"].(float64) > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "bench never reported updates")
	}
	res := cli(t, "", "--json", "stats", "--from", addr, "--interval", "200ms", "--count", "3")
	require.Equal(t, 0, res.Code, res.Err)
	polls := jsonLines(t, res.Out)
	require.Len(t, polls, 3)
	last := polls[2]
	totals := last["totals"].(map[string]any)
	assert.Greater(t, totals["updates"].(float64), 0.0, "%v", polls)
	assert.Greater(t, last["ops_per_sec"].(float64), 0.0, "%v", polls)
	assert.Greater(t, last["ops_per_batch"].(float64), 0.0, "%v", polls)
	assert.Greater(t, totals["batches"].(float64), 0.0)
	assert.GreaterOrEqual(t, totals["managers"].(float64), 1.0)

	out := mustCLI(t, "stats", "--from", "http://"+addr+"/debug/vars", "--interval", "100ms", "--count", "1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "OPS/BATCH")

	res = cli(t, "", "stats", "--from", "127.0.0.1:1", "--wait", "200ms")
	assert.Equal(t, 1, res.Code)
}

// TestSentinelURL: the commands reach the master through a
// redis-sentinel:// URL.
func TestSentinelURL(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	s := testenv.StartSentinel(t, r)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, richSessionPHP, "sent1")
	u := "--redis=" + s.URL()
	mustCLI(t, u, "set", "sent1", "n", "7")
	assert.Contains(t, mustCLI(t, u, "get", "sent1", "n"), "int(7)")
	rows := jsonLines(t, mustCLI(t, u, "--json", "ls"))
	require.Len(t, rows, 1)
	assert.Equal(t, "sent1", rows[0]["id"])
}

// TestNoTracking: against a server that refuses CLIENT TRACKING (here:
// CLIENT renamed away, as some managed services and proxies do), the
// commands say so and work with --no-tracking; watch then polls.
func TestNoTracking(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t, "--rename-command", "CLIENT", "")
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, richSessionPHP, "nt1")
	u := "--redis=" + r.URL()

	res := cli(t, "", u, "get", "nt1")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "use --no-tracking")
	assert.Equal(t, 1, strings.Count(res.Err, "\n"), res.Err)

	nt := "--no-tracking"
	assert.Contains(t, mustCLI(t, u, nt, "get", "nt1", "n"), "int(1)")
	w := startCLI(t, u, nt, "watch", "nt1", "--count", "1", "--poll", "20ms", "--timeout", "60s")
	readLine(t, w.err, 30*time.Second)
	mustCLI(t, u, nt, "set", "nt1", "n", "2")
	assert.Contains(t, readLine(t, w.out, 30*time.Second), "~n: int(1) → int(2)")
	require.Equal(t, 0, w.wait(t, 30*time.Second))
	mustCLI(t, u, nt, "del", "nt1", "bin")
	rows := jsonLines(t, mustCLI(t, u, nt, "--json", "ls"))
	require.Len(t, rows, 1)
	out := mustCLI(t, u, nt, "migrate", "--from", "php", "--to", "php_serialize")
	assert.Contains(t, out, "1 converted")
	assert.Contains(t, phpRunSer(t, r.Addr, "nt1"), `"n":2`)
}

func phpRunSer(t *testing.T, addr, id string) string {
	t.Helper()
	return phpRun(t, testenv.PHPSession{Addr: addr, Locking: true, Serializer: "php_serialize"}, readBackPHP, id)
}
