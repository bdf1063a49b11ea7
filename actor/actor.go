package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"

	"github.com/phpsession/phpsession/cache"
)

// Env is what all actors of one coordinator share.
type Env struct {
	Store    Store
	Codec    Codec
	Memo     *cache.Memo[Doc]
	Settings Settings
	Hooks    Hooks
	// Ctx bounds every Redis call; cancel it to abort in-flight work.
	Ctx context.Context
	// Revalidate makes every unlocked read check the memo against the
	// store (for stores that deliver no invalidations): a read then costs
	// a store read but still no decode when the bytes are unchanged.
	Revalidate bool
	// Pressure, when set and true, makes idle actors passivate at once
	// (the owner is at its live-actor cap).
	Pressure func() bool
}

type closeMsg struct{}

type idleCheck struct{ force bool }

// sessionActor is the protoactor actor of one session. All its fields are
// touched only from Receive (one goroutine at a time).
type sessionActor struct {
	id    string
	env   *Env
	set   Settings
	owner Owner
	h     *Handle
	mb    pa.Mailbox

	pending []*Op
	closing bool

	idleTimer    *time.Timer
	lastActivity time.Time

	// fairness bookkeeping
	lastRelease time.Time // when our last lock was released (Commit returned)
	// lastBatchEnd: when the last batch (locked or lock-free) committed.
	lastBatchEnd time.Time
	// lockFreeOff: the store cannot commit this session without the lock
	// (known once lockFreeChecked).
	lockFreeOff     bool
	lockFreeChecked bool
	busySince       time.Time // start of the current stretch without a free gap
	lastHold        time.Duration
	foreignSeen     bool // the last batch waited for a foreign holder
	// contendedUntil: a foreign holder was seen recently; until then the
	// longer ContendedGap is used (PHP is active on this session and its
	// retries may be spaced wider than lock_wait_time on a busy host).
	contendedUntil time.Time
	lingered       bool // the pending batch already waited for joiners
	lastBatchOps   int
	// lingerWant: ops known to the actor when the last batch ended (its
	// callers, about to be answered and resubmit, plus the ops already
	// waiting): how many the next batch waits for while lingering.
	lingerWant int
	// committed is what the session held after our last commit.
	committed struct {
		known bool
		found bool
		raw   []byte
	}
}

// Receive implements protoactor's Actor.
func (a *sessionActor) Receive(c pa.Context) {
	switch m := c.Message().(type) {
	case *Op:
		// protoactor counts a message after enqueuing it, so the count can
		// be transiently negative; only a positive count guarantees that
		// another message will arrive and trigger the flush.
		a.pending = append(a.pending, m)
		if a.mb.UserMessageCount() <= 0 || len(a.pending) >= a.set.MaxBatch {
			a.safeFlush(false)
		}
	case idleCheck:
		a.onIdleCheck(c, m.force)
		if len(a.pending) > 0 && a.mb.UserMessageCount() <= 0 {
			// ops deferred by a flush that waited for more messages
			a.safeFlush(false)
		}
	case closeMsg:
		a.closing = true
		a.safeFlush(true)
		a.stopTimer()
		c.Stop(c.Self())
	case *pa.Stopped:
		a.stopTimer()
		// answer anything that slipped in (cannot happen through Handle)
		for _, op := range a.pending {
			op.answer(ErrClosed)
		}
		a.pending = nil
		if a.env.Hooks.Passivated != nil && !a.closing {
			a.env.Hooks.Passivated()
		}
		a.owner.Stopped(a.h)
	}
}

func (a *sessionActor) stopTimer() {
	if a.idleTimer != nil {
		a.idleTimer.Stop()
		a.idleTimer = nil
	}
}

func (a *sessionActor) armIdle(d time.Duration) {
	if a.idleTimer != nil || a.closing {
		return
	}
	h := a.h
	a.idleTimer = time.AfterFunc(d, func() { h.sendSelf(idleCheck{}) })
}

