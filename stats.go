package phpsession

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/internal/redact"
	"github.com/phpsession/phpsession/redisio"
)

// Stats is a snapshot of a Manager's counters since it was opened.
type Stats struct {
	Submitted                uint64        // operations queued on a session actor
	Reads, Updates, Destroys uint64        // operations returned, by kind (every call, incl. reads served from memory)
	Errors                   uint64        // operations that returned an error (ErrNotFound excluded: see NotFound)
	NotFound                 uint64        // reads that returned ErrNotFound (a missing session or variable)
	Batches                  uint64        // batches committed (locked or lock-free)
	LockFreeBatches          uint64        // batches committed without taking the lock
	Conflicts                uint64        // lock-free commits refused: the lock was held or the data changed
	BatchedOps               uint64        // operations carried by those batches
	MaxBatch                 uint64        // largest batch
	Writes, Touches, Deletes uint64        // batches by what they wrote
	LockWaits                uint64        // batches that waited for a foreign lock
	LockWaitTime             time.Duration // time those batches waited, in total
	CacheHits, CacheMisses   uint64        // unlocked reads served from memory or not
	LockLostRetries          uint64        // batches re-run because their lock was lost
	Passivations             uint64        // idle session actors stopped
	RedisErrors              uint64        // failed Redis calls of session actors (incl. lock timeouts and lost locks)
	FairnessGaps             uint64        // pauses left for PHP
	FairnessGapTime          time.Duration // time those pauses lasted, in total
	LiveSessions             int           // session actors running when the snapshot was taken
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
	ops                                       [3]atomic.Uint64 // by event.OpKind
	errors, notFound                          atomic.Uint64
	batches, batchedOps, maxBatch             atomic.Uint64
	writes, touches, deletes                  atomic.Uint64
	lockWaits, lockWaitNs                     atomic.Uint64
	cacheHits, cacheMisses, lostRetries, pass atomic.Uint64
	gaps, gapNs                               atomic.Uint64
	lockFree, conflicts, redisErrors          atomic.Uint64
}

// Stats returns the Manager's counters.
func (m *Manager) Stats() Stats {
	s := &m.stats
	return Stats{
		Submitted: s.submitted.Load(),
		Reads:     s.ops[event.Read].Load(), Updates: s.ops[event.Update].Load(), Destroys: s.ops[event.Destroy].Load(), Errors: s.errors.Load(), NotFound: s.notFound.Load(),
		Batches: s.batches.Load(), LockFreeBatches: s.lockFree.Load(), Conflicts: s.conflicts.Load(), BatchedOps: s.batchedOps.Load(), MaxBatch: s.maxBatch.Load(),
		Writes: s.writes.Load(), Touches: s.touches.Load(), Deletes: s.deletes.Load(),
		LockWaits: s.lockWaits.Load(), LockWaitTime: time.Duration(s.lockWaitNs.Load()),
		CacheHits: s.cacheHits.Load(), CacheMisses: s.cacheMisses.Load(),
		LockLostRetries: s.lostRetries.Load(), Passivations: s.pass.Load(), RedisErrors: s.redisErrors.Load(),
		FairnessGaps: s.gaps.Load(), FairnessGapTime: time.Duration(s.gapNs.Load()),
		LiveSessions: m.coord.Live(),
	}
}

// sink is the Manager's one event sink: every event updates the Stats
// counters, then goes to the Config.Metrics callbacks and the Config.Events
// sink. Actors, the coordinator and the Manager's own operations (including
// reads served from memory) all report here.
type sink struct {
	s   *stats
	u   *Metrics   // never nil
	ext event.Sink // Config.Events; may be nil
}

