package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exposition parser and the mapping to stats' counters. (The end to
// end test, contrib/prometheus's TestCollector, runs this command against
// a real collector's page.)
func TestPromToStats(t *testing.T) {
	page := `# HELP phpsession_operations_total Manager calls returned.
# TYPE phpsession_operations_total counter
phpsession_operations_total{app="a \"q\"",op="read",outcome="ok"} 6
phpsession_operations_total{op="update",outcome="ok"} 11
phpsession_operations_total{op="update",outcome="error"} 2 1700000000000
phpsession_batches_total{lock_free="true",write="data"} 3
phpsession_batches_total{lock_free="false",write="touch"} 1
phpsession_batch_ops_sum 13
phpsession_lock_wait_seconds_sum 0.25
phpsession_lock_waits_total{lock_free="false"} 1
phpsession_cache_lookups_total{result="hit"} 4
phpsession_cache_lookups_total{result="miss"} 2
phpsession_live_actors 2
other_metric 5
`
	samples, err := parsePromText(strings.NewReader(page))
	require.NoError(t, err)
	assert.Equal(t, `a "q"`, samples[0].labels["app"])
	s, err := promToStats(samples, "phpsession", "u")
	require.NoError(t, err)
	assert.Equal(t, statsJSON{Reads: 6, Updates: 13, Errors: 2, Batches: 4, Writes: 3, Touches: 1, BatchedOps: 13,
		LockWaits: 1, LockWaitNs: 250e6, CacheHits: 4, CacheMisses: 2, LiveSessions: 2, Managers: 1}, s)
	_, err = promToStats(samples, "nope", "u")
	assert.ErrorContains(t, err, "serves no nope_* metrics")
	_, err = parsePromText(strings.NewReader("x{a=\"1\" 2\n"))
	assert.Error(t, err)
}