func (a *sessionActor) onIdleCheck(c pa.Context, force bool) {
	if !force {
		a.idleTimer = nil
	}
	if len(a.pending) > 0 || a.closing {
		return
	}
	if !force {
		if rest := a.set.IdleTimeout - time.Since(a.lastActivity); rest > 0 {
			a.armIdle(rest)
			return
		}
	}
	if a.h.tryForget(func() bool { return a.mb.UserMessageCount() == 0 }) {
		a.stopTimer()
		c.Stop(c.Self())
	}
}

// safeFlush runs flush and turns a panic outside user code into errors for
// the ops that were not answered, so no caller is left waiting.
func (a *sessionActor) safeFlush(final bool) {
	defer func() {
		if r := recover(); r != nil {
			err := fmt.Errorf("phpsession: internal error in session actor: %v", r)
			for _, op := range a.pending {
				op.answer(err)
			}
			a.pending = a.pending[:0]
		}
		a.lastActivity = time.Now()
		if len(a.pending) == 0 {
			if a.env.Pressure != nil && a.env.Pressure() && !a.closing {
				a.h.sendSelf(idleCheck{force: true})
			} else {
				a.armIdle(a.set.IdleTimeout)
			}
		}
	}()
	a.flush(final)
}

// flush processes pending ops. Unless final, it may return early with ops
// still pending when new messages wait in the mailbox, so that they join the
// next batch (they trigger flush again when the mailbox drains).
func (a *sessionActor) flush(final bool) {
	for len(a.pending) > 0 {
		// Reads at the head need no lock.
		i := 0
		for i < len(a.pending) && a.pending[i].Kind == Read {
			i++
		}
		if i > 0 {
			a.serveReads(a.pending[:i])
			a.consume(i)
			continue
		}
		if !final {
			if !a.lockFreeLikely() && a.fairnessPause() && a.mb.UserMessageCount() > 0 && len(a.pending) < a.set.MaxBatch {
				return
			}
			if a.linger() {
				return
			}
		}
		a.lingered = false
		a.runBatch()
		if !final && len(a.pending) > 0 && a.mb.UserMessageCount() > 0 && len(a.pending) < a.set.MaxBatch {
			return
		}
	}
}

// lockFreeLikely reports whether the next batch will try the lock-free
// path: it holds no lock, so it needs no pause for PHP before it. (Cheap:
// the memo is consulted by the batch itself.)
func (a *sessionActor) lockFreeLikely() bool {
	if a.set.NoLockFree || a.lockFreeOff || !a.committed.known {
		return false
	}
	if _, ok := a.env.Store.(CASStore); !ok {
		return false
	}
	for _, op := range a.pending {
		if op.Kind == Destroy {
			return false
		}
	}
	return true
}

// linger briefly yields before a batch when the session is hot (the last
// batch carried several ops and ended just now): callers answered by that
// batch are about to submit again, and waiting a few microseconds lets them
// join this batch instead of forming the next one — fewer Redis commands
// per update. It reports whether messages are now waiting (flush returns
// to let them in; the next flush does not linger again).
func (a *sessionActor) linger() bool {
	if a.lingered || a.set.Linger <= 0 || a.lastBatchOps < 2 || time.Since(a.lastBatchEnd) > time.Millisecond {
		return false
	}
	a.lingered = true
	deadline := time.Now().Add(a.set.Linger)
	// wait until the last batch's callers are back beside the ops that
	// were already waiting (or the deadline)
	want := min(max(a.lingerWant, a.lastBatchOps), a.set.MaxBatch)
	for time.Now().Before(deadline) && len(a.pending)+a.mb.UserMessageCount() < want {
		runtime.Gosched()
	}
	return a.mb.UserMessageCount() > 0 && len(a.pending) < a.set.MaxBatch
}

