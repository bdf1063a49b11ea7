package coordinator_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/coordinator"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/internal/fake"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

type rig struct {
	store *fake.Store
	memo  *cache.Memo[*actor.Doc]
	c     *coordinator.Coordinator

	batches, retries, passivated atomic.Int64
	gaps                         atomic.Int64 // fairness pauses (event.Gap)
}

// do queues op on the actor of id and waits for its answer or ctx.
func do(c *coordinator.Coordinator, ctx context.Context, id string, op *actor.Op) error {
	if err := c.Submit(ctx, id, op); err != nil {
		return err
	}
	return op.Wait(ctx)
}

// withManagerDefaults fills the zero fields of set with the values a
// Manager resolves by default (the actor package has no defaults).
func withManagerDefaults(set actor.Settings) actor.Settings {
	if set.MaxBatch == 0 {
		set.MaxBatch = phpsession.DefaultMaxBatch
	}
	if set.MaxHold == 0 {
		set.MaxHold = phpsession.DefaultMaxHold
	}
	if set.RenewAfter == 0 {
		set.RenewAfter = phpsession.DefaultLockExpiry / 3
	}
	if set.LockTimeout == 0 {
		set.LockTimeout = phpsession.DefaultLockTimeout
	}
	if set.LockLostRetries == 0 {
		set.LockLostRetries = phpsession.DefaultLockLostRetries
	}
	if set.IdleTimeout == 0 {
		set.IdleTimeout = phpsession.DefaultIdleTimeout
	}
	return set
}

func newRig(t *testing.T, set actor.Settings, maxActors int) *rig {
	t.Helper()
	set = withManagerDefaults(set)
	r := &rig{store: fake.NewStore(), memo: cache.New[*actor.Doc](10000, 64<<20)}
	r.store.OnInvalidate = r.memo.Invalidate
	env := &actor.Env{
		Store: r.store, Codec: actor.Codec{Format: codec.Format{Handler: codec.PHP}}, Memo: r.memo, Settings: set, Ctx: context.Background(),
		Events: event.Func(func(e event.Event) {
			switch e.Kind {
			case event.Batch:
				r.batches.Add(1)
			case event.LockLostRetry:
				r.retries.Add(1)
			case event.Gap:
				r.gaps.Add(1)
			case event.ActorStopped:
				if e.Passivated {
					r.passivated.Add(1)
				}
			}
		}),
	}
	r.c = coordinator.New(coordinator.Config{Env: env, MaxActors: maxActors})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.c.Close(ctx)
	})
	return r
}

func (r *rig) incr(ctx context.Context, id, key string, n int) error {
	return do(r.c, ctx, id, actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		return add(s, key, n)
	}))
}

func (r *rig) get(ctx context.Context, id, key string) (int, bool, error) {
	var v int
	var found bool
	err := do(r.c, ctx, id, actor.NewOp(ctx, event.Read, func(s *codec.Session, f bool) error {
		v, found = intVar(s, key), f
		return nil
	}))
	return v, found, err
}

// intVar returns the integer variable k of s (0 when missing).
func intVar(s *codec.Session, k string) int {
	v, ok, err := s.Get(k)
	if err != nil || !ok {
		return 0
	}
	n, _ := v.(codec.Int)
	return int(n)
}

// add adds n to the integer variable k of s.
func add(s *codec.Session, k string, n int) error {
	return s.Set(k, codec.Int(intVar(s, k)+n))
}

func TestUpdateReadDestroy(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	ctx := context.Background()
	_, found, err := r.get(ctx, "s1", "n")
	require.NoError(t, err)
	require.False(t, found)
	require.NoError(t, r.incr(ctx, "s1", "n", 5))
	v, found, err := r.get(ctx, "s1", "n")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, 5, v)
	raw, _ := r.store.Raw("s1")
	require.Equal(t, "n|i:5;", string(raw))

	op := actor.NewOp(ctx, event.Destroy, nil)
	require.NoError(t, do(r.c, ctx, "s1", op))
	require.True(t, op.Existed)
	_, ok := r.store.Raw("s1")
	require.False(t, ok)
	op = actor.NewOp(ctx, event.Destroy, nil)
	require.NoError(t, do(r.c, ctx, "s1", op))
	require.False(t, op.Existed)
}

