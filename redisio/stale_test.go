package redisio

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// staleReads checks "no stale read after we acquired the lock": a writer
// (another client, standing for PHP) commits round i under the lock; the
// reader, whose client-side cache holds round i-1, then takes the lock and
// reads through the cache. Every cached read must show round i. The reader
// primes its cache after each round, so a missed or late invalidation would
// show up as a stale cache hit.
func staleReads(t *testing.T, writer, reader *Store, pairs, rounds int) {
	staleReadsLock(t, writer, reader, pairs, rounds, reader.LockAndRead)
}

// staleReadsLock is staleReads with the reader locking through lock.
func staleReadsLock(t *testing.T, writer, reader *Store, pairs, rounds int, lock func(context.Context, string) (*Lock, Data, error)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stale, hits, checks atomic.Int64
	var wg sync.WaitGroup
	for p := 0; p < pairs; p++ {
		id := "stale" + strconv.Itoa(p)
		written := make(chan int)
		checked := make(chan struct{})
		wg.Add(2)
		go func() { // writer
			defer wg.Done()
			defer close(written)
			for i := 1; i <= rounds; i++ {
				l, _, err := writer.LockAndRead(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := writer.Commit(ctx, l, WriteData, counterBytes(i)); err != nil {
					t.Error(err)
					return
				}
				select {
				case written <- i:
				case <-ctx.Done():
					return
				}
				select {
				case <-checked:
				case <-ctx.Done():
					return
				}
			}
		}()
		go func() { // reader
			defer wg.Done()
			for i := range written {
				l, d, err := lock(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				n, _ := parseCounter(d)
				if n != i {
					t.Errorf("LockAndRead read %d, want %d", n, i)
				}
				cd, hit, err := reader.GetCached(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				checks.Add(1)
				if hit {
					hits.Add(1)
				}
				if c, _ := parseCounter(cd); c != i {
					stale.Add(1)
				}
				if _, err := reader.Commit(ctx, l, WriteNone, nil); err != nil {
					t.Error(err)
					return
				}
				// Prime the cache with round i for the next round.
				if _, err := reader.Get(ctx, id); err != nil {
					t.Error(err)
					return
				}
				checked <- struct{}{}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d checks, %d cache hits, %d stale; stale cache entries caught by the split-mode barrier: %d",
		checks.Load(), hits.Load(), stale.Load(), reader.Stats().BarrierRereads)
	if stale.Load() != 0 {
		t.Fatalf("%d stale cached reads after acquiring the lock", stale.Load())
	}
}

// ownWrites counts the reads that followed a commit of our own and did
// not see it.
type ownWrites struct{ checks, stale atomic.Int64 }

// check reads id after round i was committed and counts it; false when
// the read failed (the test has failed).
func (o *ownWrites) check(ctx context.Context, t *testing.T, s *Store, id string, i int) bool {
	d, err := s.Get(ctx, id)
	if err != nil {
		t.Error(err)
		return false
	}
	o.checks.Add(1)
	if n, _ := parseCounter(d); n != i {
		o.stale.Add(1)
	}
	return true
}

// verdict logs the counts and fails the test if a read was stale.
func (o *ownWrites) verdict(t *testing.T) {
	t.Helper()
	t.Logf("%d checks, %d stale", o.checks.Load(), o.stale.Load())
	if o.stale.Load() != 0 {
		t.Fatalf("%d reads missed our own committed write", o.stale.Load())
	}
}

// readYourWrites: after Commit returns, Get (cached, primed with the old
// value just before) returns the committed value.
func readYourWrites(t *testing.T, s *Store, workers, rounds int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var own ownWrites
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		id := "ryow" + strconv.Itoa(w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= rounds; i++ {
				if _, err := s.Get(ctx, id); err != nil { // prime the cache with i-1
					t.Error(err)
					return
				}
				l, _, err := s.LockAndRead(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				if i%2 == 0 {
					err = s.CommitKeep(ctx, l, WriteData, counterBytes(i))
					if err == nil {
						err = s.Release(ctx, l)
					}
				} else {
					_, err = s.Commit(ctx, l, WriteData, counterBytes(i))
				}
				if err != nil {
					t.Error(err)
					return
				}
				if !own.check(ctx, t, s, id, i) {
					return
				}
			}
		}()
	}
	wg.Wait()
	own.verdict(t)
}

func TestStaleReads(t *testing.T) {
	r := testenv.StartRedis(t)
	t.Run("standalone", func(t *testing.T) {
		staleReads(t, openTest(t, r, Config{}), openTest(t, r, Config{}), 32, 100)
	})
	t.Run("split-keys", func(t *testing.T) {
		staleReads(t, openTest(t, r, Config{SplitKeys: true}), openTest(t, r, Config{SplitKeys: true}), 16, 60)
	})
}

func TestStaleReadsUntracked(t *testing.T) {
	r := testenv.StartRedis(t)
	reader := openTest(t, r, Config{})
	staleReadsLock(t, openTest(t, r, Config{}), reader, 32, 100, reader.LockAndReadUntracked)
}

// readYourWritesUntracked: LockAndReadUntracked + Commit (which sends its
// barrier only when a cached read may hold the key), with cached reads of
// the same key sent concurrently by another goroutine at any moment (also
// while the commit is in flight): a Get after Commit returns must see it.
func readYourWritesUntracked(t *testing.T, s *Store, workers, rounds int) {
	t.Helper()
	// The calls get a generous bound; the rounds stop early (without
	// failing) once stopAt passes, so that a loaded machine checks fewer
	// rounds instead of failing on a deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stopAt := time.Now().Add(20 * time.Second)
	var own ownWrites
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		id := "ryowu" + strconv.Itoa(w)
		done := make(chan struct{})
		wg.Add(2)
		go func() { // concurrent cached reader
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.Get(ctx, id); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			defer close(done)
			for i := 1; i <= rounds && (i <= 10 || time.Now().Before(stopAt)); i++ {
				if i%3 == 0 {
					if _, err := s.Get(ctx, id); err != nil { // prime the cache with i-1
						t.Error(err)
						return
					}
				}
				l, _, err := s.LockAndReadUntracked(ctx, id)
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Commit(ctx, l, WriteData, counterBytes(i)); err != nil {
					t.Error(err)
					return
				}
				if !own.check(ctx, t, s, id, i) {
					return
				}
			}
		}()
	}
	wg.Wait()
	own.verdict(t)
}

func TestReadYourWritesUntracked(t *testing.T) {
	r := testenv.StartRedis(t)
	readYourWritesUntracked(t, openTest(t, r, Config{}), 16, 200)
}

func TestReadYourWrites(t *testing.T) {
	r := testenv.StartRedis(t)
	t.Run("standalone", func(t *testing.T) { readYourWrites(t, openTest(t, r, Config{}), 32, 100) })
	t.Run("split-keys", func(t *testing.T) { readYourWrites(t, openTest(t, r, Config{SplitKeys: true}), 16, 60) })
}