func (a *sessionActor) consume(n int) {
	rest := copy(a.pending, a.pending[n:])
	clear(a.pending[rest:])
	a.pending = a.pending[:rest]
}

// fairnessPause leaves PHP a free lock window before the next batch when
// the lock has been busy (held by us, or by others while we waited) for
// about a Window without a free Gap, and right after a batch that had to
// wait for a foreign holder (PHP requests are then likely queued behind it:
// each such gap lets one more in). It reports whether it paused.
func (a *sessionActor) fairnessPause() bool {
	gap := a.set.Gap
	if gap <= 0 || a.lastRelease.IsZero() {
		return false
	}
	now := time.Now()
	if now.Before(a.contendedUntil) && a.set.ContendedGap > gap {
		gap = a.set.ContendedGap
	}
	if now.Sub(a.lastRelease) >= gap {
		a.busySince = time.Time{}
		a.foreignSeen = false
		return false
	}
	if a.busySince.IsZero() {
		a.busySince = a.lastRelease.Add(-a.lastHold)
	}
	est := 2*a.lastHold + 200*time.Microsecond
	if !a.foreignSeen && now.Add(est).Sub(a.busySince) < a.set.Window-gap {
		return false
	}
	d := a.lastRelease.Add(gap).Sub(now)
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-a.env.Ctx.Done():
			t.Stop()
		}
		if a.env.Hooks.Gap != nil {
			a.env.Hooks.Gap(d)
		}
	}
	a.busySince = time.Time{}
	a.foreignSeen = false
	return true
}

// serveReads answers read ops without the lock.
func (a *sessionActor) serveReads(ops []*Op) {
	var (
		doc   Doc
		found bool
		err   error
		have  bool
	)
	for _, op := range ops {
		if !op.claim() {
			continue
		}
		if !have {
			doc, found, err = a.readDoc()
			have = true
		}
		if err != nil {
			a.finish(op, err)
			continue
		}
		a.finish(op, call(op.Fn, doc, found))
	}
}

func (a *sessionActor) finish(op *Op, err error) {
	op.answer(err)
	if a.env.Hooks.Op != nil {
		a.env.Hooks.Op(op.Kind, err)
	}
}

// readDoc returns the current session from the memo, revalidated against
// the client-side-cached bytes when an invalidation arrived, or decoded.
func (a *sessionActor) readDoc() (Doc, bool, error) {
	memo := a.env.Memo
	var e *cache.Entry[Doc]
	if memo != nil {
		var fresh bool
		e, fresh = memo.Get(a.id)
		if fresh && !a.env.Revalidate {
			a.cacheEvent(true)
			return e.Value, e.Found, nil
		}
	}
	var seq uint64
	if memo != nil {
		seq = memo.Seq()
	}
	ctx, cancel := context.WithTimeout(a.env.Ctx, a.set.ReadTimeout)
	data, err := a.env.Store.Get(ctx, a.id)
	cancel()
	if err != nil {
		return nil, false, err
	}
	if e != nil && e.Found == data.Found && bytes.Equal(e.Raw, data.Bytes) {
		memo.Put(a.id, e, seq)
		a.cacheEvent(true)
		return e.Value, e.Found, nil
	}
	a.cacheEvent(false)
	doc, err := a.decode(data)
	if err != nil {
		return nil, false, err
	}
	if memo != nil {
		memo.Put(a.id, &cache.Entry[Doc]{Raw: data.Bytes, Found: data.Found, Value: doc, Size: int64(doc.Size())}, seq)
	}
	return doc, data.Found, nil
}

func (a *sessionActor) cacheEvent(hit bool) {
	if a.env.Hooks.Cache != nil {
		a.env.Hooks.Cache(hit)
	}
}

func (a *sessionActor) decode(d Data) (Doc, error) {
	if !d.Found || len(d.Bytes) == 0 {
		return a.env.Codec.New(), nil
	}
	return a.env.Codec.Decode(d.Bytes)
}

