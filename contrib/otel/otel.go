// Package phpotel exports a phpsession Manager's events as OpenTelemetry
// metrics (the go.opentelemetry.io/otel/metric API) and, optionally, one
// trace span per batch. An Exporter is the Manager's event sink:
//
//	x, err := phpotel.New(phpotel.Options{}) // the global MeterProvider
//	m, err := phpsession.OpenURL(url, phpsession.Config{Events: x})
//
// Instruments (meter "github.com/phpsession/phpsession"):
//
//	phpsession.operations             counter    Manager calls returned; op (read, update, destroy),
//	                                             outcome (ok, not_found, canceled, error)
//	phpsession.operation.duration     histogram  s, call to answer; op
//	phpsession.batches                counter    batches committed; lock_free, write (data, touch, delete, ...)
//	phpsession.batch.size             histogram  operations per batch
//	phpsession.lock.hold              histogram  s, how long a locked batch held the lock
//	phpsession.lock.waits             counter    batches that waited for a lock held by PHP or another process; lock_free
//	phpsession.lock.wait.duration     histogram  s, those waits; lock_free
//	phpsession.conflicts              counter    lock-free commits refused; reason (lock_held, changed)
//	phpsession.cache.lookups          counter    unlocked reads looking for the decoded session in memory; result (hit, miss)
//	phpsession.cache.hit_ratio        gauge      hits / lookups since start (observed)
//	phpsession.actors.live            updown     session actors alive
//	phpsession.redis.errors           counter    failed Redis calls of session actors; call
//	phpsession.lock.lost_retries      counter    batches re-run after their lock was lost
//	phpsession.fairness.gaps          counter    pauses left for PHP to take the lock
//
// With Options.TracerProvider, each committed batch becomes a span named
// "phpsession.batch" (from when it took the lock, for a locked batch, to
// its commit), with the attributes
//
//	phpsession.session        the session's redacted ID (phpsession.RedactID: at most 6
//	                          characters and "…"; never the ID itself, a credential)
//	phpsession.batch.seq      the batch's sequence number (event.Event.Batch, unique in the process)
//	phpsession.batch.ops      operations carried
//	phpsession.batch.lock_free, phpsession.batch.write
//
// and its operations as span events named "phpsession.op" with the
// attribute op (read, update, destroy), reads first, then updates, then
// destroys (at most MaxSpanOps; the rest are counted in the attribute
// phpsession.batch.ops_not_shown). To tie a request to the batch that
// applied its change, record the same two values on the request's span:
// the redacted ID (phpsession.RedactID) and the batch number, which the
// Op event of the call carries (a Config.Events sink sees it; event.Multi
// combines it with the Exporter). Metrics carry neither (they would make
// one time series per session).
//
// It is its own Go module, so that the phpsession module does not depend
// on OpenTelemetry.
package phpotel

import (
	"context"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/phpsession/phpsession/event"
)

// ScopeName is the instrumentation scope of the meter and tracer.
const ScopeName = "github.com/phpsession/phpsession"

// MaxSpanOps bounds the op events added to one batch span.
const MaxSpanOps = 128

// Options configure an Exporter.
type Options struct {
	// MeterProvider creates the instruments (nil: otel.GetMeterProvider()).
	MeterProvider metric.MeterProvider
	// TracerProvider, when set, gets one span per committed batch.
	TracerProvider trace.TracerProvider
}

// Exporter turns events into OpenTelemetry measurements (and spans). It
// is safe for concurrent use; Event only records measurements.
type Exporter struct {
	ops        metric.Int64Counter
	opDur      metric.Float64Histogram
	batches    metric.Int64Counter
	batchSize  metric.Int64Histogram
	lockHold   metric.Float64Histogram
	waits      metric.Int64Counter
	waitDur    metric.Float64Histogram
	conflicts  metric.Int64Counter
	cache      metric.Int64Counter
	live       metric.Int64UpDownCounter
	redisErrs  metric.Int64Counter
	lostRetry  metric.Int64Counter
	gaps       metric.Int64Counter
	hits, miss atomic.Uint64
	tracer     trace.Tracer

	// precomputed attribute sets (no allocation per event)
	opAttrs    [3][4]metric.MeasurementOption
	opKindAttr [3]metric.MeasurementOption
	opEvent    [3]trace.EventOption
	boolAttr   [2]metric.MeasurementOption // lock_free
	heldAttr   [2]metric.MeasurementOption // reason
	hitAttr    [2]metric.MeasurementOption // result
}

var _ event.Sink = (*Exporter)(nil)

