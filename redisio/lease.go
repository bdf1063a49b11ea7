package redisio

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// LeasePrefix starts the names of the write-lease keys: LeasePrefix + the
// session's data key holds the token of the process that writes the
// session at the moment, and the same name + ":queue" (a sorted set) lists
// the processes waiting for it, oldest first: a release hands the lease
// straight to the oldest waiter. Outside the session prefix (tools listing
// sessions do not see them); in a Cluster both share the data key's hash
// tag, hence its slot.
//
// The lease is advisory and known only to this package: PHP never reads
// it, and no write depends on it for correctness (every lock-free write
// is still the atomic check-and-write of WriteIfUnlocked, which refuses
// while the phpredis lock is held or the data changed). It only keeps
// several processes from writing one hot session at the same time, where
// each would otherwise re-run its batch on the others' writes again and
// again.
const LeasePrefix = "phpsession:lease:"

// leaseScript takes the lease, or renews it when it holds our token.
//
//	KEYS[1]=lease KEYS[2]=queue ARGV[1]=token ARGV[2]=PX ms
//	ARGV[3]=now (ms, the caller's clock) ARGV[4]=queue PX ms
//
// Returns {1} when it holds our token (renewed, or handed to us by the
// last holder's release), {2} when newly taken (someone else may have
// written the session since our last write), {0, holder} when another
// holder has it: then our token joins the queue (unless already in it,
// keeping its place), which the holder notices through its tracked read
// of the queue's size (LeaseWanted).
const leaseScript = `local cur = redis.call("get",KEYS[1])
if cur == ARGV[1] then redis.call("pexpire",KEYS[1],ARGV[2]) return {1} end
if not cur then
  redis.call("set",KEYS[1],ARGV[1],"px",ARGV[2])
  redis.call("zrem",KEYS[2],ARGV[1])
  return {2}
end
redis.call("zadd",KEYS[2],"NX",ARGV[3],ARGV[1])
redis.call("pexpire",KEYS[2],ARGV[4])
return {0,cur}`

// leaseReleaseScript gives the lease up if it holds our token: to the
// oldest waiter of the queue (its entry removed), dropping entries older
// than the cutoff first (waiters that gave up or died), else by deleting it.
//
//	KEYS[1]=lease KEYS[2]=queue ARGV[1]=token ARGV[2]=PX ms ARGV[3]=cutoff
//	(ms, entries with a lower score are dropped)
//
// Returns 0 when the lease was not ours, 1 when deleted, 2 when handed over.
const leaseReleaseScript = `if redis.call("get",KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("zremrangebyscore",KEYS[2],"-inf","(" .. ARGV[3])
local nxt = redis.call("zrange",KEYS[2],0,0)
if nxt[1] then
  redis.call("zrem",KEYS[2],nxt[1])
  redis.call("set",KEYS[1],nxt[1],"px",ARGV[2])
  return 2
end
redis.call("del",KEYS[1])
return 1`

// leaseQueueAge: a waiter's queue entry older than this is dropped by the
// next release (a waiter still there joins again at the back on its next
// attempt); a waiter that died delays the others by one lease PX at most
// before that.
const leaseQueueAge = time.Second

var (
	leaseLua        = rueidis.NewLuaScript(leaseScript)
	leaseReleaseLua = rueidis.NewLuaScript(leaseReleaseScript)
)

// Lease is a held write lease of one session (see LeasePrefix). A Lease is
// used by one goroutine at a time.
type Lease struct {
	ID    string // session id
	Token string
	// Since is when the lease was taken (the send time of the script that
	// took it; renewals keep it).
	Since time.Time
	// validUntil: send time of the last successful take or renewal plus
	// its PX, a lower bound of when the lease can expire.
	validUntil time.Time
}

// ValidUntil returns a local lower bound of the lease's expiry.
func (l *Lease) ValidUntil() time.Time { return l.validUntil }

// LeaseKey returns the name of id's write-lease key.
func (s *Store) LeaseKey(id string) string { return LeasePrefix + s.Key(id) }

