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
// session at the moment. Next to it, under the same name plus a suffix:
// ":queue" (a sorted set) lists the processes waiting for it, oldest
// first: a release hands the lease straight to the oldest waiter;
// ":turn:<token>" is changed by that hand-over, so that only the waiter
// that gets the lease is woken (each waiter tracks its own); ":procs" (a
// sorted set) lists the processes that took part recently (LeaseRivals)
// and when each waiter last tried (a release skips waiters that stopped
// trying).
// Outside the session prefix (tools listing sessions do not see them); in
// a Cluster all share the data key's hash tag, hence its slot.
//
// The lease is advisory and known only to this package: PHP never reads
// it, and no write depends on it for correctness (every lock-free write
// is still the atomic check-and-write of WriteIfUnlocked, which refuses
// while the phpredis lock is held or the data changed). It only keeps
// several processes from writing one hot session at the same time, where
// each would otherwise re-run its batch on the others' writes again and
// again.
const LeasePrefix = "phpsession:lease:"

// LeaseJoinFor is how long a process counts as taking part in a
// session's lease (LeaseRivals) after it last recorded itself there
// (AcquireLease or LeaseRivals with join).
const LeaseJoinFor = time.Second

// leaseScript takes the lease, or renews it when it holds our token.
//
//	KEYS[1]=lease KEYS[2]=queue KEYS[3]=participants
//	ARGV[1]=token ARGV[2]=PX ms ARGV[3]=now (ms, the caller's clock)
//	ARGV[4]=queue PX ms ARGV[5]=participants cutoff (ms; "": do not
//	record us as taking part) ARGV[6]=participants PX ms
//
// Returns {1} when it holds our token (renewed, or handed to us by the
// last holder's release), {2} when newly taken (someone else may have
// written the session since our last write), {0, holder, holder's PTTL,
// our rank in the queue} when another holder has it: then our token joins
// the queue (unless already in it, keeping its place), which the holder
// notices through its tracked read of the queue's head (LeaseWanted), and
// is recorded as taking part with the time of this attempt, which tells
// a release that we still wait.
const leaseScript = `if ARGV[5] ~= "" then
  redis.call("zadd",KEYS[3],ARGV[3],ARGV[1])
  redis.call("zremrangebyscore",KEYS[3],"-inf","(" .. ARGV[5])
  redis.call("pexpire",KEYS[3],ARGV[6])
end
local cur = redis.call("get",KEYS[1])
if cur == ARGV[1] then redis.call("pexpire",KEYS[1],ARGV[2]) return {1} end
if not cur then
  redis.call("set",KEYS[1],ARGV[1],"px",ARGV[2])
  redis.call("zrem",KEYS[2],ARGV[1])
  return {2}
end
redis.call("zadd",KEYS[2],"NX",ARGV[3],ARGV[1])
redis.call("pexpire",KEYS[2],ARGV[4])
if ARGV[5] == "" then
  redis.call("zadd",KEYS[3],ARGV[3],ARGV[1])
  redis.call("pexpire",KEYS[3],ARGV[6])
end
return {0,cur,redis.call("pttl",KEYS[1]),redis.call("zrank",KEYS[2],ARGV[1])}`

// leaseJoinScript records us as taking part in the lease and returns how
// many processes do (us included), dropping those that did not record
// themselves since the cutoff.
//
//	KEYS[1]=participants ARGV[1]=token ARGV[2]=now ms ARGV[3]=cutoff ms
//	ARGV[4]=participants PX ms
const leaseJoinScript = `redis.call("zadd",KEYS[1],ARGV[2],ARGV[1])
redis.call("zremrangebyscore",KEYS[1],"-inf","(" .. ARGV[3])
redis.call("pexpire",KEYS[1],ARGV[4])
return redis.call("zcard",KEYS[1])`

