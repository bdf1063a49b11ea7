package redisio

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// LongValue is the length above which a value is never passed through
// Redis's Lua interpreter, which hashes every byte of every string that
// enters it (see casStageOver): WriteIfUnlocked stages longer values as
// keys, and a caller that knows a session this long should write it with
// LockWatched and CommitTracked, whose cost in Redis does not depend on
// the session's length beyond the write itself.
const LongValue = casStageOver

// TrackedOver is the stored length above which a Manager writes a session
// under the lock with LockWatched and CommitTracked instead of lock-free.
// Between LongValue and TrackedOver the lock-free check (staged, ~3 SETEX
// of Redis CPU per write) is kept: it never makes PHP wait for the lock
// and it refuses over a write PHP made without locking (phpredis's
// default), which a locked write cannot see. Above it the cost of the
// value dominates and one SETEX per write matters more.
const TrackedOver = 64 << 10

// Watch counts the client-tracking invalidations of one session's data key
// that reach the Store's connection after the Watch was made, for a caller
// that must tell its own write's invalidation from anyone else's (see
// CommitTracked). A lost connection, a reconnection, a flush or a Sentinel
// switch under way counts as many invalidations. A nil *Watch (a Store without tracking) reports -1.
type Watch struct {
	s *Store
	k string
	n int64 // guarded by s.watchMu
}

// Invalidations returns how many invalidations of the key reached the
// Store since the Watch was made (-1 for a nil Watch).
func (w *Watch) Invalidations() int64 {
	if w == nil {
		return -1
	}
	if w.s.switching() {
		return poisoned
	}
	w.s.watchMu.Lock()
	defer w.s.watchMu.Unlock()
	return w.n
}

// Close stops counting. Safe on a nil Watch and more than once.
func (w *Watch) Close() {
	if w == nil {
		return
	}
	s := w.s
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	q := s.watches[w.k]
	for i, x := range q {
		if x == w {
			q = append(q[:i:i], q[i+1:]...)
			s.nWatch.Add(-1)
			break
		}
	}
	if len(q) == 0 {
		delete(s.watches, w.k)
	} else {
		s.watches[w.k] = q
	}
}

// watch starts counting the invalidations of data key k (nil without
// tracking: nothing would be counted).
func (s *Store) watch(k string) *Watch {
	if !s.tracking {
		return nil
	}
	w := &Watch{s: s, k: k}
	s.watchMu.Lock()
	if s.watches == nil {
		s.watches = map[string][]*Watch{}
	}
	s.watches[k] = append(s.watches[k], w)
	s.nWatch.Add(1)
	s.watchMu.Unlock()
	return w
}

// poisoned is what a Watch counts for a lost connection or a flush: more
// than any caller accepts.
const poisoned = 1 << 40

// countWatches counts one invalidation of k ("": of every key, for a nil
// invalidation) on its Watches. Called from the invalidation hook (and
// before every new connection), before the memo hears of it.
func (s *Store) countWatches(k string) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if k == "" {
		for _, q := range s.watches {
			for _, w := range q {
				w.n += poisoned
			}
		}
		return
	}
	for _, w := range s.watches[k] {
		w.n++
	}
}

// CanCommitTracked reports whether LockWatched, ReadWatched and
// CommitTracked work for id with their tracking guarantee: the Store
// receives invalidations (Open, OpenURL) and both keys of id are served
// by one server in one script (standalone, Sentinel; not a Cluster).
func (s *Store) CanCommitTracked(id string) bool {
	return s.tracking && !s.split
}

