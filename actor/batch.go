package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// committedState is what the session held after the actor's last commit.
// It is part of sessionActor: only the actor goroutine touches it. The
// lock-free path needs it known to be likely (lockFreeLikely); the locked
// path compares it with what it reads to spot foreign writes.
type committedState struct {
	known bool // false before the first commit and after a failed one
	found bool
	raw   []byte
}

// runBatch applies as many pending ops as fit in one batch and commits
// them in one write: lock-free when it can (lockfree.go), else under the
// lock (locked.go), re-running after a lost lock.
func (a *sessionActor) runBatch() {
	n := min(len(a.pending), a.set.MaxBatch)
	// Drop ops whose callers are gone before waiting for the lock.
	live := 0
	for _, op := range a.pending[:n] {
		if st := op.state.Load(); st == opAbandoned || (st == opPending && op.ctx != nil && op.ctx.Err() != nil) {
			if !op.claim() { // answers it
				op.unref()
				continue
			}
		}
		a.pending[live] = op
		live++
	}
	if live < n {
		// close the gap: every op in pending stays there exactly once
		k := live + copy(a.pending[live:], a.pending[n:])
		clear(a.pending[k:])
		a.pending = a.pending[:k]
	}
	if live == 0 {
		return
	}
	batch := a.pending[:live]
	hasWrite := false
	for _, op := range batch {
		if op.Kind != event.Read {
			hasWrite = true
			break
		}
	}
	if !hasWrite {
		a.stamp(batch, 0)
		a.serveReads(batch)
		a.consume(live)
		return
	}
	a.batch = batchSeq.Add(1)
	a.stamp(batch, a.batch)

	// The LockTimeout context is made only when a batch may wait: a
	// lock-free commit that goes through at once is one round trip, bounded
	// by the connection's own timeouts (and by a.env.Ctx).
	var (
		ctx    context.Context
		cancel context.CancelFunc = func() {}
	)
	bounded := func() context.Context {
		if ctx == nil {
			if a.set.LockTimeout > 0 {
				ctx, cancel = context.WithTimeout(a.env.Ctx, a.set.LockTimeout)
			} else {
				ctx = a.env.Ctx
			}
		}
		return ctx
	}
	defer func() { cancel(); a.batch = 0 }()

	for attempt := 0; ; attempt++ {
		var (
			used int
			err  error
			ok   bool
		)
		if attempt == 0 {
			// A long session: under the lock, without reading it when the
			// memo's copy is tracked (tracked.go); else lock-free.
			used, ok, err = a.trackedBatch(bounded, batch)
			if !ok {
				used, ok, err = a.lockFreeBatch(bounded, batch)
			}
		}
		if ok && err != nil {
			a.committed.known = false // what the session holds is unknown
		}
		if !ok {
			used, err = a.lockedBatch(bounded(), batch)
		}
		if err != nil && errors.Is(err, redisio.ErrLockLost) && attempt < a.set.LockLostRetries {
			a.emit(event.Event{Kind: event.LockLostRetry})
			continue
		}
		if err != nil {
			if used == 0 {
				used = len(batch)
			}
			a.failBatch(batch[:used], err)
		}
		// ops beyond `used` stay pending (hold-time cap)
		a.consume(used)
		return
	}
}