// leaseReleaseScript gives the lease up if it holds our token: to the
// oldest waiter of the queue (its entry removed, its turn key changed so
// that it alone is woken), dropping first the waiters whose last attempt
// (their score among the participants) is older than the cutoff (they
// gave up or died), else by deleting it. The caller names the waiter it
// expects to be next (its tracked read of the queue's head) and passes
// that waiter's turn key: a script declares the keys it touches.
//
//	KEYS[1]=lease KEYS[2]=queue KEYS[3]=turn key of ARGV[4]
//	KEYS[4]=participants
//	ARGV[1]=token ARGV[2]=PX ms ARGV[3]=cutoff (ms) ARGV[4]=the
//	expected next holder ("": none; "*": whoever is next, without waking
//	it) ARGV[5]=turn key PX ms
//
// Returns {0} when the lease was not ours, {1} when deleted, {2} when
// handed over, {3, next} when next is not ARGV[4] (nothing changed but
// the drops: the caller tries again naming it).
const leaseReleaseScript = `if redis.call("get",KEYS[1]) ~= ARGV[1] then return {0} end
local nxt
repeat
  nxt = redis.call("zrange",KEYS[2],0,0)[1]
  if not nxt then
    redis.call("del",KEYS[1])
    return {1}
  end
  local seen = redis.call("zscore",KEYS[4],nxt)
  if seen and tonumber(seen) >= tonumber(ARGV[3]) then break end
  redis.call("zrem",KEYS[2],nxt)
until false
if ARGV[4] ~= "*" and nxt ~= ARGV[4] then return {3,nxt} end
redis.call("zrem",KEYS[2],nxt)
redis.call("set",KEYS[1],nxt,"px",ARGV[2])
if ARGV[4] ~= "*" then
  redis.call("incr",KEYS[3])
  redis.call("pexpire",KEYS[3],ARGV[5])
end
return {2}`

// leaseQueueAge: a waiter that has not tried to take the lease for this
// long is dropped from the queue by the next release (a waiter still
// there joins again at the back on its next attempt): a waiter that died
// delays the others by one lease PX at most before that. A live waiter
// tries again at least every half of it (WaitLease's timer). A turn key
// lives as long: it only matters while its waiter waits.
const leaseQueueAge = time.Second

// leaseReleaseTries bounds the release attempts that name the next holder
// (each retry names the one the last attempt found); the last one hands
// the lease to whoever is next without waking it (it wakes at its timer).
const leaseReleaseTries = 4

