// Package phpprom exports a phpsession Manager's events as Prometheus
// metrics (client_golang). A Collector is both the Manager's event sink
// (Config.Events) and a prometheus.Collector:
//
//	col := phpprom.NewCollector(phpprom.Options{})
//	prometheus.MustRegister(col)
//	m, err := phpsession.OpenURL(url, phpsession.Config{Events: col})
//	http.Handle("/metrics", promhttp.Handler())
//
// Metrics (namespace "phpsession" by default):
//
//	phpsession_operations_total{op,outcome}      Manager calls returned (op: read, update, destroy;
//	                                             outcome: ok, not_found, canceled, error)
//	phpsession_operation_duration_seconds{op}    call to answer (histogram)
//	phpsession_batches_total{lock_free,write}    batches committed (write: data, touch, delete, ...)
//	phpsession_batch_ops                         operations per batch (histogram)
//	phpsession_lock_hold_seconds                 how long a locked batch held the lock (histogram)
//	phpsession_lock_waits_total{lock_free}       batches that waited for a lock held by PHP or another process
//	phpsession_lock_wait_seconds{lock_free}      those waits (histogram)
//	phpsession_conflicts_total{reason}           lock-free commits refused (reason: lock_held, changed)
//	phpsession_cache_lookups_total{result}       unlocked reads looking for the decoded session in memory (hit, miss)
//	phpsession_cache_hit_ratio                   hits / lookups since start
//	phpsession_live_actors                       session actors alive
//	phpsession_redis_errors_total{call}          failed Redis calls of session actors
//	phpsession_lock_lost_retries_total           batches re-run after their lock was lost
//	phpsession_fairness_gaps_total               pauses left for PHP to take the lock
//
// It is its own Go module, so that the phpsession module does not depend
// on client_golang.
package phpprom

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/phpsession/phpsession/event"
)

// Options configure a Collector.
type Options struct {
	// Namespace prefixes every metric name (default "phpsession").
	Namespace string
	// ConstLabels are added to every metric (e.g. {"app": "shop"} when
	// several Managers share a registry).
	ConstLabels prometheus.Labels
	// DurationBuckets are the buckets of the duration histograms, in
	// seconds (default: 100µs to 10s).
	DurationBuckets []float64
	// BatchBuckets are the buckets of the batch size histogram (default:
	// 1, 2, 4, ..., 1024).
	BatchBuckets []float64
}

// Collector turns events into Prometheus metrics. It is safe for
// concurrent use; Event only updates counters, histograms and atomics.
type Collector struct {
	ops        *prometheus.CounterVec
	opDur      *prometheus.HistogramVec
	batches    *prometheus.CounterVec
	batchOps   prometheus.Histogram
	lockHold   prometheus.Histogram
	waits      *prometheus.CounterVec
	waitDur    *prometheus.HistogramVec
	conflicts  *prometheus.CounterVec
	cache      *prometheus.CounterVec
	hitRatio   prometheus.GaugeFunc
	live       prometheus.Gauge
	redisErrs  *prometheus.CounterVec
	lostRetry  prometheus.Counter
	gaps       prometheus.Counter
	hits, miss atomic.Uint64

	all []prometheus.Collector
}

