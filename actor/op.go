package actor

import (
	"context"
	"fmt"
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

// Op is one queued operation. Create it with NewOp, hand it to a Handle and
// wait with Wait.
type Op struct {
	Kind event.OpKind
	Fn   Fn
	ctx  context.Context

	state atomic.Int32
	done  chan struct{}
	err   error
	// Existed is set for Destroy: whether the session existed.
	Existed bool

	// Per-batch scratch: written and read only by the actor goroutine
	// while the op is in a batch (apply fills them, committedBatch reads).
	res      error
	resFound bool
	applied  bool
	failed   bool // its fn failed in this apply: skipped by the next pass
	// view is what a Read in a batch sees (the working copy at its place
	// in the batch, viewFound whether the session exists there). Its fn
	// runs once, on the view of the attempt that was committed, so
	// nothing from a refused attempt reaches the caller.
	view      *Doc
	viewFound bool
	// refresh marks a NewRefreshOp.
	refresh bool
}

// NewOp returns an operation bound to ctx (an op whose ctx ended before the
// actor started it is skipped and never applied).
func NewOp(ctx context.Context, kind event.OpKind, fn Fn) *Op {
	return &Op{Kind: kind, Fn: fn, ctx: ctx, done: make(chan struct{})}
}

// NewRefreshOp returns an op that only refreshes the session's TTL, for a
// read served outside the actor (the Manager's fast path) whose
// Doc.ClaimRefresh said a refresh is due. Nobody waits for it: submit it
// and forget it. It never creates a session.
func NewRefreshOp() *Op {
	return &Op{Kind: event.Read, ctx: context.Background(), done: make(chan struct{}), refresh: true}
}

// Wait is WaitOutcome without grace.
func (o *Op) Wait(ctx context.Context) error { return o.WaitOutcome(ctx, 0) }

// WaitOutcome blocks until the op was answered or ctx ended. When ctx ends
// before the write carrying the op's change was sent, the op is abandoned:
// it will never be applied, and ctx's error is returned as it is. Once
// sent, it waits up to grace more for the outcome; without one by then it
// returns an error wrapping redisio.ErrOutcomeUnknown (the change may
// still be applied). A read never changes anything: it returns ctx's
// error at once.
func (o *Op) WaitOutcome(ctx context.Context, grace time.Duration) error {
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
	}
	if o.state.CompareAndSwap(opPending, opAbandoned) || o.state.CompareAndSwap(opClaimed, opAbandoned) {
		return ctx.Err()
	}
	select {
	case <-o.done:
		return o.err
	default:
	}
	if o.state.Load() == opAbandoned {
		return ctx.Err()
	}
	if grace > 0 {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-o.done:
			return o.err
		case <-t.C:
		}
	}
	if o.state.CompareAndSwap(opClaimed, opAbandoned) {
		return ctx.Err() // its write was refused meanwhile, and will not be sent again
	}
	// Not wrapping ctx's error: errors.Is(err, context.DeadlineExceeded)
	// must keep meaning "not applied".
	return fmt.Errorf("%w: the caller's context ended while the change was being written (%v)", redisio.ErrOutcomeUnknown, ctx.Err())
}

// Done is closed when the op was answered.
func (o *Op) Done() <-chan struct{} { return o.done }

// Err returns the op's result once Done is closed.
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
	// abandoned by Wait: still close done for anyone selecting on it
	o.answer(context.Canceled)
	return false
}

func (o *Op) answered() bool {
	select {
	case <-o.done:
		return true
	default:
		return false
	}
}

// answer sets the result and wakes the caller; safe to call once.
func (o *Op) answer(err error) {
	if o.answered() {
		return
	}
	o.err = err
	close(o.done)
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