var (
	leaseLua        = rueidis.NewLuaScript(leaseScript)
	leaseJoinLua    = rueidis.NewLuaScript(leaseJoinScript)
	leaseReleaseLua = rueidis.NewLuaScript(leaseReleaseScript)
	leaseSHA        = sha1hex(leaseScript)
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

// LeaseTurn describes a refused AcquireLease: who holds the lease and
// where we wait for it. Pass it to WaitLease.
type LeaseTurn struct {
	ID     string        // session id
	Holder string        // the holder's token
	PTTL   time.Duration // the holder's lease expires in this at most
	Ahead  int           // waiters before us in the queue
	px     time.Duration // the lease's PX
	key    string        // our turn key
	w      *waiter       // woken by the change of our turn key; nil: none armed
}

// LeaseKey returns the name of id's write-lease key.
func (s *Store) LeaseKey(id string) string { return LeasePrefix + s.Key(id) }

func (s *Store) leaseQueueKey(id string) string { return s.LeaseKey(id) + ":queue" }

func (s *Store) leaseProcsKey(id string) string { return s.LeaseKey(id) + ":procs" }

// leaseTurnKey is the key whose change tells the waiter with token tok
// that the lease of id was handed to it.
func (s *Store) leaseTurnKey(id, tok string) string { return s.LeaseKey(id) + ":turn:" + tok }

// leaseToken is this Store's token for all its leases: a waiter keeps its
// place in the queue across attempts, and finds the lease handed to it.
func (s *Store) leaseToken() string { return s.cfg.TokenPrefix + "lease:" + s.tokenRand }

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
// the lease, with turn describing where we wait; we are then queued for
// it, which the holder sees (LeaseWanted). A refused attempt without l
// must be followed by WaitLease with that turn: it was armed to be woken
// by the hand-over to us. With read, the session data is read in the same
// round trip, right after the lease was taken (Data; meaningless when the
// lease was not taken). With join, the call also records this process as
// taking part in id's lease (see LeaseRivals). The returned lease is l
// itself when l was still ours (nobody else can have held the lease
// since).
//
// A reply lost to a network error is reported as an error: the lease may
// then be held by nobody who knows it, and expires by itself within px.
// Where CanLease is false on a Cluster it returns ErrCrossSlot.
func (s *Store) AcquireLease(ctx context.Context, id string, l *Lease, px time.Duration, read, join bool) (lease *Lease, d Data, turn LeaseTurn, err error) {
	if s.closed.Load() {
		return nil, Data{}, LeaseTurn{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, Data{}, LeaseTurn{}, err
	}
	if s.split && !s.CanLease(id) {
		// On a Cluster the round trip below must stay on the slot's node
		// (rueidis refuses keyless commands beside keys of several slots).
		return nil, Data{}, LeaseTurn{}, ErrCrossSlot
	}
	tok := s.leaseToken()
	ms := max(int64(px/time.Millisecond), 1)
	lk := s.LeaseKey(id)
	keys := []string{lk, lk + ":queue", lk + ":procs"}
	now := time.Now()
	cutoff := ""
	if join {
		cutoff = fmtInt(now.Add(-LeaseJoinFor).UnixMilli())
	}
	args := []string{tok, fmtInt(ms), fmtInt(now.UnixMilli()), fmtInt(leaseQueueAge.Milliseconds()), cutoff, fmtInt(LeaseJoinFor.Milliseconds())}
	// An attempt to take the lease registers the waiter and arms tracking
	// of our turn key before the script runs: a hand-over to us after it
	// refused us changes that key, whose invalidation then wakes the
	// waiter, even before WaitLease sleeps.
	var (
		tk  string
		w   *waiter
		pre int // commands before the script
	)
	if l == nil && s.tracking {
		tk, pre = s.leaseTurnKey(id, tok), 2
		w = s.addWaiter(tk)
		defer func() {
			if turn.w == nil {
				s.removeWaiter(tk, w) // not refused: nothing to wait for
			}
		}()
	}
	build := func(useSHA bool) []rueidis.Completed {
		cmds := make([]rueidis.Completed, 0, 4)
		if w != nil {
			cmds = append(cmds, s.c.B().ClientCaching().Yes().Build(), s.c.B().Get().Key(tk).Build())
		}
		if useSHA {
			cmds = append(cmds, s.c.B().Evalsha().Sha1(leaseSHA).Numkeys(3).Key(keys...).Arg(args...).Build())
		} else {
			cmds = append(cmds, s.c.B().Eval().Script(leaseScript).Numkeys(3).Key(keys...).Arg(args...).Build())
		}
		if read {
			cmds = append(cmds, s.c.B().Get().Key(s.Key(id)).Build().Pin())
		}
		return cmds
	}
	var sent time.Time
	rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
		sent = time.Now()
		rs := s.doMulti(ctx, build(true)...)
		if rerr, ok := rueidis.IsRedisErr(rs[pre].Error()); ok && rerr.IsNoScript() {
			rs = s.doMulti(ctx, build(false)...)
		}
		return rs[pre:]
	})
	arr, err := rs[0].ToArray()
	if err == nil && len(arr) == 0 {
		err = errors.New("empty reply")
	}
	if err != nil {
		return nil, Data{}, LeaseTurn{}, fmt.Errorf("redisio: lease: %w", err)
	}
	n, err := arr[0].AsInt64()
	if err != nil {
		return nil, Data{}, LeaseTurn{}, fmt.Errorf("redisio: lease: %w", err)
	}
	if join {
		s.st.leaseJoined.Add(1)
	}
	if n == 0 {
		s.st.leaseBusy.Add(1)
		turn = LeaseTurn{ID: id, px: px, key: tk, w: w}
		if len(arr) > 3 {
			turn.Holder, _ = arr[1].ToString()
			pttl, _ := arr[2].AsInt64()
			turn.PTTL = time.Duration(max(pttl, 0)) * time.Millisecond
			ahead, _ := arr[3].AsInt64()
			turn.Ahead = int(max(ahead, 0))
		}
		return nil, Data{}, turn, nil
	}
	if read {
		if d, err = toData(rs[1]); err != nil {
			// the lease is ours: the caller reads again if it needs to
			return nil, Data{}, LeaseTurn{}, s.releaseAfter(ctx, id, tok, px, err)
		}
	}
	if l == nil || n != 1 {
		// taken, or handed to us by the last holder's release
		s.st.leaseTaken.Add(1)
		l = &Lease{ID: id, Token: tok, Since: sent}
	}
	l.validUntil = sent.Add(time.Duration(ms) * time.Millisecond)
	return l, d, LeaseTurn{}, nil
}