var _ event.Sink = (*Collector)(nil)
var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector; set it as phpsession.Config.Events
// and register it with a prometheus.Registerer.
func NewCollector(o Options) *Collector {
	ns := o.Namespace
	if ns == "" {
		ns = "phpsession"
	}
	if o.DurationBuckets == nil {
		o.DurationBuckets = prometheus.ExponentialBucketsRange(0.0001, 10, 16)
	}
	if o.BatchBuckets == nil {
		o.BatchBuckets = prometheus.ExponentialBuckets(1, 2, 11)
	}
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels}
	}
	hist := func(name, help string, b []float64) prometheus.HistogramOpts {
		return prometheus.HistogramOpts{Namespace: ns, Name: name, Help: help, ConstLabels: o.ConstLabels, Buckets: b}
	}
	c := &Collector{
		ops:       prometheus.NewCounterVec(prometheus.CounterOpts(opts("operations_total", "Manager calls returned, by kind and outcome.")), []string{"op", "outcome"}),
		opDur:     prometheus.NewHistogramVec(hist("operation_duration_seconds", "Time from a Manager call to its answer.", o.DurationBuckets), []string{"op"}),
		batches:   prometheus.NewCounterVec(prometheus.CounterOpts(opts("batches_total", "Batches committed, lock-free or under the lock, by what they wrote.")), []string{"lock_free", "write"}),
		batchOps:  prometheus.NewHistogram(hist("batch_ops", "Operations carried by one batch.", o.BatchBuckets)),
		lockHold:  prometheus.NewHistogram(hist("lock_hold_seconds", "How long a locked batch held the session lock.", o.DurationBuckets)),
		waits:     prometheus.NewCounterVec(prometheus.CounterOpts(opts("lock_waits_total", "Batches that waited for a lock held by PHP or another process.")), []string{"lock_free"}),
		waitDur:   prometheus.NewHistogramVec(hist("lock_wait_seconds", "Time batches waited for a foreign lock.", o.DurationBuckets), []string{"lock_free"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts(opts("conflicts_total", "Lock-free commits refused: the lock was held or the data had changed.")), []string{"reason"}),
		cache:     prometheus.NewCounterVec(prometheus.CounterOpts(opts("cache_lookups_total", "Unlocked reads looking for the decoded session in memory.")), []string{"result"}),
		live:      prometheus.NewGauge(prometheus.GaugeOpts(opts("live_actors", "Session actors alive."))),
		redisErrs: prometheus.NewCounterVec(prometheus.CounterOpts(opts("redis_errors_total", "Failed Redis calls of session actors, by call.")), []string{"call"}),
		lostRetry: prometheus.NewCounter(prometheus.CounterOpts(opts("lock_lost_retries_total", "Batches re-run after their lock was lost."))),
		gaps:      prometheus.NewCounter(prometheus.CounterOpts(opts("fairness_gaps_total", "Pauses a session actor left for PHP to take the lock."))),
	}
	c.hitRatio = prometheus.NewGaugeFunc(prometheus.GaugeOpts(opts("cache_hit_ratio", "Cache hits / lookups since start (0 before the first lookup).")), func() float64 {
		h, m := c.hits.Load(), c.miss.Load()
		if h+m == 0 {
			return 0
		}
		return float64(h) / float64(h+m)
	})
	c.all = []prometheus.Collector{c.ops, c.opDur, c.batches, c.batchOps, c.lockHold, c.waits, c.waitDur,
		c.conflicts, c.cache, c.hitRatio, c.live, c.redisErrs, c.lostRetry, c.gaps}
	return c
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, x := range c.all {
		x.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	for _, x := range c.all {
		x.Collect(ch)
	}
}

// Event implements event.Sink: set the Collector as Config.Events.
func (c *Collector) Event(e event.Event) {
	switch e.Kind {
	case event.Op:
		c.ops.WithLabelValues(e.Op.String(), e.Outcome.String()).Inc()
		if e.Duration > 0 {
			c.opDur.WithLabelValues(e.Op.String()).Observe(e.Duration.Seconds())
		}
	case event.Batch:
		c.batches.WithLabelValues(strconv.FormatBool(e.LockFree), e.Write.String()).Inc()
		c.batchOps.Observe(float64(e.Ops))
		if !e.LockFree {
			c.lockHold.Observe(e.Duration.Seconds())
		}
	case event.LockWait:
		lf := strconv.FormatBool(e.LockFree)
		c.waits.WithLabelValues(lf).Inc()
		c.waitDur.WithLabelValues(lf).Observe(e.Duration.Seconds())
	case event.Conflict:
		reason := "changed"
		if e.Held {
			reason = "lock_held"
		}
		c.conflicts.WithLabelValues(reason).Inc()
	case event.Cache:
		if e.Hit {
			c.hits.Add(1)
			c.cache.WithLabelValues("hit").Inc()
		} else {
			c.miss.Add(1)
			c.cache.WithLabelValues("miss").Inc()
		}
	case event.ActorStarted:
		c.live.Inc() // not Set(e.Live): events of different actors may arrive out of order
	case event.ActorStopped:
		c.live.Dec()
	case event.RedisError:
		c.redisErrs.WithLabelValues(e.Call).Inc()
	case event.LockLostRetry:
		c.lostRetry.Inc()
	case event.Gap:
		c.gaps.Inc()
	}
}
