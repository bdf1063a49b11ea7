package coordinator_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/coordinator"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// hookStore is a real redisio.Store whose tracked-commit steps call hooks,
// so that a test can act between them.
type hookStore struct {
	*redisio.Store
	beforeLock, afterLock, afterCommit atomic.Pointer[func()]
	watched, tracked                   atomic.Int64
}

func run(p *atomic.Pointer[func()]) {
	if f := p.Swap(nil); f != nil {
		(*f)()
	}
}

func (h *hookStore) LockWatched(ctx context.Context, id string, data []byte) (*redisio.Lock, *redisio.Watch, error) {
	run(&h.beforeLock)
	l, w, err := h.Store.LockWatched(ctx, id, data)
	h.watched.Add(1)
	run(&h.afterLock)
	return l, w, err
}

func (h *hookStore) CommitTracked(ctx context.Context, l *redisio.Lock, data []byte) (redisio.CommitResult, error) {
	res, err := h.Store.CommitTracked(ctx, l, data)
	h.tracked.Add(1)
	run(&h.afterCommit)
	return res, err
}

type trackedRig struct {
	r     *testenv.Redis
	store *hookStore
	memo  *cache.Memo[*actor.Doc]
	c     *coordinator.Coordinator
}

func newTrackedRig(t *testing.T, cfg redisio.Config, redisArgs ...string) *trackedRig {
	t.Helper()
	r := testenv.StartRedis(t, redisArgs...)
	s, err := redisio.Open(rueidis.ClientOption{InitAddress: []string{r.Addr}}, cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	tr := &trackedRig{r: r, store: &hookStore{Store: s}, memo: cache.New[*actor.Doc](100, 256<<20)}
	cancel := s.OnInvalidate(tr.memo.Invalidate)
	t.Cleanup(cancel)
	env := &actor.Env{
		Store: tr.store, Codec: actor.Codec{Format: codec.Format{Handler: codec.PHP}}, Memo: tr.memo,
		Settings: withManagerDefaults(actor.Settings{}), Ctx: context.Background(),
		Events: event.Discard,
	}
	tr.c = coordinator.New(coordinator.Config{Env: env})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = tr.c.Close(ctx)
	})
	return tr
}

// bigSession is a PHP session over redisio.TrackedOver bytes with counter n.
func bigSession(n int) string {
	blob := strings.Repeat("x", 3*redisio.TrackedOver)
	return fmt.Sprintf("blob|s:%d:\"%s\";n|i:%d;", len(blob), blob, n)
}

// storedN is n as Redis holds it (-1: no session).
func (tr *trackedRig) storedN(t *testing.T, id string) int {
	t.Helper()
	v, err := tr.r.Do("GET", "PHPREDIS_SESSION:"+id)
	if err != nil || v == "" {
		return -1
	}
	s, err := codec.Format{Handler: codec.PHP}.Decode([]byte(v), nil)
	require.NoError(t, err)
	return intVar(s, "n")
}

func (tr *trackedRig) incr(ctx context.Context, id string) error {
	return do(tr.c, ctx, id, actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error { return add(s, "n", 1) }))
}

// steady writes a long session s through two tracked commits, so that the
// memo's copy of it is fresh (the steady state of a long session).
func (tr *trackedRig) steady(t *testing.T, ctx context.Context) {
	t.Helper()
	tr.r.MustDo("SET", "PHPREDIS_SESSION:s", bigSession(0))
	require.NoError(t, tr.incr(ctx, "s"))
	require.NoError(t, tr.incr(ctx, "s"))
	_, fresh := tr.memo.Peek("s")
	require.True(t, fresh, "steady state")
}

// readN reads n through the actor (memo or Redis, as a Get does).
func (tr *trackedRig) readN(t *testing.T, ctx context.Context, id string) int {
	t.Helper()
	var v int
	var found bool
	require.NoError(t, do(tr.c, ctx, id, actor.NewOp(ctx, event.Read, func(s *codec.Session, f bool) error {
		v, found = intVar(s, "n"), f
		return nil
	})))
	if !found {
		return -1
	}
	return v
}

