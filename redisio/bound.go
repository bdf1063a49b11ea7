package redisio

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"time"

	"github.com/redis/rueidis"
)

// errNoReply is the cause of the context that bounds one round trip
// (Config.Timeout): when it ends, Redis did not answer in time.
var errNoReply = errors.New("no reply")

// bound returns ctx limited to one round trip's Config.Timeout. Every
// command the Store sends goes through it, so no call waits on Redis for
// longer than that, whatever deadline (or none) the caller's ctx has;
// rueidis's own retries of read-only commands stop there too.
//
// Calls made under one long-lived ctx (the actors' context) share one
// bounded context per boundSlack: its deadline lies between Timeout −
// boundSlack and Timeout after each call that uses it, never later. A
// context with its own timer per call cost about a twentieth of the client
// CPU of a one-op batch (a timer, two contexts, the parent's child map) and
// a tenth of its allocations. The shared context is never cancelled by a
// caller; it ends at its deadline (cause errNoReply) or with ctx.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= s.cfg.Timeout {
		return ctx, noCancel // the caller's deadline comes first
	}
	now := time.Now()
	sb := s.shared.Load()
	fresh := sb != nil && sb.deadline.Sub(now) > s.cfg.Timeout-s.boundSlack
	if fresh && sameCtx(sb.parent, ctx) {
		return sb.ctx, noCancel
	}
	if fresh || reflect.TypeOf(ctx).Kind() != reflect.Pointer {
		// Another parent holds the shared context, or ctx's type may not
		// compare safely (a struct holding an interface may panic on ==):
		// a context of its own, cancelled when the call ends.
		return context.WithTimeoutCause(ctx, s.cfg.Timeout, errNoReply)
	}
	// At most one new shared context per boundSlack, whatever the
	// parents: the timers of those abandoned early stay bounded.
	d := now.Add(s.cfg.Timeout)
	bctx, cancel := context.WithDeadlineCause(ctx, d, errNoReply)
	if !s.shared.CompareAndSwap(sb, &sharedBound{parent: ctx, ctx: bctx, deadline: d, cancel: cancel}) {
		return bctx, cancel // another call renewed it first: this one is ours alone
	}
	return bctx, noCancel
}

// sharedBound is a bounded context that calls under one parent share (see
// bound).
type sharedBound struct {
	parent   context.Context // a pointer
	ctx      context.Context
	deadline time.Time
	// cancel is never called: callers share ctx, which ends at its
	// deadline (releasing its timer) or with parent.
	cancel context.CancelFunc
}

// sameCtx reports whether b is a, whose dynamic type is a pointer.
func sameCtx(a, b context.Context) bool {
	return reflect.TypeOf(a) == reflect.TypeOf(b) && a == b
}

func noCancel() {}

// unavailable turns a failure to reach Redis into an error result wrapping
// ErrUnavailable: a network error, or the round trip's own bound (not the
// caller's context) ending. Redis error replies and the caller's context
// errors are returned as they are. The bound's context.DeadlineExceeded is
// not wrapped: a caller testing for its own deadline must not mistake
// Redis's silence for it.
func (s *Store) unavailable(ctx, bctx context.Context, res rueidis.RedisResult) rueidis.RedisResult {
	err := res.Error()
	if err == nil || isRedisReply(err) {
		return res
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Also a dial's "i/o timeout" matches context.DeadlineExceeded:
		// only the caller's own context ending is the caller's business.
		if ctx.Err() != nil && context.Cause(bctx) != errNoReply {
			return res // the caller's context ended
		}
		if context.Cause(bctx) == errNoReply {
			return rueidis.NewErrorResult(fmt.Errorf("%w: %w within %v", ErrUnavailable, errNoReply, s.cfg.Timeout))
		}
	}
	if errors.Is(err, rueidis.ErrClosing) && s.closed.Load() {
		return rueidis.NewErrorResult(ErrClosed)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		// The connection could not be made: the command never left.
		return rueidis.NewErrorResult(fmt.Errorf("%w: %w: %v", ErrUnavailable, errNotSent, err))
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// a network timeout: not the caller's context, so not wrapped
		return rueidis.NewErrorResult(fmt.Errorf("%w: %v", ErrUnavailable, err))
	}
	return rueidis.NewErrorResult(fmt.Errorf("%w: %w", ErrUnavailable, err))
}

// errNotSent marks an error that proves the command never left this
// process (see notSent).
var errNotSent = errors.New("not sent")

// do is c.Do bounded by Config.Timeout.
func (s *Store) do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	return s.unavailable(ctx, bctx, s.c.Do(bctx, cmd))
}

// doMulti is c.DoMulti bounded by Config.Timeout.
func (s *Store) doMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	rs := s.c.DoMulti(bctx, cmds...)
	for i := range rs {
		rs[i] = s.unavailable(ctx, bctx, rs[i])
	}
	return rs
}

// doCache is c.DoCache bounded by Config.Timeout.
func (s *Store) doCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	return s.unavailable(ctx, bctx, s.c.DoCache(bctx, cmd, ttl))
}

// exec runs a Lua script (EVALSHA, NOSCRIPT → EVAL) bounded by
// Config.Timeout.
func (s *Store) exec(ctx context.Context, script *rueidis.Lua, keys, args []string) rueidis.RedisResult {
	bctx, cancel := s.bound(ctx)
	defer cancel()
	return s.unavailable(ctx, bctx, script.Exec(bctx, s.c, keys, args))
}

// notSent reports whether err proves that the command never left this
// process: the connection to Redis could not be established. Such a write
// was not applied, so there is nothing to reconcile.
func notSent(err error) bool { return errors.Is(err, errNotSent) }
