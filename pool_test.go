package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestPooledCallsUnderCancelAndClose: calls are pooled (their op, reply
// signal and arguments are reused), so a call must never be reused while
// its caller or the session's actor can still touch it. Writers on a few
// hot sessions each increment their own variable with Update, many of them
// with contexts that end at random points of the batch (queued, applied,
// in flight), while Set/Delete pairs check that each call gets its own
// result; the Manager is closed in the middle of the traffic. A reused
// call would show as an increment applied to another writer's variable, a
// result of another call, a function running after its caller returned
// (the race detector sees its write to the caller's variable), or a hang.
// Each variable ends between its acknowledged increments and those plus
// the ones of unknown outcome; every call started after Close returned
// gets ErrClosed.
func TestPooledCallsUnderCancelAndClose(t *testing.T) {
	r := testenv.StartRedis(t)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{RedisTimeout: 2 * time.Second})
	require.NoError(t, err)
	const (
		workers  = 24
		sessions = 3
		warmOps  = 300 // per worker before Close starts
	)
	bg := context.Background()
	type tally struct{ acked, unknown, canceled int }
	var (
		tallies  [workers]tally
		started  sync.WaitGroup
		wg       sync.WaitGroup
		closed   atomic.Bool // Close has returned
		failures atomic.Int64
	)
	fail := func(format string, args ...any) {
		if failures.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	started.Add(workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			id := fmt.Sprintf("pool%d", w%sessions)
			key := fmt.Sprintf("w%d", w)
			for i := 0; ; i++ {
				if i == warmOps {
					started.Done()
				}
				after := closed.Load()
				if rng.IntN(8) == 0 {
					// Set then Delete of the writer's own scratch variable:
					// Delete must report exactly what this writer did.
					scratch := "d" + key
					errSet := m.Set(bg, id, scratch, i)
					existed, errDel := m.Delete(bg, id, scratch)
					if errSet == nil && errDel == nil && !existed {
						fail("%s: Delete after an acknowledged Set reported the variable missing", key)
					}
					if after && (!errors.Is(errSet, phpsession.ErrClosed) || !errors.Is(errDel, phpsession.ErrClosed)) {
						fail("%s: calls after Close returned %v, %v", key, errSet, errDel)
					}
					if errors.Is(errSet, phpsession.ErrClosed) || errors.Is(errDel, phpsession.ErrClosed) {
						if i >= warmOps {
							return
						}
					}
					continue
				}
				ctx, cancel := bg, context.CancelFunc(func() {})
				switch rng.IntN(4) {
				case 0: // ends while queued or applied
					ctx, cancel = context.WithTimeout(bg, time.Duration(rng.IntN(300))*time.Microsecond)
				case 1: // ends from another goroutine at a random point
					ctx, cancel = context.WithCancel(bg)
					go func(d time.Duration, cancel context.CancelFunc) {
						time.Sleep(d)
						cancel()
					}(time.Duration(rng.IntN(500))*time.Microsecond, cancel)
				}
				runs := 0 // written by the function, read after the call
				err := m.Update(ctx, id, func(s *phpsession.Session) error {
					runs++
					var v int
					if _, err := s.Unmarshal(key, &v); err != nil {
						return err
					}
					return s.Set(key, v+1)
				})
				cancel()
				_ = runs // the race detector flags a run after the return
				switch {
				case err == nil:
					tallies[w].acked++
				case errors.Is(err, phpsession.ErrOutcomeUnknown):
					tallies[w].unknown++
				case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
					tallies[w].canceled++
				case errors.Is(err, phpsession.ErrClosed):
					if i >= warmOps {
						return
					}
				default:
					fail("%s: Update: %v", key, err)
				}
				if after && !errors.Is(err, phpsession.ErrClosed) {
					fail("%s: Update after Close returned %v", key, err)
				}
			}
		}()
	}
	started.Wait()
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	require.NoError(t, m.Close(ctx))
	cancel()
	closed.Store(true)
	wg.Wait()

	var sum tally
	for _, tl := range tallies {
		sum.acked, sum.unknown, sum.canceled = sum.acked+tl.acked, sum.unknown+tl.unknown, sum.canceled+tl.canceled
	}
	t.Logf("updates: %d acknowledged, %d not applied (context ended), %d of unknown outcome", sum.acked, sum.canceled, sum.unknown)
	m2 := openTest(t, r, phpsession.Config{})
	for w := range workers {
		got, err := phpsession.GetAs[int](bg, m2, fmt.Sprintf("pool%d", w%sessions), fmt.Sprintf("w%d", w))
		if errors.Is(err, phpsession.ErrNotFound) {
			got, err = 0, nil
		}
		require.NoError(t, err)
		tl := tallies[w]
		require.GreaterOrEqual(t, got, tl.acked, "w%d lost an acknowledged increment", w)
		require.LessOrEqual(t, got, tl.acked+tl.unknown, "w%d has increments nobody made", w)
	}
}
