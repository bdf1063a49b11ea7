package redisio

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// ErrCrossSlot is returned by WriteIfUnlocked when the session's data key
// and lock key live in different Cluster slots, where no script may touch
// both (use LockAndRead and Commit there).
var ErrCrossSlot = errors.New("redisio: data and lock keys are in different cluster slots")

// casHashOver: expected values longer than this are compared by SHA-1
// (computed here and by redis.sha1hex) instead of being sent whole.
const casHashOver = 8 << 10

// casScript writes only if nobody holds the lock and the data key still
// holds what the caller read: an atomic, lock-free read-modify-write.
//
//	KEYS[1]=lock KEYS[2]=data KEYS[3]=write marker (only with a token)
//	ARGV[1]=expectation: "0" key missing, "b" bytes equal ARGV[2], "h" SHA-1 hex equals ARGV[2]
//	ARGV[2]=expected ARGV[3]=mode (w=SETEX, t=EXPIRE, d=DEL, n=check only)
//	ARGV[4]=ttl seconds ARGV[5]=data ARGV[6]=our token ARGV[7]=marker PX ms
//
// Returns {-1} when the lock is held (mode n skips that check), {0, cur}
// when the data differs ({0} when it is missing), {1, r} when written (r:
// EXPIRE's or DEL's integer, 1 for SETEX and n). With a token
// (Config.WriteMarkers) a write also stores it in the marker key for a few
// seconds, so that a caller whose reply was lost can tell whether the
// write was applied.
const casScript = `local m = ARGV[3]
if m ~= "n" and redis.call("exists",KEYS[1]) == 1 then return {-1} end
local cur = redis.call("get",KEYS[2])
local e = ARGV[1]
if e == "0" then
  if cur then return {0,cur} end
elseif not cur then return {0}
elseif e == "h" then
  if redis.sha1hex(cur) ~= ARGV[2] then return {0,cur} end
elseif cur ~= ARGV[2] then return {0,cur} end
local r = 1
if m == "w" then redis.call("setex",KEYS[2],ARGV[4],ARGV[5])
elseif m == "t" then r = redis.call("expire",KEYS[2],ARGV[4])
elseif m == "d" then r = redis.call("del",KEYS[2])
end
if m ~= "n" and ARGV[6] ~= "" then redis.call("set",KEYS[3],ARGV[6],"px",ARGV[7]) end
return {1,r}`

// MarkerPrefix starts the name of the short-lived key in which
// WriteIfUnlocked records who wrote a session last: MarkerPrefix + the
// session's data key. Outside the session prefix, so that tools listing
// sessions do not see it (unless the session prefix is empty).
const MarkerPrefix = "phpsession:lf:"

// MarkerKey returns the write-marker key of session id.
func (s *Store) MarkerKey(id string) string { return MarkerPrefix + s.Key(id) }

var casSHA = sha1hex(casScript)

// CASResult is the outcome of WriteIfUnlocked. Exactly one of Applied,
// Held and Changed is true.
type CASResult struct {
	// Applied: the write was made (or, for WriteNone, the data was
	// confirmed unchanged).
	Applied bool
	// Held: the lock was held by someone (PHP or a locking Go client);
	// nothing was written.
	Held bool
	// Changed: the data differed from the expectation; nothing was
	// written. Current holds what the key holds now.
	Changed bool
	Current Data
	// Existed reports, for an applied WriteTouch or WriteDelete, whether
	// the key existed.
	Existed bool
}

// CanWriteIfUnlocked reports whether WriteIfUnlocked works for id: always
// on a standalone or Sentinel server, on a Cluster only when both keys of
// the session hash to one slot.
func (s *Store) CanWriteIfUnlocked(id string) bool {
	if !s.sameNode(id) {
		return false
	}
	if !s.split {
		return true
	}
	// Cluster: the marker must share the keys' slot (it carries their
	// hash tag, if any).
	k := s.c.B().Get().Key(s.Key(id)).Build()
	mk := s.c.B().Get().Key(s.MarkerKey(id)).Build()
	return k.Slot() == mk.Slot()
}