func TestUnchangedUpdateOnlyTouches(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	ctx := context.Background()
	r.store.Put("s", []byte("a|i:1;"))
	require.NoError(t, do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(*codec.Session, bool) error { return nil })))
	require.EqualValues(t, 1, r.store.Writes[redisio.WriteTouch].Load())
	require.EqualValues(t, 0, r.store.Writes[redisio.WriteData].Load())
	// setting the same value re-encodes to the same bytes: still a touch
	require.NoError(t, do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		_ = s.Set("a", codec.Int(1))
		return nil
	})))
	require.EqualValues(t, 2, r.store.Writes[redisio.WriteTouch].Load())
}

func TestOpAtomicityErrorAndPanic(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	r.store.Delay = 2 * time.Millisecond // let ops pile up into one batch
	ctx := context.Background()
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
				_ = add(s, "n", 1)
				switch i % 3 {
				case 1:
					_ = add(s, "poison", 1)
					return boom
				case 2:
					_ = add(s, "poison", 1)
					panic("kaboom")
				}
				return nil
			}))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		switch i % 3 {
		case 0:
			require.NoError(t, err)
		case 1:
			require.ErrorIs(t, err, boom)
		case 2:
			require.ErrorIs(t, err, actor.ErrPanic)
		}
	}
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:10;", string(raw))
}

func TestBatchingCoalescesLocks(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	r.store.Delay = time.Millisecond
	ctx := context.Background()
	const n = 500
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, r.incr(ctx, "hot", "n", 1))
		}()
	}
	wg.Wait()
	raw, _ := r.store.Raw("hot")
	require.Equal(t, fmt.Sprintf("n|i:%d;", n), string(raw))
	locks := r.store.LockCalls.Load()
	t.Logf("%d updates in %d locked batches", n, locks)
	require.Less(t, locks, int64(n/4), "updates should share batches")
}

func TestReadAfterWriteInSameBatch(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	r.store.Delay = time.Millisecond
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		w := actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error { return add(s, "n", 1) })
		var seen int
		rd := actor.NewOp(ctx, event.Read, func(s *codec.Session, _ bool) error { seen = intVar(s, "n"); return nil })
		require.NoError(t, r.c.Submit(ctx, "s", w))
		require.NoError(t, r.c.Submit(ctx, "s", rd))
		require.NoError(t, w.Wait(ctx))
		require.NoError(t, rd.Wait(ctx))
		require.Equal(t, round+1, seen)
	}
}

func TestLostLockRetriesThenFails(t *testing.T) {
	r := newRig(t, actor.Settings{LockLostRetries: 2}, 0)
	ctx := context.Background()
	runs := 0
	r.store.StealNext.Store(1)
	err := do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		runs++
		return add(s, "n", 1)
	}))
	require.NoError(t, err)
	require.Equal(t, 2, runs, "fn re-runs after a lost lock")
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:1;", string(raw))

	r.store.StealNext.Store(10)
	err = r.incr(ctx, "s", "n", 1)
	require.ErrorIs(t, err, redisio.ErrLockLost)
	raw, _ = r.store.Raw("s")
	require.Equal(t, "n|i:1;", string(raw), "nothing written without the lock")
	require.EqualValues(t, 1+2, r.retries.Load())
}

func TestLockTimeout(t *testing.T) {
	r := newRig(t, actor.Settings{LockTimeout: 30 * time.Millisecond}, 0)
	ctx := context.Background()
	release, err := r.store.ForeignLock(ctx, "s")
	require.NoError(t, err)
	err = r.incr(ctx, "s", "n", 1)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	release()
	require.NoError(t, r.incr(ctx, "s", "n", 1))
}

func TestCachedReadsAvoidStoreAndDecode(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	ctx := context.Background()
	r.store.Put("s", []byte("n|i:7;"))
	_, _, err := r.get(ctx, "s", "n")
	require.NoError(t, err)
	// the session a read sees: a new pointer means a new decode
	seen := func() *codec.Session {
		var p *codec.Session
		require.NoError(t, do(r.c, ctx, "s", actor.NewOp(ctx, event.Read, func(s *codec.Session, _ bool) error { p = s; return nil })))
		return p
	}
	gets, first := r.store.Gets.Load(), seen()
	for i := 0; i < 100; i++ {
		v, _, err := r.get(ctx, "s", "n")
		require.NoError(t, err)
		require.Equal(t, 7, v)
	}
	require.Equal(t, gets, r.store.Gets.Load(), "hot reads must not hit the store")
	require.Same(t, first, seen(), "hot reads must not decode")
	// a foreign write invalidates
	r.store.Put("s", []byte("n|i:8;"))
	v, _, err := r.get(ctx, "s", "n")
	require.NoError(t, err)
	require.Equal(t, 8, v)
}

