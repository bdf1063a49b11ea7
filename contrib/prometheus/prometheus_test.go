package phpprom_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	phpprom "github.com/phpsession/phpsession/contrib/prometheus"
	"github.com/phpsession/phpsession/internal/testenv"
)

// value returns the value of the metric name whose labels include want
// (counter, gauge, or a histogram's sample count), or -1.
func value(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	total, found := 0.0, false
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			found = true
			total += sample(m)
		}
	}
	if !found {
		return -1
	}
	return total
}

func sample(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// TestCollector: a Manager on a real redis-server reports through the
// Collector; the values read back from the registry match what was done.
func TestCollector(t *testing.T) {
	r := testenv.StartRedis(t)
	col := phpprom.NewCollector(phpprom.Options{ConstLabels: prometheus.Labels{"app": "test"}})
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{Events: col, LockTimeout: 20 * time.Second})
	require.NoError(t, err)
	defer m.Close(context.Background())
	ctx := context.Background()
	id := phpsession.NewID()

	for i := 0; i < 10; i++ {
		require.NoError(t, m.Set(ctx, id, "n", i))
	}
	for i := 0; i < 5; i++ {
		_, err := m.Get(ctx, id, "n")
		require.NoError(t, err)
	}
	// no such session: the first read asks Redis, the second is served
	// from memory; both are not_found
	missing := phpsession.NewID()
	for i := 0; i < 2; i++ {
		_, err = m.Get(ctx, missing, "n")
		require.ErrorIs(t, err, phpsession.ErrNotFound)
	}
	hitsBefore := m.Stats().CacheHits
	_, err = m.GetValue(ctx, missing, "n")
	require.ErrorIs(t, err, phpsession.ErrNotFound)
	require.Equal(t, hitsBefore+1, m.Stats().CacheHits, "served from memory")

	// PHP holds the lock for a moment: the next write waits for it.
	r.MustDo("SET", "PHPREDIS_SESSION:"+id+phpsession.DefaultLockSuffix, "php-host|1", "PX", "300")
	require.NoError(t, m.Set(ctx, id, "n", 99))

	assert.Equal(t, 11.0, value(t, reg, "phpsession_operations_total", map[string]string{"op": "update", "outcome": "ok", "app": "test"}))
	assert.Equal(t, 5.0, value(t, reg, "phpsession_operations_total", map[string]string{"op": "read", "outcome": "ok"}))
	assert.Equal(t, 3.0, value(t, reg, "phpsession_operations_total", map[string]string{"op": "read", "outcome": "not_found"}))
	assert.Equal(t, -1.0, value(t, reg, "phpsession_operations_total", map[string]string{"outcome": "error"}))
	assert.EqualValues(t, 3, m.Stats().NotFound)
	assert.Equal(t, 19.0, value(t, reg, "phpsession_operation_duration_seconds", nil), "every call timed")
	batches := value(t, reg, "phpsession_batches_total", nil)
	assert.GreaterOrEqual(t, batches, 1.0)
	assert.LessOrEqual(t, batches, 11.0)
	assert.Equal(t, batches, value(t, reg, "phpsession_batch_ops", nil), "one batch size per batch")
	assert.GreaterOrEqual(t, value(t, reg, "phpsession_lock_waits_total", nil), 1.0, "the write waited for PHP's lock")
	assert.GreaterOrEqual(t, value(t, reg, "phpsession_cache_lookups_total", map[string]string{"result": "hit"}), 1.0)
	ratio := value(t, reg, "phpsession_cache_hit_ratio", nil)
	assert.Greater(t, ratio, 0.0)
	assert.LessOrEqual(t, ratio, 1.0)
	assert.Equal(t, float64(m.LiveSessions()), value(t, reg, "phpsession_live_actors", nil))
	assert.Equal(t, float64(m.Stats().Batches), batches, "the same events feed Stats")

	// The exposition a Prometheus server scrapes.
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.Contains(t, string(body), `phpsession_operations_total{app="test",op="update",outcome="ok"} 11`)
	assert.True(t, strings.Contains(string(body), "phpsession_batch_ops_bucket"))
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)

	// phpsess stats --metrics-url reads the same figures from the page.
	bin := filepath.Join(t.TempDir(), "phpsess")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "..", "cmd", "phpsess")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err = exec.CommandContext(cctx, bin, "--json", "stats", "--metrics-url", srv.URL, "--count", "1", "--interval", "50ms").Output()
	require.NoError(t, err)
	var line struct {
		Totals struct {
			Reads        uint64 `json:"reads"`
			NotFound     uint64 `json:"not_found"`
			Updates      uint64 `json:"updates"`
			Batches      uint64 `json:"batches"`
			BatchedOps   uint64 `json:"batched_ops"`
			LockWaits    uint64 `json:"lock_waits"`
			CacheHits    uint64 `json:"cache_hits"`
			LiveSessions int    `json:"live_sessions"`
		} `json:"totals"`
	}
	require.NoError(t, json.Unmarshal(out, &line), "%s", out)
	st := m.Stats()
	assert.Equal(t, uint64(8), line.Totals.Reads)
	assert.Equal(t, uint64(3), line.Totals.NotFound)
	assert.Equal(t, uint64(11), line.Totals.Updates)
	assert.Equal(t, st.Batches, line.Totals.Batches)
	assert.Equal(t, st.BatchedOps, line.Totals.BatchedOps)
	assert.Equal(t, st.LockWaits, line.Totals.LockWaits)
	assert.Equal(t, st.CacheHits, line.Totals.CacheHits)
	assert.Equal(t, m.LiveSessions(), line.Totals.LiveSessions)
}
