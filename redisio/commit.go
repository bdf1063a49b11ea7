package redisio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// WriteMode says what Commit does to the session data key.
type WriteMode int

const (
	// WriteData stores the bytes with SETEX <ttl> (phpredis write).
	WriteData WriteMode = iota
	// WriteTouch only refreshes the TTL with EXPIRE (phpredis
	// update_timestamp, used by PHP's lazy_write for unchanged data). A
	// missing key is not recreated.
	WriteTouch
	// WriteDelete deletes the key (DEL, phpredis destroy); CommitResult
	// reports whether it existed.
	WriteDelete
	// WriteNone writes nothing: Commit only releases the lock (after
	// checking it is still ours).
	WriteNone
)

// String names the mode for metrics and logs: "data", "touch", "delete"
// or "none".
func (m WriteMode) String() string {
	switch m {
	case WriteData:
		return "data"
	case WriteTouch:
		return "touch"
	case WriteDelete:
		return "delete"
	case WriteNone:
		return "none"
	}
	return fmt.Sprintf("WriteMode(%d)", int(m))
}

func (m WriteMode) flag() string {
	switch m {
	case WriteData:
		return "w"
	case WriteTouch:
		return "t"
	case WriteDelete:
		return "d"
	}
	return "n"
}

// CommitResult describes a successful Commit.
type CommitResult struct {
	// Existed reports, for WriteTouch and WriteDelete, whether the data key
	// existed. It is false when the outcome had to be reconciled after a
	// lost reply (Reconciled).
	Existed bool
	// Reconciled is true when the reply was lost (network error, timeout)
	// and Commit established from the lock's state that the write was
	// applied, or re-sent it while the lock was still ours.
	Reconciled bool
	// Expires, set by CommitTracked, is a lower bound of when the data
	// key expires (the send time of the write plus the session TTL).
	Expires time.Time
	// ReleaseErr is set (split mode only) when the write was acknowledged
	// but releasing the lock failed; the lock then expires by its PX.
	ReleaseErr error
}

// Commit writes (according to mode) only while the lock is still ours and
// releases it. Where both keys live on one server (standalone, Sentinel, or
// a cluster slot shared by both keys) this is one Lua script in one round
// trip: token check, write, release, atomically. In split mode (cluster) it
// is: token-checked PEXPIRE (ownership check), then the write, then the
// release strictly after the write's acknowledgement.
//
// It returns an error wrapping ErrLockLost (and nothing is written) if the
// lock is no longer ours. It returns nil only if Redis acknowledged the
// write. After a network error or timeout it reconciles by token (the
// commands that follow run on a context detached from ctx's cancellation,
// bounded by Config.ReconcileTimeout): if the lock still holds our token the
// idempotent write is re-sent; if the lock is gone before its earliest
// possible expiry, the script evidently ran. When neither can be
// established the error wraps ErrOutcomeUnknown, and never also
// ErrLockLost: a caller that re-runs its change after a lost lock must not
// apply it twice. On every error return the lock has been released if it
// was still ours (best effort).
//
// A Get after Commit returns sees the write: a keyed command on the data
// key is pipelined behind the write, and its reply arrives after the
// invalidation Redis sends us for our own write.
func (s *Store) Commit(ctx context.Context, l *Lock, mode WriteMode, data []byte) (CommitResult, error) {
	return s.commit(ctx, l, mode, data, false)
}

// CommitKeep is Commit that keeps the lock and renews it to
// Config.LockExpiry (for long batches).
func (s *Store) CommitKeep(ctx context.Context, l *Lock, mode WriteMode, data []byte) error {
	_, err := s.commit(ctx, l, mode, data, true)
	return err
}

func (s *Store) commit(ctx context.Context, l *Lock, mode WriteMode, data []byte, keep bool) (CommitResult, error) {
	if s.closed.Load() {
		return CommitResult{}, ErrClosed
	}
	if l == nil || l.done {
		return CommitResult{}, fmt.Errorf("%w: lock already released", ErrLockLost)
	}
	if mode < WriteData || mode > WriteNone {
		return CommitResult{}, fmt.Errorf("redisio: invalid write mode %d", int(mode))
	}
	if err := ctx.Err(); err != nil {
		if !keep {
			s.releaseQuiet(ctx, l)
		}
		return CommitResult{}, err
	}
	var (
		res CommitResult
		err error
	)
	if s.sameNode(l.ID) {
		res, err = s.commitScript(ctx, l, mode, data, keep)
	} else {
		res, err = s.commitSplit(ctx, l, mode, data, keep)
	}
	switch {
	case err == nil:
		s.st.commits.Add(1)
	case errors.Is(err, ErrOutcomeUnknown):
		s.st.unknown.Add(1)
	case errors.Is(err, ErrLockLost):
		s.st.lockLost.Add(1)
	}
	if res.Reconciled {
		s.st.reconciled.Add(1)
	}
	if err != nil && !keep && !l.done {
		s.releaseQuiet(ctx, l)
	}
	return res, err
}