func TestCallerGivesUpBeforeStart(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	ctx := context.Background()
	release, err := r.store.ForeignLock(ctx, "s")
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	applied := false
	err = do(r.c, short, "s", actor.NewOp(short, event.Update, func(s *codec.Session, _ bool) error {
		applied = true
		return add(s, "x", 1)
	}))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	release()
	require.NoError(t, r.incr(ctx, "s", "n", 1))
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:1;", string(raw))
	require.False(t, applied)
}

// TestStress runs thousands of goroutines over few and many sessions with
// passivation after 1 ms of idleness, checks exact totals, mutual exclusion
// and that Close leaves no goroutine behind.
func TestStress(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sessions  int
		maxActors int
	}{
		{"few-sessions", 3, 0},
		{"many-sessions", 400, 0},
		{"capped", 200, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			r := newRig(t, actor.Settings{IdleTimeout: time.Millisecond}, tc.maxActors)
			const workers, perWorker = 2000, 5
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			var failed atomic.Int64
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perWorker; i++ {
						id := fmt.Sprintf("s%d", (w*7+i)%tc.sessions)
						if err := r.incr(ctx, id, "n", 1); err != nil {
							failed.Add(1)
							t.Error(err)
							return
						}
						if i%2 == 0 {
							if _, _, err := r.get(ctx, id, "n"); err != nil {
								t.Error(err)
							}
						}
					}
				}()
			}
			wg.Wait()
			require.Zero(t, failed.Load())
			total := 0
			for s := 0; s < tc.sessions; s++ {
				v, _, err := r.get(ctx, fmt.Sprintf("s%d", s), "n")
				require.NoError(t, err)
				total += v
			}
			require.Equal(t, workers*perWorker, total)
			require.Zero(t, r.store.Overlap.Load(), "two holders of one lock")
			if tc.maxActors > 0 {
				require.LessOrEqual(t, r.c.Live(), tc.maxActors)
			}
			t.Logf("batches=%d passivated=%d live=%d", r.batches.Load(), r.passivated.Load(), r.c.Live())
			require.NoError(t, r.c.Close(ctx))
			require.Zero(t, r.c.Live())
			waitGoroutines(t, before)
		})
	}
}

func TestCloseFinishesQueuedWork(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	r.store.Delay = 200 * time.Microsecond
	ctx := context.Background()
	var ops []*actor.Op
	for i := 0; i < 300; i++ {
		op := actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error { return add(s, "n", 1) })
		require.NoError(t, r.c.Submit(ctx, fmt.Sprintf("s%d", i%5), op))
		ops = append(ops, op)
	}
	require.NoError(t, r.c.Close(ctx))
	for _, op := range ops {
		select {
		case <-op.Done():
			require.NoError(t, op.Err())
		default:
			t.Fatal("op left unanswered after Close")
		}
	}
	total := 0
	for i := 0; i < 5; i++ {
		raw, _ := r.store.Raw(fmt.Sprintf("s%d", i))
		var n int
		fmt.Sscanf(string(raw), "n|i:%d;", &n)
		total += n
	}
	require.Equal(t, 300, total)
	require.ErrorIs(t, r.incr(ctx, "s0", "n", 1), coordinator.ErrClosed)
}

// waitGoroutines waits (without sleeping as synchronisation of the result:
// it polls with Gosched) until the goroutine count is back to the baseline.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	testenv.WaitGoroutines(t, base, testenv.HangGuard)
}

