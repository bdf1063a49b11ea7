package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

// Library is the coordinator target factory used by `phpsess bench`.
var Library LibraryFactory = NewLibrary

// LibTarget is the coordinator under test: a phpsession.Manager with its
// defaults (client-side caching, batching, fairness to phpredis 5.3).
type LibTarget struct {
	M         *phpsession.Manager
	last      phpsession.Stats
	lastStore redisio.Stats
	// heldConflicts: lock-free commits refused because the phpredis lock
	// was held (the rest of Stats.Conflicts: the data had changed).
	heldConflicts atomic.Int64
}

// NewLibrary opens a Manager on url for the benchmarks.
func NewLibrary(url string, o LibraryOptions) (Target, error) {
	l := &LibTarget{}
	cfg := phpsession.Config{IdleTimeout: o.IdleTimeout, Metrics: &phpsession.Metrics{Conflict: func(held bool) {
		if held {
			l.heldConflicts.Add(1)
		}
	}}}
	m, err := phpsession.OpenURL(url, cfg)
	if err != nil {
		return nil, err
	}
	l.M = m
	return l, nil
}

// Counters implements Counterer: the Manager's and its store's counts
// that the replicas scenario sums over its processes.
func (l *LibTarget) Counters() map[string]int64 {
	st := l.M.Stats()
	rs := l.M.Store().Stats()
	return map[string]int64{
		"batches":        int64(st.Batches),
		"locked_batches": int64(st.Batches - st.LockFreeBatches),
		"conflicts":      int64(st.Conflicts),
		"held_conflicts": l.heldConflicts.Load(),
		"lock_waits":     int64(st.LockWaits),
		"lock_wait_ms":   st.LockWaitTime.Milliseconds(),
		"gaps":           int64(st.FairnessGaps),
		"leases":         rs.LeaseTaken,
		"lease_busy":     rs.LeaseBusy,
		"lease_joined":   rs.LeaseJoined,
	}
}

// Name implements Target.
func (l *LibTarget) Name() string { return "phpsession" }

// Incr implements Target with one Manager.Update.
func (l *LibTarget) Incr(ctx context.Context, id, key string) error {
	return l.M.Update(ctx, id, func(s *phpsession.Session) error {
		var n int64
		v, ok, err := s.Value(key)
		if err != nil {
			return err
		}
		if ok {
			i, isInt := v.(codec.Int)
			if !isInt {
				return fmt.Errorf("bench: %s is %T, not an int", key, v)
			}
			n = int64(i)
		}
		return s.Set(key, codec.Int(n+1))
	})
}

// Get implements Target with Manager.GetValue (0 when absent).
func (l *LibTarget) Get(ctx context.Context, id, key string) (int64, error) {
	v, err := l.M.GetValue(ctx, id, key)
	if errors.Is(err, phpsession.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	i, ok := v.(codec.Int)
	if !ok {
		return 0, fmt.Errorf("bench: %s is %T, not an int", key, v)
	}
	return int64(i), nil
}

// CacheStats implements CacheStater.
func (l *LibTarget) CacheStats() (hits, misses uint64) {
	st := l.M.Stats()
	return st.CacheHits, st.CacheMisses
}

// Notes implements Noter: batches (and how many took the lock), operations
// per batch, lock-free conflicts, lock waits and the pauses left for PHP
// since the previous call.
func (l *LibTarget) Notes() string {
	st := l.M.Stats()
	p := l.last
	l.last = st
	rs := l.M.Store().Stats()
	pr := l.lastStore
	l.lastStore = rs
	b := st.Batches - p.Batches
	if b == 0 {
		return ""
	}
	out := fmt.Sprintf("%d batches (%d locked), %.1f ops/batch (max %d)", b, b-(st.LockFreeBatches-p.LockFreeBatches),
		float64(st.BatchedOps-p.BatchedOps)/float64(b), st.MaxBatch)
	if c := st.Conflicts - p.Conflicts; c > 0 {
		out += fmt.Sprintf(", %d lock-free conflicts", c)
	}
	if w := st.LockWaits - p.LockWaits; w > 0 {
		out += fmt.Sprintf(", %d lock waits (%s)", w, (st.LockWaitTime - p.LockWaitTime).Round(time.Millisecond))
	}
	if g := st.FairnessGaps - p.FairnessGaps; g > 0 {
		out += fmt.Sprintf(", %d PHP gaps (%s)", g, (st.FairnessGapTime - p.FairnessGapTime).Round(time.Millisecond))
	}
	if r := st.LockLostRetries - p.LockLostRetries; r > 0 {
		out += fmt.Sprintf(", %d lost-lock retries", r)
	}
	if t := rs.LeaseTaken - pr.LeaseTaken; t > 0 {
		out += fmt.Sprintf(", %d write leases taken (%d found busy)", t, rs.LeaseBusy-pr.LeaseBusy)
	}
	return out
}

// Conflicts implements Conflicter: lock-free commits refused (lock held
// or data changed) since the Manager opened.
func (l *LibTarget) Conflicts() uint64 { return l.M.Stats().Conflicts }

// Live implements LiveCounter.
func (l *LibTarget) Live() int { return l.M.LiveSessions() }

// Close implements Target.
func (l *LibTarget) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return l.M.Close(ctx)
}