func (s *Store) leaseQueueKey(id string) string { return LeasePrefix + s.Key(id) + ":queue" }

// CanLease reports whether write leases work for id: on a store with
// client tracking (the waits are woken by invalidations), where the lease
// key, its queue and the data key share a slot (always outside a
// Cluster; in a Cluster when the data key has a hash tag).
func (s *Store) CanLease(id string) bool {
	if !s.tracking {
		return false
	}
	if !s.split {
		return true
	}
	if s.c.Mode() != rueidis.ClientModeCluster {
		return false
	}
	return hashTagged(s.Key(id))
}

// AcquireLease takes id's write lease for px, or renews l (a lease of id
// taken earlier; nil: take a new one, or claim one the last holder handed
// to us). It returns a nil lease (and no error) when another holder has
// the lease, with that holder's token in d.Bytes (for WaitLease); we are
// then queued for it, which the holder sees (LeaseWanted). With read, the session data is read in the same round
// trip, right after the lease was taken (Data; meaningless when the lease
// was not taken). renewed reports that l was still ours (nobody else can
// have held the lease since).
//
// A reply lost to a network error is reported as an error: the lease may
// then be held by nobody who knows it, and expires by itself within px.
func (s *Store) AcquireLease(ctx context.Context, id string, l *Lease, px time.Duration, read bool) (lease *Lease, d Data, renewed bool, err error) {
	if s.closed.Load() {
		return nil, Data{}, false, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, Data{}, false, err
	}
	// One token per Store for all its leases: a waiter keeps its place in
	// the queue across attempts, and finds the lease handed to it.
	tok := s.cfg.TokenPrefix + "lease:" + s.tokenRand
	ms := max(int64(px/time.Millisecond), 1)
	keys := []string{s.LeaseKey(id), s.leaseQueueKey(id)}
	args := []string{tok, fmtInt(ms), fmtInt(time.Now().UnixMilli()), fmtInt(leaseQueueAge.Milliseconds())}
	var sent time.Time
	rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
		sent = time.Now()
		cmds := make([]rueidis.Completed, 0, 2)
		cmds = append(cmds, s.c.B().Evalsha().Sha1(leaseSHA).Numkeys(2).Key(keys...).Arg(args...).Build())
		if read {
			cmds = append(cmds, s.c.B().Get().Key(s.Key(id)).Build().Pin())
		}
		rs := s.doMulti(ctx, cmds...)
		if rerr, ok := rueidis.IsRedisErr(rs[0].Error()); ok && rerr.IsNoScript() {
			cmds = cmds[:0]
			cmds = append(cmds, s.c.B().Eval().Script(leaseScript).Numkeys(2).Key(keys...).Arg(args...).Build())
			if read {
				cmds = append(cmds, s.c.B().Get().Key(s.Key(id)).Build().Pin())
			}
			rs = s.doMulti(ctx, cmds...)
		}
		return rs
	})
	arr, err := rs[0].ToArray()
	if err != nil || len(arr) == 0 {
		return nil, Data{}, false, fmt.Errorf("redisio: lease: %w", err)
	}
	n, err := arr[0].AsInt64()
	if err != nil {
		return nil, Data{}, false, fmt.Errorf("redisio: lease: %w", err)
	}
	if n == 0 {
		s.st.leaseBusy.Add(1)
		var holder string
		if len(arr) > 1 {
			holder, _ = arr[1].ToString()
		}
		return nil, Data{Bytes: []byte(holder), Found: true}, false, nil
	}
	if read {
		if d, err = toData(rs[1]); err != nil {
			// the lease is ours: the caller reads again if it needs to
			return nil, Data{}, false, s.releaseAfter(ctx, id, tok, px, err)
		}
	}
	renewed = l != nil && n == 1
	if !renewed {
		// taken, or handed to us by the last holder's release
		s.st.leaseTaken.Add(1)
		l = &Lease{ID: id, Token: tok, Since: sent}
	}
	l.validUntil = sent.Add(time.Duration(ms) * time.Millisecond)
	return l, d, renewed, nil
}