// TestTrackedCommitSteadyStateReadsNothing: once a long session was written
// by the tracked commit, the next writes take the lock and write without
// reading it (no GET in Redis), and reads are served from the memo.
func TestTrackedCommitSteadyStateReadsNothing(t *testing.T) {
	tr := newTrackedRig(t, redisio.Config{})
	ctx := context.Background()
	tr.r.MustDo("SET", "PHPREDIS_SESSION:s", bigSession(0))
	for range 3 {
		require.NoError(t, tr.incr(ctx, "s"))
	}
	before, err := testenv.CommandCalls(tr.r.Addr)
	require.NoError(t, err)
	for range 5 {
		require.NoError(t, tr.incr(ctx, "s"))
	}
	require.Equal(t, 8, tr.readN(t, ctx, "s"))
	after, err := testenv.CommandCalls(tr.r.Addr)
	require.NoError(t, err)
	require.Equal(t, before["get"]+5, after["get"], "GETs: only the lock check inside the 5 scripts")
	require.Equal(t, before["evalsha"]+5, after["evalsha"])
	require.Zero(t, after["bitop"]-before["bitop"], "no staged comparison")
	require.Equal(t, 8, tr.storedN(t, "s"))
	e, fresh := tr.memo.Peek("s")
	require.True(t, fresh, "the written copy is tracked")
	require.Equal(t, bigSession(8), string(e.Raw))
}

