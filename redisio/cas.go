package redisio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// ErrCrossSlot is returned by WriteIfUnlocked when the session's data key
// and lock key live in different Cluster slots, where no script may touch
// both (use LockAndRead and Commit there).
var ErrCrossSlot = errors.New("redisio: data and lock keys are in different cluster slots")

// casStageOver: an expected value or new data longer than this is not
// passed to the script as an argument but written to a short-lived staging
// key next to the session (a plain SET) and compared or moved there by
// Redis's own commands (STRLEN, BITOP XOR + BITPOS, RENAME). Redis hashes
// every byte of every string that enters its Lua interpreter (arguments and
// replies of redis.call alike, ~2.5 ns per byte on the 2-core bench box),
// so a 20 MiB value passed inline cost ~50 ms of Redis's thread per copy;
// staged, the comparison runs at memory speed and the write is a rename.
// Below it, one inline argument costs less than the extra commands.
const casStageOver = 4 << 10

// casScript writes only if nobody holds the lock and the data key still
// holds what the caller read: an atomic, lock-free read-modify-write.
//
//	KEYS[1]=lock KEYS[2]=data KEYS[3]=write marker KEYS[4]=staged expected
//	KEYS[5]=staged data (KEYS[3..5] repeat KEYS[2] when unused)
//	ARGV[1]=expectation: "0" key missing, "b" bytes equal ARGV[2],
//	  "k" bytes equal those of KEYS[4]
//	ARGV[2]=expected ARGV[3]=mode (w=write, t=EXPIRE, d=DEL, n=check only)
//	ARGV[4]=ttl seconds ARGV[5]=data (inline) ARGV[6]=our token ("" = no
//	marker) ARGV[7]=marker PX ms ARGV[8]="k": the data is in KEYS[5]
//
// Returns -1 when the lock is held (mode n skips that check); the current
// bytes when the data differs (nil when it is missing); -2 when a staged
// expectation differs from data longer than casStageOver (the caller reads
// it: the script never makes a long value a Lua string); 1 when written or
// confirmed, or for EXPIRE and DEL 2 - their integer (1: the key existed,
// 2: it did not). Scalars, not tables: Redis builds a table reply with a
// deferred length, which costs it a reply block and a writev per call
// (PROFILE.md §14). Staged keys are deleted whatever the outcome; a
// staged write is renamed onto the data key and given the session TTL.
// With a token (Config.WriteMarkers) a write also creates the write's own
// marker key (KEYS[3], named after the token) for a few seconds, so that a
// caller whose reply was lost can tell whether the write was applied,
// whatever other writers did meanwhile. The comparison of a staged expectation is
// exact: equal lengths, then XOR of the two values has no bit set.
const casScript = `local m, e, sd = ARGV[3], ARGV[1], ARGV[8] == "k"
local function drop(r)
  if e == "k" then redis.call("del",KEYS[4]) end
  if sd then redis.call("del",KEYS[5]) end
  return r
end
local function changed(n)
  if n > 4096 then return drop(-2) end
  return drop(redis.call("get",KEYS[2]))
end
if m ~= "n" and redis.call("exists",KEYS[1]) == 1 then return drop(-1) end
if e == "k" then
  local n = redis.call("strlen",KEYS[2])
  if n ~= redis.call("strlen",KEYS[4]) then
    if n == 0 and redis.call("exists",KEYS[2]) == 0 then return drop(false) end
    return changed(n)
  end
  redis.call("bitop","xor",KEYS[4],KEYS[4],KEYS[2])
  if redis.call("bitpos",KEYS[4],1) ~= -1 then return changed(n) end
else
  local cur = redis.call("get",KEYS[2])
  if e == "0" then
    if cur then return drop(cur) end
  elseif not cur then return drop(false)
  elseif cur ~= ARGV[2] then return drop(cur) end
end
local r = 1
if m == "w" then
  if sd then
    redis.call("rename",KEYS[5],KEYS[2])
    redis.call("expire",KEYS[2],ARGV[4])
    sd = false
  else redis.call("setex",KEYS[2],ARGV[4],ARGV[5]) end
elseif m == "t" then r = redis.call("expire",KEYS[2],ARGV[4])
elseif m == "d" then r = redis.call("del",KEYS[2])
end
drop(nil)
if m ~= "n" and ARGV[6] ~= "" then redis.call("set",KEYS[3],"1","px",ARGV[7]) end
return 2-r`