// TestFairnessLeavesGaps checks the lock schedule under continuous load on
// one session against what the actor guarantees whatever the machine's
// load, from the recorded lock holds:
//
//   - once the lock has been busy for Window-Gap since the last free Gap
//     (counted from the first hold after it), the next hold starts at least
//     Gap after the last one ended: the actor checks before each locked
//     batch, after the last release, so a stalled machine only makes it
//     pause earlier;
//   - each pause (event.Gap) leaves the lock free for at least Gap: it waits
//     on a timer from the last release, and timers never fire early;
//   - pauses recur: the load runs until twenty were taken.
//
// How long the busy stretches are in wall-clock time is not judged: a
// machine that stalls the actor while it holds the lock stretches them, and
// no schedule prevents that.
func TestFairnessLeavesGaps(t *testing.T) {
	gap, window, _ := actor.FairnessFromPHP(2*time.Millisecond, 10)
	r := newRig(t, actor.Settings{Gap: gap, Window: window}, 0)
	r.store.Record = true
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				assert.NoError(t, r.incr(ctx, "hot", "n", 1))
			}
		}()
	}
	const wantPauses = 20
	deadline := time.Now().Add(testenv.HangGuard)
	for r.gaps.Load() < wantPauses && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	pauses := r.gaps.Load()
	require.GreaterOrEqual(t, pauses, int64(wantPauses), "fairness pauses in %v of continuous load: none recur", testenv.HangGuard)
	iv := r.store.Intervals()
	start := iv[0].From // first hold after the last free gap
	freeGaps, due := 0, 0
	for i := 1; i < len(iv); i++ {
		free := iv[i].From.Sub(iv[i-1].To)
		if busy := iv[i-1].To.Sub(start); busy >= window-gap {
			due++
			if free < gap {
				t.Errorf("hold %d: the lock was busy for %v (≥ Window-Gap %v) since the last free gap, then free only %v before the next hold (< Gap %v)",
					i, busy, window-gap, free, gap)
			}
		}
		if free >= gap {
			freeGaps++
			start = iv[i].From
		}
	}
	t.Logf("gap=%v window=%v: %d holds, %d pauses, %d free gaps ≥ gap, %d stretches reached Window-Gap",
		gap, window, len(iv), pauses, freeGaps, due)
	// the last pause may not have been followed by a hold yet
	require.GreaterOrEqual(t, int64(freeGaps), pauses-1, "pauses that left the lock free for less than Gap")
}

func TestFailedBatchWritesNothing(t *testing.T) {
	r := newRig(t, actor.Settings{}, 0)
	ctx := context.Background()
	r.store.Put("s", []byte("a|i:1;"))
	err := do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		_ = s.Set("a", codec.Int(2))
		return errors.New("no")
	}))
	require.Error(t, err)
	for mode := range r.store.Writes {
		if redisio.WriteMode(mode) != redisio.WriteNone {
			require.Zero(t, r.store.Writes[mode].Load(), "mode %v", redisio.WriteMode(mode))
		}
	}
	raw, _ := r.store.Raw("s")
	require.Equal(t, "a|i:1;", string(raw))
}

// newCASRig is a rig whose store commits lock-free (fake.Store.CAS).
func newCASRig(t *testing.T, set actor.Settings) *rig {
	r := newRig(t, set, 0)
	r.store.CAS = true
	return r
}

// An update on a store that supports it commits with one check-and-write
// and never takes the lock; a destroy still takes it.
func TestLockFreeCommitsWithoutLock(t *testing.T) {
	r := newCASRig(t, actor.Settings{})
	ctx := context.Background()
	r.store.Put("s", []byte("n|i:1;"))
	require.NoError(t, r.incr(ctx, "s", "n", 1))
	require.NoError(t, r.incr(ctx, "s", "n", 1))
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:3;", string(raw))
	require.Zero(t, r.store.LockCalls.Load(), "no lock taken")
	require.EqualValues(t, 2, r.store.CASWrites[redisio.WriteData].Load())
	require.EqualValues(t, 2, r.batches.Load())

	op := actor.NewOp(ctx, event.Destroy, nil)
	require.NoError(t, do(r.c, ctx, "s", op))
	require.True(t, op.Existed)
	require.EqualValues(t, 1, r.store.LockCalls.Load(), "destroy takes the lock")
}

// NoLockFree makes every batch take the lock even where the store could
// commit without it.
func TestNoLockFreeTakesTheLock(t *testing.T) {
	r := newCASRig(t, actor.Settings{NoLockFree: true})
	ctx := context.Background()
	require.NoError(t, r.incr(ctx, "s", "n", 1))
	require.EqualValues(t, 1, r.store.LockCalls.Load())
	require.Zero(t, r.store.CASCalls.Load())
}

