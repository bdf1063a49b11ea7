package redisio

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/internal/redact"
)

// Lock is a held session lock. A Lock is used by one goroutine at a time.
type Lock struct {
	ID    string // session id
	Key   string // lock key
	Token string // our unique token stored in the lock key
	// Acquired is when the acquiring SET was sent (a lower bound of the
	// server's time of acquisition).
	Acquired time.Time
	// Expiry is the lock's PX.
	Expiry time.Duration
	// Waited is how long LockAndRead waited for another holder before the
	// successful attempt (0 when the first attempt took the lock).
	Waited time.Duration

	// validUntil is a lower bound of when the lock can expire: the send
	// time of the last SET/renew that succeeded, plus Expiry.
	validUntil time.Time
	done       bool
	// staged: the key LockWatched uploaded stagedData to (CommitTracked
	// uses it for that same slice).
	staged     string
	stagedData []byte
}

// ValidUntil returns a local lower bound of the lock's expiry: until then
// nobody but an explicit DEL of the lock key can take it from us.
func (l *Lock) ValidUntil() time.Time { return l.validUntil }

// Data is a session value read from Redis. Found is false when the key does
// not exist (PHP treats that as an empty new session).
type Data struct {
	Bytes []byte // the stored value, as PHP wrote it (empty when not Found)
	Found bool   // whether the key exists
	// Expires, when not zero, is a lower bound of how long the answer may
	// be trusted without asking Redis again: the key's expiry (PTTL) or
	// the client-side cache's lifetime (Config.CacheTTL), whichever comes
	// first. Set by Get and GetCached on a Store with client tracking;
	// Redis deletes an expired key lazily, so its invalidation may come
	// much later, or never.
	Expires time.Time
}

// LockAndRead takes id's lock and reads its data. Standalone/Sentinel: the
// SET NX PX and the GET are pipelined in one round trip on one connection.
// Cluster (or SplitKeys): the data is read strictly after the lock reply,
// with a round trip on the data key's node (so that cached reads that
// follow are fresh).
//
// If the lock is held by someone else (PHP or another Go process), it
// waits: woken by the client-tracking invalidation of the lock key, by a
// timer at the lock's remaining PTTL, or by the safety poll; it gives up at
// Config.LockTimeout or the ctx deadline, whichever comes first, with an
// error wrapping ErrLockTimeout that names the holder's token.
func (s *Store) LockAndRead(ctx context.Context, id string) (*Lock, Data, error) {
	return s.lockAndRead(ctx, id, true)
}

// LockAndReadUntracked is LockAndRead for a caller that writes the data
// before it releases the lock (any write disarms Redis's tracking of the
// key for us) and does not rely on OnInvalidate reporting later changes of
// what it read: the read does not arm client tracking of the data key
// (standalone: no CLIENT CACHING YES), and a Commit that follows needs no
// read-your-own-writes barrier unless a cached read (Get) armed the key. It
// is as fresh as LockAndRead: the data is read from Redis under the lock.
func (s *Store) LockAndReadUntracked(ctx context.Context, id string) (*Lock, Data, error) {
	if s.closed.Load() {
		return nil, Data{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, Data{}, err
	}
	return s.lockAndReadOpt(ctx, id, true, s.newToken(), false)
}

// TryLockAndRead is LockAndRead without waiting: if the lock is held it
// returns an error wrapping ErrLockHeld that names the holder's token.
func (s *Store) TryLockAndRead(ctx context.Context, id string) (*Lock, Data, error) {
	return s.lockAndRead(ctx, id, false)
}

// HolderError is the detail of ErrLockHeld and ErrLockTimeout errors.
//
// Its fields hold the session ID and the holder's token in full, for tools
// that inspect locks; its message shows neither (only their redacted
// forms), as no error or log line of this package does.
type HolderError struct {
	Err    error         // ErrLockHeld or ErrLockTimeout
	ID     string        // the session ID
	Holder string        // the holder's token ("" if unknown)
	PTTL   time.Duration // remaining TTL of the lock when last seen; <0: none
	Cause  error         // context error, if the wait ended because of ctx
}

// Error implements error: the wait's error, who held the lock (token
// redacted) and for how much longer.
func (e *HolderError) Error() string {
	msg := e.Err.Error()
	if e.Holder != "" {
		msg += ": held by " + holderKind(e.Holder) + " (token " + redact.ID(e.Holder) + ")"
	}
	if e.PTTL < 0 {
		msg += " (lock has no TTL)"
	}
	if e.Cause != nil {
		msg += ": " + e.Cause.Error()
	}
	return msg
}

// Unwrap returns the sentinel and the context error.
func (e *HolderError) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Err, e.Cause}
	}
	return []error{e.Err}
}