// MarkerPrefix starts the names of the short-lived keys by which
// WriteIfUnlocked records its writes (Config.WriteMarkers): MarkerPrefix +
// the session's data key + ":" + the write's token, one key per write.
// Outside the session prefix, so that tools listing sessions do not see
// them (unless the session prefix is empty). In a Cluster the marker
// shares the data key's hash tag, hence its slot.
const MarkerPrefix = "phpsession:lf:"

// MarkerKey returns the name of the write marker that WriteIfUnlocked
// leaves for the write with the given token on session id.
func (s *Store) MarkerKey(id, token string) string { return MarkerPrefix + s.Key(id) + ":" + token }

var casSHA = sha1hex(casScript)

// casInlineScript is casScript for the common case: both values inline
// (no staged key) and no write marker. Same checks and replies; only two
// keys, five arguments and no closures, which Redis's Lua pays for on
// every call.
//
//	KEYS[1]=lock KEYS[2]=data
//	ARGV[1]=mode (w, t, d, n as in casScript) ARGV[2]=expectation ("0"
//	  missing, "b" bytes equal ARGV[3]) ARGV[3]=expected ARGV[4]=ttl
//	  seconds ARGV[5]=data
const casInlineScript = `local m = ARGV[1]
if m ~= "n" and redis.call("exists",KEYS[1]) == 1 then return -1 end
local cur = redis.call("get",KEYS[2])
if ARGV[2] == "0" then
  if cur then return cur end
elseif not cur then return false
elseif cur ~= ARGV[3] then return cur end
if m == "w" then redis.call("setex",KEYS[2],ARGV[4],ARGV[5])
elseif m == "t" then return 2-redis.call("expire",KEYS[2],ARGV[4])
elseif m == "d" then return 2-redis.call("del",KEYS[2])
end
return 1`

var casInlineSHA = sha1hex(casInlineScript)

