package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Op kinds recorded separately by drive.
const (
	kindUpdate = iota
	kindGet
	numKinds
)

// opFunc runs one operation for worker w; seq numbers the operations of
// the whole run from 0. It reports the operation's kind.
type opFunc func(ctx context.Context, w, seq int) (kind int, err error)

// runStats is what drive measured.
type runStats struct {
	elapsed  time.Duration
	acked    [numKinds]int64 // successful ops per kind
	errors   int64
	firstErr error
	lat      [numKinds][]time.Duration // successful ops' latencies
}

func (s *runStats) total() int64 { return s.acked[kindUpdate] + s.acked[kindGet] }

// merge adds another slice of the same cell.
func (s *runStats) merge(o *runStats) {
	s.elapsed += o.elapsed
	for k := range s.acked {
		s.acked[k] += o.acked[k]
		s.lat[k] = append(s.lat[k], o.lat[k]...)
	}
	s.errors += o.errors
	if s.firstErr == nil {
		s.firstErr = o.firstErr
	}
}

func (s *runStats) allLat() []time.Duration {
	return append(append([]time.Duration(nil), s.lat[kindUpdate]...), s.lat[kindGet]...)
}

// drive runs workers goroutines calling op until maxOps operations were
// started (when > 0) or dur elapsed (when > 0), whichever comes first.
// Operations in flight when time is up are completed and counted.
func drive(ctx context.Context, workers int, maxOps int64, dur time.Duration, op opFunc) *runStats {
	var (
		stop    atomic.Bool
		claimed atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		st      = &runStats{}
	)
	if dur > 0 {
		t := time.AfterFunc(dur, func() { stop.Store(true) })
		defer t.Stop()
	}
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				acked [numKinds]int64
				lat   [numKinds][]time.Duration
				errs  int64
				first error
			)
			for !stop.Load() && ctx.Err() == nil {
				seq := claimed.Add(1) - 1
				if maxOps > 0 && seq >= maxOps {
					break
				}
				t0 := time.Now()
				kind, err := op(ctx, w, int(seq))
				d := time.Since(t0)
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				acked[kind]++
				lat[kind] = append(lat[kind], d)
			}
			mu.Lock()
			defer mu.Unlock()
			for k := range numKinds {
				st.acked[k] += acked[k]
				st.lat[k] = append(st.lat[k], lat[k]...)
			}
			st.errors += errs
			if st.firstErr == nil {
				st.firstErr = first
			}
		}()
	}
	wg.Wait()
	st.elapsed = time.Since(start)
	return st
}

// percentile returns the p-th percentile (0..100) of d, sorting it.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	if !slices.IsSorted(d) {
		slices.Sort(d)
	}
	i := int(float64(len(d)-1) * p / 100)
	return d[i]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
