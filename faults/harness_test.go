package faults_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// The harness: writers increment a counter "n" (and set "w" to the
// call's unique id) in a few hot sessions through Manager.Update, readers
// read both back through Manager.Unmarshal and Manager.Exists, every call is
// recorded with its start, end and outcome, and a fault runs in between.
// The checker then proves from the records and the final bytes in Redis:
//
//   - counters: acknowledged ≤ final ≤ acknowledged + unknown outcome (a
//     plain context error or any other error counts as "not applied"),
//     and no read or final value carries the id of a call reported as not
//     applied;
//   - freshness: a read sees every write acknowledged before it started,
//     and once Redis lost the data (a lossy window: flush, expiry, restart
//     without persistence, SWAPDB) a read that started after the window
//     shows no data from before it;
//   - bounded calls: every call returns, with an error of the package's
//     types (a plain context error only once its context ended); while
//     Redis does not answer, every call that starts returns while Redis
//     still does not answer (downWindow): the library gives up on its own
//     bound instead of waiting for Redis. How long a call took is not
//     judged (a loaded machine stretches any call): redisio's
//     TestUnavailableCallsAreBounded counts each Store call's round trips
//     and the deadline each carried;
//   - recovery: after the fault, writes and reads succeed again on the
//     same Manager; after Close no goroutine and no lock key is left.

const (
	// nSessions hot sessions, shared by nWriters and nReaders goroutines.
	nSessions = 3
	nWriters  = 12
	nReaders  = 6
	// lockTimeout and lockExpiry are short so that a lock orphaned by a
	// fault is waited for briefly.
	lockTimeout = 3 * time.Second
	lockExpiry  = 2 * time.Second
	// invalidationGrace is how long after another client's change (a
	// FLUSHALL, DEL...) reads are allowed to miss it: Redis sends the
	// invalidation while answering that client, and the library reads it
	// from its own connection a moment later.
	invalidationGrace = 250 * time.Millisecond
)

// topology is how the harness reaches one deployment: opening a Manager on
// it, and raw access for the checks.
type topology struct {
	name string
	open func(cfg phpsession.Config) (*phpsession.Manager, error)
	// get returns the raw value of key ("(nil)" when absent) from the node
	// that holds it now.
	get func(key string) (string, error)
	// lockKeys returns the lock keys present on every master, with PTTL.
	lockKeys func() (map[string]int64, error)
	// set writes key as another client (PHP) would, on the node that
	// holds it now.
	set func(key, value string) error
}

type outcome int

const (
	applied    outcome = iota // nil error
	unknown                   // ErrOutcomeUnknown
	ctxErr                    // plain context error: not applied
	notApplied                // any other error: not applied
)

type writeRec struct {
	sess       int
	id         int64
	start, end time.Time
	deadline   time.Duration // 0: context.Background
	n          int           // counter value the last run of fn set
	err        error
	out        outcome
	ctxEnded   bool // the call's context had ended when it returned
}

type readRec struct {
	sess       int
	start, end time.Time
	deadline   time.Duration
	exists     bool // an Exists call (no n, w)
	found      bool
	n          int
	w          int64
	err        error
	ctxEnded   bool
}

type window struct {
	start, end time.Time
	// grace: reads that start less than grace after end may still show
	// the data (see invalidationGrace)
	grace time.Duration
}

// run is one fault scenario under load.
type run struct {
	t        *testing.T
	top      topology
	m        *phpsession.Manager
	cfg      phpsession.Config
	sessions []string

	writeGate sync.RWMutex // writers hold R per call; pauseWriters takes W
	readGate  sync.RWMutex
	stop      atomic.Bool
	seq       atomic.Int64
	wg        sync.WaitGroup

	mu     sync.Mutex
	writes []writeRec
	reads  []readRec
	lossy  []window
	acked  []atomic.Int64 // per session

	// flying[i] is the start (UnixNano) of loader i's call in flight, 0
	// between calls; done[i] the start of its last call that returned.
	// Loaders are the writers, then the readers.
	flying, done []atomic.Int64

	baseGoroutines int
	// lateRuns counts Update functions that ran after their call returned
	// (lateAcked: after it returned success): none may
	lateRuns, lateAcked atomic.Int64
}

