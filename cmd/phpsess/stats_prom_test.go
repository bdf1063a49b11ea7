package main

import (
	"io"
	"net/http"
	"net/http/httptest"
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

// TestFetchStatsHTTP: both sources of stats read the page over HTTP,
// refuse a status other than 200 and say what the page is not.
func TestFetchStatsHTTP(t *testing.T) {
	pages := map[string]string{
		"/metrics":    "phpsession_operations_total{op=\"read\",outcome=\"ok\"} 6\n",
		"/debug/vars": `{"phpsession": {"reads": 6}}`,
		"/garbage":    "x{a=\"1\" 2\n",
		"/other/vars": `{"memstats": {}}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = io.WriteString(w, page)
	}))
	defer srv.Close()
	prom := func(u string) (statsJSON, error) { return fetchPromStats(srv.Client(), u, "phpsession") }
	vars := func(u string) (statsJSON, error) { return fetchStats(srv.Client(), u) }
	for _, tc := range []struct {
		name  string
		fetch func(string) (statsJSON, error)
		path  string
		reads uint64
		err   string
	}{
		{"prometheus", prom, "/metrics", 6, ""},
		{"prometheus 404", prom, "/none", 0, "404 Not Found"},
		{"prometheus garbage", prom, "/garbage", 0, "not the Prometheus text format"},
		{"expvar", vars, "/debug/vars", 6, ""},
		{"expvar 404", vars, "/none", 0, "404 Not Found"},
		{"expvar garbage", vars, "/garbage", 0, srv.URL + "/garbage: "},
		{"expvar other variables", vars, "/other/vars", 0, `serves no "phpsession" variable`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.fetch(srv.URL + tc.path)
			if tc.err != "" {
				assert.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.reads, s.Reads)
		})
	}
}