// LockWatched takes id's lock like LockAndReadUntracked, waiting for
// another holder the same way, but does not read the data: it returns a
// Watch of the data key made before the first SET NX was sent. All
// invalidations Redis sent this connection before it ran our SET NX
// arrive before its reply (one connection, in order), and the Watch counts
// any that arrive after it was made. A caller whose memo holds a copy of
// the data read with tracking, still fresh after LockWatched returned and
// with Invalidations() == 0, therefore knows that the data key held that
// copy when the lock was taken, and that a holder of the lock alone can
// change it now: it needs no read. The caller closes the Watch.
//
// data, when over LongValue bytes, is the write the caller means to
// commit: it is uploaded as a short-lived staged key in the round trip of
// the first SET NX, before the lock is taken, so that the lock is not held
// while it travels; CommitTracked with the same slice then sends only the
// script (or uploads it again if the staged key is gone).
func (s *Store) LockWatched(ctx context.Context, id string, data []byte) (*Lock, *Watch, error) {
	if s.closed.Load() {
		return nil, nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	w := s.watch(s.Key(id))
	var pre func() []rueidis.Completed
	staged := ""
	if len(data) > LongValue && s.sameNode(id) {
		staged = s.MarkerKey(id, s.newToken()) + ":d"
		pre = func() []rueidis.Completed {
			return []rueidis.Completed{s.c.B().Set().Key(staged).Value(rueidis.BinaryString(data)).PxMilliseconds(s.markerMs).Build()}
		}
	}
	l, _, err := s.lockAndReadMode(ctx, id, true, s.newToken(), readNone, pre)
	if err != nil {
		w.Close()
		if staged != "" {
			// best effort: it expires by itself otherwise
			_ = s.do(context.WithoutCancel(ctx), s.c.B().Del().Key(staged).Build()).Error()
		}
		return nil, nil, err
	}
	l.staged, l.stagedData = staged, data
	return l, w, nil
}

// ReadWatched reads id's data for a caller that holds its lock, arming
// client tracking of the data key (CLIENT CACHING YES + GET), and returns
// a Watch of the key made before the read was sent. With Invalidations()
// == 0 after it returned, the key held the returned bytes, tracked for us,
// when the read ran. The caller closes the Watch.
func (s *Store) ReadWatched(ctx context.Context, id string) (Data, *Watch, error) {
	if s.closed.Load() {
		return Data{}, nil, ErrClosed
	}
	k := s.Key(id)
	if !s.tracking {
		d, err := toData(s.do(ctx, s.c.B().Get().Key(k).Build().Pin()))
		return d, nil, err
	}
	w := s.watch(k)
	s.armBegin(k)
	rs := s.doMulti(ctx, s.c.B().ClientCaching().Yes().Build(), s.c.B().Get().Key(k).Build().Pin())
	s.armEnd(k)
	d, err := toData(rs[1])
	if err != nil {
		w.Close()
		return Data{}, nil, err
	}
	return d, w, nil
}

// trackedScript writes the session data while the lock holds our token,
// re-arms client tracking of the data key for the caller and releases the
// lock, atomically. The caller sends CLIENT CACHING YES right before it, so
// the STRLEN after the write makes Redis track the key for our connection
// again (a tracked key is forgotten once its invalidation was sent, and
// our own write sends one): the next change by anyone is reported to us.
//
// Only the data key is declared (KEYS); the lock and the staged key are
// named in ARGV. Under CLIENT CACHING YES every read-only command of a
// script makes Redis track all the keys the script declares, so declared
// lock and staged keys were tracked for us on every write: two more
// invalidations per write, and one tracking-table entry left behind for
// each staged key (a new name per write, never written again), up to
// tracking-table-max-keys. Undeclared keys are fine on one server; the
// script is never run on a Cluster (CommitTracked uses Commit there).
//
//	KEYS[1]=data
//	ARGV[1]=lock ARGV[2]=token ARGV[3]=ttl seconds ARGV[4]=data (inline)
//	ARGV[5]=staged data key ("" when inline; renamed onto KEYS[1])
//
// Returns -1 when the lock is not ours, -2 when the staged data is
// missing (RENAME's "no such key", caught rather than asked first with
// EXISTS: one command less per write), nothing being written in either
// case (the staged key is deleted), 1 when written.
const trackedScript = `local staged = ARGV[5] ~= ""
if redis.call("get",ARGV[1]) ~= ARGV[2] then
  if staged then redis.call("del",ARGV[5]) end
  return -1
end
if staged then
  local r = redis.pcall("rename",ARGV[5],KEYS[1])
  if r.err then
    if string.find(r.err,"no such key",1,true) then return -2 end
    return r
  end
  redis.call("expire",KEYS[1],ARGV[3])
else redis.call("setex",KEYS[1],ARGV[3],ARGV[4]) end
redis.call("strlen",KEYS[1])
redis.call("del",ARGV[1])
return 1`

var trackedSHA = sha1hex(trackedScript)

// CommitTracked stores data (SETEX; over LongValue bytes it travels as a
// short-lived staged key that a RENAME moves, so no long string enters
// Lua) while l is ours, re-arms client tracking of the data key and
// releases l, in one script; a keyed command behind it is the
// read-your-own-writes barrier, as in Commit. Errors are Commit's:
// ErrLockLost (nothing written), ErrOutcomeUnknown, others.
//
// The Watch protocol: let w be a Watch of the data key made before the
// lock was taken (LockWatched) or before the data was read under it
// (ReadWatched), with Invalidations() == 0 once the data was known to be
// tracked and equal to the caller's copy. From then until the script's
// end one invalidation of the key reaches us, our own write's (the
// script's first read arms tracking of the key again before it writes, so
// the write always sends one), plus one if a writer that ignores the lock
// wrote the key in between. Redis sends them before the barrier's reply.
// A caller that reads its memo's sequence number after
// CommitTracked returned and then finds w.Invalidations() == 1 (and not
// Reconciled) may store what it wrote as fresh with that sequence number:
// any later change arrives as another invalidation, counted by the memo.
// CommitResult.Expires is a lower bound of when the key expires.
func (s *Store) CommitTracked(ctx context.Context, l *Lock, data []byte) (CommitResult, error) {
	if s.closed.Load() {
		return CommitResult{}, ErrClosed
	}
	if l == nil || l.done {
		return CommitResult{}, fmt.Errorf("%w: lock already released", ErrLockLost)
	}
	if s.split {
		// trackedScript names keys it does not declare: one server only.
		return s.Commit(ctx, l, WriteData, data)
	}
	if err := ctx.Err(); err != nil {
		s.releaseQuiet(ctx, l)
		return CommitResult{}, err
	}
	k := s.Key(l.ID)
	stage := len(data) > LongValue
	// staged: the key the data is uploaded to (none when inline)
	inline, staged := rueidis.BinaryString(data), ""
	// upload: the staged key is not known to hold data yet
	upload := stage
	if stage {
		inline, staged = "", s.MarkerKey(l.ID, s.newToken())+":d"
		if l.staged != "" {
			// LockWatched staged this very slice (no upload), or other
			// bytes (overwritten rather than left to expire)
			staged = l.staged
			upload = len(l.stagedData) != len(data) || &l.stagedData[0] != &data[0]
		}
	}
	l.staged, l.stagedData = "", nil
	args := []string{l.Key, l.Token, s.ttlArg, inline, staged}
	build := func(sha bool) []rueidis.Completed {
		cmds := make([]rueidis.Completed, 0, 4)
		if upload {
			cmds = append(cmds, s.c.B().Set().Key(staged).Value(rueidis.BinaryString(data)).PxMilliseconds(s.markerMs).Build())
		}
		if s.tracking {
			cmds = append(cmds, s.c.B().ClientCaching().Yes().Build())
		}
		if sha {
			cmds = append(cmds, s.c.B().Evalsha().Sha1(trackedSHA).Numkeys(1).Key(k).Arg(args...).Build())
		} else {
			cmds = append(cmds, s.c.B().Eval().Script(trackedScript).Numkeys(1).Key(k).Arg(args...).Build())
		}
		return append(cmds, s.c.B().Pttl().Key(k).Build().Pin())
	}
	var sent time.Time
	for try := 0; ; try++ {
		at := 0 // index of the script's reply
		if upload {
			at++
		}
		if s.tracking {
			at++
		}
		rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
			sent = time.Now()
			rs := s.doMulti(ctx, build(true)...)
			if rerr, ok := rueidis.IsRedisErr(rs[at].Error()); ok && rerr.IsNoScript() {
				rs = s.doMulti(ctx, build(false)...)
			}
			return rs
		})
		if upload {
			if err := rs[0].Error(); err != nil && isRedisReply(err) {
				// not staged (e.g. OOM): the script found nothing to move
				s.releaseQuiet(ctx, l)
				return CommitResult{}, fmt.Errorf("redisio: commit: staging: %w", err)
			}
		}
		n, err := rs[at].AsInt64()
		if err != nil {
			if isRedisReply(err) || notSent(err) {
				s.releaseQuiet(ctx, l)
				return CommitResult{}, fmt.Errorf("redisio: commit script: %w", err)
			}
			// The lock tells: still ours, the script did not run (write
			// again, inline); gone before it could expire, it ran.
			res, err := s.reconcileScript(ctx, l, WriteData, data, false, err)
			switch {
			case err == nil:
				s.st.commits.Add(1)
			default:
				s.st.unknown.Add(1)
			}
			s.st.reconciled.Add(1)
			if err != nil && !l.done {
				s.releaseQuiet(ctx, l)
			}
			return res, err
		}
		switch n {
		case -1:
			l.done = true
			s.st.lockLost.Add(1)
			return CommitResult{}, fmt.Errorf("%w: nothing written", ErrLockLost)
		case -2:
			// The staged key vanished before the script ran (a flush, an
			// eviction, its expiry while we waited for the lock): nothing
			// was written and the lock is still ours. Upload it again.
			if try == 0 {
				upload = true
				continue
			}
			s.releaseQuiet(ctx, l)
			return CommitResult{}, fmt.Errorf("redisio: commit: the staged data vanished twice")
		}
		l.done = true
		s.st.commits.Add(1)
		return CommitResult{Expires: sent.Add(time.Duration(s.ttlSec)*time.Second - time.Millisecond)}, nil
	}
}