// releaseAfter gives back a lease just taken whose data read failed, and
// returns that failure.
func (s *Store) releaseAfter(ctx context.Context, id, tok string, px time.Duration, cause error) error {
	_ = s.ReleaseLease(context.WithoutCancel(ctx), &Lease{ID: id, Token: tok}, px)
	return cause
}

var leaseSHA = sha1hex(leaseScript)

// ReleaseLease gives l up (if it still holds l's token): to the oldest
// process in its queue, which its next AcquireLease finds holding the
// lease (it is woken by the key's change), else by deleting it. px is the
// lease's PX for the next holder. A failed release is left to the lease's
// expiry (the error is returned for the caller to report).
func (s *Store) ReleaseLease(ctx context.Context, l *Lease, px time.Duration) error {
	if l == nil {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	ms := max(int64(px/time.Millisecond), 1)
	cutoff := time.Now().Add(-leaseQueueAge).UnixMilli()
	n, err := s.exec(ctx, leaseReleaseLua, []string{s.LeaseKey(l.ID), s.leaseQueueKey(l.ID)}, []string{l.Token, fmtInt(ms), fmtInt(cutoff)}).AsInt64()
	if err != nil {
		return fmt.Errorf("redisio: release lease: %w", err)
	}
	if n > 0 {
		s.st.leaseReleased.Add(1)
	}
	return nil
}

// LeaseWanted reports whether another process waits for id's lease (its
// queue is not empty). It reads the queue's size through the client-side
// cache: while nothing changes, the answer costs no round trip, and a
// waiter joining the queue invalidates it.
func (s *Store) LeaseWanted(ctx context.Context, id string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	if !s.tracking {
		return false, nil
	}
	n, err := s.doCache(ctx, s.c.B().Zcard().Key(s.leaseQueueKey(id)).Cache().Pin(), s.cfg.CacheTTL).AsInt64()
	if err != nil {
		return false, fmt.Errorf("redisio: lease wanted: %w", err)
	}
	return n > 0, nil
}

// WaitLease waits (without taking the lease) until id's lease is free,
// held by another holder than seen (the token AcquireLease reported; "":
// any holder), or changed: it returns when woken by the tracking
// invalidation of the lease key (its release or hand-over, a renewal, a
// new holder), by a timer at the lease's PTTL (so a holder that crashed or
// stopped delays others by its PX at most) or by the safety poll; the
// caller then tries AcquireLease again, which finds the lease handed to
// it, takes a free one, or queues it again. It gives up at
// Config.LockTimeout or when ctx ends, with an error wrapping
// ErrLockTimeout.
func (s *Store) WaitLease(ctx context.Context, id, seen string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !s.tracking {
		return nil
	}
	lk := s.LeaseKey(id)
	w := s.addWaiter(lk)
	defer s.removeWaiter(lk, w)
	deadline := time.NewTimer(s.cfg.LockTimeout)
	defer deadline.Stop()
	var timer *time.Timer
	if err := ctx.Err(); err != nil {
		return s.leaseTimeout(id, "", 0, err)
	}
	holder, pttl, found, err := s.holder(ctx, lk, true)
	if err != nil {
		return err
	}
	if !found || (seen != "" && holder != seen) {
		return nil
	}
	switch err := s.sleepUntilRelease(ctx, &timer, w, id, holder, pttl, deadline.C); {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed):
		return err
	case errors.Is(err, errDeadline):
		return s.leaseTimeout(id, holder, pttl, nil)
	default:
		return s.leaseTimeout(id, holder, pttl, err)
	}
}

func (s *Store) leaseTimeout(id, holder string, pttl time.Duration, cause error) error {
	s.st.timeouts.Add(1)
	return &HolderError{Err: ErrLockTimeout, ID: id, Holder: holder, PTTL: pttl, Cause: cause}
}
