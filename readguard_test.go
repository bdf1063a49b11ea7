package phpsession_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// Reads whose context ends while the session's actor decodes for them
// return, and the actor never writes into the caller's value afterwards:
// each caller overwrites its value at once, which -race reports if the
// actor is still writing into it. (A race, hence many tries.)
func TestReadDoesNotWriteAfterReturn(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{NoFastReads: true})
	ctx := context.Background()
	big := make([]int, 2000)
	require.NoError(t, m.Set(ctx, "guard", "list", big))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // keeps the actor busy so that reads queue and batch
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = m.Set(ctx, "guard", "i", i)
		}
	}()
	left := 0
	for i := 0; i < 3000; i++ {
		var v struct {
			List []int `php:"list"`
		}
		cctx, cancel := context.WithTimeout(ctx, time.Duration(i%200)*time.Microsecond)
		err := m.Unmarshal(cctx, "guard", &v)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			left++
		}
		v.List = nil // ours again
	}
	close(stop)
	wg.Wait()
	t.Logf("%d of 3000 reads returned on their deadline", left)
}

// The same for Update: its function never runs once the call returned
// (here it would write the caller's variable, which the caller reuses at
// once; -race reports it), and a call that returned a plain context error
// is not applied.
func TestUpdateDoesNotRunAfterReturn(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "guardu", "list", make([]int, 2000)))
	var late atomic.Int64
	applied := 0
	for i := 0; i < 3000; i++ {
		var seen int
		var returned atomic.Bool
		cctx, cancel := context.WithTimeout(ctx, time.Duration(i%300)*time.Microsecond)
		err := m.Update(cctx, "guardu", func(s *phpsession.Session) error {
			if returned.Load() {
				late.Add(1)
			}
			var n int
			if _, err := s.Unmarshal("n", &n); err != nil {
				return err
			}
			seen = n
			return s.Set("n", n+1)
		})
		returned.Store(true)
		cancel()
		if err == nil {
			applied++
		}
		seen = -1 // ours again
		_ = seen
	}
	require.Zero(t, late.Load(), "update functions ran after their call returned")
	n, err := phpsession.GetAs[int](ctx, m, "guardu", "n")
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, applied)
}
