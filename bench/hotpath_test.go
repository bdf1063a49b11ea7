package bench_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/bench"
	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/coordinator"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// Hot-path benchmarks. The first group runs the actor and coordinator over
// an in-memory store, so it measures the in-process cost alone (mailbox,
// batching, clone, apply, encode); the second runs the whole Manager
// against a real redis-server. Run with -benchmem.

// memStore is an actor.Store that keeps sessions in memory with no latency
// and no lock semantics (every batch takes its path through the locked
// code, which the lock-free path shares apply and encode with).
type memStore struct {
	mu   sync.Mutex
	data map[string][]byte
}

func (m *memStore) LockAndReadUntracked(_ context.Context, id string) (*redisio.Lock, redisio.Data, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.data[id]
	return &redisio.Lock{ID: id}, redisio.Data{Bytes: d, Found: ok}, nil
}
func (m *memStore) Renew(context.Context, *redisio.Lock) error   { return nil }
func (m *memStore) Release(context.Context, *redisio.Lock) error { return nil }
func (m *memStore) Commit(_ context.Context, l *redisio.Lock, mode redisio.WriteMode, data []byte) (redisio.CommitResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch mode {
	case redisio.WriteData:
		m.data[l.ID] = data
	case redisio.WriteDelete:
		delete(m.data, l.ID)
	}
	return redisio.CommitResult{}, nil
}
func (m *memStore) Get(_ context.Context, id string) (redisio.Data, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.data[id]
	return redisio.Data{Bytes: d, Found: ok}, nil
}
func (m *memStore) GetUntracked(ctx context.Context, id string) (redisio.Data, error) {
	return m.Get(ctx, id)
}
func (m *memStore) CanWriteIfUnlocked(string) bool { return false }
func (m *memStore) WriteIfUnlocked(context.Context, string, redisio.Data, redisio.WriteMode, []byte) (redisio.CASResult, error) {
	return redisio.CASResult{}, errors.New("memStore: no lock-free writes")
}
func (m *memStore) WaitUnlocked(context.Context, string) error  { return nil }
func (m *memStore) Touch(context.Context, string) (bool, error) { return true, nil }

// memCoordinator returns a coordinator over a memStore seeded with one
// 1 KiB session "s", and a counter of batches.
func memCoordinator(b *testing.B) (*coordinator.Coordinator, *atomic.Int64) {
	st := &memStore{data: map[string][]byte{"s": bench.SeedSession(1024)}}
	var batches atomic.Int64
	env := &actor.Env{
		Store: st,
		Codec: actor.Codec{Format: codec.Format{Handler: codec.PHP}},
		Settings: actor.Settings{
			MaxBatch:    phpsession.DefaultMaxBatch,
			MaxHold:     phpsession.DefaultMaxHold,
			RenewAfter:  phpsession.DefaultLockExpiry / 3,
			LockTimeout: phpsession.DefaultLockTimeout,
			IdleTimeout: phpsession.DefaultIdleTimeout,
		},
		Memo: cache.New[*actor.Doc](1000, 64<<20),
		Events: event.Func(func(e event.Event) {
			if e.Kind == event.Batch {
				batches.Add(1)
			}
		}),
		Ctx: context.Background(),
	}
	c := coordinator.New(coordinator.Config{Env: env})
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, &batches
}

// do queues op on the actor of id and waits for its answer.
func do(c *coordinator.Coordinator, ctx context.Context, id string, op *actor.Op) error {
	if err := c.Submit(ctx, id, op); err != nil {
		return err
	}
	return op.Wait(ctx)
}

func incrFn(s *codec.Session, _ bool) error {
	var n int64
	if v, ok, _ := s.Get("n"); ok {
		n = int64(v.(codec.Int))
	}
	return s.Set("n", codec.Int(n+1))
}