func (s *Store) commitCmds(l *Lock, mode WriteMode, data []byte, keep, sha, barrier bool) []rueidis.Completed {
	keepArg := ""
	if keep {
		keepArg = s.expiryArg
	}
	k := s.Key(l.ID)
	var script rueidis.Completed
	args := []string{l.Token, mode.flag(), s.ttlArg, rueidis.BinaryString(data), keepArg}
	if sha {
		script = s.c.B().Evalsha().Sha1(commitSHA).Numkeys(2).Key(l.Key, k).Arg(args...).Build()
	} else {
		script = s.c.B().Eval().Script(commitScript).Numkeys(2).Key(l.Key, k).Arg(args...).Build()
	}
	if !barrier {
		return []rueidis.Completed{script}
	}
	// PTTL on the data key is the read-your-own-writes barrier.
	return []rueidis.Completed{script, s.c.B().Pttl().Key(k).Build().Pin()}
}

func (s *Store) commitScript(ctx context.Context, l *Lock, mode WriteMode, data []byte, keep bool) (CommitResult, error) {
	var sent time.Time
	k := s.Key(l.ID)
	// The read-your-own-writes barrier is needed only if rueidis's cache
	// may hold the data key (our write's invalidation arrives after the
	// script's reply). A cached read that is sent concurrently and lands
	// before our write is caught by the check after the reply.
	barrier := s.split || s.mayHoldCached(k)
	rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
		sent = time.Now()
		rs := s.doMulti(ctx, s.commitCmds(l, mode, data, keep, true, barrier)...)
		if rerr, ok := rueidis.IsRedisErr(rs[0].Error()); ok && rerr.IsNoScript() {
			rs = s.doMulti(ctx, s.commitCmds(l, mode, data, keep, false, barrier)...)
		}
		return rs
	})
	n, err := rs[0].AsInt64()
	if err != nil {
		if isRedisReply(err) || notSent(err) {
			return CommitResult{}, fmt.Errorf("redisio: commit script: %w", err)
		}
		return s.reconcileScript(ctx, l, mode, data, keep, err)
	}
	if !barrier && s.mayHoldCached(k) {
		// A cached read of k was sent while the script was in flight: it
		// may have cached the old value. Wait for our invalidation.
		_ = s.do(ctx, s.c.B().Pttl().Key(k).Build().Pin()).Error()
	}
	return s.scriptResult(l, mode, keep, n, sent)
}

func (s *Store) scriptResult(l *Lock, mode WriteMode, keep bool, n int64, sent time.Time) (CommitResult, error) {
	if n == -1 {
		l.done = true
		return CommitResult{}, fmt.Errorf("%w: nothing written", ErrLockLost)
	}
	if keep {
		l.validUntil = sent.Add(s.cfg.LockExpiry)
	} else {
		l.done = true
	}
	return CommitResult{Existed: (mode == WriteTouch || mode == WriteDelete) && n >= 1}, nil
}

