package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// recorder is an event.Sink that keeps every event.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
}

func (r *recorder) Event(e event.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// count returns how many recorded events match f.
func (r *recorder) count(f func(e event.Event) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if f(e) {
			n++
		}
	}
	return n
}

func ofKind(k event.Kind) func(event.Event) bool {
	return func(e event.Event) bool { return e.Kind == k }
}

// Stats, the Metrics callbacks and the Events sink are fed by one sink, so
// they agree on every path — including reads served from memory without
// reaching the session's actor.
func TestEventsFeedStatsMetricsAndSink(t *testing.T) {
	r := testenv.StartRedis(t)
	rec := &recorder{}
	var mu sync.Mutex
	metricOps := map[string]int{}
	var metricHits, metricBatches int
	m := openTest(t, r, phpsession.Config{
		Events: rec,
		Metrics: &phpsession.Metrics{
			Op: func(kind string, err error) {
				mu.Lock()
				metricOps[kind]++
				mu.Unlock()
			},
			Cache: func(hit bool) {
				if hit {
					mu.Lock()
					metricHits++
					mu.Unlock()
				}
			},
			Batch: func(int, time.Duration, string) {
				mu.Lock()
				metricBatches++
				mu.Unlock()
			},
		},
	})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "ev", "n", 1))
	// the first read revalidates the entry the write stored; the 100
	// after it are served from memory on the caller's goroutine
	_, err := m.Get(ctx, "ev", "n")
	require.NoError(t, err)
	for i := 0; i < 100; i++ {
		v, err := m.GetValue(ctx, "ev", "n")
		require.NoError(t, err)
		require.NotNil(t, v)
	}
	st := m.Stats()
	require.EqualValues(t, 101, st.Reads)
	require.EqualValues(t, 1, st.Updates)
	reads := rec.count(func(e event.Event) bool { return e.Kind == event.Op && e.Op == event.Read })
	require.Equal(t, 101, reads, "the sink sees every read")
	mu.Lock()
	require.Equal(t, 101, metricOps["read"], "Metrics sees every read, cached ones included")
	require.Equal(t, 1, metricOps["update"])
	require.EqualValues(t, st.CacheHits, metricHits)
	require.EqualValues(t, st.Batches, metricBatches)
	mu.Unlock()
	require.GreaterOrEqual(t, st.CacheHits, uint64(100))
	require.EqualValues(t, st.CacheHits, rec.count(func(e event.Event) bool { return e.Kind == event.Cache && e.Hit }))
	require.EqualValues(t, st.CacheMisses, rec.count(func(e event.Event) bool { return e.Kind == event.Cache && !e.Hit }))
	require.EqualValues(t, st.Batches, rec.count(ofKind(event.Batch)))
	require.EqualValues(t, st.LockFreeBatches, rec.count(func(e event.Event) bool { return e.Kind == event.Batch && e.LockFree }))
	require.Equal(t, 1, rec.count(ofKind(event.ActorStarted)))
	// with a sink set, operations are timed
	require.Positive(t, rec.count(func(e event.Event) bool { return e.Kind == event.Op && e.Duration > 0 }))
	require.Zero(t, rec.count(ofKind(event.RedisError)))
}

// Failed operations carry their error and outcome; a Redis failure under a
// batch is reported as a RedisError naming the call.
func TestEventsReportFailures(t *testing.T) {
	r := testenv.StartRedis(t)
	rec := &recorder{}
	m := openTest(t, r, phpsession.Config{Events: rec, NoLockFree: true})
	ctx := context.Background()

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	err := m.Set(canceled, "evf", "n", 1)
	require.ErrorIs(t, err, context.Canceled)

	boom := errors.New("boom")
	err = m.Update(ctx, "evf", func(*phpsession.Session) error { return boom })
	require.ErrorIs(t, err, boom)

	err = m.Set(ctx, "bad id!", "n", 1)
	require.ErrorIs(t, err, phpsession.ErrInvalidID)

	assert.Equal(t, 1, rec.count(func(e event.Event) bool {
		return e.Kind == event.Op && e.Outcome == event.Canceled && errors.Is(e.Err, context.Canceled)
	}))
	assert.Equal(t, 2, rec.count(func(e event.Event) bool { return e.Kind == event.Op && e.Outcome == event.Failed }))
	require.EqualValues(t, 3, m.Stats().Errors)

	// A foreign lock held past LockTimeout: the batch's lock call fails.
	r.MustDo("SET", "PHPREDIS_SESSION:evl_LOCK", "php-holder", "PX", "60000")
	m2 := openTest(t, r, phpsession.Config{Events: rec, NoLockFree: true, LockTimeout: 50 * time.Millisecond})
	err = m2.Set(ctx, "evl", "n", 1)
	require.ErrorIs(t, err, phpsession.ErrLockTimeout)
	require.Equal(t, 1, rec.count(func(e event.Event) bool {
		return e.Kind == event.RedisError && e.Call == "lock" && errors.Is(e.Err, redisio.ErrLockTimeout)
	}))
	require.EqualValues(t, 1, m2.Stats().RedisErrors)
}