// BenchmarkActorSend: one Read op through the coordinator and back (memo
// hit), from one goroutine — the fixed cost of a round trip to an actor.
func BenchmarkActorSend(b *testing.B) {
	c, _ := memCoordinator(b)
	ctx := context.Background()
	read := func(*codec.Session, bool) error { return nil }
	if err := do(c, ctx, "s", actor.NewOp(ctx, event.Read, read)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := do(c, ctx, "s", actor.NewOp(ctx, event.Read, read)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkActorSendParallel: Read ops from GOMAXPROCS×8 goroutines on one
// session.
func BenchmarkActorSendParallel(b *testing.B) {
	c, _ := memCoordinator(b)
	ctx := context.Background()
	read := func(*codec.Session, bool) error { return nil }
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := do(c, ctx, "s", actor.NewOp(ctx, event.Read, read)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBatchApply: Update ops (increment one key of a 1 KiB session)
// from GOMAXPROCS×32 goroutines on one session over the in-memory store:
// batching, clone, apply, encode and answer, with no network. Each
// sub-benchmark waits with a context that cannot end (ctx=background) or
// one that can (ctx=cancel, as a request's context); cpu-µs/op is this
// process's CPU time per op.
func BenchmarkBatchApply(b *testing.B) {
	for _, bc := range benchContexts {
		b.Run("ctx="+bc.name, func(b *testing.B) {
			c, batches := memCoordinator(b)
			ctx, cancel := bc.ctx()
			defer cancel()
			b.ReportAllocs()
			b.SetParallelism(32)
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := do(c, ctx, "s", actor.NewOp(ctx, event.Update, incrFn)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			cpu.stop()
			if n := batches.Load(); n > 0 {
				b.ReportMetric(float64(b.N)/float64(n), "ops/batch")
			}
		})
	}
}

// benchContexts are the two kinds of context a caller waits with: one
// that cannot end (no Done channel: the wait is a plain receive) and one
// that can, like an HTTP request's (the wait also watches ctx.Done()).
var benchContexts = []struct {
	name string
	ctx  func() (context.Context, context.CancelFunc)
}{
	{"background", func() (context.Context, context.CancelFunc) { return context.Background(), func() {} }},
	{"cancel", func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
}

// cpuMeter reports this process's CPU time per op of a benchmark as
// cpu-µs/op (getrusage: user+system of every thread), which moves less
// than ns/op when other processes load the machine.
type cpuMeter struct {
	b  *testing.B
	t0 time.Duration
}

func startCPU(b *testing.B) cpuMeter {
	b.ResetTimer()
	return cpuMeter{b: b, t0: selfCPU()}
}

func (m cpuMeter) stop() {
	m.b.StopTimer()
	m.b.ReportMetric(float64((selfCPU()-m.t0).Nanoseconds())/1e3/float64(m.b.N), "cpu-µs/op")
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBatchApplySerial: one Update at a time (a batch of one each).
func BenchmarkBatchApplySerial(b *testing.B) {
	c, _ := memCoordinator(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := do(c, ctx, "s", actor.NewOp(ctx, event.Update, incrFn)); err != nil {
			b.Fatal(err)
		}
	}
}

// managerOn opens a Manager on a fresh redis-server with session "s"
// seeded.
func managerOn(b *testing.B) (*phpsession.Manager, *testenv.Redis) {
	r := testenv.StartRedis(b)
	r.MustDo("SETEX", bench.KeyPrefix+"s", "86400", string(bench.SeedSession(1024))+"n|i:0;")
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close(context.Background()) })
	return m, r
}

// BenchmarkCachedGet: Manager.GetValue of one key of a warm session (no
// Redis round trip, no decode), from one goroutine.
func BenchmarkCachedGet(b *testing.B) {
	m, _ := managerOn(b)
	ctx := context.Background()
	if _, err := m.GetValue(ctx, "s", "n"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.GetValue(ctx, "s", "n"); err != nil {
			b.Fatal(err)
		}
	}
	st := m.Stats()
	b.ReportMetric(float64(st.CacheHits)/float64(st.CacheHits+st.CacheMisses), "hit-ratio")
}

// BenchmarkCachedGetParallel: the same from GOMAXPROCS×8 goroutines.
func BenchmarkCachedGetParallel(b *testing.B) {
	m, _ := managerOn(b)
	ctx := context.Background()
	if _, err := m.GetValue(ctx, "s", "n"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.GetValue(ctx, "s", "n"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkNetworkGet is the reference for BenchmarkCachedGet: one GET
// round trip (rueidis, no cache, no decode).
func BenchmarkNetworkGet(b *testing.B) {
	r := testenv.StartRedis(b)
	r.MustDo("SET", "k", string(bench.SeedSession(1024)))
	c, err := bench.NewRueidisClient(r.URL(), false)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cmd := c.B().Get().Key("k").Build().Pin()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Do(ctx, cmd).Error(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHotUpdate: Manager.Update (increment) from GOMAXPROCS×32
// goroutines on one session against redis-server; reports Redis commands
// per update and this process's CPU per update (cpu-µs/op), with each of
// benchContexts. BenchmarkHotUpdateCeiling is the same load through the
// bare batching loop (bench.Ceiling): compare their cpu-µs/op.
func BenchmarkHotUpdate(b *testing.B) {
	for _, bc := range benchContexts {
		b.Run("ctx="+bc.name, func(b *testing.B) {
			m, r := managerOn(b)
			ctx, cancel := bc.ctx()
			defer cancel()
			tg := &bench.LibTarget{M: m}
			hotIncr(b, r, tg, ctx)
			b.ReportMetric(m.Stats().OpsPerBatch(), "ops/batch")
		})
	}
}

// BenchmarkHotUpdateCeiling is BenchmarkHotUpdate through the bare
// batching loop (bench.Ceiling), with a context that can end.
func BenchmarkHotUpdateCeiling(b *testing.B) {
	r := testenv.StartRedis(b)
	r.MustDo("SETEX", bench.KeyPrefix+"s", "86400", string(bench.SeedSession(1024))+"n|i:0;")
	tg, err := bench.NewCeiling(r.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hotIncr(b, r, tg, ctx)
}

// BenchmarkHotUpdateB1 is BenchmarkHotUpdate through baseline B1.
func BenchmarkHotUpdateB1(b *testing.B) {
	r := testenv.StartRedis(b)
	tg, err := bench.NewPerRequest(r.URL(), bench.DefaultCodec())
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	hotIncr(b, r, tg, context.Background())
}

// hotIncr increments key "n" of session "s" through tg from 32 goroutines
// per core and reports Redis commands, allocations and this process's CPU
// per update.
func hotIncr(b *testing.B, r *testenv.Redis, tg bench.Target, ctx context.Context) {
	before := commandCalls(b, r)
	b.ReportAllocs()
	b.SetParallelism(32)
	cpu := startCPU(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := tg.Incr(ctx, "s", "n"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	cpu.stop()
	b.ReportMetric(float64(commandCalls(b, r)-before)/float64(b.N), "cmds/op")
}

// commandCalls sums INFO commandstats calls (INFO itself excluded).
func commandCalls(b *testing.B, r *testenv.Redis) int64 {
	info := r.MustDo("INFO", "commandstats")
	var total int64
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "cmdstat_") || strings.HasPrefix(line, "cmdstat_info:") {
			continue
		}
		i := strings.Index(line, "calls=")
		j := strings.Index(line[i:], ",")
		n, err := strconv.ParseInt(line[i+6:i+j], 10, 64)
		if err != nil {
			b.Fatal(errors.New("parse " + line))
		}
		total += n
	}
	return total
}

// TestCachedGetAllocFree: a GetValue served from the memo allocates
// nothing.
func TestCachedGetAllocFree(t *testing.T) {
	r := testenv.StartRedis(t)
	r.MustDo("SETEX", bench.KeyPrefix+"s", "86400", string(bench.SeedSession(1024))+"n|i:7;")
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close(context.Background()) }()
	ctx := context.Background()
	for range 3 { // the first reads fill and revalidate the memo
		if _, err := m.GetValue(ctx, "s", "n"); err != nil {
			t.Fatal(err)
		}
	}
	hits := m.Stats().CacheHits
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := m.GetValue(ctx, "s", "n"); err != nil {
			t.Fatal(err)
		}
	})
	if m.Stats().CacheHits-hits < 200 {
		t.Fatalf("only %d of the reads were cache hits", m.Stats().CacheHits-hits)
	}
	if allocs != 0 {
		t.Fatalf("cached GetValue: %.1f allocations per call, want 0", allocs)
	}
}