// TestTrackedCommitAdversarial: another client acts between the steps of a
// tracked commit of a long session; no update is lost and a read right
// after never returns stale data. Each case fails without the step it
// names: the memo check after the lock, the re-arm in the commit script,
// the purge at reconnection, the Watch count.
func TestTrackedCommitAdversarial(t *testing.T) {
	const key = "PHPREDIS_SESSION:s"
	foreign := func(tr *trackedRig, n int) func() {
		return func() { tr.r.MustDo("SET", key, bigSession(n)) }
	}
	// seen runs f, then a round trip on our connection, whose reply comes
	// after the invalidations Redis sent it for f's writes: client tracking
	// reports a foreign write to us that late, and no sooner.
	seen := func(tr *trackedRig, f func()) func() {
		return func() {
			f()
			c := tr.store.Client()
			if err := c.Do(context.Background(), c.B().Ping().Build()).Error(); err != nil {
				panic(err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		// arm sets the hooks for the third increment.
		arm func(tr *trackedRig)
		// after the third increment: n read at once, then n after a fourth
		third, fourth int
	}{
		{"foreign write before the lock", func(tr *trackedRig) {
			f := foreign(tr, 100)
			tr.store.beforeLock.Store(&f)
		}, 101, 102},
		{"unlocked write during the hold", func(tr *trackedRig) {
			// a writer that ignores the lock (PHP with locking off): the
			// batch computed before it overwrites it, as PHP itself would
			// (3), unless its invalidation arrived before the memo check
			// after the lock (then the batch reads it: 101)
			f := foreign(tr, 100)
			tr.store.afterLock.Store(&f)
		}, 3, 4},
		{"unlocked write during the hold, seen before the memo check", func(tr *trackedRig) {
			f := seen(tr, foreign(tr, 100))
			tr.store.afterLock.Store(&f)
		}, 101, 102},
		{"foreign write right after the commit, its invalidation seen before the memo is updated", func(tr *trackedRig) {
			f := seen(tr, foreign(tr, 100))
			tr.store.afterCommit.Store(&f)
		}, 100, 101},
		{"connection killed, then a foreign write, before the lock", func(tr *trackedRig) {
			f := func() {
				tr.r.MustDo("CLIENT", "KILL", "TYPE", "normal")
				tr.r.MustDo("SET", key, bigSession(100))
			}
			tr.store.beforeLock.Store(&f)
		}, 101, 102},
		{"connection killed during the hold, foreign write after the commit", func(tr *trackedRig) {
			kill := func() { tr.r.MustDo("CLIENT", "KILL", "TYPE", "normal") }
			tr.store.afterLock.Store(&kill)
			f := seen(tr, foreign(tr, 100))
			tr.store.afterCommit.Store(&f)
		}, 100, 101},
		{"flush before the lock", func(tr *trackedRig) {
			f := func() { tr.r.MustDo("FLUSHALL") }
			tr.store.beforeLock.Store(&f)
		}, 1, 2},
		{"flush during the hold", func(tr *trackedRig) {
			f := func() { tr.r.MustDo("FLUSHALL") }
			tr.store.afterLock.Store(&f)
		}, 1, 2},
		{"staged data deleted during the hold", func(tr *trackedRig) {
			f := func() {
				keys := tr.r.MustDo("KEYS", redisio.MarkerPrefix+"*")
				if keys == "" {
					panic("the new bytes were not staged with the lock")
				}
				for _, k := range strings.Split(keys, "\n") {
					tr.r.MustDo("DEL", k)
				}
			}
			tr.store.afterLock.Store(&f)
		}, 3, 4},
		{"restart during the hold", func(tr *trackedRig) {
			f := func() { tr.r.Restart() }
			tr.store.afterLock.Store(&f)
		}, 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrackedRig(t, redisio.Config{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			tr.steady(t, ctx)
			tc.arm(tr)
			require.NoError(t, tr.incr(ctx, "s"))
			third := tr.readN(t, ctx, "s")
			require.Equal(t, tr.storedN(t, "s"), third, "read right after")
			if tc.name == "unlocked write during the hold" && third == 101 {
				tc.third, tc.fourth = 101, 102
			}
			require.Equal(t, tc.third, third)
			require.NoError(t, tr.incr(ctx, "s"))
			require.Equal(t, tc.fourth, tr.readN(t, ctx, "s"))
			require.Equal(t, tc.fourth, tr.storedN(t, "s"))
			require.Positive(t, tr.store.tracked.Load())
		})
	}
}

// TestTrackedCommitKeyExpiry: a session that expired in Redis (not yet
// deleted: no invalidation is sent until Redis deletes it) is not taken
// from the memo: the memo entry carries the key's expiry.
func TestTrackedCommitKeyExpiry(t *testing.T) {
	tr := newTrackedRig(t, redisio.Config{TTL: time.Second}, "--enable-debug-command", "yes")
	ctx := context.Background()
	tr.r.MustDo("DEBUG", "SET-ACTIVE-EXPIRE", "0")
	tr.r.MustDo("SET", "PHPREDIS_SESSION:s", bigSession(0))
	require.NoError(t, tr.incr(ctx, "s"))
	require.NoError(t, tr.incr(ctx, "s"))
	e, fresh := tr.memo.Peek("s")
	require.True(t, fresh)
	// wait for the key's expiry (Redis keeps it until it is touched)
	for time.Now().Before(e.Expires.Add(1100 * time.Millisecond)) {
		time.Sleep(50 * time.Millisecond)
	}
	require.NoError(t, tr.incr(ctx, "s"))
	require.Equal(t, 1, tr.storedN(t, "s"), "written over an empty session")
	require.Equal(t, 1, tr.readN(t, ctx, "s"))
}

// TestTrackedCommitAppliesBeforeTheLock: after another client changed a
// long session, the next tracked batch reads it (with tracking) and
// decodes, applies and encodes it before taking the lock, so PHP waits only
// for the lock's and the commit's round trips, not for that work.
func TestTrackedCommitAppliesBeforeTheLock(t *testing.T) {
	const key = "PHPREDIS_SESSION:s"
	tr := newTrackedRig(t, redisio.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr.steady(t, ctx)

	// A foreign write, and a round trip on our connection behind it: its
	// invalidation has reached the memo.
	tr.r.MustDo("SET", key, bigSession(100))
	c := tr.store.Client()
	require.NoError(t, c.Do(ctx, c.B().Ping().Build()).Error())
	_, fresh := tr.memo.Peek("s")
	require.False(t, fresh, "the foreign write was seen")

	tracked := tr.store.tracked.Load()
	var runs, locked int
	op := actor.NewOp(ctx, event.Update, func(s *codec.Session, _ bool) error {
		runs++
		if tr.r.MustDo("EXISTS", key+"_LOCK") == "1" {
			locked++
		}
		return add(s, "n", 1)
	})
	require.NoError(t, do(tr.c, ctx, "s", op))
	require.Equal(t, 1, runs, "applied once")
	require.Zero(t, locked, "applied while the lock was held")
	require.Equal(t, tracked+1, tr.store.tracked.Load(), "written by the tracked commit")
	require.Equal(t, 101, tr.storedN(t, "s"))
	require.Equal(t, 101, tr.readN(t, ctx, "s"))
}
