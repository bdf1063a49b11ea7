package phpotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/phpsession/phpsession"
	phpotel "github.com/phpsession/phpsession/contrib/otel"
	"github.com/phpsession/phpsession/internal/testenv"
)

// find sums the data points of the instrument name whose attributes
// include want (counter and up-down sums, gauge values, histogram counts);
// -1 when there is none.
func find(rm metricdata.ResourceMetrics, name string, want ...attribute.KeyValue) float64 {
	total, found := 0.0, false
	match := func(s attribute.Set) bool {
		for _, kv := range want {
			if v, ok := s.Value(kv.Key); !ok || v != kv.Value {
				return false
			}
		}
		return true
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total, found = total+float64(p.Value), true
					}
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total, found = total+p.Value, true
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total, found = total+float64(p.Count), true
					}
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						total, found = total+float64(p.Count), true
					}
				}
			}
		}
	}
	if !found {
		return -1
	}
	return total
}

// TestExporter: a Manager on a real redis-server reports through the
// Exporter; the values read back with the SDK's ManualReader match what
// was done, and every committed batch is one span.
func TestExporter(t *testing.T) {
	r := testenv.StartRedis(t)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	x, err := phpotel.New(phpotel.Options{MeterProvider: mp, TracerProvider: tp})
	require.NoError(t, err)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{Events: x, LockTimeout: 20 * time.Second})
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
	// a missing variable: the first read of a missing session asks Redis
	// (through the actor), the next ones are served from memory
	missing := phpsession.NewID()
	for i := 0; i < 2; i++ {
		_, err = m.GetValue(ctx, missing, "n")
		require.ErrorIs(t, err, phpsession.ErrNotFound)
	}
	_, err = m.Get(ctx, id, "nope")
	require.ErrorIs(t, err, phpsession.ErrNotFound)
	// PHP holds the lock for a moment: the next write waits for it.
	r.MustDo("SET", "PHPREDIS_SESSION:"+id+phpsession.DefaultLockSuffix, "php-host|1", "PX", "300")
	require.NoError(t, m.Set(ctx, id, "n", 99))

	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(ctx, &rm))
	st := m.Stats()
	assert.Equal(t, 11.0, find(rm, "phpsession.operations", attribute.String("op", "update"), attribute.String("outcome", "ok")))
	assert.Equal(t, 5.0, find(rm, "phpsession.operations", attribute.String("op", "read"), attribute.String("outcome", "ok")))
	assert.Equal(t, 3.0, find(rm, "phpsession.operations", attribute.String("op", "read"), attribute.String("outcome", "not_found")))
	assert.Equal(t, -1.0, find(rm, "phpsession.operations", attribute.String("outcome", "error")))
	assert.EqualValues(t, 3, st.NotFound)
	assert.Equal(t, 19.0, find(rm, "phpsession.operation.duration"), "every call timed")
	assert.Equal(t, float64(st.Batches), find(rm, "phpsession.batches"), "the same events feed Stats")
	assert.Equal(t, float64(st.Batches), find(rm, "phpsession.batch.size"))
	assert.GreaterOrEqual(t, find(rm, "phpsession.lock.waits"), 1.0, "the write waited for PHP's lock")
	assert.Equal(t, float64(st.LockWaits), find(rm, "phpsession.lock.waits"))
	assert.GreaterOrEqual(t, find(rm, "phpsession.cache.lookups", attribute.String("result", "hit")), 1.0)
	ratio := find(rm, "phpsession.cache.hit_ratio")
	assert.Greater(t, ratio, 0.0)
	assert.LessOrEqual(t, ratio, 1.0)
	assert.Equal(t, float64(m.LiveSessions()), find(rm, "phpsession.actors.live"))

	ended := spans.Ended()
	assert.Len(t, ended, int(st.Batches), "one span per batch")
	ops, opEvents := 0, 0
	seqs := map[int64]bool{}
	for _, s := range ended {
		assert.Equal(t, "phpsession.batch", s.Name())
		attrs := map[attribute.Key]attribute.Value{}
		for _, a := range s.Attributes() {
			attrs[a.Key] = a.Value
			assert.NotContains(t, a.Value.Emit(), id, "a span shows the raw session ID")
			if a.Key == "phpsession.batch.ops" {
				ops += int(a.Value.AsInt64())
			}
		}
		assert.Equal(t, phpsession.RedactID(id), attrs["phpsession.session"].AsString())
		seq := attrs["phpsession.batch.seq"].AsInt64()
		assert.Positive(t, seq)
		assert.False(t, seqs[seq], "batch numbers are unique")
		seqs[seq] = true
		for _, ev := range s.Events() {
			assert.Equal(t, "phpsession.op", ev.Name)
			require.Len(t, ev.Attributes, 1)
			assert.Contains(t, []string{"read", "update"}, ev.Attributes[0].Value.AsString())
			opEvents++
		}
	}
	assert.Equal(t, int(st.BatchedOps), ops)
	assert.Equal(t, ops, opEvents, "each op of a batch is an event of its span")
}