// hashTagged reports whether key has a Cluster hash tag (a non-empty
// {...}), so that any key built by adding to its front or back lands in
// its slot.
func hashTagged(key string) bool {
	i := strings.IndexByte(key, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(key[i+1:], '}')
	return j > 0
}

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
	mk := s.c.B().Get().Key(s.MarkerKey(id, "")).Build()
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
// established: with Config.WriteMarkers, the write's own marker key
// (MarkerKey) exists if and only if it was applied, whatever other writers
// did since (asked while the marker cannot have expired yet); not applied
// is reported as Changed with the current data (compute again). Without
// markers, data still equal to expect (and not a delete) means not
// applied, reported as Changed with Current == expect (try again).
// Otherwise the error wraps ErrOutcomeUnknown: the write may or may not
// have been applied.
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
		return CASResult{}, ErrCrossSlot
	}
	if err := ctx.Err(); err != nil {
		return CASResult{}, err
	}
	k := s.Key(id)
	if mode != WriteData {
		data = nil
	}
	// Long values travel as staged keys (see casStageOver); they must
	// share the data key's slot, which on a Cluster only a hash tag
	// guarantees.
	stage := (len(expect.Bytes) > casStageOver || len(data) > casStageOver) && (!s.split || hashTagged(k))
	kind, exp := "0", ""
	if expect.Found {
		kind, exp = "b", rueidis.BinaryString(expect.Bytes)
	}
	tok := ""
	if s.cfg.WriteMarkers && mode != WriteNone {
		tok = s.newToken()
	}
	keys := []string{s.LockKey(id), k, k, k, k}
	args := []string{kind, exp, mode.flag(), s.ttlArg, rueidis.BinaryString(data), tok, s.markerArg, ""}
	if tok != "" {
		keys[2] = s.MarkerKey(id, tok)
	}
	// Staged values: expected in keys[3] (kind "k"), data in keys[4].
	var stagedExp, stagedData []byte
	if stage {
		base := s.MarkerKey(id, s.newToken())
		if expect.Found && len(expect.Bytes) > casStageOver {
			keys[3], stagedExp = base+":e", expect.Bytes
			args[0], args[1] = "k", ""
		}
		if len(data) > casStageOver {
			keys[4], stagedData = base+":d", data
			args[4], args[7] = "", "k"
		}
	}
	nStaged := 0
	if stagedExp != nil {
		nStaged++
	}
	if stagedData != nil {
		nStaged++
	}
	script, sha := casScript, casSHA
	if nStaged == 0 && tok == "" {
		script, sha = casInlineScript, casInlineSHA
		keys = keys[:2]
		args = append(args[:0], mode.flag(), kind, exp, s.ttlArg, rueidis.BinaryString(data))
	}
	build := func(useSHA, barrier bool) []rueidis.Completed {
		// Built afresh for every attempt: rueidis recycles a sent
		// command.
		cmds := make([]rueidis.Completed, 0, nStaged+2)
		if stagedExp != nil {
			cmds = append(cmds, s.c.B().Set().Key(keys[3]).Value(rueidis.BinaryString(stagedExp)).PxMilliseconds(s.markerMs).Build())
		}
		if stagedData != nil {
			cmds = append(cmds, s.c.B().Set().Key(keys[4]).Value(rueidis.BinaryString(stagedData)).PxMilliseconds(s.markerMs).Build())
		}
		if useSHA {
			cmds = append(cmds, s.c.B().Evalsha().Sha1(sha).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build())
		} else {
			cmds = append(cmds, s.c.B().Eval().Script(script).Numkeys(int64(len(keys))).Key(keys...).Arg(args...).Build())
		}
		if barrier {
			cmds = append(cmds, s.c.B().Pttl().Key(k).Build().Pin())
		}
		return cmds
	}
	// The read-your-own-writes barrier, as in Commit.
	barrier := mode != WriteNone && s.mayHoldCached(k)
	var sent time.Time
	rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
		sent = time.Now()
		rs := s.doMulti(ctx, build(true, barrier)...)
		if rerr, ok := rueidis.IsRedisErr(rs[nStaged].Error()); ok && rerr.IsNoScript() {
			rs = s.doMulti(ctx, build(false, barrier)...)
		}
		return rs
	})
	for _, r := range rs[:nStaged] {
		// A staged key that was not written makes the script refuse
		// (missing expectation) or fail (missing data): nothing was
		// applied, unless the reply itself was lost.
		if err := r.Error(); err != nil && isRedisReply(err) {
			return CASResult{}, fmt.Errorf("redisio: write-if-unlocked staging: %w", err)
		}
	}
	if err := rs[nStaged].Error(); err != nil && !isRedisReply(err) && !notSent(err) {
		return s.reconcileCAS(ctx, id, expect, mode, tok, sent, err)
	}
	if !barrier && mode != WriteNone && s.mayHoldCached(k) {
		_ = s.do(ctx, s.c.B().Pttl().Key(k).Build().Pin()).Error()
	}
	return s.casResult(ctx, rs[nStaged], k, mode)
}