func (s *Store) lockAndRead(ctx context.Context, id string, wait bool) (*Lock, Data, error) {
	if s.closed.Load() {
		return nil, Data{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, Data{}, err
	}
	return s.lockAndReadToken(ctx, id, wait, s.newToken())
}

func (s *Store) lockAndReadToken(ctx context.Context, id string, wait bool, tok string) (*Lock, Data, error) {
	return s.lockAndReadOpt(ctx, id, wait, tok, true)
}

// readMode says what a lock acquisition reads with the lock.
type readMode int

const (
	readUntracked readMode = iota // GET
	readTracked                   // CLIENT CACHING YES + GET: arms client tracking of the data key
	readNone                      // nothing (LockWatched)
)

// lockAndReadOpt: track says whether the locked read arms client tracking
// of the data key.
func (s *Store) lockAndReadOpt(ctx context.Context, id string, wait bool, tok string, track bool) (*Lock, Data, error) {
	mode := readUntracked
	if track {
		mode = readTracked
	}
	return s.lockAndReadMode(ctx, id, wait, tok, mode, nil)
}

// lockAndReadMode: pre, when set, builds commands sent right before the
// first SET NX, in the same round trip (their replies are ignored).
func (s *Store) lockAndReadMode(ctx context.Context, id string, wait bool, tok string, mode readMode, pre func() []rueidis.Completed) (*Lock, Data, error) {
	lk := s.LockKey(id)
	start := time.Now()
	// The waiter and the LockTimeout timer are set up at the first busy
	// attempt (an uncontended acquisition needs neither). The waiter is
	// registered before tracking of the lock key is armed (holder), so no
	// invalidation after that can be missed.
	var w *waiter
	defer func() {
		if w != nil {
			s.removeWaiter(lk, w)
		}
	}()
	var deadline <-chan time.Time
	var deadlineTimer *time.Timer
	defer func() {
		if deadlineTimer != nil {
			deadlineTimer.Stop()
		}
	}()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	transient := 0
	lost := false // a SET NX reply was lost: it may still land later
	holder, pttl := "", time.Duration(0)
	for {
		if err := ctx.Err(); err != nil {
			s.abandon(lk, tok, lost)
			if !wait {
				return nil, Data{}, err
			}
			return nil, Data{}, s.timeoutError(ctx, id, lk, holder, pttl, err)
		}
		select {
		case <-deadline:
			s.abandon(lk, tok, lost)
			return nil, Data{}, s.timeoutError(ctx, id, lk, holder, pttl, nil)
		default:
		}
		l, d, acquired, err := s.tryOnce(ctx, id, lk, tok, mode, pre)
		pre = nil
		if errors.Is(err, errLostReply) {
			lost = true
		}
		if err != nil && errors.Is(err, errTransient) && transient < maxTransient {
			// The SET's reply was lost but Redis answers again and the lock
			// is not ours: try again.
			transient++
			continue
		}
		if err != nil || acquired {
			if acquired {
				s.st.acquired.Add(1)
				if w != nil || deadlineTimer != nil {
					l.Waited = l.Acquired.Sub(start)
				}
			} else {
				s.abandon(lk, tok, lost)
			}
			return l, d, err
		}
		s.st.busy.Add(1)
		if wait && w == nil && s.tracking {
			w = s.addWaiter(lk)
		}
		if wait && deadlineTimer == nil {
			deadlineTimer = time.NewTimer(max(s.cfg.LockTimeout-time.Since(start), 0))
			deadline = deadlineTimer.C
		}
		var found bool
		holder, pttl, found, err = s.holder(ctx, lk, wait)
		if err != nil {
			if !isRedisReply(err) && transient < maxTransient && ctx.Err() == nil {
				transient++ // e.g. the connection broke: just try again
				continue
			}
			s.abandon(lk, tok, lost)
			return nil, Data{}, err
		}
		if !found {
			continue // released in between: try again at once
		}
		if holder == tok {
			// An earlier SET NX of ours whose reply was lost landed late:
			// the lock is ours.
			l, d, err := s.adopt(ctx, id, lk, tok, mode)
			if err == nil {
				s.st.acquired.Add(1)
				l.Waited = l.Acquired.Sub(start)
			}
			return l, d, err
		}
		if !wait {
			s.abandon(lk, tok, lost)
			return nil, Data{}, &HolderError{Err: ErrLockHeld, ID: id, Holder: holder, PTTL: pttl}
		}
		switch err := s.sleepUntilRelease(ctx, &timer, w, id, holder, pttl, deadline); {
		case err == nil:
		case errors.Is(err, ErrClosed):
			return nil, Data{}, err
		case errors.Is(err, errDeadline):
			s.abandon(lk, tok, lost)
			return nil, Data{}, s.timeoutError(ctx, id, lk, holder, pttl, nil)
		default:
			s.abandon(lk, tok, lost)
			return nil, Data{}, s.timeoutError(ctx, id, lk, holder, pttl, err)
		}
	}
}

// errDeadline: the LockTimeout deadline passed during a wait.
var errDeadline = errors.New("lock timeout deadline")

// sleepUntilRelease waits for the next reason to look at a held lock
// again: the lock key's invalidation (w, when tracking), a timer at the
// lock's PTTL or the safety poll (*timer, reused across calls), the
// LockTimeout deadline (errDeadline), ctx (its error) or Close (ErrClosed).
func (s *Store) sleepUntilRelease(ctx context.Context, timer **time.Timer, w *waiter, id, holder string, pttl time.Duration, deadline <-chan time.Time) error {
	sleep := s.cfg.PollInterval
	if pttl >= 0 && pttl+time.Millisecond < sleep {
		sleep = pttl + time.Millisecond
	}
	if *timer == nil {
		*timer = time.NewTimer(sleep)
	} else {
		(*timer).Reset(sleep)
	}
	defer (*timer).Stop() // Go ≥ 1.23: Stop/Reset leave no stale tick behind
	var wch chan struct{}
	if w != nil {
		wch = w.ch
	}
	if s.waitHook != nil {
		s.waitHook(id, holder)
	}
	s.st.waits.Add(1)
	select {
	case <-wch:
		s.st.wakeInv.Add(1)
	case <-(*timer).C:
		s.st.wakeTimer.Add(1)
	case <-deadline:
		return errDeadline
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// adopt takes over a lock found holding our token: it confirms ownership
// with a token-checked renew (which also fixes its expiry) and reads.
func (s *Store) adopt(ctx context.Context, id, lk, tok string, mode readMode) (*Lock, Data, error) {
	l := &Lock{ID: id, Key: lk, Token: tok, Acquired: time.Now(), Expiry: s.cfg.LockExpiry}
	l.validUntil = l.Acquired // until the renew confirms it
	if err := s.renew(ctx, l); err != nil {
		return nil, Data{}, err
	}
	if mode == readNone {
		return l, Data{}, nil
	}
	d, err := s.readAfterLock(ctx, id, true)
	if err != nil {
		s.releaseQuiet(ctx, l)
		return nil, Data{}, err
	}
	return l, d, nil
}

// abandon is called when LockAndRead gives up after a SET NX whose reply
// was lost: should that SET still land later (its connection broke while
// Redis had not read it yet, or Redis was paused or stopped), the lock
// would hold our token with nobody to release it, and every later batch on
// the session would wait for it until it expires (LockExpiry). A
// compare-and-delete a little later removes such a ghost; it is tried
// again each second while Redis does not answer, until the ghost would
// have expired anyway.
func (s *Store) abandon(lk, tok string, lost bool) {
	if !lost {
		return
	}
	until := time.Now().Add(s.cfg.LockExpiry)
	var try func()
	try = func() {
		if s.closed.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ReconcileTimeout)
		defer cancel()
		n, err := s.exec(ctx, releaseLua, []string{lk}, []string{tok}).AsInt64()
		switch {
		case err == nil && n == 1:
			s.cfg.Logger.Warn("redisio: removed a lock taken by a late SET NX of ours", "key", s.logKey(lk))
		case err != nil && !isRedisReply(err) && time.Now().Add(time.Second).Before(until):
			time.AfterFunc(time.Second, try)
		}
	}
	time.AfterFunc(time.Second, try)
}

// timeoutError builds the ErrLockTimeout error, with the holder's token
// and TTL read afresh (the cached view may be older; the lookup is bounded
// by ReconcileTimeout and ignores the caller's cancellation).
func (s *Store) timeoutError(ctx context.Context, id, lk, holder string, pttl time.Duration, cause error) error {
	s.st.timeouts.Add(1)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(s.cfg.ReconcileTimeout, 200*time.Millisecond))
	defer cancel()
	if tok, p, held, err := s.lockHolderKey(rctx, lk); err == nil && held {
		holder, pttl = tok, p
	}
	return &HolderError{Err: ErrLockTimeout, ID: id, Holder: holder, PTTL: pttl, Cause: cause}
}

// holder reads the current lock value. When waiting with tracking it reads
// through the client-side cache, which makes Redis track the lock key for
// our connection so its deletion wakes us.
func (s *Store) holder(ctx context.Context, lk string, wait bool) (tok string, pttl time.Duration, found bool, err error) {
	if wait && s.tracking {
		res := s.doCache(ctx, s.c.B().Get().Key(lk).Cache().Pin(), time.Hour)
		tok, err = res.ToString()
		if rueidis.IsRedisNil(err) {
			return "", 0, false, nil
		}
		if err != nil {
			return "", 0, false, fmt.Errorf("redisio: GET lock: %w", err)
		}
		ms := res.CachePTTL()
		if ms < 0 || ms >= time.Hour.Milliseconds()-1000 {
			// The client TTL (1h) bounds the entry: treat as "no TTL" (or
			// a very long one); the safety poll handles it.
			return tok, -1, true, nil
		}
		return tok, time.Duration(ms) * time.Millisecond, true, nil
	}
	return s.lockHolderKey(ctx, lk)
}

// tryOnce sends one acquisition attempt. On success it returns the lock and
// the data.
func (s *Store) tryOnce(ctx context.Context, id, lk, tok string, mode readMode, pre func() []rueidis.Completed) (*Lock, Data, bool, error) {
	l := &Lock{ID: id, Key: lk, Token: tok, Expiry: s.cfg.LockExpiry}
	// set builds a fresh command (rueidis recycles sent commands) and
	// records its send time.
	set := func() rueidis.Completed {
		l.Acquired = time.Now()
		l.validUntil = l.Acquired.Add(s.cfg.LockExpiry)
		return s.c.B().Set().Key(lk).Value(tok).Nx().PxMilliseconds(s.expiryMs).Build()
	}
	if !s.split {
		k := s.Key(id)
		rs := s.retryBusy(ctx, func() []rueidis.RedisResult {
			if mode == readNone && pre != nil {
				rs := s.doMulti(ctx, append(pre(), set())...)
				return rs[len(rs)-1:]
			}
			if mode == readNone {
				return []rueidis.RedisResult{s.do(ctx, set())}
			}
			if s.tracking && mode == readTracked {
				// CLIENT CACHING YES makes Redis track the data key for
				// this connection, so later changes by others are reported
				// through OnInvalidate (and our Commit needs its barrier).
				s.armBegin(k)
				rs := s.doMulti(ctx, set(), s.c.B().ClientCaching().Yes().Build(), s.c.B().Get().Key(k).Build().Pin())
				s.armEnd(k)
				return []rueidis.RedisResult{rs[0], rs[2]}
			}
			return s.doMulti(ctx, set(), s.c.B().Get().Key(k).Build().Pin())
		})
		err := rs[0].Error()
		switch {
		case err == nil && mode == readNone:
			return l, Data{}, true, nil
		case err == nil:
			d, err := toData(rs[1])
			if err != nil {
				// The lock is ours but the read failed (it is a read:
				// retry it once, then give the lock back).
				d, err = s.readAfterLock(ctx, id, true)
				if err != nil {
					s.releaseQuiet(ctx, l)
					return nil, Data{}, false, err
				}
			}
			return l, d, true, nil
		case rueidis.IsRedisNil(err):
			return nil, Data{}, false, nil
		case isRedisReply(err) || notSent(err):
			return nil, Data{}, false, fmt.Errorf("redisio: SET lock: %w", err)
		default:
			return s.reconcileAcquire(ctx, l, mode, err)
		}
	}
	err := s.retryBusy(ctx, func() []rueidis.RedisResult {
		return []rueidis.RedisResult{s.do(ctx, set())}
	})[0].Error()
	switch {
	case err == nil:
	case rueidis.IsRedisNil(err):
		return nil, Data{}, false, nil
	case isRedisReply(err) || notSent(err):
		return nil, Data{}, false, fmt.Errorf("redisio: SET lock: %w", err)
	default:
		return s.reconcileAcquire(ctx, l, mode, err)
	}
	if mode == readNone {
		return l, Data{}, true, nil
	}
	d, err := s.readAfterLock(ctx, id, true)
	if err != nil {
		s.releaseQuiet(ctx, l)
		return nil, Data{}, false, err
	}
	return l, d, true, nil
}

// reconcileAcquire runs after a network error or timeout on SET NX: the SET
// may have executed. If the lock holds our token we own it: continue (or
// give it back when the caller's ctx is done).
func (s *Store) reconcileAcquire(ctx context.Context, l *Lock, mode readMode, cause error) (*Lock, Data, bool, error) {
	if errors.Is(cause, errNoReply) {
		// Redis did not answer within Timeout: a GET behind the SET would
		// not either. Give up now; the caller's abandon removes the lock
		// should the SET still land (it also retries while Redis is silent).
		return nil, Data{}, false, fmt.Errorf("redisio: SET lock: %w: %w", errLostReply, cause)
	}
	rctx, cancel := s.reconcileCtx(ctx)
	defer cancel()
	v, err := s.do(rctx, s.c.B().Get().Key(l.Key).Build().Pin()).ToString()
	if err != nil && !rueidis.IsRedisNil(err) {
		s.cfg.Logger.Warn("redisio: lock state unknown after SET NX error; the lock, if ours, expires by itself",
			"key", s.logKey(l.Key), "token", redact.ID(l.Token), "error", cause, "reconcile_error", err)
		return nil, Data{}, false, fmt.Errorf("redisio: SET lock: %w: %w (reconcile: %v)", errLostReply, cause, err)
	}
	s.st.reconciled.Add(1)
	if v != l.Token {
		return nil, Data{}, false, fmt.Errorf("redisio: SET lock: %w: %w: %w", errLostReply, errTransient, cause)
	}
	if ctx.Err() != nil {
		s.releaseQuiet(rctx, l)
		return nil, Data{}, false, fmt.Errorf("redisio: SET lock: %w", cause)
	}
	if mode == readNone {
		return l, Data{}, true, nil
	}
	d, err := s.readAfterLock(ctx, l.ID, true)
	if err != nil {
		s.releaseQuiet(rctx, l)
		return nil, Data{}, false, err
	}
	return l, d, true, nil
}

// readAfterLock reads the data after the lock reply. In split mode the
// read must also make the client-side cache of the data key fresh: a cache
// hit could predate an invalidation still in flight on the data node's
// connection, so a hit is confirmed by a keyed round trip (barrier) on that
// node.
func (s *Store) readAfterLock(ctx context.Context, id string, barrier bool) (Data, error) {
	k := s.Key(id)
	if !s.tracking {
		return toData(s.do(ctx, s.c.B().Get().Key(k).Build().Pin()))
	}
	if !barrier {
		return toData(s.do(ctx, s.c.B().Get().Key(k).Build().Pin()))
	}
	// Reads go through DoCache so that Redis tracks the key for us (OPTIN):
	// OnInvalidate then reports later changes of what we returned.
	for i := 0; ; i++ {
		res := s.cachedGet(ctx, k)
		if !res.IsCacheHit() || i > 0 {
			if i > 0 && !res.IsCacheHit() {
				s.st.barrierRereads.Add(1)
			}
			return toData(res)
		}
		// Cache hit: send a keyed command to the data key's node; its reply
		// comes after any invalidation Redis queued for us before it.
		if err := s.do(ctx, s.c.B().Pttl().Key(k).Build().Pin()).Error(); err != nil {
			return Data{}, fmt.Errorf("redisio: PTTL: %w", err)
		}
	}
}

// busyReply reports whether err is an error reply by which Redis refuses a
// command it did not execute because it cannot serve writes right now: a
// replica during a failover (READONLY, also raised inside our scripts
// before any write of theirs succeeded), a server loading its dataset, a
// cluster reconfiguring.
func busyReply(err error) bool {
	rerr, ok := rueidis.IsRedisErr(err)
	if !ok || rerr == nil {
		return false
	}
	msg := rerr.Error()
	for _, p := range []string{"READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return strings.Contains(msg, "READONLY You can't write")
}

// minBusyPause is retryBusy's first (and shortest) pause.
const minBusyPause = 2 * time.Millisecond

// retryBusy runs f (which must build fresh commands each time) again, with
// a growing pause, while a reply says the server cannot write yet (see
// busyReply), for at most Config.ReconcileTimeout and while ctx allows. So a
// Sentinel failover or a server restart loading its data looks like a short
// delay rather than an error.
func (s *Store) retryBusy(ctx context.Context, f func() []rueidis.RedisResult) []rueidis.RedisResult {
	var deadline time.Time
	pause := minBusyPause
	for {
		rs := f()
		busy := false
		for i := range rs {
			if busyReply(rs[i].Error()) {
				busy = true
				break
			}
		}
		if !busy {
			return rs
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(s.cfg.ReconcileTimeout)
		}
		if time.Now().Add(pause).After(deadline) {
			return busyUnavailable(rs)
		}
		s.st.busyRetries.Add(1)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return busyUnavailable(rs)
		case <-t.C:
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// busyUnavailable wraps the busy replies of rs (still refused when the
// retries ran out) in ErrUnavailable: Redis refused to run the command for
// now (a failover, a slot being migrated), so it was not applied, and the
// caller gets the error that says Redis cannot serve the session at the
// moment. The reply stays a Redis reply for isRedisReply.
func busyUnavailable(rs []rueidis.RedisResult) []rueidis.RedisResult {
	for i := range rs {
		if err := rs[i].Error(); busyReply(err) {
			rs[i] = rueidis.NewErrorResult(fmt.Errorf("%w: %w", ErrUnavailable, err))
		}
	}
	return rs
}

// cachedGet is DoCache GET, tried again (up to twice) when rueidis aborts
// it because the connection closed while it was in flight; rueidis does not
// retry those by itself.
func (s *Store) cachedGet(ctx context.Context, k string) rueidis.RedisResult {
	s.armBegin(k)
	defer s.armEnd(k)
	for i := 0; ; i++ {
		res := s.doCache(ctx, s.c.B().Get().Key(k).Cache().Pin(), s.cfg.CacheTTL)
		if i < 2 && errors.Is(res.Error(), rueidis.ErrDoCacheAborted) && ctx.Err() == nil {
			continue
		}
		return res
	}
}

// Renew extends the lock's expiry to Config.LockExpiry if it still holds our
// token (token-checked PEXPIRE). ErrLockLost if it does not.
func (s *Store) Renew(ctx context.Context, l *Lock) error {
	if s.closed.Load() {
		return ErrClosed
	}
	err := s.renew(ctx, l)
	if errors.Is(err, ErrLockLost) {
		s.st.lockLost.Add(1)
	}
	return err
}

func (s *Store) renew(ctx context.Context, l *Lock) error {
	if l == nil || l.done {
		return fmt.Errorf("%w: lock already released", ErrLockLost)
	}
	var sent time.Time
	n, err := s.retryBusy(ctx, func() []rueidis.RedisResult {
		sent = time.Now()
		return []rueidis.RedisResult{s.exec(ctx, renewLua, []string{l.Key}, []string{l.Token, s.expiryArg})}
	})[0].AsInt64()
	if err != nil && !isRedisReply(err) {
		// Renew is idempotent: resend once on a detached context.
		rctx, cancel := s.reconcileCtx(ctx)
		sent = time.Now()
		n, err = s.exec(rctx, renewLua, []string{l.Key}, []string{l.Token, s.expiryArg}).AsInt64()
		cancel()
	}
	if err != nil {
		return fmt.Errorf("redisio: renew lock: %w", err)
	}
	if n != 1 {
		l.done = true
		return fmt.Errorf("%w: renew found another holder or none", ErrLockLost)
	}
	l.validUntil = sent.Add(s.cfg.LockExpiry)
	return nil
}

// Release gives the lock back with phpredis's own compare-and-delete script
// (EVALSHA, NOSCRIPT → EVAL). Releasing a lock that is no longer ours
// deletes nothing and returns ErrLockLost. On a network error the lock
// state is reconciled by token and the release retried once.
func (s *Store) Release(ctx context.Context, l *Lock) error {
	if l == nil || l.done {
		return nil
	}
	if s.closed.Load() {
		return ErrClosed
	}
	n, err := s.release(ctx, l)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("%w (release found another holder or none)", ErrLockLost)
	}
	return nil
}

func (s *Store) release(ctx context.Context, l *Lock) (int64, error) {
	n, err := s.retryBusy(ctx, func() []rueidis.RedisResult {
		return []rueidis.RedisResult{s.exec(ctx, releaseLua, []string{l.Key}, []string{l.Token})}
	})[0].AsInt64()
	if err == nil {
		l.done = true
		return n, nil
	}
	if isRedisReply(err) {
		return 0, fmt.Errorf("redisio: release lock: %w", err)
	}
	// The script may or may not have run: look at the lock.
	rctx, cancel := s.reconcileCtx(ctx)
	defer cancel()
	v, gerr := s.do(rctx, s.c.B().Get().Key(l.Key).Build().Pin()).ToString()
	if gerr != nil && !rueidis.IsRedisNil(gerr) {
		s.cfg.Logger.Warn("redisio: lock release outcome unknown; the lock, if still ours, expires by itself",
			"key", s.logKey(l.Key), "token", redact.ID(l.Token), "error", err, "reconcile_error", gerr)
		return 0, fmt.Errorf("redisio: release lock: %w", err)
	}
	s.st.reconciled.Add(1)
	if v != l.Token {
		l.done = true // released (by us or by expiry)
		return 1, nil
	}
	n, err = s.exec(rctx, releaseLua, []string{l.Key}, []string{l.Token}).AsInt64()
	if err != nil {
		s.cfg.Logger.Warn("redisio: lock release failed; the lock expires by itself",
			"key", s.logKey(l.Key), "token", redact.ID(l.Token), "error", err)
		return 0, fmt.Errorf("redisio: release lock: %w", err)
	}
	l.done = true
	return n, nil
}

// releaseQuiet releases on a best-effort basis (used on error paths).
func (s *Store) releaseQuiet(ctx context.Context, l *Lock) {
	if _, err := s.release(context.WithoutCancel(ctx), l); err != nil {
		s.cfg.Logger.Warn("redisio: could not release lock", "key", s.logKey(l.Key), "error", err)
	}
}

// errTransient marks a SET NX whose reply was lost while reconciliation
// showed the lock is not ours: LockAndRead retries it a few times.
var errTransient = errors.New("lock not taken")

// errLostReply marks errors after a SET NX whose reply was lost.
var errLostReply = errors.New("reply lost")

const maxTransient = 3

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }

// holderKind names who holds a lock, from its token: phpredis uses
// "<hostname>|<pid>" (5.x) or 32 hex characters (6.x), this package its
// TokenPrefix + "go...".
func holderKind(tok string) string {
	if strings.Contains(tok, "|") || (len(tok) == 32 && strings.Trim(tok, "0123456789abcdef") == "") {
		return "PHP"
	}
	if strings.Contains(tok, "go") && strings.Contains(tok, ":") {
		return "Go"
	}
	return "another holder"
}
