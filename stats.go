package phpsession

import (
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/redisio"
)

// Stats is a snapshot of a Manager's counters since it was opened.
type Stats struct {
	Submitted                uint64 // operations queued on a session actor
	Reads, Updates, Destroys uint64 // operations answered, by kind
	Errors                   uint64 // operations answered with an error
	Batches                  uint64 // batches committed (locked or lock-free)
	LockFreeBatches          uint64 // batches committed without taking the lock
	Conflicts                uint64 // lock-free commits refused: the lock was held or the data changed
	BatchedOps               uint64 // operations carried by those batches
	MaxBatch                 uint64 // largest batch
	Writes, Touches, Deletes uint64 // batches by what they wrote
	LockWaits                uint64 // batches that waited for a foreign lock
	LockWaitTime             time.Duration
	CacheHits, CacheMisses   uint64 // unlocked reads served from memory or not
	LockLostRetries          uint64
	Passivations             uint64
	FairnessGaps             uint64 // pauses left for PHP
	FairnessGapTime          time.Duration
	LiveSessions             int
}

// OpsPerBatch is BatchedOps / Batches.
func (s Stats) OpsPerBatch() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.BatchedOps) / float64(s.Batches)
}

type stats struct {
	submitted                                 atomic.Uint64
	reads, updates, destroys, errors          atomic.Uint64
	batches, batchedOps, maxBatch             atomic.Uint64
	writes, touches, deletes                  atomic.Uint64
	lockWaits, lockWaitNs                     atomic.Uint64
	cacheHits, cacheMisses, lostRetries, pass atomic.Uint64
	gaps, gapNs                               atomic.Uint64
	lockFree, conflicts                       atomic.Uint64
}

// Stats returns the Manager's counters.
func (m *Manager) Stats() Stats {
	s := &m.stats
	return Stats{
		Submitted: s.submitted.Load(),
		Reads:     s.reads.Load(), Updates: s.updates.Load(), Destroys: s.destroys.Load(), Errors: s.errors.Load(),
		Batches: s.batches.Load(), LockFreeBatches: s.lockFree.Load(), Conflicts: s.conflicts.Load(), BatchedOps: s.batchedOps.Load(), MaxBatch: s.maxBatch.Load(),
		Writes: s.writes.Load(), Touches: s.touches.Load(), Deletes: s.deletes.Load(),
		LockWaits: s.lockWaits.Load(), LockWaitTime: time.Duration(s.lockWaitNs.Load()),
		CacheHits: s.cacheHits.Load(), CacheMisses: s.cacheMisses.Load(),
		LockLostRetries: s.lostRetries.Load(), Passivations: s.pass.Load(),
		FairnessGaps: s.gaps.Load(), FairnessGapTime: time.Duration(s.gapNs.Load()),
		LiveSessions: m.coord.Live(),
	}
}

func (m *Manager) hooks() actor.Hooks {
	s := &m.stats
	u := m.cfg.Metrics
	if u == nil {
		u = &Metrics{}
	}
	return actor.Hooks{
		Op: func(k actor.Kind, err error) {
			switch k {
			case actor.Read:
				s.reads.Add(1)
			case actor.Update:
				s.updates.Add(1)
			case actor.Destroy:
				s.destroys.Add(1)
			}
			if err != nil {
				s.errors.Add(1)
			}
			if u.Op != nil {
				u.Op(k.String(), err)
			}
		},
		Batch: func(n int, hold time.Duration, mode redisio.WriteMode) {
			s.batches.Add(1)
			s.batchedOps.Add(uint64(n))
			for {
				cur := s.maxBatch.Load()
				if uint64(n) <= cur || s.maxBatch.CompareAndSwap(cur, uint64(n)) {
					break
				}
			}
			switch mode {
			case redisio.WriteData:
				s.writes.Add(1)
			case redisio.WriteTouch:
				s.touches.Add(1)
			case redisio.WriteDelete:
				s.deletes.Add(1)
			}
			if u.Batch != nil {
				u.Batch(n, hold, mode.String())
			}
		},
		LockWait: func(d time.Duration) {
			s.lockWaits.Add(1)
			s.lockWaitNs.Add(uint64(d))
			if u.LockWait != nil {
				u.LockWait(d)
			}
		},
		Cache: func(hit bool) {
			if hit {
				s.cacheHits.Add(1)
			} else {
				s.cacheMisses.Add(1)
			}
			if u.Cache != nil {
				u.Cache(hit)
			}
		},
		LockLostRetry: func() {
			s.lostRetries.Add(1)
			if u.LockLostRetry != nil {
				u.LockLostRetry()
			}
		},
		Passivated: func() {
			s.pass.Add(1)
			if u.Passivated != nil {
				u.Passivated()
			}
		},
		LockFree: func() { s.lockFree.Add(1) },
		Conflict: func(held bool) {
			s.conflicts.Add(1)
			if u.Conflict != nil {
				u.Conflict(held)
			}
		},
		Gap: func(d time.Duration) {
			s.gaps.Add(1)
			s.gapNs.Add(uint64(d))
			if u.Gap != nil {
				u.Gap(d)
			}
		},
	}
}