// failBatch answers the write ops with err and serves the reads without the
// lock (a failed write does not make a read fail), unless Redis is
// unavailable: then the reads get the same error at once.
func (a *sessionActor) failBatch(ops []*Op, err error) {
	if errors.Is(err, context.Canceled) && a.env.Ctx.Err() != nil && !errors.Is(err, ErrClosed) {
		// Close aborted the batch: say so (the context error stays
		// wrapped: nothing was applied, or the error would say
		// ErrOutcomeUnknown).
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	var reads []*Op
	for _, op := range ops {
		if op.Kind == event.Read {
			reads = append(reads, op)
			continue
		}
		if op.claim() {
			op.answer(err)
		}
	}
	if a.env.Memo != nil {
		a.env.Memo.Remove(a.id)
	}
	if errors.Is(err, redisio.ErrUnavailable) {
		// Redis did not answer just now: a read would wait as long again.
		for _, op := range reads {
			if op.claim() {
				op.answer(err)
			}
		}
		return
	}
	if len(reads) > 0 {
		a.serveReads(reads)
	}
}

// batchResult is what applying a batch to a working copy produced.
type batchResult struct {
	cur       *Doc
	exists    bool
	changed   bool // since the batch start (or the last destroy)
	destroyed bool
	anyOK     bool // some write op succeeded
	used      int  // ops of the batch covered
}

// apply runs batch in order on a private copy of base (found: whether the
// session exists), for at most maxHold after start; each op's result is
// kept in its scratch fields until the batch is committed. A Read only
// notes what it sees: its fn runs once the batch is committed, so that when
// a batch is applied again (refused lock-free commit, lost lock) nothing a
// read saw in a refused attempt reaches its caller.
//
// Updates run in place on one working copy, cloned from base at the first
// Update and again only after a Read took the copy as its view (copy on
// write): one clone per batch, not one per op. An Update whose fn fails
// (or panics) may have changed the copy before failing, so the batch is
// then applied again from base with that op left out (its error kept): a
// failed fn leaves no trace, and the other fns may run once more, as when
// a batch is applied again after a conflict.
func (a *sessionActor) apply(batch []*Op, base *Doc, found bool, start time.Time, maxHold time.Duration) batchResult {
	for _, op := range batch {
		op.failed = false
	}
	for {
		if r, ok := a.applyOnce(batch, base, found, start, maxHold); ok {
			return r
		}
	}
}

// applyOnce is one pass of apply; false when an Update failed (it is then
// marked failed and skipped by the next pass).
func (a *sessionActor) applyOnce(batch []*Op, base *Doc, found bool, start time.Time, maxHold time.Duration) (batchResult, bool) {
	r := batchResult{cur: base, exists: found}
	owned := false // r.cur is this pass's private copy
	// locked: this pass holds r.cur's lock (only while owned): one lock
	// pair for a run of updates rather than one per update. It is
	// released before the copy is published (a Read's view) or replaced,
	// and when the pass ends.
	locked := false
	unlock := func() {
		if locked {
			r.cur.mu.Unlock()
			locked = false
		}
	}
	for i, op := range batch {
		if i > 0 && i&7 == 0 && time.Since(start) > maxHold {
			break
		}
		r.used = i + 1
		if !op.claim() {
			op.applied = false
			op.res = context.Canceled
			continue
		}
		op.applied = true
		switch op.Kind {
		case event.Read:
			// runs once the batch is committed (committedBatch)
			unlock()
			op.view, op.viewFound, op.res = r.cur, r.exists, nil
			owned = false
		case event.Update:
			if op.failed {
				continue // op.res holds its error
			}
			if !owned {
				r.cur, owned = r.cur.clone(), true
			}
			if !locked {
				r.cur.mu.Lock()
				locked = true
			}
			err := op.runLocked(r.cur, r.exists)
			op.res = err
			if err != nil {
				op.failed = true
				unlock()
				return r, false
			}
			r.anyOK = true
			// changed and exists are set together and cleared together
			// (Destroy), and a copy once modified stays so: after the
			// first change the check is not needed.
			if !r.changed && r.cur.modifiedLocked() {
				r.changed = true
				r.exists = true
			}
		case event.Destroy:
			unlock()
			r.anyOK = true
			op.resFound = r.exists
			op.res = nil
			r.cur, owned = a.env.Codec.empty(), true
			r.exists = false
			r.changed = false
			r.destroyed = true
		}
	}
	unlock()
	return r, true
}

// outcome decides what a batch applied to d writes: its bytes, only a TTL
// refresh when they are unchanged (PHP's lazy_write), a delete, or nothing.
func (a *sessionActor) outcome(r batchResult, d redisio.Data) (redisio.WriteMode, []byte, error) {
	switch {
	case r.changed:
		out, err := a.env.Codec.encode(r.cur, len(d.Bytes))
		if err != nil {
			// Cannot happen for ops that succeeded individually unless the
			// codec rejects the combination; fail the batch.
			return redisio.WriteNone, nil, err
		}
		if !r.destroyed && d.Found && bytes.Equal(out, d.Bytes) {
			return redisio.WriteTouch, nil, nil
		}
		return redisio.WriteData, out, nil
	case r.destroyed:
		if d.Found {
			return redisio.WriteDelete, nil, nil
		}
	case d.Found && r.anyOK:
		return redisio.WriteTouch, nil, nil // lazy_write: unchanged data only gets its TTL refreshed
	}
	return redisio.WriteNone, nil, nil
}

// committedBatch records a committed batch (base: the data it started
// from) and answers its ops.
// hold is how long the lock was held; lockFree reports a lock-free commit.
func (a *sessionActor) committedBatch(ops []*Op, r batchResult, base redisio.Data, mode redisio.WriteMode, out []byte, hold time.Duration, lockFree bool) {
	a.committed.known = true
	switch mode {
	case redisio.WriteData:
		a.committed.raw, a.committed.found = out, true
	case redisio.WriteDelete:
		a.committed.raw, a.committed.found = nil, false
	default:
		a.committed.raw, a.committed.found = base.Bytes, base.Found
	}
	a.lastBatchEnd = time.Now()
	if mode == redisio.WriteData || mode == redisio.WriteTouch {
		// SETEX and EXPIRE refresh the TTL: reads need not for a while
		a.lastRefresh = a.lastBatchEnd
		r.cur.markRefreshed(a.lastBatchEnd)
	}
	a.lastBatchOps = r.used
	a.lingerWant = len(a.pending) + a.mb.UserMessageCount()
	var byKind [3]int
	for _, o := range ops[:min(r.used, len(ops))] {
		if int(o.Kind) < len(byKind) {
			byKind[o.Kind]++
		}
	}
	a.emit(event.Event{Kind: event.Batch, Ops: r.used, OpsByKind: byKind, Duration: hold, Write: mode, LockFree: lockFree})
	// The memo entry of what we commit is stored stale: Redis tracking is
	// one-shot and neither the locked read nor the lock-free write arms
	// it, so after our write nobody tracks the key until a cached read
	// re-arms it, and a fresh entry would miss the next foreign write. The
	// next read revalidates it (one cached GET, no decode when unchanged);
	// the next lock-free batch checks it in its script. A tracked commit
	// that re-armed tracking and proved it stores it fresh (putCommitted).
	if memo := a.env.Memo; memo != nil {
		cur := r.cur
		switch mode {
		case redisio.WriteData:
			a.putCommitted(memo, &cache.Entry[*Doc]{Raw: out, Found: true, Value: cur, Label: a.sessionRef(), Size: cur.size()})
		case redisio.WriteDelete:
			a.putCommitted(memo, &cache.Entry[*Doc]{Found: false, Value: cur, Label: a.sessionRef()})
		default:
			a.putCommitted(memo, &cache.Entry[*Doc]{Raw: base.Bytes, Found: base.Found, Value: cur, Label: a.sessionRef(), Size: cur.size()})
		}
	}
	a.tracked = nil
	for _, op := range ops {
		if !op.applied {
			continue
		}
		switch op.Kind {
		case event.Destroy:
			op.Existed = op.resFound
		case event.Read:
			if op.state.Load() != opAbandoned {
				op.res = op.run(op.view, op.viewFound)
			}
			op.view = nil
		}
		op.answer(op.res)
	}
}

// hasDestroy reports whether ops contain a Destroy (which always takes the
// lock, as PHP's session_destroy does).
func hasDestroy(ops []*Op) bool {
	for _, op := range ops {
		if op.Kind == event.Destroy {
			return true
		}
	}
	return false
}