// docUnderLock returns the decoded session for bytes read under the lock,
// reusing the memo when the bytes are unchanged.
func (a *sessionActor) docUnderLock(d Data) (Doc, error) {
	if memo := a.env.Memo; memo != nil {
		if e, _ := memo.Get(a.id); e != nil && e.Found == d.Found && bytes.Equal(e.Raw, d.Bytes) {
			return e.Value, nil
		}
	}
	return a.decode(d)
}

// contendedFor is how long after seeing a foreign lock holder the actor
// keeps using Settings.ContendedGap.
const contendedFor = time.Second

// startRenewer keeps the lock alive while user functions run longer than
// RenewAfter (a slow function must not let the lock expire under it). The
// returned stop waits for the renewer and reports a lost lock.
func (a *sessionActor) startRenewer(ctx context.Context, lock any) (stop func() error) {
	quit := make(chan struct{})
	done := make(chan struct{})
	var rerr error
	every := a.set.RenewAfter
	t := time.AfterFunc(every, func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if err := a.env.Store.Renew(ctx, lock); err != nil {
				rerr = err
				return
			}
			select {
			case <-quit:
				return
			case <-tick.C:
			}
		}
	})
	return func() error {
		if t.Stop() {
			return nil
		}
		close(quit)
		<-done
		return rerr
	}
}

// runBatch takes the lock once, applies as many pending ops as fit and
// commits them in one write.
func (a *sessionActor) runBatch() {
	n := len(a.pending)
	if n > a.set.MaxBatch {
		n = a.set.MaxBatch
	}
	batch := a.pending[:n]
	// Drop ops whose callers are gone before waiting for the lock.
	live := 0
	for _, op := range batch {
		if st := op.state.Load(); st == opAbandoned || (st == opPending && op.ctx != nil && op.ctx.Err() != nil) {
			if !op.claim() { // answers it
				continue
			}
		}
		batch[live] = op
		live++
	}
	if live == 0 {
		a.consume(n)
		return
	}
	batch = batch[:live]
	hasWrite := false
	for _, op := range batch {
		if op.Kind != Read {
			hasWrite = true
			break
		}
	}
	if !hasWrite {
		a.serveReads(batch)
		a.consume(n)
		return
	}

	// The LockTimeout context is made only when a batch may wait: a
	// lock-free commit that goes through at once is one round trip, bounded
	// by the connection's own timeouts (and by a.env.Ctx).
	var (
		ctx    context.Context
		cancel context.CancelFunc = func() {}
	)
	bounded := func() context.Context {
		if ctx == nil {
			ctx, cancel = context.WithTimeout(a.env.Ctx, a.set.LockTimeout)
		}
		return ctx
	}
	defer func() { cancel() }()

	for attempt := 0; ; attempt++ {
		var (
			used int
			err  error
			ok   bool
		)
		if attempt == 0 {
			used, ok, err = a.lockFree(bounded, batch)
		}
		if ok && err != nil {
			a.committed.known = false // what the session holds is unknown
		}
		if !ok {
			used, err = a.attempt(bounded(), batch)
		}
		if err != nil && errors.Is(err, ErrLockLost) && attempt < a.set.LockLostRetries {
			if a.env.Hooks.LockLostRetry != nil {
				a.env.Hooks.LockLostRetry()
			}
			continue
		}
		if err != nil {
			if used == 0 {
				used = len(batch)
			}
			a.failBatch(batch[:used], err)
		}
		// ops beyond `used` stay pending (hold-time cap)
		consumed := used
		// map back: batch is a compacted prefix view of pending[:n]
		rest := append([]*Op(nil), batch[consumed:]...)
		a.consume(n)
		if len(rest) > 0 {
			a.pending = append(rest, a.pending...)
		}
		return
	}
}

