package actor

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// lockedBatch runs one lock-apply-commit round for batch: it takes the
// session lock and reads the session under it, applies the ops for at most
// MaxHold (less while PHP is seen waiting), renews the lock while slow
// functions run, and commits with one write that also releases the lock.
// It returns how many ops of batch it covered; on success every covered op
// is answered.
func (a *sessionActor) lockedBatch(ctx context.Context, batch []*Op) (int, error) {
	t0 := time.Now()
	lk, data, err := a.env.Store.LockAndReadUntracked(ctx, a.id)
	if err != nil {
		return 0, a.redisErr("lock", err)
	}
	lockedAt := time.Now()
	waited := lk.Waited > 0
	if waited {
		a.emit(event.Event{Kind: event.LockWait, Duration: lk.Waited})
	}
	// Foreign activity: we waited for a holder, or the session changed
	// since our last commit (someone locked, wrote and released it in
	// between, e.g. inside our last pause). PHP requests may be queued:
	// pause right after this batch.
	foreign := waited || (a.committed.known && (a.committed.found != data.Found || !bytes.Equal(a.committed.raw, data.Bytes)))
	a.fair.lockTaken(t0, lockedAt, foreign)
	base, err := a.docUnderLock(data)
	if err != nil && batch[0].Kind == event.Destroy {
		// undecodable data can still be destroyed (as PHP does)
		base, err = a.env.Codec.empty(), nil
	}
	if err != nil {
		a.release(ctx, lk)
		return 0, err
	}

	maxHold := a.set.MaxHold
	if a.fair.foreignSeen && a.set.Gap > 0 {
		// PHP is waiting: keep this hold short (a quarter of the gap)
		maxHold = min(maxHold, a.set.Gap/4)
	}
	stopRenew := a.startRenewer(ctx, lk)
	r := a.apply(batch, base, data.Found, lockedAt, maxHold)
	for !seal(batch[:r.used]) {
		// a caller gave up: apply again without its op
		r = a.apply(batch, base, data.Found, time.Now(), maxHold)
	}
	used := r.used

	if err := a.redisErr("renew", stopRenew()); err != nil {
		// the lock was lost while the functions ran: nothing is written
		unseal(batch[:used])
		a.release(ctx, lk)
		return used, err
	}

	mode, out, err := a.outcome(r, data)
	if err != nil {
		unseal(batch[:used])
		a.release(ctx, lk)
		return used, err
	}
	_, err = a.env.Store.Commit(ctx, lk, mode, out)
	a.redisErr("commit", err)
	a.fair.lastRelease = time.Now()
	a.fair.lastHold = a.fair.lastRelease.Sub(lockedAt)
	if err != nil {
		if errors.Is(err, redisio.ErrLockLost) {
			unseal(batch[:used]) // nothing was written
		}
		a.committed.known = false
		return used, err
	}
	a.committedBatch(batch[:used], r, data, mode, out, a.fair.lastHold, false)
	return used, nil
}

// release gives up lk without writing (best effort: an error leaves the
// lock to expire by its PX) and records when.
func (a *sessionActor) release(ctx context.Context, lk *redisio.Lock) {
	a.redisErr("release", a.env.Store.Release(ctx, lk))
	a.fair.lastRelease = time.Now()
}

// startRenewer keeps the lock alive while user functions run longer than
// RenewAfter (a slow function must not let the lock expire under it). The
// returned stop waits for the renewer and reports a lost lock.
func (a *sessionActor) startRenewer(ctx context.Context, lk *redisio.Lock) (stop func() error) {
	every := a.set.RenewAfter
	if every <= 0 {
		return func() error { return nil }
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	var rerr error // written by the renewer before it closes done
	t := time.AfterFunc(every, func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if err := a.env.Store.Renew(ctx, lk); err != nil {
				rerr = err
				return
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	})
	return func() error {
		if t.Stop() {
			return nil
		}
		close(quit)
		<-done
		return rerr
	}
}
