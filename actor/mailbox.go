package actor

import (
	"fmt"
	"runtime"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/phpsession/phpsession/event"
)

// closeMsg tells the actor to finish everything queued and stop.
type closeMsg struct{}

// idleCheck is sent by Handle.CheckIdle (the owner's idle sweep) or, with
// force, by Handle.Nudge to ask whether the actor can passivate.
type idleCheck struct{ force bool }

// sessionActor is the protoactor actor of one session.
//
// Every field, including those of the embedded parts declared in
// fairness.go, lockfree.go and batch.go, is read and written only from
// Receive, which its mailbox (inbox.go) runs on one goroutine at a time;
// so
// no field needs a lock. What other goroutines touch goes through Handle
// (its own mutex and atomics) or Op (atomics and a channel).
//
// A live actor is kept small (there is one per live session): what all
// actors share is behind one pointer (shared), the Handle and the
// mailbox are part of the same allocation, and the state only writes
// need (writeState) is allocated by the first write.
type sessionActor struct {
	*shared
	id    string
	sid   *string // redacted id for events (sessionRef); nil until needed
	batch uint64  // sequence number of the batch in progress (0: none)
	h     Handle
	mb    inbox // the actor's protoactor mailbox (inbox.go)

	// pending holds the ops received and not yet answered, in arrival
	// order; a batch takes a prefix.
	pending []*Op
	closing bool // closeMsg received: flush everything, then stop
	stopped bool // passivated or closed: protoactor is stopping it

	// lastRefresh is when this actor last refreshed the session's TTL, by
	// a write or by a read (reads.go).
	lastRefresh time.Time

	*writeState // nil until the first batch that is not only reads
}

// shared is what every actor of one System and Env shares.
type shared struct {
	env   *Env     // read-only
	set   Settings // env.Settings with defaults filled in
	owner Owner
}

// writeState is the state of an actor's write batches.
type writeState struct {
	// Lingering (see linger).
	lingered     bool      // the pending batch already waited for joiners
	lastBatchOps int       // ops carried by the last committed batch
	lastBatchEnd time.Time // when the last batch (locked or lock-free) committed
	// lingerWant: ops known to the actor when the last batch ended (its
	// callers, about to be answered and resubmit, plus the ops already
	// waiting): how many the next batch waits for while lingering.
	lingerWant int

	fair     fairness      // fairness.go
	lockFree lockFreeState // lockfree.go
	lease    leaseState    // lease.go
	// committed is what the session held after our last commit
	// (batch.go).
	committed committedState
	// tracked: set by trackedBatch when a tracked commit proved its copy
	// fresh, until committedBatch stores it (tracked.go); nil otherwise.
	tracked *trackedState
}

// Receive implements protoactor's Actor.
func (a *sessionActor) Receive(c pa.Context) {
	switch m := c.Message().(type) {
	case *Op:
		// flush once the inbox is drained (or a batch is full): the ops
		// queued behind this one join the batch
		a.pending = append(a.pending, m)
		if a.mb.UserMessageCount() <= 0 || len(a.pending) >= a.set.MaxBatch {
			a.safeFlush(false)
		}
	case idleCheck:
		if !m.force {
			a.h.checkSent.Store(false)
		}
		a.onIdleCheck(c, m.force)
		if !a.stopped && len(a.pending) > 0 && a.mb.UserMessageCount() <= 0 {
			// ops deferred by a flush that waited for more messages
			a.safeFlush(false)
		}
	case leaseCheck:
		a.onLeaseCheck()
		if len(a.pending) > 0 && a.mb.UserMessageCount() <= 0 {
			a.safeFlush(false)
		}
	case closeMsg:
		a.closing = true
		a.safeFlush(true)
		a.stop(c)
	case *pa.Stopped:
		// protoactor removed the actor from its process registry
		a.leaseRelease()
		// answer anything that slipped in (cannot happen through Handle)
		for _, op := range a.pending {
			op.answer(ErrClosed)
			op.unref()
		}
		a.pending = nil
		a.owner.Stopped(&a.h, !a.closing)
	}
}