// failBatch answers the write ops with err and serves the reads without the
// lock (a failed write does not make a read fail).
func (a *sessionActor) failBatch(ops []*Op, err error) {
	var reads []*Op
	for _, op := range ops {
		if op.Kind == Read {
			reads = append(reads, op)
			continue
		}
		if op.claim() {
			a.finish(op, err)
		}
	}
	if a.env.Memo != nil {
		a.env.Memo.Remove(a.id)
	}
	if len(reads) > 0 {
		a.serveReads(reads)
	}
}

// batchResult is what applying a batch to a working copy produced.
type batchResult struct {
	cur       Doc
	exists    bool
	changed   bool // since the batch start (or the last destroy)
	destroyed bool
	anyOK     bool // some write op succeeded
	used      int  // ops of the batch covered
}

// apply runs batch in order on clones of base (found: whether the session
// exists), for at most maxHold after start; each op's result is kept in its
// scratch fields until the batch is committed.
func (a *sessionActor) apply(batch []*Op, base Doc, found bool, start time.Time, maxHold time.Duration) batchResult {
	r := batchResult{cur: base, exists: found}
	for i, op := range batch {
		if i > 0 && time.Since(start) > maxHold {
			break
		}
		r.used = i + 1
		if !op.claim() {
			op.applied = false
			op.res = context.Canceled
			continue
		}
		op.applied = true
		switch op.Kind {
		case Read:
			op.res = call(op.Fn, r.cur, r.exists)
		case Update:
			next := r.cur.Clone()
			err := call(op.Fn, next, r.exists)
			op.res = err
			r.anyOK = r.anyOK || err == nil
			if err == nil && next.Modified() {
				r.cur = next
				r.changed = true
				r.exists = true
			}
		case Destroy:
			r.anyOK = true
			op.resFound = r.exists
			op.res = nil
			r.cur = a.env.Codec.New()
			r.exists = false
			r.changed = false
			r.destroyed = true
		}
	}
	return r
}

// outcome decides what a batch applied to d writes: its bytes, only a TTL
// refresh when they are unchanged (PHP's lazy_write), a delete, or nothing.
func (a *sessionActor) outcome(r batchResult, d Data) (WriteMode, []byte, error) {
	switch {
	case r.changed:
		out, err := r.cur.Encode()
		if err != nil {
			// Cannot happen for ops that succeeded individually unless the
			// codec rejects the combination; fail the batch.
			return WriteNone, nil, err
		}
		if !r.destroyed && d.Found && bytes.Equal(out, d.Bytes) {
			return WriteTouch, nil, nil
		}
		return WriteData, out, nil
	case r.destroyed:
		if d.Found {
			return WriteDelete, nil, nil
		}
	case d.Found && r.anyOK:
		return WriteTouch, nil, nil // lazy_write: unchanged data only gets its TTL refreshed
	}
	return WriteNone, nil, nil
}

// committedBatch records a committed batch (base: the data it started
// from) and answers its ops.
func (a *sessionActor) committedBatch(ops []*Op, r batchResult, base Data, mode WriteMode, out []byte, hold time.Duration) {
	a.committed.known = true
	switch mode {
	case WriteData:
		a.committed.raw, a.committed.found = out, true
	case WriteDelete:
		a.committed.raw, a.committed.found = nil, false
	default:
		a.committed.raw, a.committed.found = base.Bytes, base.Found
	}
	a.lastBatchEnd = time.Now()
	a.lastBatchOps = r.used
	a.lingerWant = len(a.pending) + a.mb.UserMessageCount()
	if a.env.Hooks.Batch != nil {
		a.env.Hooks.Batch(r.used, hold, mode)
	}
	// The memo entry of what we commit is stored stale: Redis tracking is
	// one-shot and neither the locked read nor the lock-free write arms
	// it, so after our write nobody tracks the key until a cached read
	// re-arms it, and a fresh entry would miss the next foreign write. The
	// next read revalidates it (one cached GET, no decode when unchanged);
	// the next lock-free batch checks it in its script.
	if memo := a.env.Memo; memo != nil {
		cur := r.cur
		switch mode {
		case WriteData:
			memo.PutStale(a.id, &cache.Entry[Doc]{Raw: out, Found: true, Value: cur, Size: int64(cur.Size())})
		case WriteDelete:
			memo.PutStale(a.id, &cache.Entry[Doc]{Found: false, Value: cur})
		default:
			memo.PutStale(a.id, &cache.Entry[Doc]{Raw: base.Bytes, Found: base.Found, Value: cur, Size: int64(cur.Size())})
		}
	}
	for _, op := range ops {
		if !op.applied {
			continue
		}
		if op.Kind == Destroy {
			op.Existed = op.resFound
		}
		a.finish(op, op.res)
	}
}

