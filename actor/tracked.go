package actor

import (
	"context"
	"errors"
	"time"

	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// trackedState is what the tracked commit hands to committedBatch: the
// memo sequence number read after CommitTracked returned, when its Watch
// showed that the written copy may be stored fresh. Part of sessionActor.
type trackedState struct {
	fresh   bool
	seen    uint64
	expires time.Time
}

// trackedBatch writes a long session (stored or new bytes over
// redisio.TrackedOver) under the lock without reading it when it can, so
// that Redis's cost per write is about that of one SETEX of the session
// (the lock-free check would upload the expected bytes and compare them
// in Redis, ~3 SETEX):
//
//  1. The memo's entry is made fresh (read with client tracking on this
//     connection, no invalidation since) by a read if it is not, and the
//     batch is applied to it before the lock is taken.
//  2. LockWatched takes the lock. If the entry is still the same fresh
//     entry and the Watch counted no invalidation, the data key held
//     exactly the entry's bytes when our SET NX ran (every invalidation
//     sent before it arrived before its reply) and only a lock holder can
//     change it now: no read. Otherwise the session is read under the
//     lock with tracking (ReadWatched) and the batch applied again.
//  3. CommitTracked writes, re-arms tracking and releases in one script.
//     If the Watch then counts exactly one invalidation (our write's or an
//     unlocked writer's just before it), what we wrote is in Redis and
//     tracked for us: the memo stores it fresh, so the next batch (and
//     reads) need no round trip to know it.
//
// ok is false when the batch is not for this path (short session, no memo
// entry, PHP seen holding the lock within contendedFor, a Destroy, a store
// without tracking, or an outcome other than new bytes from a fresh
// entry); nothing was answered then and no lock taken.
func (a *sessionActor) trackedBatch(bounded func() context.Context, batch []*Op) (used int, ok bool, err error) {
	memo := a.env.Memo
	ts, can := a.env.Store.(TrackedStore)
	if memo == nil || a.env.Revalidate || hasDestroy(batch) || !can || !ts.CanCommitTracked(a.id) {
		return 0, false, nil
	}
	e, fresh := memo.Peek(a.id)
	if e == nil || !e.Found || len(e.Raw) <= redisio.TrackedOver {
		return 0, false, nil
	}
	if time.Now().Before(a.fair.contendedUntil) {
		// PHP held the lock lately: the lock-free check never makes it wait.
		return 0, false, nil
	}
	if !fresh {
		// Someone else wrote it, or our last write was not tracked: read
		// it with tracking now, before the lock, so that decoding,
		// applying and encoding a long session happen outside the lock
		// and PHP waits only for the lock's and the commit's round trips.
		// A change between this read and the lock still shows in the
		// Watch, and the session is then read under the lock as before.
		if _, _, err := a.readDoc(); err == nil {
			e, fresh = memo.Peek(a.id)
			if e == nil || !e.Found || len(e.Raw) <= redisio.TrackedOver {
				return 0, false, nil
			}
		}
	}
	var (
		r    batchResult
		mode redisio.WriteMode
		out  []byte
	)
	if fresh {
		for {
			r = a.apply(batch, e.Value, e.Found, time.Now(), a.set.MaxHold)
			mode, out, err = a.outcome(r, redisio.Data{Bytes: e.Raw, Found: e.Found})
			if err != nil {
				return r.used, true, err
			}
			if mode != redisio.WriteData {
				return 0, false, nil // a TTL refresh or nothing: the lock-free path
			}
			if seal(batch[:r.used]) {
				break
			}
		}
	}
	ctx := bounded()
	t0 := time.Now()
	lk, w, err := ts.LockWatched(ctx, a.id, out)
	if err != nil {
		if fresh {
			unseal(batch[:r.used])
		}
		return r.used, true, a.redisErr("lock", err)
	}
	defer func() { w.Close() }()
	lockedAt := time.Now()
	if lk.Waited > 0 {
		a.emit(event.Event{Kind: event.LockWait, Duration: lk.Waited})
	}
	a.fair.lockTaken(t0, lockedAt, lk.Waited > 0)
	data := redisio.Data{Bytes: e.Raw, Found: e.Found}
	if e2, fresh2 := memo.Peek(a.id); !fresh || e2 != e || !fresh2 || w.Invalidations() != 0 {
		// Not known: read under the lock, with tracking.
		if fresh {
			unseal(batch[:r.used])
		}
		w.Close()
		var rerr error
		data, w, rerr = ts.ReadWatched(ctx, a.id)
		if rerr != nil {
			a.release(ctx, lk)
			return 0, true, a.redisErr("get", rerr)
		}
		base, derr := a.docUnderLock(data)
		if derr != nil {
			a.release(ctx, lk)
			return 0, true, derr
		}
		stopRenew := a.startRenewer(ctx, lk)
		r = a.apply(batch, base, data.Found, lockedAt, a.set.MaxHold)
		for !seal(batch[:r.used]) {
			r = a.apply(batch, base, data.Found, time.Now(), a.set.MaxHold)
		}
		if err := a.redisErr("renew", stopRenew()); err != nil {
			unseal(batch[:r.used])
			a.release(ctx, lk)
			return r.used, true, err
		}
		mode, out, err = a.outcome(r, data)
		if err != nil {
			unseal(batch[:r.used])
			a.release(ctx, lk)
			return r.used, true, err
		}
		if mode != redisio.WriteData {
			_, err := a.env.Store.Commit(ctx, lk, mode, out)
			return r.used, true, a.afterTrackedCommit(batch, r, data, mode, out, lockedAt, err)
		}
	}
	res, err := ts.CommitTracked(ctx, lk, out)
	if err == nil && !res.Reconciled {
		// The order matters: the memo's sequence number first, then the
		// count. An invalidation counted after the count was read is
		// already in the memo's record (the hook counts, then notifies)
		// or comes after seen: either way Put stores the entry stale.
		seen := memo.Seq()
		if w.Invalidations() == 1 {
			a.tracked = &trackedState{fresh: true, seen: seen, expires: res.Expires}
		}
	}
	return r.used, true, a.afterTrackedCommit(batch, r, data, mode, out, lockedAt, err)
}

// afterTrackedCommit does the bookkeeping of a commit of trackedBatch (err:
// its error) and answers the ops when it succeeded.
func (a *sessionActor) afterTrackedCommit(batch []*Op, r batchResult, base redisio.Data, mode redisio.WriteMode, out []byte, lockedAt time.Time, err error) error {
	a.fair.lastRelease = time.Now()
	a.fair.lastHold = a.fair.lastRelease.Sub(lockedAt)
	if err != nil {
		a.tracked = nil
		a.redisErr("commit", err)
		if errors.Is(err, redisio.ErrLockLost) {
			unseal(batch[:r.used]) // nothing was written
		}
		a.committed.known = false
		return err
	}
	a.committedBatch(batch[:r.used], r, base, mode, out, a.fair.lastHold, false)
	return nil
}

// putCommitted stores what a batch wrote in the memo: fresh when the
// tracked commit proved it (trackedBatch), else stale (tracking is one-shot
// and a write disarms it: nobody would report the next change).
func (a *sessionActor) putCommitted(memo *cache.Memo[*Doc], e *cache.Entry[*Doc]) {
	t := a.tracked
	a.tracked = nil
	if t != nil && t.fresh && e.Found {
		e.Expires = t.expires
		memo.Put(a.id, e, t.seen)
		return
	}
	memo.PutStale(a.id, e)
}