func TestEventMulti(t *testing.T) {
	a, b := &recorder{}, &recorder{}
	s := event.Multi(a, nil, b)
	s.Event(event.Event{Kind: event.Gap})
	require.Equal(t, 1, a.count(ofKind(event.Gap)))
	require.Equal(t, 1, b.count(ofKind(event.Gap)))
	require.Same(t, a, event.Multi(nil, a))
	event.Discard.Event(event.Event{Kind: event.Op})
	for k := event.Op; k <= event.RedisError; k++ {
		require.NotEqual(t, "unknown", k.String())
	}
}

// A read of a missing session or variable is reported as event.NotFound
// (not ok, not an error) by Stats, the Metrics callbacks and the Events
// sink, whether the read was served from memory or by the session's actor.
func TestEventsReportNotFound(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, tc := range []struct {
		name   string
		cfg    phpsession.Config
		cached bool // reads after the first are served from memory
	}{
		{"cached", phpsession.Config{}, true},
		{"actor", phpsession.Config{NoFastReads: true}, false},
		{"no client cache", phpsession.Config{DisableClientCache: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			var mu sync.Mutex
			var metricNotFound int
			cfg := tc.cfg
			cfg.Events = rec
			cfg.Metrics = &phpsession.Metrics{Op: func(_ string, err error) {
				if errors.Is(err, phpsession.ErrNotFound) {
					mu.Lock()
					metricNotFound++
					mu.Unlock()
				}
			}}
			m := openTest(t, r, cfg)
			ctx := context.Background()
			missing, present := phpsession.NewID(), phpsession.NewID()
			require.NoError(t, m.Set(ctx, present, "n", 1))
			var v struct{ N int }
			reads := []func() error{
				func() error { _, err := m.Get(ctx, missing, "n"); return err },
				func() error { _, err := m.GetValue(ctx, missing, "n"); return err },
				func() error { _, err := phpsession.GetAs[int](ctx, m, missing, "n"); return err },
				func() error { _, err := m.Load(ctx, missing); return err },
				func() error { return m.Unmarshal(ctx, missing, &v) },
				func() error { _, err := m.Get(ctx, present, "nope"); return err },
				func() error { _, err := m.GetValue(ctx, present, "nope"); return err },
				func() error { _, err := phpsession.GetAs[int](ctx, m, present, "nope"); return err },
			}
			const rounds = 3
			for i := 0; i < rounds; i++ {
				for _, read := range reads {
					require.ErrorIs(t, read(), phpsession.ErrNotFound)
				}
			}
			want := rounds * len(reads)
			st := m.Stats()
			assert.EqualValues(t, want, st.NotFound)
			assert.Zero(t, st.Errors, "ErrNotFound is not an error of the Manager")
			assert.Equal(t, want, rec.count(func(e event.Event) bool {
				return e.Kind == event.Op && e.Op == event.Read && e.Outcome == event.NotFound && errors.Is(e.Err, phpsession.ErrNotFound)
			}))
			assert.Zero(t, rec.count(func(e event.Event) bool { return e.Kind == event.Op && e.Op == event.Read && e.Outcome == event.OK }))
			mu.Lock()
			assert.Equal(t, want, metricNotFound)
			mu.Unlock()
			if tc.cached {
				assert.Positive(t, st.CacheHits, "reads served from memory were checked")
			}
		})
	}
}