// reconcileScript runs after the commit script's reply was lost. The GET of
// the lock travels on the same connection behind the script (if the
// connection survived), so it sees the script's effect.
func (s *Store) reconcileScript(ctx context.Context, l *Lock, mode WriteMode, data []byte, keep bool, cause error) (CommitResult, error) {
	rctx, cancel := s.reconcileCtx(ctx)
	defer cancel()
	v, err := s.do(rctx, s.c.B().Get().Key(l.Key).Build().Pin()).ToString()
	if err != nil && !rueidis.IsRedisNil(err) {
		s.cfg.Logger.Warn("redisio: commit outcome unknown", "key", s.logKey(l.Key), "error", cause, "reconcile_error", err)
		return CommitResult{}, fmt.Errorf("%w: %w (reconcile: %v)", ErrOutcomeUnknown, cause, err)
	}
	if v == l.Token {
		// Either the script did not run, or it ran in keep mode. In both
		// cases the lock is ours and the write is idempotent: send it again.
		sent := time.Now()
		rs := s.doMulti(rctx, s.commitCmds(l, mode, data, keep, false, true)...)
		n, err := rs[0].AsInt64()
		if err != nil {
			return CommitResult{}, fmt.Errorf("%w: %w (retry: %v)", ErrOutcomeUnknown, cause, err)
		}
		res, err := s.scriptResult(l, mode, keep, n, sent)
		res.Reconciled = true
		if mode == WriteDelete || mode == WriteTouch {
			res.Existed = false // the first attempt may have done it
		}
		return res, err
	}
	// The lock is not ours any more.
	if !keep && time.Now().Before(l.validUntil) {
		// It cannot have expired yet, and only our script deletes a lock
		// holding our token (PHP's release compares tokens): the script ran.
		l.done = true
		return CommitResult{Reconciled: true}, nil
	}
	// Deliberately not wrapping ErrLockLost: a caller that retries on a
	// lost lock could apply the change twice.
	l.done = true
	return CommitResult{}, fmt.Errorf("%w: lock no longer ours, write may have been applied: %w", ErrOutcomeUnknown, cause)
}

// commitSplit is the cluster sequence: ownership check (renew), write,
// release after the write's ack.
func (s *Store) commitSplit(ctx context.Context, l *Lock, mode WriteMode, data []byte, keep bool) (CommitResult, error) {
	if mode == WriteNone && !keep {
		n, err := s.release(ctx, l)
		if err != nil {
			return CommitResult{}, err
		}
		if n != 1 {
			return CommitResult{}, fmt.Errorf("%w: nothing written", ErrLockLost)
		}
		return CommitResult{}, nil
	}
	if err := s.renew(ctx, l); err != nil {
		return CommitResult{}, err
	}
	var res CommitResult
	if mode != WriteNone {
		k := s.Key(l.ID)
		first := true
		rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
			if !first {
				// The previous attempt was refused (e.g. READONLY during a
				// failover): the new master may not have our lock.
				if err := s.renew(ctx, l); err != nil {
					return []rueidis.RedisResult{rueidis.NewErrorResult(err)}
				}
			}
			first = false
			return s.doMulti(ctx, s.splitWrite(k, mode, data), s.c.B().Pttl().Key(k).Build().Pin())
		})
		err := rs[0].Error()
		if errors.Is(err, ErrLockLost) { // refused attempts only: nothing written
			return CommitResult{}, err
		}
		if err != nil && !isRedisReply(err) && !notSent(err) {
			// Outcome unknown; the write is idempotent while the lock is
			// ours: check ownership again and resend.
			rctx, cancel := s.reconcileCtx(ctx)
			if rerr := s.renew(rctx, l); rerr != nil {
				cancel()
				// Not wrapping rerr (it may be ErrLockLost): the write may have
				// been applied.
				return CommitResult{}, fmt.Errorf("%w: %w (ownership check after the error: %v)", ErrOutcomeUnknown, err, rerr)
			}
			rs = s.doMulti(rctx, s.splitWrite(k, mode, data), s.c.B().Pttl().Key(k).Build().Pin())
			cancel()
			if err2 := rs[0].Error(); err2 != nil {
				return CommitResult{}, fmt.Errorf("%w: %w (retry: %v)", ErrOutcomeUnknown, err, err2)
			}
			res.Reconciled = true
		} else if err != nil {
			return CommitResult{}, fmt.Errorf("redisio: %s: %w", mode, err)
		} else if mode != WriteData {
			n, _ := rs[0].AsInt64()
			res.Existed = n >= 1
		}
	}
	if keep {
		return res, nil
	}
	n, err := s.release(ctx, l)
	if err != nil || n != 1 {
		if err == nil {
			err = fmt.Errorf("%w: lock expired or taken after the write", ErrLockLost)
		}
		s.cfg.Logger.Warn("redisio: write acknowledged but lock release failed", "key", s.logKey(l.Key), "error", err)
		res.ReleaseErr = err
		l.done = true
	}
	return res, nil
}

// splitWrite builds the data key command of mode (split mode).
func (s *Store) splitWrite(k string, mode WriteMode, data []byte) rueidis.Completed {
	switch mode {
	case WriteTouch:
		return s.c.B().Expire().Key(k).Seconds(s.ttlSec).Build()
	case WriteDelete:
		return s.c.B().Del().Key(k).Build()
	}
	return s.c.B().Setex().Key(k).Seconds(s.ttlSec).Value(rueidis.BinaryString(data)).Build()
}