// releaseAfter gives back a lease just taken whose data read failed, and
// returns that failure.
func (s *Store) releaseAfter(ctx context.Context, id, tok string, px time.Duration, cause error) error {
	_ = s.ReleaseLease(context.WithoutCancel(ctx), &Lease{ID: id, Token: tok}, px)
	return cause
}

// ReleaseLease gives l up (if it still holds l's token): to the oldest
// process in its queue, which alone is woken (by its turn key's change)
// and whose next AcquireLease finds it holding the lease, else by
// deleting it. px is the lease's PX for the next holder. A failed release
// is left to the lease's expiry (the error is returned for the caller to
// report).
func (s *Store) ReleaseLease(ctx context.Context, l *Lease, px time.Duration) error {
	if l == nil {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	ms := fmtInt(max(int64(px/time.Millisecond), 1))
	cutoff := fmtInt(time.Now().Add(-leaseQueueAge).UnixMilli())
	lk := s.LeaseKey(l.ID)
	// The next holder as our tracked read of the queue knows it (no round
	// trip while the queue did not change); the script tells when it is
	// another one.
	next, err := s.leaseNext(ctx, l.ID)
	if err != nil {
		next = "*"
	}
	for try := 1; ; try++ {
		tk := lk // not touched
		if next != "" && next != "*" {
			tk = s.leaseTurnKey(l.ID, next)
		}
		arr, err := s.exec(ctx, leaseReleaseLua, []string{lk, lk + ":queue", tk, lk + ":procs"}, []string{l.Token, ms, cutoff, next, fmtInt(leaseQueueAge.Milliseconds())}).ToArray()
		if err == nil && len(arr) == 0 {
			err = errors.New("empty reply")
		}
		if err != nil {
			return fmt.Errorf("redisio: release lease: %w", err)
		}
		switch n, _ := arr[0].AsInt64(); n {
		case 3:
			if next, err = arr[1].ToString(); err != nil {
				return fmt.Errorf("redisio: release lease: %w", err)
			}
			if try+1 >= leaseReleaseTries {
				next = "*"
			}
			continue
		case 1, 2:
			s.st.leaseReleased.Add(1)
		}
		return nil
	}
}

// leaseNext returns the token at the head of id's queue ("": nobody
// waits), read through the client-side cache: while nothing changes, the
// answer costs no round trip, and a waiter joining the queue invalidates
// it.
func (s *Store) leaseNext(ctx context.Context, id string) (string, error) {
	if !s.tracking {
		return "", nil
	}
	head, err := s.doCache(ctx, s.c.B().Zrange().Key(s.leaseQueueKey(id)).Min("0").Max("0").Cache().Pin(), s.cfg.CacheTTL).AsStrSlice()
	if err != nil {
		return "", err
	}
	if len(head) == 0 {
		return "", nil
	}
	return head[0], nil
}

// LeaseWanted reports whether another process waits for id's lease (its
// queue is not empty). It reads the queue's head through the client-side
// cache: while nothing changes, the answer costs no round trip, and a
// waiter joining the queue invalidates it.
func (s *Store) LeaseWanted(ctx context.Context, id string) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	next, err := s.leaseNext(ctx, id)
	if err != nil {
		return false, fmt.Errorf("redisio: lease wanted: %w", err)
	}
	return next != "", nil
}