// maxConflicts is how often a lock-free batch is recomputed after the data
// changed under it without a holder in between (PHP that locked, wrote and
// released between two tries counts too) before it takes the lock instead (which guarantees
// progress against writers that do not lock).
const maxConflicts = 8

// canLockFree reports whether the next batch may try the lock-free path
// (the store supports it for this session), with the memo's entry of the
// session if it has one (possibly stale: the script checks it).
func (a *sessionActor) canLockFree() (CASStore, *cache.Entry[Doc]) {
	if a.set.NoLockFree || a.lockFreeOff {
		return nil, nil
	}
	cs, ok := a.env.Store.(CASStore)
	if !ok {
		return nil, nil
	}
	if !a.lockFreeChecked {
		a.lockFreeChecked = true
		if !cs.CanWriteIfUnlocked(a.id) {
			a.lockFreeOff = true // the answer depends only on the id
			return nil, nil
		}
	}
	if a.env.Memo == nil {
		return cs, nil
	}
	// Peek: a successful batch stores its result right after (PutStale),
	// which marks the entry used.
	e, _ := a.env.Memo.Peek(a.id)
	return cs, e
}

// lockFree runs batch without the lock: it applies the ops to the memo's
// copy and commits with one atomic check-and-write that succeeds only while
// nobody holds the lock and the data is unchanged. A held lock is waited
// out (without taking it) and the same write tried again; changed data is
// applied again from the current bytes. ok is false when the batch must
// take the locked path instead (nothing was answered then; its fns may
// have run).
func (a *sessionActor) lockFree(bounded func() context.Context, batch []*Op) (used int, ok bool, err error) {
	for _, op := range batch {
		if op.Kind == Destroy {
			return 0, false, nil
		}
	}
	cs, e := a.canLockFree()
	if cs == nil {
		return 0, false, nil
	}
	var (
		expect Data
		base   Doc
	)
	if e != nil {
		expect, base = Data{Bytes: e.Raw, Found: e.Found}, e.Value
	} else {
		// Nothing known of the session: read it (no lock; the script
		// checks that it is still what we read).
		d, err := cs.GetUntracked(a.env.Ctx, a.id)
		if err != nil {
			return 0, false, nil // the locked path reads (and reports) again
		}
		doc, err := a.decode(d)
		if err != nil {
			return 0, false, nil // the locked path reports it
		}
		expect, base = d, doc
	}
	conflicts := 0
	waited := false
	heldBefore := false // the last refusal was a held lock
	for {
		r := a.apply(batch, base, expect.Found, time.Now(), a.set.MaxHold)
		mode, out, err := a.outcome(r, expect)
		if err != nil {
			return r.used, true, err
		}
		for {
			ctx := a.env.Ctx
			if waited {
				ctx = bounded()
			}
			res, err := cs.WriteIfUnlocked(ctx, a.id, expect, mode, out)
			if err != nil {
				return r.used, true, err
			}
			if res.Applied {
				if a.env.Hooks.LockFree != nil {
					a.env.Hooks.LockFree()
				}
				a.committedBatch(batch[:r.used], r, expect, mode, out, 0)
				return r.used, true, nil
			}
			if a.env.Hooks.Conflict != nil {
				a.env.Hooks.Conflict(res.Held)
			}
			afterWait := heldBefore
			heldBefore = res.Held
			if res.Held {
				// PHP (or a locking client) holds the lock: wait until it is
				// free and try the same write; the script sees whether the
				// holder changed the data.
				t0 := time.Now()
				waited = true
				if err := cs.WaitUnlocked(bounded(), a.id); err != nil {
					return r.used, true, err
				}
				if a.env.Hooks.LockWait != nil {
					a.env.Hooks.LockWait(time.Since(t0))
				}
				continue
			}
			// A change right after waiting out a holder is the holder's
			// write (PHP's request): expected, and the next try is likely
			// to go through. Repeated changes without a holder come from
			// writers that do not lock, or from other lock-free writers.
			if !afterWait {
				conflicts++
				if conflicts > maxConflicts {
					return 0, false, nil
				}
			}
			doc, err := a.decode(res.Current)
			if err != nil {
				return 0, false, nil // the locked path reports it
			}
			base, expect = doc, res.Current
			break
		}
	}
}

