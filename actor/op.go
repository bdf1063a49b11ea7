package actor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// Fn is a user function run by the actor. found reports whether the session
// exists (before this op). For Read the session must be treated as
// read-only; for Update it is a private copy, kept only if Fn returns nil.
// Neither may be retained after Fn returns.
type Fn func(s *codec.Session, found bool) error

// An op's state moves pending → claimed (its fn ran on a working copy) →
// sent (the write carrying its change went to Redis), or to abandoned when
// its caller gave up while it was pending or claimed. A claimed op returns
// to claimed from sent when Redis refused that write (nothing applied),
// and the actor seals every op (claimed → sent) right before it sends a
// write: an op abandoned by then is left out and the batch recomputed, so
// an abandoned op is never applied.
const (
	opPending int32 = iota
	opClaimed
	opSent
	opAbandoned
)

// Op is one queued operation. Create it with NewOp (or reuse one with
// Reset), hand it to a Handle and wait with Wait or WaitOutcome.
//
// An Op may be recycled (Reset and SetRecycle): it is then shared by its
// caller and the session's actor, each holding a reference. The caller's
// reference is dropped by Release, the actor's when the op leaves the
// actor's queue (after it was answered); whoever drops the last one calls
// the recycle function, so an Op is never reused while a goroutine can
// still touch it.
type Op struct {
	// The fields first are those the actor reads or writes for every op
	// (claim, run, answer, stamp) and the caller for every call (Reset,
	// WaitOutcome, Release): they share the op's first two cache lines,
	// which move between the caller's core and the actor's once each way
	// per call. The rarely used fields come last.

	state atomic.Int32
	// refs counts the caller's reference and the actor's (taken by
	// Handle.Send); recycle runs when it drops to zero.
	refs atomic.Int32
	Kind event.OpKind
	// answered is set with the answer, before the token; only the actor
	// goroutine answers, so it needs no atomic.
	answered bool
	// heard: the caller received the answer (WaitOutcome), so it may read
	// what the actor wrote before answering (Trace). Caller-side only.
	heard bool
	// Per-batch scratch: written and read only by the actor goroutine
	// while the op is in a batch (apply fills them, committedBatch reads).
	applied bool
	failed  bool // its fn failed in this apply: skipped by the next pass
	// left (under runMu) is set when the caller returned without an
	// answer (see runMu).
	left bool
	Fn   Fn
	ctx  context.Context
	// done receives one token when the op is answered (a channel of one
	// slot, reused: closing it would forbid recycling the op).
	done chan struct{}
	err  error
	res  error

	// runMu is held while Fn runs: Fn writes into the caller's memory (an
	// Update function's captured variables, Unmarshal's v), so it must
	// neither run after the caller returned without an answer (left) nor
	// still be running when the caller returns. A run refused so fails
	// with errCallerLeft, so its change is not applied.
	runMu sync.Mutex
	// Identity for the op's event (stamp): the session's redacted ID
	// (the actor's, never changed) and the batch that carried it.
	sid   *string
	batch uint64

	// Rarely used.

	// Existed is set for Destroy: whether the session existed.
	Existed bool
	// refresh marks a NewRefreshOp.
	refresh  bool
	resFound bool
	// view is what a Read in a batch sees (the working copy at its place
	// in the batch, viewFound whether the session exists there). Its fn
	// runs once, on the view of the attempt that was committed, so
	// nothing from a refused attempt reaches the caller.
	viewFound bool
	view      *Doc
	recycle   func()
}

// Trace returns the session's redacted ID (nil unless Env.SessionIDs) and
// the sequence number of the batch that carried the op (0: none, e.g. a
// read served without a batch). Both are known only once the op was
// answered and WaitOutcome returned its answer: before, Trace returns
// nil, 0. Only the caller calls it.
func (o *Op) Trace() (session *string, batch uint64) {
	if !o.heard {
		return nil, 0
	}
	return o.sid, o.batch
}

// errCallerLeft answers an op whose caller has returned; nobody sees it.
var errCallerLeft = errors.New("phpsession: the caller returned before its function ran")

// NewOp returns an operation bound to ctx (an op whose ctx ended before the
// actor started it is skipped and never applied).
func NewOp(ctx context.Context, kind event.OpKind, fn Fn) *Op {
	o := &Op{}
	o.Reset(ctx, kind, fn)
	return o
}

// NewRefreshOp returns an op that only refreshes the session's TTL, for a
// read served outside the actor (the Manager's fast path) whose
// Doc.ClaimRefresh said a refresh is due. Nobody waits for it: submit it
// and forget it. It never creates a session.
func NewRefreshOp() *Op {
	o := NewOp(context.Background(), event.Read, nil)
	o.refresh = true
	return o
}

// Reset prepares o, new or recycled, for one call bound to ctx, as NewOp
// does. The recycle function set by SetRecycle is kept. It must not be
// called while another goroutine can still touch o: on a fresh Op, or
// from its recycle function.
func (o *Op) Reset(ctx context.Context, kind event.OpKind, fn Fn) {
	if o.done == nil {
		o.done = make(chan struct{}, 1)
	} else {
		select {
		case <-o.done: // the answer of a caller that gave up
		default:
		}
	}
	o.Kind, o.Fn, o.ctx = kind, fn, ctx
	o.state.Store(opPending)
	o.answered, o.err, o.Existed = false, nil, false
	o.left = false
	o.refs.Store(1)
	o.res, o.resFound, o.applied, o.failed = nil, false, false, false
	o.view, o.viewFound, o.refresh = nil, false, false
	o.heard, o.sid, o.batch = false, nil, 0
}

