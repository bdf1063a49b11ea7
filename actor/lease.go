package actor

import (
	"context"
	"errors"
	"time"

	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// LeaseStore is implemented by stores that offer write leases: a short
// advisory lease per session, respected only by the processes of this
// package (PHP never sees it), that keeps several processes from writing
// one hot session at the same time. *redisio.Store implements it; a Store
// without it simply never uses a lease. See redisio.LeasePrefix.
type LeaseStore interface {
	// CanLease reports whether leases work for id.
	CanLease(id string) bool
	// AcquireLease takes id's lease for px, or renews l (nil: take a new
	// one, or claim one handed to us). It returns a nil lease when another
	// process holds it (we are then queued for it, which the holder sees),
	// with turn saying where we wait: a refused attempt without l must be
	// followed by WaitLease(turn). With read, the session data is read
	// right after in the same round trip. With join, this process is
	// recorded as taking part in id's lease (LeaseRivals). The lease
	// returned is l itself when l was still ours.
	AcquireLease(ctx context.Context, id string, l *redisio.Lease, px time.Duration, read, join bool) (lease *redisio.Lease, d redisio.Data, turn redisio.LeaseTurn, err error)
	// ReleaseLease gives l up: to the process that has waited longest
	// (for px), which alone is woken, else by deleting it.
	ReleaseLease(ctx context.Context, l *redisio.Lease, px time.Duration) error
	// LeaseWanted reports whether another process waits for id's lease
	// (cheap: a client-side cached read).
	LeaseWanted(ctx context.Context, id string) (bool, error)
	// LeaseRivals reports whether another process took part in id's
	// lease within redisio.LeaseJoinFor; with join it records this one
	// too (a round trip), else it is a client-side cached read.
	LeaseRivals(ctx context.Context, id string, join bool) (bool, error)
	// WaitLease waits until the lease is handed to us, the holder's
	// lease may have run out, or ctx ends (or the store's lock timeout).
	WaitLease(ctx context.Context, turn redisio.LeaseTurn) error
}

// leaseFor is how long after the last sign of another process writing the
// session (a lock-free commit refused because the data changed, the lease
// found held by someone else, or someone waiting for ours) the actor keeps
// writing under the lease.
const leaseFor = time.Second

// leaseReadMax: up to this many bytes, the session is read in the round
// trip that takes the lease (wasted when the lease is not taken); longer
// sessions are read separately once it is.
const leaseReadMax = 16 << 10

// leaseState is the actor's write lease. It is part of sessionActor: only
// the actor goroutine touches it (the idle timer only sends a message).
type leaseState struct {
	checked bool       // ls was looked up
	ls      LeaseStore // nil: no leases for this session
	until   time.Time  // leases are used until then (see leaseFor)
	held    *redisio.Lease
	timer   *time.Timer // armed while the lease is held and nothing is pending
	// joined is when this process last recorded itself as taking part in
	// the session's lease (redisio.LeaseRivals); it does so again after
	// half of redisio.LeaseJoinFor, while it uses the lease or sees
	// changes it did not make.
	joined time.Time
}

// leaseCheck is sent by the lease's idle timer.
type leaseCheck struct{}

// leaseStore returns the store's lease interface when leases are on for
// this session.
func (a *sessionActor) leaseStore() LeaseStore {
	if !a.lease.checked {
		a.lease.checked = true
		if ls, ok := a.env.Store.(LeaseStore); ok && a.set.LeaseExpiry > 0 && ls.CanLease(a.id) {
			a.lease.ls = ls
		}
	}
	return a.lease.ls
}

// leaseContended runs after the session changed under a lock-free write
// without a lock holder to explain it: the writer was another process of
// this package (which the lease helps) or PHP, or any other client (which
// it does not). It reports whether another process took part in the
// session's lease recently (see redisio.LeaseRivals: all of them record
// themselves there on such a change, and while they use the lease), and if
// so records the sign of contention: the actor writes under the lease from
// now on. A single process beside PHP never takes the lease.
func (a *sessionActor) leaseContended() bool {
	if a.leaseStore() == nil {
		return false
	}
	now := time.Now()
	join := a.leaseJoinDue(now)
	rivals, err := a.lease.ls.LeaseRivals(a.env.Ctx, a.id, join)
	if err != nil {
		a.redisErr("lease_rivals", err)
		return false
	}
	if join {
		a.lease.joined = now
	}
	if !rivals {
		return false
	}
	a.lease.until = now.Add(leaseFor)
	return true
}

// leaseJoinDue reports whether this process should record itself again as
// taking part in the session's lease.
func (a *sessionActor) leaseJoinDue(now time.Time) bool {
	return now.Sub(a.lease.joined) >= redisio.LeaseJoinFor/2
}

// leaseBegin makes sure the actor holds the lease before a lock-free
// write, while leases are in use for the session: it renews a lease about
// to expire, or takes it, waiting for another holder to give it up. fresh
// reports that d holds the session as read right after the lease was
// taken (when the memo's copy cannot be trusted: another process wrote
// since). An error is returned only when the batch cannot go on (Redis
// unavailable, Close, the wait timed out); other failures let the batch
// go on without the lease (which only saves conflicts: the
// check-and-write is what keeps writes correct).
func (a *sessionActor) leaseBegin(bounded func() context.Context) (d redisio.Data, fresh bool, err error) {
	ls := a.leaseStore()
	if ls == nil {
		return redisio.Data{}, false, nil
	}
	now := time.Now()
	px := a.set.LeaseExpiry
	if now.After(a.lease.until) {
		a.leaseRelease()
		return redisio.Data{}, false, nil
	}
	read := true
	if a.env.Memo != nil {
		if e, _ := a.env.Memo.Peek(a.id); e != nil && len(e.Raw) > leaseReadMax {
			read = false
		}
	}
	if l := a.lease.held; l != nil {
		if now.Before(l.ValidUntil().Add(-px / 2)) {
			return redisio.Data{}, false, nil
		}
		// Renewed (the data is not read: nobody who respects the lease
		// wrote since our last write), or taken again after it expired
		// (another process may have written meanwhile: the
		// check-and-write tells, and returns the current data).
		join := a.leaseJoinDue(now)
		nl, _, _, err := ls.AcquireLease(a.env.Ctx, a.id, l, px, false, join)
		if err != nil {
			a.lease.held = nil
			return a.leaseFailed("lease", err)
		}
		if join {
			a.lease.joined = now
		}
		if nl != nil {
			a.lease.held = nl
			return redisio.Data{}, false, nil
		}
		// it expired and someone else took it
		a.lease.held = nil
	}
	for {
		sent := time.Now()
		join := a.leaseJoinDue(sent)
		l, nd, turn, err := ls.AcquireLease(a.env.Ctx, a.id, nil, px, read, join)
		if err != nil {
			return a.leaseFailed("lease", err)
		}
		if join {
			a.lease.joined = sent
		}
		if l != nil {
			a.lease.held = l
			return nd, read, nil
		}
		t0 := time.Now()
		a.lease.until = t0.Add(leaseFor)
		if err := ls.WaitLease(bounded(), turn); err != nil {
			return a.leaseFailed("wait_lease", err)
		}
		a.emit(event.Event{Kind: event.LockWait, Duration: time.Since(t0), LockFree: true})
	}
}

// leaseFailed handles a failed lease call: the batch goes on without the
// lease (the check-and-write settles what it writes, also after a broken
// connection), unless the actor is closing or the batch's wait for the
// lease timed out. A lease taken by a call whose reply was lost expires
// by itself.
func (a *sessionActor) leaseFailed(call string, err error) (redisio.Data, bool, error) {
	if errors.Is(err, redisio.ErrClosed) || a.env.Ctx.Err() != nil {
		return redisio.Data{}, false, err
	}
	var he *redisio.HolderError
	if errors.As(err, &he) {
		return redisio.Data{}, false, err // LockTimeout (or the batch's context) ran out
	}
	a.redisErr(call, err)
	a.lease.until = time.Time{}
	return redisio.Data{}, false, nil
}

// leaseAfterCommit runs after a committed lock-free batch: it gives the
// lease up when leases are no longer needed, or when another process waits
// for it and we held it for LeaseTerm.
func (a *sessionActor) leaseAfterCommit() {
	l := a.lease.held
	if l == nil {
		return
	}
	now := time.Now()
	if now.After(a.lease.until) {
		a.leaseRelease()
		return
	}
	if now.Sub(l.Since) < a.set.LeaseTerm {
		return
	}
	wanted, err := a.lease.ls.LeaseWanted(a.env.Ctx, a.id)
	if err != nil || !wanted {
		return
	}
	a.lease.until = now.Add(leaseFor)
	a.leaseRelease()
}

// leaseRelease gives the lease up if held. A failed release leaves it to
// expire (LeaseExpiry); the call is bounded by that too, so that Close is
// not held up by a Redis that does not answer.
func (a *sessionActor) leaseRelease() {
	if a.writeState == nil {
		return // never wrote: no lease
	}
	l := a.lease.held
	if l == nil {
		return
	}
	a.lease.held = nil
	if a.lease.timer != nil {
		a.lease.timer.Stop()
		a.lease.timer = nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(a.env.Ctx), a.set.LeaseExpiry)
	defer cancel()
	a.redisErr("release_lease", a.lease.ls.ReleaseLease(ctx, l, a.set.LeaseExpiry))
}

// leaseIdle runs when the actor has nothing pending: a lease held across a
// short pause is kept (the next batch needs it), one held longer than
// LeaseTerm without work is given up, so that another process waiting for
// it gets it.
func (a *sessionActor) leaseIdle() {
	if a.writeState == nil || a.lease.held == nil || a.lease.timer != nil || a.closing {
		return
	}
	h := &a.h
	a.lease.timer = time.AfterFunc(max(a.set.LeaseTerm, time.Millisecond), func() { h.sendSelf(leaseCheck{}) })
}

// onLeaseCheck handles the lease's idle timer.
func (a *sessionActor) onLeaseCheck() {
	a.lease.timer = nil
	if a.lease.held == nil || len(a.pending) > 0 {
		return
	}
	if time.Since(a.h.lastFlush()) >= a.set.LeaseTerm {
		a.leaseRelease()
		return
	}
	a.leaseIdle()
}