// startRun opens a Manager on top with cfg (bounds and short lock times
// filled in) and starts the writers and readers; it returns once every
// session has some acknowledged writes.
func startRun(t *testing.T, top topology, cfg phpsession.Config) *run {
	t.Helper()
	cfg.LockTimeout = lockTimeout
	cfg.LockExpiry = lockExpiry
	withBound(&cfg)
	base := runtime.NumGoroutine()
	m, err := top.open(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r := &run{t: t, top: top, m: m, cfg: m.Config(), acked: make([]atomic.Int64, nSessions),
		flying: make([]atomic.Int64, nWriters+nReaders), done: make([]atomic.Int64, nWriters+nReaders)}
	for i := 0; i < nSessions; i++ {
		r.sessions = append(r.sessions, fmt.Sprintf("fault%s%d", strings.NewReplacer("/", "", "_", "", " ", "").Replace(t.Name()), i))
	}
	t.Cleanup(func() {
		r.stopLoad()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	for w := 0; w < nWriters; w++ {
		r.wg.Add(1)
		go r.writer(int64(w))
	}
	for i := 0; i < nReaders; i++ {
		r.wg.Add(1)
		go r.reader(nWriters + int64(i))
	}
	r.baseGoroutines = base
	r.waitAcked(time.Time{}, 20, 30*time.Second, "warm-up")
	return r
}

func (r *run) writer(seed int64) {
	defer r.wg.Done()
	rnd := rand.New(rand.NewSource(seed))
	for !r.stop.Load() {
		r.writeGate.RLock()
		if r.stop.Load() {
			r.writeGate.RUnlock()
			return
		}
		s := rnd.Intn(nSessions)
		ctx, cancel, d := callCtx(rnd)
		id := r.seq.Add(1)
		// n and returned are atomics: fn runs on the session's actor, and
		// may still run there after the call returned
		var n atomic.Int64
		var returned, acked atomic.Bool
		start := r.begin(seed)
		err := r.m.Update(ctx, r.sessions[s], func(ss *phpsession.Session) error {
			if returned.Load() {
				r.lateRuns.Add(1)
				if acked.Load() {
					r.lateAcked.Add(1)
				}
			}
			var cur int
			if _, err := ss.Unmarshal("n", &cur); err != nil {
				return err
			}
			n.Store(int64(cur + 1))
			if err := ss.Set("n", cur+1); err != nil {
				return err
			}
			return ss.Set("w", id)
		})
		acked.Store(err == nil)
		returned.Store(true)
		end := r.end(seed, start)
		ctxEnded := ctx.Err() != nil
		cancel()
		r.writeGate.RUnlock()
		rec := writeRec{sess: s, id: id, start: start, end: end, deadline: d, n: int(n.Load()), err: err, out: classify(err), ctxEnded: ctxEnded}

		if rec.out == applied {
			r.acked[s].Add(1)
		}
		r.mu.Lock()
		r.writes = append(r.writes, rec)
		r.mu.Unlock()
	}
}

func (r *run) reader(seed int64) {
	defer r.wg.Done()
	rnd := rand.New(rand.NewSource(seed + 1000 - nWriters))
	for !r.stop.Load() {
		r.readGate.RLock()
		if r.stop.Load() {
			r.readGate.RUnlock()
			return
		}
		s := rnd.Intn(nSessions)
		ctx, cancel, d := callCtx(rnd)
		rec := readRec{sess: s, deadline: d, start: r.begin(seed)}
		if rnd.Intn(4) == 0 {
			rec.exists = true
			rec.found, rec.err = r.m.Exists(ctx, r.sessions[s])
		} else {
			var v struct {
				N int   `php:"n"`
				W int64 `php:"w"`
			}
			rec.err = r.m.Unmarshal(ctx, r.sessions[s], &v)
			rec.found = rec.err == nil
			rec.n, rec.w = v.N, v.W
		}
		rec.end = r.end(seed, rec.start)
		rec.ctxEnded = ctx.Err() != nil
		cancel()
		r.readGate.RUnlock()
		r.mu.Lock()
		r.reads = append(r.reads, rec)
		r.mu.Unlock()
		// pace the readers: fast-path reads take a microsecond, and
		// every read is recorded
		time.Sleep(300 * time.Microsecond)
	}
}

// begin records that loader i starts a call now, and returns now.
func (r *run) begin(i int64) time.Time {
	now := time.Now()
	r.flying[i].Store(now.UnixNano())
	return now
}

// end records that loader i's call started at start returned, and returns
// now.
func (r *run) end(i int64, start time.Time) time.Time {
	r.done[i].Store(start.UnixNano())
	r.flying[i].Store(0)
	return time.Now()
}

// callCtx picks a context: half context.Background (the library's own
// bound applies), a quarter a short deadline that often ends mid-call, a
// quarter a deadline longer than any fault.
func callCtx(rnd *rand.Rand) (context.Context, context.CancelFunc, time.Duration) {
	switch k := rnd.Intn(4); k {
	case 0, 1:
		return context.Background(), func() {}, 0
	case 2:
		if !shortDeadlines {
			return context.Background(), func() {}, 0
		}
		d := time.Duration(1+rnd.Intn(30)) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), d)
		return ctx, cancel, d
	default:
		d := 20 * time.Second
		ctx, cancel := context.WithTimeout(context.Background(), d)
		return ctx, cancel, d
	}
}

func classify(err error) outcome {
	switch {
	case err == nil:
		return applied
	case isOutcomeUnknown(err):
		return unknown
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ctxErr
	}
	return notApplied
}

// waitAcked waits until every session has n acknowledged writes that
// started after since.
func (r *run) waitAcked(since time.Time, n int, max time.Duration, what string) {
	r.t.Helper()
	r.waitPerSession(n, max, what, "acknowledged writes", func(cnt []int) {
		for i := len(r.writes) - 1; i >= 0; i-- {
			w := &r.writes[i]
			if w.out == applied && w.start.After(since) {
				cnt[w.sess]++
			}
		}
	})
}

// waitStarted waits until n more write calls have started.
func (r *run) waitStarted(n int64, max time.Duration, what string) {
	r.t.Helper()
	target := r.seq.Load() + n
	deadline := time.Now().Add(max)
	for r.seq.Load() < target {
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: %d writes did not start within %v; errors: %s", what, n, max, r.errorSummary())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReads waits until every session had n successful or not-found
// reads that started after since.
func (r *run) waitReads(since time.Time, n int, max time.Duration, what string) {
	r.t.Helper()
	r.waitPerSession(n, max, what, "reads", func(cnt []int) {
		for i := len(r.reads) - 1; i >= 0; i-- {
			rd := &r.reads[i]
			if rd.start.After(since) && (rd.err == nil || errors.Is(rd.err, phpsession.ErrNotFound)) {
				cnt[rd.sess]++
			}
		}
	})
}

// waitPerSession polls until count (run under r.mu, adding to a zeroed
// count per session) gives every session at least n, and fails the test
// after max; noun says what is counted.
func (r *run) waitPerSession(n int, max time.Duration, what, noun string, count func(cnt []int)) {
	r.t.Helper()
	deadline := time.Now().Add(max)
	for {
		cnt := make([]int, nSessions)
		r.mu.Lock()
		count(cnt)
		r.mu.Unlock()
		if slices.Min(cnt) >= n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s: sessions did not get %d %s within %v (got %v); errors: %s", what, n, noun, max, cnt, r.errorSummary())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pause stops new writes (and reads) and waits for the calls in flight.
func (r *run) pauseWriters()  { r.writeGate.Lock() }
func (r *run) resumeWriters() { r.writeGate.Unlock() }
func (r *run) pauseReaders()  { r.readGate.Lock() }
func (r *run) resumeReaders() { r.readGate.Unlock() }

// lossyWindow runs fn (a fault after which Redis no longer holds the data
// written before it) and records its window.
func (r *run) lossyWindow(fn func()) {
	w := window{start: time.Now(), grace: invalidationGrace}
	fn()
	w.end = time.Now()
	r.mu.Lock()
	r.lossy = append(r.lossy, w)
	r.mu.Unlock()
}

// addLossy records a window in which Redis lost the data.
func (r *run) addLossy(w window) {
	r.mu.Lock()
	r.lossy = append(r.lossy, w)
	r.mu.Unlock()
}

// downWindow runs a fault during which Redis does not answer: begin starts
// it, end ends it. Every call that starts in between must return while
// Redis still does not answer: the library gives up on its own bound and
// never waits for Redis to come back. The fault lasts until every loader
// finished a call that started in it, and every call that started before
// that point returned; a call still in flight limit after begin fails the
// test as a hang. limit is testenv.HangGuard for a fault that lasts until
// end, less for one that ends by itself. No duration is judged: a loaded
// machine only makes the fault last longer.
func (r *run) downWindow(begin, end func(), limit time.Duration) {
	t := r.t
	t.Helper()
	begin()
	defer end()
	start := time.Now().UnixNano()
	deadline := time.Now().Add(limit)
	for i := range r.done {
		for r.done[i].Load() < start {
			if time.Now().After(deadline) {
				t.Fatalf("loader %d: no call that started after the fault began returned within %v while Redis did not answer: a call waits for Redis; errors: %s",
					i, limit, r.errorSummary())
			}
			time.Sleep(time.Millisecond)
		}
	}
	cutoff := time.Now().UnixNano()
	for i := range r.flying {
		for f := r.flying[i].Load(); f != 0 && f < cutoff; f = r.flying[i].Load() {
			if time.Now().After(deadline) {
				t.Fatalf("loader %d: a call started at %s while Redis did not answer is still in flight %v after the fault began: it waits for Redis; errors: %s",
					i, r.rel(time.Unix(0, f)), limit, r.errorSummary())
			}
			time.Sleep(time.Millisecond)
		}
	}
}

func (r *run) stopLoad() {
	if r.stop.Swap(true) {
		return
	}
	// every call returns: a loader still in a call HangGuard later is a hang
	_ = testenv.ReturnsWithin(r.t, "the load's calls", func() error { r.wg.Wait(); return nil })
}

// finish lets the load recover from the fault, stops it, closes the
// Manager and checks everything.
func (r *run) finish() {
	t := r.t
	t.Helper()
	after := time.Now()
	r.waitAcked(after, 10, 30*time.Second, "recovery")
	r.waitReads(after, 10, 30*time.Second, "recovery")
	r.stopLoad()
	r.check()
	r.checkForeignWrites()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Close returns by its context's end (TestCloseWithinContextWhenRedisHangs
	// proves it without timing); here only a hang is reported.
	if err := testenv.ReturnsWithin(t, "Close with a 10s context", func() error { return r.m.Close(ctx) }); err != nil {
		t.Errorf("Close: %v", err)
	}
	r.checkLocks()
	testenv.WaitGoroutines(t, r.baseGoroutines, testenv.HangGuard)
}

// checkForeignWrites writes every session as another client would and
// waits until the Manager's reads show it: after the fault, invalidations
// still reach the caches (a cache that lost its tracking would serve the
// old data forever).
func (r *run) checkForeignWrites() {
	t := r.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for s, id := range r.sessions {
		const foreign = 1_000_000
		// the session was read since the fault: the caches hold it
		var v struct {
			N int `php:"n"`
		}
		if err := r.m.Unmarshal(ctx, id, &v); err != nil {
			t.Errorf("session %d: read after the load: %v", s, err)
			continue
		}
		if err := r.top.set(r.m.Store().Key(id), fmt.Sprintf("n|i:%d;", foreign+s)); err != nil {
			t.Fatalf("foreign write: %v", err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := r.m.Unmarshal(ctx, id, &v)
			if err == nil && v.N == foreign+s {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("session %d: a write by another client is not seen after 30s (n=%d, %v): lost invalidation", s, v.N, err)
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

var counterRE = regexp.MustCompile(`(?:^|;|\})n\|i:(\d+);`)
var writerRE = regexp.MustCompile(`(?:^|;|\})w\|i:(\d+);`)

func (r *run) check() {
	t := r.t
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	byID := make(map[int64]*writeRec, len(r.writes))
	for i := range r.writes {
		byID[r.writes[i].id] = &r.writes[i]
	}
	var last *window
	if len(r.lossy) > 0 {
		last = &r.lossy[len(r.lossy)-1]
	}
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	r.checkCalls(report)

	// counters
	for s, id := range r.sessions {
		raw, err := r.top.get(r.m.Store().Key(id))
		if err != nil {
			t.Fatalf("final GET %s: %v", id, err)
		}
		final := 0
		if m := counterRE.FindStringSubmatch(raw); m != nil {
			final, _ = strconv.Atoi(m[1])
		}
		if m := writerRE.FindStringSubmatch(raw); m != nil {
			wid, _ := strconv.ParseInt(m[1], 10, 64)
			if w := byID[wid]; w != nil && (w.out == ctxErr || w.out == notApplied) {
				report("session %d: final data written by call %d reported as not applied (%v)", s, wid, w.err)
			}
		}
		lo, hi := 0, 0
		for i := range r.writes {
			w := &r.writes[i]
			if w.sess != s {
				continue
			}
			if w.out == applied && (last == nil || !w.start.Before(last.end)) {
				lo++
			}
			if (w.out == applied || w.out == unknown) && (last == nil || w.end.After(last.start)) {
				hi++
			}
		}
		t.Logf("session %d: final %d, acknowledged %d, +unknown %d", s, final, lo, hi)
		if final < lo {
			report("session %d: %d acknowledged increments, final counter %d: acknowledged writes lost", s, lo, final)
		}
		if final > hi {
			report("session %d: final counter %d > %d acknowledged + unknown-outcome increments: a write reported as not applied was applied (or one applied twice)", s, final, hi)
		}
	}

	// reads
	type epoch struct {
		w     *window
		ends  []time.Time // acknowledged writes started after w.end, by end
		maxN  []int       // prefix max of their n
		first time.Time   // earliest start of a write ending after w.start
	}
	for s := range r.sessions {
		var ws []*writeRec
		for i := range r.writes {
			if r.writes[i].sess == s {
				ws = append(ws, &r.writes[i])
			}
		}
		sort.Slice(ws, func(i, j int) bool { return ws[i].end.Before(ws[j].end) })
		mk := func(w *window) *epoch {
			e := &epoch{w: w}
			if w != nil {
				e.first = time.Now().Add(time.Hour)
			}
			m := 0
			for _, x := range ws {
				if w != nil && x.end.After(w.start) && x.start.Before(e.first) {
					e.first = x.start
				}
				if x.out != applied || (w != nil && x.start.Before(w.end)) {
					continue
				}
				if x.n > m {
					m = x.n
				}
				e.ends = append(e.ends, x.end)
				e.maxN = append(e.maxN, m)
			}
			return e
		}
		epochs := []*epoch{mk(nil)}
		for i := range r.lossy {
			epochs = append(epochs, mk(&r.lossy[i]))
		}
		for i := range r.reads {
			rd := &r.reads[i]
			if rd.sess != s {
				continue
			}
			if rd.err != nil && !errors.Is(rd.err, phpsession.ErrNotFound) {
				continue
			}
			e := epochs[0]
			for _, x := range epochs[1:] {
				if !x.w.start.After(rd.start) {
					e = x
				}
			}
			if r.overlapsLossy(rd.start, rd.end) {
				continue // the read overlaps a fault that lost data
			}
			// another client's change reaches the library as an
			// invalidation message shortly after Redis answered that
			// client: a read is checked against it only after a grace
			gone := e.w != nil && rd.start.After(e.w.end.Add(e.w.grace))
			if rd.found && !rd.exists {
				if w := byID[rd.w]; w != nil && w.sess == s && (w.out == ctxErr || w.out == notApplied) {
					report("session %d: read at %s returned call %d's write, reported as not applied (%v)", s, r.rel(rd.start), rd.w, w.err)
				}
			}
			k := sort.Search(len(e.ends), func(i int) bool { return e.ends[i].After(rd.start) })
			floor := 0
			if k > 0 {
				floor = e.maxN[k-1]
			}
			if floor > 0 && !rd.found {
				report("session %d: read at %s (exists=%v) found nothing, though n=%d was acknowledged before it started", s, r.rel(rd.start), rd.exists, floor)
			}
			if floor > 0 && rd.found && !rd.exists && rd.n < floor {
				report("session %d: stale read at %s: n=%d, but n=%d was acknowledged before it started", s, r.rel(rd.start), rd.n, floor)
			}
			if gone && rd.found {
				if !e.first.Before(rd.end) {
					report("session %d: read at %s (exists=%v, n=%d) returned data Redis lost at %s (no write could have recreated it)", s, r.rel(rd.start), rd.exists, rd.n, r.rel(e.w.start))
				} else if w := byID[rd.w]; !rd.exists && w != nil && w.sess == s && w.end.Before(e.w.start) {
					report("session %d: read at %s returned call %d's write (n=%d), which Redis lost at %s", s, r.rel(rd.start), rd.w, rd.n, r.rel(e.w.start))
				}
			}
		}
	}
	if n := r.lateRuns.Load(); n > 0 {
		report("%d Update functions ran after their call had returned (%d of them after success)", n, r.lateAcked.Load())
	}
	if bad > 10 {
		t.Errorf("... %d violations in all", bad)
	}

	t.Logf("%d writes, %d reads; %s", len(r.writes), len(r.reads), r.summaryLocked())
}

func (r *run) overlapsLossy(start, end time.Time) bool {
	for _, w := range r.lossy {
		if start.Before(w.end) && end.After(w.start) {
			return true
		}
	}
	return false
}

// checkCalls checks every call's error: of the package's types, and a
// plain context error (reported as "not applied") only from a call whose
// context had ended.
func (r *run) checkCalls(report func(string, ...any)) {
	check := func(kind string, start time.Time, deadline time.Duration, ctxEnded bool, err error) {
		if err != nil && !typedError(err) {
			report("%s at %s: untyped error %T: %v", kind, r.rel(start), err, err)
		}
		if classify(err) == ctxErr && !ctxEnded {
			report("%s at %s: context error %v, but its context (deadline %v) had not ended", kind, r.rel(start), err, deadline)
		}
	}
	for i := range r.writes {
		w := &r.writes[i]
		check("write", w.start, w.deadline, w.ctxEnded, w.err)
	}
	for i := range r.reads {
		rd := &r.reads[i]
		check("read", rd.start, rd.deadline, rd.ctxEnded, rd.err)
	}
}

// typedError: every error wraps phpsession.ErrSession and one of the kinds
// a caller can act on.
func typedError(err error) bool {
	if !errors.Is(err, phpsession.ErrSession) {
		return false
	}
	for _, k := range knownKinds() {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

func (r *run) checkLocks() {
	t := r.t
	t.Helper()
	deadline := time.Now().Add(lockExpiry + 3*time.Second)
	for {
		locks, err := r.top.lockKeys()
		if err != nil {
			t.Errorf("lock keys: %v", err)
			return
		}
		for k, pttl := range locks {
			if pttl < 0 || pttl > lockExpiry.Milliseconds() {
				t.Errorf("lock %s left behind with PTTL %d", k, pttl)
				return
			}
		}
		if len(locks) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("locks left behind: %v", locks)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *run) rel(ts time.Time) string { return ts.Format("15:04:05.000") }

func (r *run) errorSummary() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.summaryLocked()
}

func (r *run) summaryLocked() string {
	errs := map[string]int{}
	for i := range r.writes {
		if e := r.writes[i].err; e != nil {
			errs["write: "+errKind(e)]++
		}
	}
	for i := range r.reads {
		if e := r.reads[i].err; e != nil && !errors.Is(e, phpsession.ErrNotFound) {
			errs["read: "+errKind(e)]++
		}
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		fmt.Fprintf(&b, "%s ×%d; ", k, errs[k])
	}
	if b.Len() == 0 {
		return "no errors"
	}
	return b.String()
}

// errKind is the error text without the session id, for summaries.
func errKind(err error) string {
	var e *phpsession.Error
	if errors.As(err, &e) && e.Err != nil {
		s := e.Err.Error()
		if len(s) > 120 {
			s = s[:120]
		}
		return e.Op + ": " + s
	}
	return err.Error()
}

// lockKeysOn scans the nodes at addrs for lock keys and their PTTL.
func lockKeysOn(addrs ...string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, a := range addrs {
		keys, err := testenv.Do(a, "KEYS", "*"+phpsession.DefaultLockSuffix)
		if err != nil {
			return nil, err
		}
		for _, k := range strings.Split(keys, "\n") {
			if k == "" {
				continue
			}
			p, err := testenv.Do(a, "PTTL", k)
			if err != nil {
				return nil, err
			}
			n, _ := strconv.ParseInt(p, 10, 64)
			if n == -2 {
				continue
			}
			out[k] = n
		}
	}
	return out, nil
}