// LeaseRivals reports whether another process (another Store) took part
// in id's lease within LeaseJoinFor: it recorded itself through
// AcquireLease or LeaseRivals with join. With join, this process records
// itself too, in one round trip; without, the list of participants is read
// through the client-side cache (no round trip while nobody joins). A
// process that sees the session change under its writes asks this to
// tell another process of this package (which the lease helps) from PHP
// or any other writer (which it does not).
func (s *Store) LeaseRivals(ctx context.Context, id string, join bool) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	if !s.tracking {
		return false, nil
	}
	now := time.Now()
	cutoff := now.Add(-LeaseJoinFor).UnixMilli()
	pk := s.leaseProcsKey(id)
	if join {
		n, err := s.exec(ctx, leaseJoinLua, []string{pk}, []string{s.leaseToken(), fmtInt(now.UnixMilli()), fmtInt(cutoff), fmtInt(LeaseJoinFor.Milliseconds())}).AsInt64()
		if err != nil {
			return false, fmt.Errorf("redisio: lease join: %w", err)
		}
		s.st.leaseJoined.Add(1)
		return n > 1, nil
	}
	procs, err := s.doCache(ctx, s.c.B().Zrange().Key(pk).Min("0").Max("-1").Withscores().Cache().Pin(), s.cfg.CacheTTL).AsZScores()
	if err != nil {
		return false, fmt.Errorf("redisio: lease rivals: %w", err)
	}
	tok := s.leaseToken()
	for _, p := range procs {
		if p.Member != tok && p.Score >= float64(cutoff) {
			return true, nil
		}
	}
	return false, nil
}

// WaitLease waits (without taking the lease) for the turn a refused
// AcquireLease reported: it returns when woken by the change of our turn
// key (the holder handed the lease to us), by a timer at the holder's
// PTTL plus one lease PX per waiter ahead of us (so a holder that crashed
// or stopped, or a waiter ahead that did, delays us by that at most; half
// a second at most, so that releases see that we still wait), or by the
// safety poll; the caller then tries AcquireLease again, which
// finds the lease handed to it, takes a free one, or queues it again.
// Hand-overs to other waiters do not wake it. It gives up at
// Config.LockTimeout or when ctx ends, with an error wrapping
// ErrLockTimeout. A turn with nothing armed (no client tracking, or a
// refused renewal) returns at once.
func (s *Store) WaitLease(ctx context.Context, t LeaseTurn) error {
	if t.w == nil {
		return nil
	}
	defer s.removeWaiter(t.key, t.w)
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return s.leaseTimeout(t, err)
	}
	deadline := time.NewTimer(s.cfg.LockTimeout)
	defer deadline.Stop()
	var timer *time.Timer
	// At least every half of leaseQueueAge: the attempt it wakes for
	// shows a release that we still wait.
	sleep := min(t.PTTL+time.Duration(t.Ahead)*t.px, leaseQueueAge/2)
	switch err := s.sleepUntilRelease(ctx, &timer, t.w, t.ID, t.Holder, sleep, deadline.C); {
	case err == nil:
		return nil
	case errors.Is(err, ErrClosed):
		return err
	case errors.Is(err, errDeadline):
		return s.leaseTimeout(t, nil)
	default:
		return s.leaseTimeout(t, err)
	}
}

func (s *Store) leaseTimeout(t LeaseTurn, cause error) error {
	s.st.timeouts.Add(1)
	return &HolderError{Err: ErrLockTimeout, ID: t.ID, Holder: t.Holder, PTTL: t.PTTL, Cause: cause}
}