// Event implements event.Sink.
func (k *sink) Event(e event.Event) {
	s, u := k.s, k.u
	switch e.Kind {
	case event.Op:
		if int(e.Op) < len(s.ops) {
			s.ops[e.Op].Add(1)
		}
		switch {
		case e.Outcome == event.NotFound:
			s.notFound.Add(1)
		case e.Err != nil:
			s.errors.Add(1)
		}
		if u.Op != nil {
			u.Op(e.Op.String(), e.Err)
		}
	case event.Batch:
		n := uint64(e.Ops)
		s.batches.Add(1)
		s.batchedOps.Add(n)
		for {
			cur := s.maxBatch.Load()
			if n <= cur || s.maxBatch.CompareAndSwap(cur, n) {
				break
			}
		}
		switch e.Write {
		case redisio.WriteData:
			s.writes.Add(1)
		case redisio.WriteTouch:
			s.touches.Add(1)
		case redisio.WriteDelete:
			s.deletes.Add(1)
		}
		if e.LockFree {
			s.lockFree.Add(1)
		}
		if u.Batch != nil {
			u.Batch(e.Ops, e.Duration, e.Write.String())
		}
	case event.LockWait:
		s.lockWaits.Add(1)
		s.lockWaitNs.Add(uint64(e.Duration))
		if u.LockWait != nil {
			u.LockWait(e.Duration)
		}
	case event.Cache:
		if e.Hit {
			s.cacheHits.Add(1)
		} else {
			s.cacheMisses.Add(1)
		}
		if u.Cache != nil {
			u.Cache(e.Hit)
		}
	case event.LockLostRetry:
		s.lostRetries.Add(1)
		if u.LockLostRetry != nil {
			u.LockLostRetry()
		}
	case event.ActorStopped:
		if e.Passivated {
			s.pass.Add(1)
			if u.Passivated != nil {
				u.Passivated()
			}
		}
	case event.Conflict:
		s.conflicts.Add(1)
		if u.Conflict != nil {
			u.Conflict(e.Held)
		}
	case event.Gap:
		s.gaps.Add(1)
		s.gapNs.Add(uint64(e.Duration))
		if u.Gap != nil {
			u.Gap(e.Duration)
		}
	case event.RedisError:
		s.redisErrors.Add(1)
	}
	if k.ext != nil {
		k.ext.Event(e)
	}
}

// opDone reports an operation that started at t0 (zero when untimed) and
// ended with err before it had a session ID, and returns err.
func (m *Manager) opDone(kind event.OpKind, t0 time.Time, err error) error {
	return m.opDoneAs(kind, t0, err, "", 0)
}

// opDoneIn is opDone for op o of session id, submitted or not: the event
// carries the session and batch o was stamped with by its actor.
func (m *Manager) opDoneIn(kind event.OpKind, t0 time.Time, err error, id string, o *actor.Op) error {
	sid, batch := o.Trace()
	return m.opDoneAs(kind, t0, err, m.sessionRef(id, sid), batch)
}

// sessionRef returns known (the redacted ID an actor computed), else the
// redacted form of id when a Config.Events sink reads it, else "".
func (m *Manager) sessionRef(id string, known *string) string {
	switch {
	case known != nil:
		return *known
	case m.sink.ext == nil:
		return ""
	}
	return redact.ID(id)
}

// opDoneAs is opDone with the event's session (redacted) and batch.
func (m *Manager) opDoneAs(kind event.OpKind, t0 time.Time, err error, session string, batch uint64) error {
	e := event.Event{Kind: event.Op, Op: kind, Err: err, Session: session, Batch: batch}
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		e.Outcome = event.NotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Outcome = event.Canceled
	default:
		e.Outcome = event.Failed
	}
	if !t0.IsZero() {
		e.Duration = time.Since(t0)
	}
	m.sink.Event(e)
	return err
}

// opStart returns the start time of an operation when someone measures
// durations (Config.Events is set), else the zero time: a clock read per
// operation is then saved.
func (m *Manager) opStart() time.Time {
	if m.sink.ext == nil {
		return time.Time{}
	}
	return time.Now()
}
