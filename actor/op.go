package actor

import (
	"context"
	"sync/atomic"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/event"
)

// Fn is a user function run by the actor. found reports whether the session
// exists (before this op). For Read the session must be treated as
// read-only; for Update it is a private copy, kept only if Fn returns nil.
// Neither may be retained after Fn returns.
type Fn func(s *codec.Session, found bool) error

const (
	opPending int32 = iota
	opClaimed
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
}

// NewOp returns an operation bound to ctx (an op whose ctx ended before the
// actor started it is skipped and never applied).
func NewOp(ctx context.Context, kind event.OpKind, fn Fn) *Op {
	return &Op{Kind: kind, Fn: fn, ctx: ctx, done: make(chan struct{})}
}

// Wait blocks until the op was answered or ctx ended. When ctx ends first
// and the actor has not started the op yet, the op is abandoned and will
// never be applied; once started, it may still be applied.
func (o *Op) Wait(ctx context.Context) error {
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opPending, opAbandoned) {
			return ctx.Err()
		}
		select {
		case <-o.done:
			return o.err
		default:
			return ctx.Err()
		}
	}
}

// Done is closed when the op was answered.
func (o *Op) Done() <-chan struct{} { return o.done }

// Err returns the op's result once Done is closed.
func (o *Op) Err() error { return o.err }

// claim marks the op as started; false when the caller gave up (or its
// context ended) before.
func (o *Op) claim() bool {
	if o.state.Load() == opClaimed {
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