// attempt runs one lock-apply-commit round for batch. It returns how many
// ops of batch it covered. On success every covered op is answered.
func (a *sessionActor) attempt(ctx context.Context, batch []*Op) (int, error) {
	t0 := time.Now()
	lk, err := a.env.Store.LockAndRead(ctx, a.id)
	if err != nil {
		return 0, err
	}
	lockedAt := time.Now()
	if lk.Waited && a.env.Hooks.LockWait != nil {
		w := lk.WaitTime
		if w <= 0 {
			w = lockedAt.Sub(t0)
		}
		a.env.Hooks.LockWait(w)
	}
	if a.busySince.IsZero() {
		// a new busy stretch starts (a foreign hold is busy time too)
		a.busySince = t0
	}
	// Foreign activity: we waited for a holder, or the session changed
	// since our last commit (someone locked, wrote and released it in
	// between, e.g. inside our last pause). PHP requests may be queued:
	// pause right after this batch.
	if lk.Waited || (a.committed.known && (a.committed.found != lk.Data.Found || !bytes.Equal(a.committed.raw, lk.Data.Bytes))) {
		a.foreignSeen = true
		a.contendedUntil = lockedAt.Add(contendedFor)
	}
	base, err := a.docUnderLock(lk.Data)
	if err != nil && batch[0].Kind == Destroy {
		// undecodable data can still be destroyed (as PHP does)
		base, err = a.env.Codec.New(), nil
	}
	if err != nil {
		_ = a.env.Store.Release(ctx, lk.Lock)
		a.lastRelease = time.Now()
		return 0, err
	}

	maxHold := a.set.MaxHold
	if a.foreignSeen && a.set.Gap > 0 {
		// PHP is waiting: keep this hold short (a quarter of the gap)
		maxHold = min(maxHold, a.set.Gap/4)
	}
	stopRenew := a.startRenewer(ctx, lk.Lock)
	r := a.apply(batch, base, lk.Data.Found, lockedAt, maxHold)
	used := r.used

	if err := stopRenew(); err != nil {
		// the lock was lost while the functions ran: nothing is written
		_ = a.env.Store.Release(ctx, lk.Lock)
		a.lastRelease = time.Now()
		return used, err
	}

	mode, out, err := a.outcome(r, lk.Data)
	if err != nil {
		_ = a.env.Store.Release(ctx, lk.Lock)
		a.lastRelease = time.Now()
		return used, err
	}
	err = a.env.Store.Commit(ctx, lk.Lock, mode, out)
	a.lastRelease = time.Now()
	a.lastHold = a.lastRelease.Sub(lockedAt)
	if err != nil {
		a.committed.known = false
		return used, err
	}
	a.committedBatch(batch[:used], r, lk.Data, mode, out, a.lastHold)
	return used, nil
}
