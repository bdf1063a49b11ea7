package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// Close while 500 goroutines run every kind of call (Get, Load, Exists,
// Update, Destroy, RegenerateID) on 20 sessions, with Redis answering and
// with Redis stopped (SIGSTOP) right before Close: Close returns (by its
// context at worst), every call returns with nil or an error of this
// package (ErrSession), every call made once Close returned fails with
// ErrClosed, and no goroutine of the Manager is left.
func TestCloseUnderLoadEveryCallReturns(t *testing.T) {
	for _, stopped := range []bool{false, true} {
		t.Run(fmt.Sprint("redis-stopped=", stopped), func(t *testing.T) {
			r := testenv.StartRedis(t)
			base := runtime.NumGoroutine()
			m, err := phpsession.OpenURL(r.URL(), phpsession.Config{RedisTimeout: 500 * time.Millisecond})
			require.NoError(t, err)
			bg := context.Background()
			for i := 0; i < 20; i++ {
				require.NoError(t, m.Set(bg, fmt.Sprintf("cl%d", i), "n", 0))
			}
			const goroutines = 500
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				foreign []error // errors not of this package
				calls   int
			)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := fmt.Sprintf("cl%d", g%20)
					for j := 0; j < 40; j++ {
						var err error
						switch (g + j) % 6 {
						case 0:
							_, err = m.Get(bg, id, "n")
						case 1:
							err = m.Update(bg, id, func(s *phpsession.Session) error { return s.Set("n", j) })
						case 2:
							_, err = m.RegenerateID(bg, id, false)
						case 3:
							_, err = m.Destroy(bg, fmt.Sprintf("clx%d", g))
						case 4:
							_, err = m.Load(bg, id)
						case 5:
							_, err = m.Exists(bg, id)
						}
						mu.Lock()
						calls++
						if err != nil && !errors.Is(err, phpsession.ErrSession) {
							foreign = append(foreign, err)
						}
						mu.Unlock()
						if errors.Is(err, phpsession.ErrClosed) {
							return
						}
					}
				}()
			}
			waitSubmitted(t, m, 1000)
			if stopped {
				stopRedis(t, r)
			}
			ctx, cancel := context.WithTimeout(bg, 2*time.Second)
			_ = testenv.ReturnsWithin(t, "Close", func() error { return m.Close(ctx) })
			cancel()
			require.NoError(t, testenv.ReturnsWithin(t, "the callers", func() error { wg.Wait(); return nil }))
			require.Empty(t, foreign)
			require.Positive(t, calls)
			_, err = m.Get(bg, "cl1", "n")
			require.ErrorIs(t, err, phpsession.ErrClosed)
			require.ErrorIs(t, m.Set(bg, "cl1", "n", 1), phpsession.ErrClosed)
			testenv.WaitGoroutines(t, base+5, testenv.HangGuard)
		})
	}
}