// WriteIfUnlocked is a lock-free read-modify-write in one round trip: it
// writes (according to mode) only if nobody holds the session lock and the
// data key still holds expect (Found false: the key is missing). One Lua
// script checks both and writes atomically, so to PHP and to other clients
// it is indistinguishable from a lock taken, the data read, written and the
// lock released within one instant: it never writes while PHP holds the
// lock, and never over a change it has not seen. With mode WriteNone it only
// confirms that the data is unchanged (the lock is not checked: nothing is
// written).
//
// A Held result means the caller should wait (WaitUnlocked) and try again;
// a Changed result carries the current data to recompute from. A lost
// reply (network error, timeout) is settled where the outcome can be
// established: with Config.WriteMarkers, our token in the marker key means
// Applied; data still equal to expect (and not a delete) means not applied,
// reported as Changed with Current == expect (try again). Otherwise the
// error wraps ErrOutcomeUnknown: the write may or may not have been
// applied.
//
// Like Commit, a Get after WriteIfUnlocked returns sees the write.
func (s *Store) WriteIfUnlocked(ctx context.Context, id string, expect Data, mode WriteMode, data []byte) (CASResult, error) {
	if s.closed.Load() {
		return CASResult{}, ErrClosed
	}
	if mode < WriteData || mode > WriteNone {
		return CASResult{}, fmt.Errorf("redisio: invalid write mode %d", int(mode))
	}
	if !s.CanWriteIfUnlocked(id) {
		return CASResult{}, fmt.Errorf("%w: session %q", ErrCrossSlot, id)
	}
	if err := ctx.Err(); err != nil {
		return CASResult{}, err
	}
	k := s.Key(id)
	kind, exp := "0", ""
	if expect.Found {
		kind, exp = "b", rueidis.BinaryString(expect.Bytes)
		if len(expect.Bytes) > casHashOver {
			sum := sha1.Sum(expect.Bytes)
			kind, exp = "h", hex.EncodeToString(sum[:])
		}
	}
	tok := ""
	if s.cfg.WriteMarkers && mode != WriteNone {
		tok = s.newToken()
	}
	keys := []string{s.LockKey(id), k}
	args := []string{kind, exp, mode.flag(), s.ttlArg, rueidis.BinaryString(data), tok, s.markerArg}
	if tok != "" {
		keys = append(keys, s.MarkerKey(id))
	}
	build := func(sha, barrier bool) []rueidis.Completed {
		var c rueidis.Completed
		if sha {
			c = s.c.B().Evalsha().Sha1(casSHA).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
		} else {
			c = s.c.B().Eval().Script(casScript).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build()
		}
		if !barrier {
			return []rueidis.Completed{c}
		}
		return []rueidis.Completed{c, s.c.B().Pttl().Key(k).Build().Pin()}
	}
	// The read-your-own-writes barrier, as in Commit.
	barrier := mode != WriteNone && s.mayHoldCached(k)
	rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
		rs := s.c.DoMulti(ctx, build(true, barrier)...)
		if rerr, ok := rueidis.IsRedisErr(rs[0].Error()); ok && rerr.IsNoScript() {
			rs = s.c.DoMulti(ctx, build(false, barrier)...)
		}
		return rs
	})
	arr, err := rs[0].ToArray()
	if err != nil {
		if isRedisReply(err) {
			return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: %w", err)
		}
		return s.reconcileCAS(ctx, id, expect, mode, tok, err)
	}
	if !barrier && mode != WriteNone && s.mayHoldCached(k) {
		_ = s.c.Do(ctx, s.c.B().Pttl().Key(k).Build().Pin()).Error()
	}
	if len(arr) == 0 {
		return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: empty reply")
	}
	code, err := arr[0].AsInt64()
	if err != nil {
		return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: %w", err)
	}
	switch code {
	case -1:
		s.st.casHeld.Add(1)
		return CASResult{Held: true}, nil
	case 0:
		s.st.casChanged.Add(1)
		res := CASResult{Changed: true}
		if len(arr) > 1 {
			b, err := arr[1].ToString()
			if err != nil {
				return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: %w", err)
			}
			res.Current = Data{Bytes: []byte(b), Found: true}
		}
		return res, nil
	}
	s.st.casApplied.Add(1)
	res := CASResult{Applied: true}
	if len(arr) > 1 && (mode == WriteTouch || mode == WriteDelete) {
		n, _ := arr[1].AsInt64()
		res.Existed = n >= 1
	}
	return res, nil
}

