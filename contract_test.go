package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// plainCtxErr reports whether err says "your context ended, nothing was
// applied" (the contract of Manager): a context error, and not an unknown
// outcome.
func plainCtxErr(err error) bool {
	return (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) &&
		!errors.Is(err, phpsession.ErrOutcomeUnknown)
}

// The caller's context ends while its change waits for a lock held by
// someone else (PHP): the call returns a plain context error, and the
// change is never applied, also after the holder left.
func TestContextEndedBeforeSendNeverApplied(t *testing.T) {
	for _, cfg := range []phpsession.Config{{}, {NoLockFree: true}} {
		t.Run(fmt.Sprintf("NoLockFree=%v", cfg.NoLockFree), func(t *testing.T) {
			r := testenv.StartRedis(t)
			m := openTest(t, r, cfg)
			bg := context.Background()
			require.NoError(t, m.Set(bg, "ctx1", "a", 1))
			r.MustDo("SET", "PHPREDIS_SESSION:ctx1_LOCK", "php|holder", "PX", "60000")
			ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
			err := m.Set(ctx, "ctx1", "b", 2)
			cancel()
			require.Error(t, err)
			require.True(t, plainCtxErr(err), "want a plain context error, got %v", err)
			r.MustDo("DEL", "PHPREDIS_SESSION:ctx1_LOCK")
			require.NoError(t, m.Set(bg, "ctx1", "c", 3))
			data := r.MustDo("GET", "PHPREDIS_SESSION:ctx1")
			require.NotContains(t, data, "b|", "a change reported as not applied was written")
			require.Contains(t, data, "c|i:3;")
		})
	}
}

// The caller's context ends while its write is in flight (Redis paused
// for writes): the call waits for the outcome (here: applied, so no
// error), instead of reporting a context error for a change that lands.
func TestContextEndedInFlightWaitsForOutcome(t *testing.T) {
	for _, cfg := range []phpsession.Config{{}, {NoLockFree: true}} {
		t.Run(fmt.Sprintf("NoLockFree=%v", cfg.NoLockFree), func(t *testing.T) {
			r := testenv.StartRedis(t)
			m := openTest(t, r, cfg)
			bg := context.Background()
			require.NoError(t, m.Set(bg, "ctx2", "a", 1))
			if cfg.NoLockFree {
				r.MustDo("CLIENT", "PAUSE", "300", "ALL")
			} else {
				r.MustDo("CLIENT", "PAUSE", "300", "WRITE")
			}
			ctx, cancel := context.WithTimeout(bg, 30*time.Millisecond)
			err := m.Set(ctx, "ctx2", "b", 2)
			cancel()
			// queued behind it on the session's actor: once it returns,
			// whatever the first write does is done
			require.NoError(t, m.Set(bg, "ctx2", "c", 3))
			data := r.MustDo("GET", "PHPREDIS_SESSION:ctx2")
			if plainCtxErr(err) {
				require.NotContains(t, data, "b|", "a plain context error for a change that was applied")
			}
			if err == nil {
				require.Contains(t, data, "b|i:2;")
			}
			t.Logf("err=%v data=%q", err, data)
		})
	}
}

// Many callers with random short deadlines increment one counter while
// Redis pauses writes now and then: every acknowledged increment is in
// the counter, none reported as a plain context error is, and the rest
// (unknown outcomes) may be: acked ≤ final ≤ acked + unknown.
func TestContextContractUnderPauses(t *testing.T) {
	for _, cfg := range []phpsession.Config{{}, {NoLockFree: true}} {
		t.Run(fmt.Sprintf("NoLockFree=%v", cfg.NoLockFree), func(t *testing.T) {
			r := testenv.StartRedis(t)
			m := openTest(t, r, cfg)
			bg := context.Background()
			var acked, plain, unknown, other atomic.Int64
			var firstOther atomic.Value
			stop := make(chan struct{})
			var pauses sync.WaitGroup
			pauses.Add(1)
			go func() {
				defer pauses.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					mode := "WRITE"
					if i%2 == 1 {
						mode = "ALL"
					}
					_, _ = r.Do("CLIENT", "PAUSE", "15", mode)
				}
			}()
			var wg sync.WaitGroup
			for w := 0; w < 16; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 60; i++ {
						d := time.Duration(rand.IntN(20000)) * time.Microsecond
						ctx, cancel := context.WithTimeout(bg, d)
						err := m.Update(ctx, "ctr", func(s *phpsession.Session) error {
							var n int
							if _, err := s.Unmarshal("n", &n); err != nil {
								return err
							}
							return s.Set("n", n+1)
						})
						cancel()
						switch {
						case err == nil:
							acked.Add(1)
						case plainCtxErr(err):
							plain.Add(1)
						case errors.Is(err, phpsession.ErrOutcomeUnknown):
							unknown.Add(1)
						default:
							other.Add(1)
							firstOther.CompareAndSwap(nil, err.Error())
						}
					}
				}()
			}
			wg.Wait()
			close(stop)
			pauses.Wait()
			got, err := phpsession.GetAs[int](bg, m, "ctr", "n")
			if errors.Is(err, phpsession.ErrNotFound) {
				got, err = 0, nil
			}
			require.NoError(t, err)
			t.Logf("acked %d, plain context errors %d, unknown %d, other %d (%v); counter %d",
				acked.Load(), plain.Load(), unknown.Load(), other.Load(), firstOther.Load(), got)
			require.GreaterOrEqual(t, int64(got), acked.Load(), "an acknowledged increment was lost")
			require.LessOrEqual(t, int64(got), acked.Load()+unknown.Load(),
				"an increment reported as a plain context error (not applied) was applied")
			if o := firstOther.Load(); o != nil {
				require.False(t, strings.Contains(o.(string), "panic"), "%v", o)
			}
		})
	}
}
