package actor

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// maxConflicts is how often a lock-free batch is recomputed after the data
// changed under it without a holder in between (PHP that locked, wrote and
// released between two tries counts too) before it takes the lock instead
// (which guarantees progress against writers that do not lock).
const maxConflicts = 8

// lockFreeState remembers whether the store can commit this session
// without the lock. It is part of sessionActor: only the actor goroutine
// touches it.
type lockFreeState struct {
	checked bool // Store.CanWriteIfUnlocked was asked (its answer depends only on the id)
	off     bool // it said no
}

// lockFreeAllowed reports whether lock-free batches are allowed for this
// session: not turned off by Settings.NoLockFree, and supported by the
// store for this id.
func (a *sessionActor) lockFreeAllowed() bool {
	if a.set.NoLockFree {
		return false
	}
	if !a.lockFree.checked {
		a.lockFree.checked = true
		a.lockFree.off = !a.env.Store.CanWriteIfUnlocked(a.id)
	}
	return !a.lockFree.off
}

// lockFreeLikely reports whether the next batch will try the lock-free
// path (so flush skips the fairness pause before it): allowed, the actor
// committed before (so the memo most likely holds the session), no
// Destroy pending, and the batch not likely to take the lock instead
// (trackedLikely): PHP waiting for that lock needs the pauses too.
func (a *sessionActor) lockFreeLikely() bool {
	return a.committed.known && !hasDestroy(a.pending) && a.lockFreeAllowed() && !a.trackedLikely()
}

// trackedLikely reports whether the next batch will likely be written
// under the lock by trackedBatch: the session is longer than
// redisio.TrackedOver and no foreign lock holder (PHP) was seen on it
// within contendedFor. While PHP is active on the session its batches stay
// lock-free, which never makes PHP wait for the lock.
func (a *sessionActor) trackedLikely() bool {
	// the clock is read only for long sessions: this runs on every flush
	return a.committed.found && len(a.committed.raw) > redisio.TrackedOver && !time.Now().Before(a.fair.contendedUntil)
}

// lockFreeBatch runs batch without the lock: it applies the ops to the
// memo's copy (possibly stale: the script checks it) and commits with one
// atomic check-and-write that succeeds only while nobody holds the lock and
// the data is unchanged. A held lock is waited out (without taking it) and
// the same write tried again; changed data is applied again from the
// current bytes. ok is false when the batch must take the locked path
// instead (nothing was answered then; its fns may have run).
func (a *sessionActor) lockFreeBatch(bounded func() context.Context, batch []*Op) (used int, ok bool, err error) {
	if hasDestroy(batch) || !a.lockFreeAllowed() {
		return 0, false, nil
	}
	var (
		expect redisio.Data
		base   *Doc
		good   bool
	)
	// Peek: a successful batch stores its result right after (PutStale),
	// which marks the entry used.
	var e *cache.Entry[*Doc]
	if a.env.Memo != nil {
		e, _ = a.env.Memo.Peek(a.id)
	}
	// While other processes write the session too, write under the lease
	// (lease.go); taking it reads the current data.
	fresh, isFresh, err := a.leaseBegin(bounded)
	if err != nil {
		return 0, true, err
	}
	if isFresh {
		expect = fresh
		if base, good = a.baseFor(e, fresh); !good {
			return 0, false, nil // the locked path reports it
		}
	} else if e != nil {
		expect, base = redisio.Data{Bytes: e.Raw, Found: e.Found}, e.Value
	} else {
		// Nothing known of the session: read it (no lock; the script
		// checks that it is still what we read).
		d, err := a.env.Store.GetUntracked(a.env.Ctx, a.id)
		if err := a.redisErr("get", err); err != nil {
			if errors.Is(err, redisio.ErrUnavailable) {
				// Redis does not answer: the locked path would wait as long
				// again before failing the same way.
				return 0, true, err
			}
			return 0, false, nil // the locked path reads (and reports) again
		}
		doc, err := a.env.Codec.decode(d)
		if err != nil {
			return 0, false, nil // the locked path reports it
		}
		expect, base = d, doc
	}
	conflicts := 0
	waited := false
	heldBefore := false // the last refusal was a held lock
	for {
		r := a.apply(batch, base, expect.Found, time.Now(), a.set.MaxHold)
		mode, out, err := a.outcome(r, expect)
		if err != nil {
			return r.used, true, err
		}
		if !seal(batch[:r.used]) {
			continue // a caller gave up: apply again without its op
		}
		for {
			ctx := a.env.Ctx
			if waited {
				ctx = bounded()
			}
			res, err := a.env.Store.WriteIfUnlocked(ctx, a.id, expect, mode, out)
			if err != nil {
				return r.used, true, a.redisErr("write_if_unlocked", err)
			}
			if res.Applied {
				a.committedBatch(batch[:r.used], r, expect, mode, out, 0, true)
				a.leaseAfterCommit()
				return r.used, true, nil
			}
			unseal(batch[:r.used]) // refused: nothing applied
			a.emit(event.Event{Kind: event.Conflict, Held: res.Held})
			afterWait := heldBefore
			heldBefore = res.Held
			if res.Held {
				// PHP (or a locking client) holds the lock: wait until it is
				// free and try the same write; the script sees whether the
				// holder changed the data.
				t0 := time.Now()
				waited = true
				a.fair.contendedUntil = t0.Add(contendedFor)
				if err := a.env.Store.WaitUnlocked(bounded(), a.id); err != nil {
					return r.used, true, a.redisErr("wait_unlocked", err)
				}
				a.emit(event.Event{Kind: event.LockWait, Duration: time.Since(t0), LockFree: true})
				if !seal(batch[:r.used]) {
					break // a caller gave up while we waited: apply again without its op
				}
				continue
			}
			// A change right after waiting out a holder is the holder's
			// write (PHP's request): expected, and the next try is likely
			// to go through. Repeated changes without a holder come from
			// writers that do not lock, or from other lock-free writers.
			if !afterWait {
				conflicts++
				if conflicts > maxConflicts {
					return 0, false, nil
				}
			}
			cur := res.Current
			if !afterWait && a.lease.held == nil && a.leaseContended() {
				// Another process writes this session too: go on under
				// the lease (waiting for it if that process has it),
				// from the data read when it is taken.
				d, isFresh, err := a.leaseBegin(bounded)
				if err != nil {
					return r.used, true, err
				}
				if isFresh {
					cur = d
				}
			}
			if base, good = a.baseFor(nil, cur); !good {
				return 0, false, nil // the locked path reports it
			}
			expect = cur
			break
		}
	}
}

// baseFor returns the decoded session of d: the memo entry's copy when e
// holds the same bytes, else d decoded (false when that fails).
func (a *sessionActor) baseFor(e *cache.Entry[*Doc], d redisio.Data) (*Doc, bool) {
	if e != nil && e.Found == d.Found && bytes.Equal(e.Raw, d.Bytes) {
		return e.Value, true
	}
	doc, err := a.env.Codec.decode(d)
	return doc, err == nil
}