// SetRecycle sets the function called when both the caller (Release) and
// the actor are done with o; it may Reset o and hand it to the next call.
func (o *Op) SetRecycle(f func()) { o.recycle = f }

// Release drops the caller's reference: the caller reads nothing of o
// after it (its result, Existed). An op never delivered to an actor is
// recycled at once.
func (o *Op) Release() { o.unref() }

// ref takes the actor's reference (Handle.Send, before the op can reach
// the actor).
func (o *Op) ref() { o.refs.Add(1) }

// unref drops one reference and recycles o after the last.
func (o *Op) unref() {
	if n := o.refs.Add(-1); n == 0 {
		o.ctx, o.Fn, o.view, o.err = nil, nil, nil, nil
		if o.recycle != nil {
			o.recycle()
		}
	} else if n < 0 {
		panic("phpsession: actor.Op released twice")
	}
}

// run runs the op's function on d unless its caller has left (then it
// returns errCallerLeft without running it).
func (o *Op) run(d *Doc, found bool) error {
	o.runMu.Lock()
	defer o.runMu.Unlock()
	if o.left {
		return errCallerLeft
	}
	return d.Run(o.Fn, found)
}

// runLocked is run for a caller that holds d.mu.
func (o *Op) runLocked(d *Doc, found bool) error {
	o.runMu.Lock()
	defer o.runMu.Unlock()
	if o.left {
		return errCallerLeft
	}
	return d.runLocked(o.Fn, found)
}

// leave marks that the caller returns without the op's answer: it waits
// for a run of Fn in progress, and no run starts after it.
func (o *Op) leave() {
	o.runMu.Lock()
	o.left = true
	o.runMu.Unlock()
}

// Wait is WaitOutcome without grace.
func (o *Op) Wait(ctx context.Context) error { return o.WaitOutcome(ctx, 0) }

// WaitOutcome blocks until the op was answered or ctx ended. When ctx ends
// before the write carrying the op's change was sent, the op is abandoned:
// it will never be applied, and ctx's error is returned as it is. Once
// sent, it waits up to grace more for the outcome; without one by then it
// returns an error wrapping redisio.ErrOutcomeUnknown (the change may
// still be applied). A read never changes anything: it returns ctx's
// error at once. When it returns without the op's answer, the op's
// function is not running and never runs again.
func (o *Op) WaitOutcome(ctx context.Context, grace time.Duration) error {
	cd := ctx.Done()
	if cd == nil {
		<-o.done
		return o.heardErr()
	}
	select {
	case <-o.done:
		return o.heardErr()
	case <-cd:
	}
	if o.state.CompareAndSwap(opPending, opAbandoned) || o.state.CompareAndSwap(opClaimed, opAbandoned) {
		o.leave()
		return ctx.Err()
	}
	select {
	case <-o.done:
		return o.heardErr()
	default:
	}
	if o.state.Load() == opAbandoned {
		o.leave()
		return ctx.Err()
	}
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-o.done:
			return o.heardErr()
		case <-t.C:
		}
	}
	o.leave()
	if o.state.CompareAndSwap(opClaimed, opAbandoned) {
		return ctx.Err() // its write was refused meanwhile, and will not be sent again
	}
	// Not wrapping ctx's error: errors.Is(err, context.DeadlineExceeded)
	// must keep meaning "not applied".
	return fmt.Errorf("%w: the caller's context ended while the change was being written (%v)", redisio.ErrOutcomeUnknown, ctx.Err())
}

// heardErr records that the caller received the answer and returns it.
func (o *Op) heardErr() error {
	o.heard = true
	return o.err
}

// Done receives one value when the op was answered (Wait and WaitOutcome
// take it: use either them or Done).
func (o *Op) Done() <-chan struct{} { return o.done }

// Err returns the op's result once Done delivered.
func (o *Op) Err() error { return o.err }

// claim marks the op as started; false when the caller gave up (or its
// context ended) before.
func (o *Op) claim() bool {
	if st := o.state.Load(); st == opClaimed || st == opSent {
		return true
	}
	if o.ctx != nil && o.ctx.Err() != nil {
		if o.state.CompareAndSwap(opPending, opAbandoned) {
			o.answer(o.ctx.Err())
			return false
		}
	}
	if o.state.CompareAndSwap(opPending, opClaimed) {
		return true
	}
	// abandoned by Wait: still answer it for anyone receiving from Done
	o.answer(context.Canceled)
	return false
}

// answer sets the result and wakes the caller. Only the actor goroutine
// answers; a second answer is ignored.
func (o *Op) answer(err error) {
	if o.answered {
		return
	}
	o.answered = true
	o.err = err
	o.done <- struct{}{}
}

// seal marks ops whose change is about to be sent (claimed → sent). It
// reports false, and unseals the others, when a caller abandoned its op
// meanwhile: the batch must then be applied again (without it) before
// anything is sent.
func seal(ops []*Op) bool {
	for i, op := range ops {
		if !op.applied || op.Kind == event.Read {
			continue
		}
		if !op.state.CompareAndSwap(opClaimed, opSent) && op.state.Load() != opSent {
			unseal(ops[:i])
			return false
		}
	}
	return true
}

// unseal returns ops to claimed after the write carrying them was refused
// or never sent (nothing applied): their callers may give up again.
func unseal(ops []*Op) {
	for _, op := range ops {
		op.state.CompareAndSwap(opSent, opClaimed)
	}
}