// New creates the instruments and returns the Exporter; set it as
// phpsession.Config.Events.
func New(o Options) (*Exporter, error) {
	mp := o.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	mt := mp.Meter(ScopeName)
	x := &Exporter{}
	var err error
	counter := func(name, desc, unit string) metric.Int64Counter {
		c, e := mt.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		if err == nil {
			err = e
		}
		return c
	}
	seconds := func(name, desc string) metric.Float64Histogram {
		h, e := mt.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
		if err == nil {
			err = e
		}
		return h
	}
	x.ops = counter("phpsession.operations", "Manager calls returned, by kind and outcome.", "{operation}")
	x.opDur = seconds("phpsession.operation.duration", "Time from a Manager call to its answer.")
	x.batches = counter("phpsession.batches", "Batches committed, lock-free or under the lock, by what they wrote.", "{batch}")
	var herr error
	x.batchSize, herr = mt.Int64Histogram("phpsession.batch.size", metric.WithDescription("Operations carried by one batch."),
		metric.WithUnit("{operation}"), metric.WithExplicitBucketBoundaries(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024))
	x.lockHold = seconds("phpsession.lock.hold", "How long a locked batch held the session lock.")
	x.waits = counter("phpsession.lock.waits", "Batches that waited for a lock held by PHP or another process.", "{wait}")
	x.waitDur = seconds("phpsession.lock.wait.duration", "Time batches waited for a foreign lock.")
	x.conflicts = counter("phpsession.conflicts", "Lock-free commits refused: the lock was held or the data had changed.", "{conflict}")
	x.cache = counter("phpsession.cache.lookups", "Unlocked reads looking for the decoded session in memory.", "{lookup}")
	x.redisErrs = counter("phpsession.redis.errors", "Failed Redis calls of session actors, by call.", "{error}")
	x.lostRetry = counter("phpsession.lock.lost_retries", "Batches re-run after their lock was lost.", "{retry}")
	x.gaps = counter("phpsession.fairness.gaps", "Pauses a session actor left for PHP to take the lock.", "{gap}")
	if err == nil {
		err = herr
	}
	if err != nil {
		return nil, err
	}
	if x.live, err = mt.Int64UpDownCounter("phpsession.actors.live", metric.WithDescription("Session actors alive."), metric.WithUnit("{actor}")); err != nil {
		return nil, err
	}
	if _, err = mt.Float64ObservableGauge("phpsession.cache.hit_ratio",
		metric.WithDescription("Cache hits / lookups since start (0 before the first lookup)."), metric.WithUnit("1"),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			h, m := x.hits.Load(), x.miss.Load()
			if h+m > 0 {
				o.Observe(float64(h) / float64(h+m))
			} else {
				o.Observe(0)
			}
			return nil
		})); err != nil {
		return nil, err
	}
	for k := event.Read; k <= event.Destroy; k++ {
		x.opKindAttr[k] = metric.WithAttributeSet(attribute.NewSet(attribute.String("op", k.String())))
		for oc := event.OK; oc <= event.Failed; oc++ {
			x.opAttrs[k][oc] = metric.WithAttributeSet(attribute.NewSet(attribute.String("op", k.String()), attribute.String("outcome", oc.String())))
		}
	}
	for k := event.Read; k <= event.Destroy; k++ {
		x.opEvent[k] = trace.WithAttributes(attribute.String("op", k.String()))
	}
	for i, b := range []bool{false, true} {
		x.boolAttr[i] = metric.WithAttributeSet(attribute.NewSet(attribute.Bool("lock_free", b)))
	}
	x.heldAttr[0] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "changed")))
	x.heldAttr[1] = metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", "lock_held")))
	x.hitAttr[0] = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "miss")))
	x.hitAttr[1] = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "hit")))
	if o.TracerProvider != nil {
		x.tracer = o.TracerProvider.Tracer(ScopeName)
	}
	return x, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Event implements event.Sink: set the Exporter as Config.Events.
func (x *Exporter) Event(e event.Event) {
	ctx := context.Background()
	switch e.Kind {
	case event.Op:
		if int(e.Op) < len(x.opAttrs) && int(e.Outcome) < len(x.opAttrs[0]) {
			x.ops.Add(ctx, 1, x.opAttrs[e.Op][e.Outcome])
			if e.Duration > 0 {
				x.opDur.Record(ctx, e.Duration.Seconds(), x.opKindAttr[e.Op])
			}
		}
	case event.Batch:
		x.batches.Add(ctx, 1, metric.WithAttributes(attribute.Bool("lock_free", e.LockFree), attribute.String("write", e.Write.String())))
		x.batchSize.Record(ctx, int64(e.Ops))
		if !e.LockFree {
			x.lockHold.Record(ctx, e.Duration.Seconds())
		}
		if x.tracer != nil {
			x.span(ctx, e)
		}
	case event.LockWait:
		x.waits.Add(ctx, 1, x.boolAttr[b2i(e.LockFree)])
		x.waitDur.Record(ctx, e.Duration.Seconds(), x.boolAttr[b2i(e.LockFree)])
	case event.Conflict:
		x.conflicts.Add(ctx, 1, x.heldAttr[b2i(e.Held)])
	case event.Cache:
		if e.Hit {
			x.hits.Add(1)
		} else {
			x.miss.Add(1)
		}
		x.cache.Add(ctx, 1, x.hitAttr[b2i(e.Hit)])
	case event.ActorStarted:
		x.live.Add(ctx, 1)
	case event.ActorStopped:
		x.live.Add(ctx, -1)
	case event.RedisError:
		x.redisErrs.Add(ctx, 1, metric.WithAttributes(attribute.String("call", e.Call)))
	case event.LockLostRetry:
		x.lostRetry.Add(ctx, 1)
	case event.Gap:
		x.gaps.Add(ctx, 1)
	}
}

// span records one committed batch as a span ending now.
func (x *Exporter) span(ctx context.Context, e event.Event) {
	end := time.Now()
	_, sp := x.tracer.Start(ctx, "phpsession.batch",
		trace.WithTimestamp(end.Add(-e.Duration)),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("phpsession.session", e.Session),
			attribute.Int64("phpsession.batch.seq", int64(e.Batch)),
			attribute.Int("phpsession.batch.ops", e.Ops),
			attribute.Bool("phpsession.batch.lock_free", e.LockFree),
			attribute.String("phpsession.batch.write", e.Write.String()),
		))
	shown := 0
	for k, n := range e.OpsByKind {
		for i := 0; i < n && shown < MaxSpanOps; i++ {
			sp.AddEvent("phpsession.op", x.opEvent[k], trace.WithTimestamp(end))
			shown++
		}
	}
	if shown < e.Ops {
		sp.SetAttributes(attribute.Int("phpsession.batch.ops_not_shown", e.Ops-shown))
	}
	sp.End(trace.WithTimestamp(end))
}