// stop asks protoactor to stop the actor (its Handle is dead: nothing more
// is sent to it; passivation found its mailbox empty, and closeMsg was the
// last message queued). protoactor's Stop is a system message, which the
// inbox runs before any user message it has not taken: the actor receives
// *pa.Stopped next, and an op that would still reach it is answered
// ErrClosed by the inbox.
func (a *sessionActor) stop(c pa.Context) {
	a.stopped = true
	a.mb.stopped = true
	c.Stop(c.Self())
}

func (a *sessionActor) onIdleCheck(c pa.Context, force bool) {
	if len(a.pending) > 0 || a.closing {
		return
	}
	if !force && time.Since(a.h.lastFlush()) < a.set.IdleTimeout {
		return // active since the sweep looked: it asks again later
	}
	if a.h.tryForget() {
		if a.env.Memo != nil {
			// nothing of an idle session stays behind, unless its
			// memo entry still serves reads without the actor
			a.env.Memo.RemoveUnused(a.id)
		}
		a.stop(c)
	}
}

// safeFlush runs flush and turns a panic outside user code into errors for
// the ops that were not answered, so no caller is left waiting.
func (a *sessionActor) safeFlush(final bool) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("phpsession: internal error in session actor: %v", r)
			for _, op := range a.pending {
				if op != nil { // nil: already consumed
					op.answer(err)
					op.unref()
				}
			}
			clear(a.pending)
			a.pending = a.pending[:0]
		}
		a.h.flushed.Store(time.Now().UnixNano())
		if len(a.pending) == 0 {
			a.leaseIdle()
			// Passivation after IdleTimeout is the owner's idle sweep
			// (Handle.CheckIdle): no timer per actor.
			if !a.closing && (a.set.IdleTimeout <= 0 || (a.env.Pressure != nil && a.env.Pressure())) {
				a.h.sendSelf(idleCheck{force: true})
			}
		}
	}()
	a.flush(final)
}

// flush processes pending ops. Unless final, it may return early with ops
// still pending when new messages wait in the mailbox, so that they join the
// next batch (they trigger flush again when the mailbox drains).
func (a *sessionActor) flush(final bool) {
	for len(a.pending) > 0 {
		// Reads at the head need no lock.
		i := 0
		for i < len(a.pending) && a.pending[i].Kind == event.Read {
			i++
		}
		if i > 0 {
			a.serveReads(a.pending[:i])
			a.consume(i)
			continue
		}
		if a.writeState == nil {
			a.writeState = &writeState{}
		}
		if !final {
			// A lock-free batch holds no lock, so it needs no pause for
			// PHP before it.
			if !a.lockFreeLikely() && a.fairnessPause() && a.mb.UserMessageCount() > 0 && len(a.pending) < a.set.MaxBatch {
				return
			}
			if a.linger() {
				return
			}
		}
		a.lingered = false
		a.runBatch()
		if !final && len(a.pending) > 0 && a.mb.UserMessageCount() > 0 && len(a.pending) < a.set.MaxBatch {
			return
		}
	}
}

// linger briefly yields before a batch when the session is hot (the last
// batch carried several ops and ended just now): callers answered by that
// batch are about to submit again, and waiting a few microseconds lets them
// join this batch instead of forming the next one — fewer Redis commands
// per update. It reports whether messages are now waiting (flush returns
// to let them in; the next flush does not linger again).
func (a *sessionActor) linger() bool {
	if a.lingered || a.set.Linger <= 0 || a.lastBatchOps < 2 || time.Since(a.lastBatchEnd) > time.Millisecond {
		return false
	}
	a.lingered = true
	deadline := time.Now().Add(a.set.Linger)
	// wait until the last batch's callers are back beside the ops that
	// were already waiting (or the deadline)
	want := min(max(a.lingerWant, a.lastBatchOps), a.set.MaxBatch)
	for time.Now().Before(deadline) && len(a.pending)+a.mb.UserMessageCount() < want {
		runtime.Gosched()
	}
	return a.mb.UserMessageCount() > 0 && len(a.pending) < a.set.MaxBatch
}

// consume drops the first n pending ops (answered by now), releasing the
// actor's reference to them.
func (a *sessionActor) consume(n int) {
	for i, op := range a.pending[:n] {
		a.pending[i] = nil
		op.unref()
	}
	rest := copy(a.pending, a.pending[n:])
	clear(a.pending[rest:])
	a.pending = a.pending[:rest]
}