// casResult decodes the reply of casScript or casInlineScript (see
// casScript), once the caller has ruled out a lost reply; k is the data
// key, read when the reply says a long value changed.
func (s *Store) casResult(ctx context.Context, r rueidis.RedisResult, k string, mode WriteMode) (CASResult, error) {
	msg, err := r.ToMessage()
	if err == nil {
		err = msg.Error()
	}
	if rueidis.IsRedisNil(err) {
		s.st.casChanged.Add(1)
		return CASResult{Changed: true}, nil
	}
	if err != nil {
		return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: %w", err)
	}
	if code, err := msg.AsInt64(); err == nil {
		switch code {
		case -1:
			s.st.casHeld.Add(1)
			return CASResult{Held: true}, nil
		case -2:
			// Changed, and too long to return through Lua: read it.
			s.st.casChanged.Add(1)
			cur, err := toData(s.do(ctx, s.c.B().Get().Key(k).Build()))
			if err != nil {
				return CASResult{}, fmt.Errorf("redisio: write-if-unlocked: reading the changed session: %w", err)
			}
			return CASResult{Changed: true, Current: cur}, nil
		case 1, 2:
			s.st.casApplied.Add(1)
			return CASResult{Applied: true, Existed: code == 1 && (mode == WriteTouch || mode == WriteDelete)}, nil
		}
		return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: unexpected reply %d", code)
	}
	b, err := msg.AsBytes() // the reply's own memory (see ownedData)
	if err != nil {
		return CASResult{}, fmt.Errorf("redisio: write-if-unlocked script: %w", err)
	}
	if b == nil {
		b = []byte{}
	}
	s.st.casChanged.Add(1)
	return CASResult{Changed: true, Current: Data{Bytes: b, Found: true}}, nil
}

// reconcileCAS runs after the script's reply was lost. The commands travel
// on the same connection behind the script (if the connection survived), so
// they see its effect; on a new connection the old one is gone, and with
// it anything of ours Redis had not run yet. With a marker (tok): it
// exists, the script wrote; it does not exist while it cannot have expired
// yet (the script ran after sent, and a marker lives markerMs), the script
// did not write, and the caller computes again from the current data. Without a
// marker: data still equal to the expectation means the script did not
// write (a write changes the bytes; the check and EXPIRE are idempotent),
// and the caller may simply try again. Anything else may be our write or
// someone else's.
func (s *Store) reconcileCAS(ctx context.Context, id string, expect Data, mode WriteMode, tok string, sent time.Time, cause error) (CASResult, error) {
	rctx, cancel := s.reconcileCtx(ctx)
	defer cancel()
	dataRes := s.c.B().Get().Key(s.Key(id)).Build().Pin()
	var cur Data
	var err error
	if tok != "" {
		rs := s.doMulti(rctx, s.c.B().Exists().Key(s.MarkerKey(id, tok)).Build(), dataRes)
		n, merr := rs[0].AsInt64()
		if merr != nil {
			s.st.unknown.Add(1)
			return CASResult{}, fmt.Errorf("%w: %w (reconcile: %v)", ErrOutcomeUnknown, cause, merr)
		}
		if n == 1 {
			s.st.reconciled.Add(1)
			s.st.casApplied.Add(1)
			return CASResult{Applied: true}, nil
		}
		cur, err = toData(rs[1])
		if err == nil && time.Since(sent) < time.Duration(s.markerMs)*time.Millisecond/2 {
			s.st.reconciled.Add(1)
			s.st.casChanged.Add(1)
			return CASResult{Changed: true, Current: cur}, nil
		}
	} else {
		cur, err = toData(s.do(rctx, dataRes))
	}
	if err != nil {
		s.st.unknown.Add(1)
		return CASResult{}, fmt.Errorf("%w: %w (reconcile: %v)", ErrOutcomeUnknown, cause, err)
	}
	if mode != WriteDelete && cur.Found == expect.Found && string(cur.Bytes) == string(expect.Bytes) {
		s.st.reconciled.Add(1)
		return CASResult{Changed: true, Current: cur}, nil
	}
	s.st.unknown.Add(1)
	return CASResult{}, fmt.Errorf("%w: the write may have been applied: %w", ErrOutcomeUnknown, cause)
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