// Events carry the session's redacted ID (never the ID itself) and the
// sequence number of the batch they belong to: the Op events of the
// operations a batch carried share its number.
func TestEventsCarrySessionAndBatch(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, tc := range []struct {
		name string
		cfg  phpsession.Config
	}{
		{"lock-free", phpsession.Config{}},
		{"locked", phpsession.Config{NoLockFree: true}},
		{"no client cache", phpsession.Config{DisableClientCache: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			cfg := tc.cfg
			cfg.Events = rec
			cfg.LockTimeout = 20 * time.Second
			m := openTest(t, r, cfg)
			ctx := context.Background()
			ids := []string{phpsession.NewID(), phpsession.NewID(), phpsession.NewID()}
			var wg sync.WaitGroup
			for _, id := range ids {
				for g := 0; g < 8; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < 5; i++ {
							assert.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
								var n int
								if _, err := s.Unmarshal("n", &n); err != nil {
									return err
								}
								return s.Set("n", n+1)
							}))
							_, err := m.GetValue(ctx, id, "n")
							assert.NoError(t, err)
						}
					}()
				}
			}
			wg.Wait()
			// PHP holds the lock for a moment: the next write waits for it
			r.MustDo("SET", "PHPREDIS_SESSION:"+ids[0]+phpsession.DefaultLockSuffix, "php-host|1", "PX", "200")
			require.NoError(t, m.Set(ctx, ids[0], "n", 0))
			_, err := m.Get(ctx, ids[1], "missing")
			require.ErrorIs(t, err, phpsession.ErrNotFound)
			_, err = m.Destroy(ctx, ids[2])
			require.NoError(t, err)
			require.ErrorIs(t, m.Set(ctx, "bad id!", "n", 1), phpsession.ErrInvalidID)

			rec.mu.Lock()
			defer rec.mu.Unlock()
			redacted := map[string]bool{}
			for _, id := range ids {
				redacted[phpsession.RedactID(id)] = true
			}
			opsIn := map[uint64]int{}    // batch → Op events carrying it
			batches := map[uint64]int{}  // batch → its Batch event's Ops
			during := map[uint64]bool{}  // batches named by other events
			sessions := map[string]int{} // redacted ID → events
			for _, e := range rec.events {
				text := fmt.Sprintf("%#v %v", e, e.Err)
				for _, id := range ids {
					require.NotContains(t, text, id, "an event shows a raw session ID")
				}
				switch e.Kind {
				case event.ActorStarted, event.ActorStopped:
					continue
				case event.Op:
					if errors.Is(e.Err, phpsession.ErrInvalidID) {
						assert.Empty(t, e.Session)
						assert.Zero(t, e.Batch)
						continue
					}
					if e.Batch != 0 {
						opsIn[e.Batch]++
					}
				case event.Batch:
					require.NotZero(t, e.Batch)
					require.NotContains(t, batches, e.Batch, "batch numbers are unique")
					batches[e.Batch] = e.Ops
				default:
					if e.Batch != 0 {
						during[e.Batch] = true
					}
				}
				require.True(t, redacted[e.Session], "event %v: session %q", e.Kind, e.Session)
				sessions[e.Session]++
			}
			assert.Len(t, sessions, len(ids))
			assert.NotEmpty(t, batches)
			for b, n := range batches {
				assert.Equal(t, n, opsIn[b], "the Op events of batch %d", b)
			}
			for b := range opsIn {
				assert.Contains(t, batches, b, "an op names a committed batch")
			}
			for b := range during {
				assert.Contains(t, batches, b, "an event during a batch names it")
			}
			assert.Positive(t, rec.countLocked(func(e event.Event) bool { return e.Kind == event.LockWait && e.Batch != 0 }))
		})
	}
}

// countLocked is count with r.mu held.
func (r *recorder) countLocked(f func(e event.Event) bool) int {
	n := 0
	for _, e := range r.events {
		if f(e) {
			n++
		}
	}
	return n
}

// With an Events sink, a read served from memory still allocates nothing:
// its event's session comes from the memo entry, not from redacting the
// ID again.
func TestCachedReadEventAllocFree(t *testing.T) {
	r := testenv.StartRedis(t)
	var last event.Event
	m := openTest(t, r, phpsession.Config{Events: event.Func(func(e event.Event) {
		if e.Kind == event.Op {
			last = e
		}
	})})
	ctx := context.Background()
	id := phpsession.NewID()
	require.NoError(t, m.Set(ctx, id, "n", 7))
	for range 3 { // the first reads revalidate the memo
		_, err := m.GetValue(ctx, id, "n")
		require.NoError(t, err)
	}
	hits := m.Stats().CacheHits
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := m.GetValue(ctx, id, "n"); err != nil {
			t.Fatal(err)
		}
	})
	require.Equal(t, hits+201, m.Stats().CacheHits, "every read was served from memory")
	require.Zero(t, allocs)
	require.Equal(t, phpsession.RedactID(id), last.Session)
	require.Zero(t, last.Batch)
}