// A change under a lock-free batch (a writer that does not lock) makes the
// check-and-write refuse; the batch re-runs on the new data, so the change
// is kept and the update applied once on top.
func TestLockFreeRerunsOnChangedData(t *testing.T) {
	r := newCASRig(t, actor.Settings{})
	ctx := context.Background()
	r.store.Put("s", []byte("n|i:1;"))
	runs := 0
	err := do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		runs++
		if runs == 1 {
			r.store.Put("s", []byte("n|i:100;")) // between the read and the write
		}
		return add(s, "n", 1)
	}))
	require.NoError(t, err)
	require.Equal(t, 2, runs, "re-run on the changed data")
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:101;", string(raw))
	require.EqualValues(t, 1, r.store.CASChanged.Load())
	require.Zero(t, r.store.LockCalls.Load())
}

// A held lock makes the batch wait for its release without taking it, then
// send the same write; what the holder wrote meanwhile is kept.
func TestLockFreeWaitsOutHolder(t *testing.T) {
	r := newCASRig(t, actor.Settings{})
	ctx := context.Background()
	r.store.Put("s", []byte("n|i:1;"))
	require.NoError(t, r.incr(ctx, "s", "n", 1)) // the actor now knows the session
	release, err := r.store.ForeignLock(ctx, "s")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- r.incr(ctx, "s", "n", 10) }()
	deadline := time.Now().Add(30 * time.Second)
	for r.store.Waits.Load() == 0 {
		require.True(t, time.Now().Before(deadline), "the batch never waited for the holder")
		runtime.Gosched()
	}
	r.store.Put("s", []byte("n|i:50;")) // the holder's write
	release()
	require.NoError(t, <-done)
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:60;", string(raw))
	require.EqualValues(t, 1, r.store.CASHeld.Load())
	require.EqualValues(t, 1, r.store.CASChanged.Load(), "the holder's write is seen, and applied on")
	require.Zero(t, r.store.LockCalls.Load(), "Go never took the lock")
}

// A writer that changes the session before every try cannot starve a
// batch: after maxConflicts (8) changes without a holder the batch takes
// the lock and runs once more under it.
func TestLockFreeFallsBackToLock(t *testing.T) {
	r := newCASRig(t, actor.Settings{})
	ctx := context.Background()
	r.store.Put("s", []byte("n|i:0;"))
	runs := 0
	err := do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		runs++
		r.store.Put("s", []byte(fmt.Sprintf("n|i:%d;", runs*100)))
		return add(s, "n", 1)
	}))
	require.NoError(t, err)
	require.EqualValues(t, 9, r.store.CASChanged.Load(), "8 re-runs allowed, the 9th change sends it to the lock")
	require.EqualValues(t, 1, r.store.LockCalls.Load())
	require.Equal(t, 10, runs, "9 lock-free runs and one under the lock")
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:901;", string(raw), "the locked run applies on what it read under the lock")
}

// Concurrent updates on one session share lock-free commits; every one is
// applied exactly once.
func TestLockFreeBatching(t *testing.T) {
	r := newCASRig(t, actor.Settings{})
	r.store.Delay = time.Millisecond // let ops pile up behind each commit
	ctx := context.Background()
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.incr(ctx, "hot", "n", 1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	raw, _ := r.store.Raw("hot")
	require.Equal(t, fmt.Sprintf("n|i:%d;", n), string(raw))
	require.Zero(t, r.store.LockCalls.Load())
	calls := r.store.CASCalls.Load()
	t.Logf("%d updates in %d lock-free commits", n, calls)
	require.Less(t, calls, int64(n/4), "updates should share commits")
}

// An update whose fn fails leaves no trace; a lock-free batch with only
// failed updates writes nothing.
func TestLockFreeFailedUpdateWritesNothing(t *testing.T) {
	r := newCASRig(t, actor.Settings{})
	ctx := context.Background()
	r.store.Put("s", []byte("n|i:1;"))
	boom := errors.New("boom")
	err := do(r.c, ctx, "s", actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		_ = add(s, "n", 5)
		return boom
	}))
	require.ErrorIs(t, err, boom)
	raw, _ := r.store.Raw("s")
	require.Equal(t, "n|i:1;", string(raw))
	require.Zero(t, r.store.CASWrites[redisio.WriteData].Load())
}