// reconcileCAS runs after the script's reply was lost. The GETs travel
// on the same connection behind the script (if the connection survived),
// so they see its effect. Our token (tok, with WriteMarkers) in the marker
// key: the script wrote. Otherwise, data still equal to the expectation: it did not (a write
// changes the bytes; the check and EXPIRE are idempotent), and the caller
// may simply try again. Anything else — without markers, or with the
// marker overwritten by another lock-free writer or expired — may be our
// write or someone else's.
func (s *Store) reconcileCAS(ctx context.Context, id string, expect Data, mode WriteMode, tok string, cause error) (CASResult, error) {
	rctx, cancel := s.reconcileCtx(ctx)
	defer cancel()
	dataRes := s.c.B().Get().Key(s.Key(id)).Build().Pin()
	var cur Data
	var err error
	if tok != "" {
		rs := s.c.DoMulti(rctx, s.c.B().Get().Key(s.MarkerKey(id)).Build().Pin(), dataRes)
		marker, merr := rs[0].ToString()
		if merr != nil && !rueidis.IsRedisNil(merr) {
			s.st.unknown.Add(1)
			return CASResult{}, fmt.Errorf("%w: session %q: %w (reconcile: %v)", ErrOutcomeUnknown, id, cause, merr)
		}
		if merr == nil && marker == tok {
			s.st.reconciled.Add(1)
			s.st.casApplied.Add(1)
			return CASResult{Applied: true}, nil
		}
		cur, err = toData(rs[1])
	} else {
		cur, err = toData(s.c.Do(rctx, dataRes))
	}
	if err != nil {
		s.st.unknown.Add(1)
		return CASResult{}, fmt.Errorf("%w: session %q: %w (reconcile: %v)", ErrOutcomeUnknown, id, cause, err)
	}
	if mode != WriteDelete && cur.Found == expect.Found && string(cur.Bytes) == string(expect.Bytes) {
		s.st.reconciled.Add(1)
		return CASResult{Changed: true, Current: cur}, nil
	}
	s.st.unknown.Add(1)
	return CASResult{}, fmt.Errorf("%w: session %q: the write may have been applied: %w", ErrOutcomeUnknown, id, cause)
}

// WaitUnlocked waits until nobody holds id's lock, without taking it: woken
// by the client-tracking invalidation of the lock key, by a timer at the
// lock's PTTL or by the safety poll, like LockAndRead. It gives up at
// Config.LockTimeout or when ctx ends, with an error wrapping
// ErrLockTimeout that names the holder. It returns nil as soon as the lock
// was seen free; by the time the caller acts someone may hold it again.
func (s *Store) WaitUnlocked(ctx context.Context, id string) error {
	if s.closed.Load() {
		return ErrClosed
	}
	lk := s.LockKey(id)
	var w *waiter
	if s.tracking {
		w = s.addWaiter(lk)
		defer s.removeWaiter(lk, w)
	}
	deadline := time.NewTimer(s.cfg.LockTimeout)
	defer deadline.Stop()
	var timer *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			return s.timeoutError(ctx, id, lk, "", 0, err)
		}
		holder, pttl, found, err := s.holder(ctx, lk, true)
		if err != nil {
			return err
		}
		if !found {
			return nil
		}
		switch err := s.sleepUntilRelease(ctx, &timer, w, id, holder, pttl, deadline.C); {
		case err == nil:
		case errors.Is(err, ErrClosed):
			return err
		case errors.Is(err, errDeadline):
			return s.timeoutError(ctx, id, lk, holder, pttl, nil)
		default:
			return s.timeoutError(ctx, id, lk, holder, pttl, err)
		}
	}
}
