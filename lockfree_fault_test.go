package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// Lock-free batches while every client connection is killed again and
// again: no acknowledged increment is lost and none is applied twice. With
// WriteMarkers every lost reply is settled (no caller gets an error);
// without, a batch whose reply was lost after it wrote reports an outcome
// unknown error.
func TestLockFreeUnderConnectionKills(t *testing.T) {
	for _, markers := range []bool{true, false} {
		t.Run(fmt.Sprintf("markers=%v", markers), func(t *testing.T) {
			testLockFreeUnderConnectionKills(t, markers)
		})
	}
}

func testLockFreeUnderConnectionKills(t *testing.T, markers bool) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{WriteMarkers: markers})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const workers, total = 32, 1500
	var acked, unknown, failed atomic.Int64
	var firstErr atomic.Value
	var kills atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for acked.Load()+unknown.Load() < total {
				err := m.Update(ctx, "killme", func(s *phpsession.Session) error {
					var n int
					if _, err := s.Unmarshal("n", &n); err != nil {
						return err
					}
					return s.Set("n", n+1)
				})
				switch {
				case err == nil:
					if k := acked.Add(1); k%50 == 0 {
						_, _ = r.Do("CLIENT", "KILL", "TYPE", "normal")
						kills.Add(1)
					}
				case errors.Is(err, redisio.ErrOutcomeUnknown):
					unknown.Add(1)
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	got, err := phpsession.GetAs[int](ctx, m, "killme", "n")
	require.NoError(t, err)
	st := m.Stats()
	t.Logf("%d acknowledged, %d unknown outcomes, %d other errors (first: %v); counter %d; %d kills; batches %d (lock-free %d)",
		acked.Load(), unknown.Load(), failed.Load(), firstErr.Load(), got, kills.Load(), st.Batches, st.LockFreeBatches)
	require.GreaterOrEqual(t, int64(got), acked.Load(), "an acknowledged increment was lost")
	require.LessOrEqual(t, int64(got), acked.Load()+unknown.Load(), "an increment was applied twice")
	require.Zero(t, failed.Load(), "errors other than an unknown outcome")
	require.Positive(t, kills.Load())
	if markers {
		require.Zero(t, unknown.Load(), "with markers every lost reply is settled")
		require.EqualValues(t, acked.Load(), got)
	}
}
