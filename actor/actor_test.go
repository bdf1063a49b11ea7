package actor

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/event"
)

func TestFairnessFromPHP(t *testing.T) {
	for _, tc := range []struct {
		name           string
		wait           time.Duration
		retries        int
		gap, win, cgap time.Duration
	}{
		{"phpredis 5.3 defaults", 2 * time.Millisecond, 10, 2700 * time.Microsecond, 10 * time.Millisecond, 4200 * time.Microsecond},
		{"phpredis 6.x defaults", 20 * time.Millisecond, 100, 25200 * time.Microsecond, time.Second, 40200 * time.Microsecond},
		{"waits forever", 2 * time.Millisecond, -1, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, w, c := FairnessFromPHP(tc.wait, tc.retries)
			require.Equal(t, tc.gap, g)
			require.Equal(t, tc.win, w)
			require.Equal(t, tc.cgap, c)
			if g > 0 {
				require.Greater(t, g, tc.wait, "gap longer than PHP's retry spacing")
				require.LessOrEqual(t, w, time.Duration(tc.retries)*tc.wait, "a gap within PHP's retry span")
			}
		})
	}
}

func TestOpAbandonedBeforeStartIsNeverApplied(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	op := NewOp(ctx, event.Update, func(*codec.Session, bool) error { t.Fatal("applied"); return nil })
	cancel()
	require.ErrorIs(t, op.Wait(ctx), context.Canceled)
	require.False(t, op.claim())
	<-op.Done()
}

func TestRunRecoversPanics(t *testing.T) {
	d := NewDoc(codec.NewSession(codec.PHP))
	err := d.Run(func(*codec.Session, bool) error { panic("boom") }, false)
	require.ErrorIs(t, err, ErrPanic)
	require.Contains(t, err.Error(), "boom")
	sentinel := errors.New("x")
	require.ErrorIs(t, d.Run(func(*codec.Session, bool) error { return sentinel }, false), sentinel)
	// the Doc's lock was released by the panic
	require.NoError(t, d.Run(func(*codec.Session, bool) error { return nil }, false))
}

func TestDispatcherReusesWorkersAndShutsDown(t *testing.T) {
	base := runtime.NumGoroutine()
	d := newDispatcher(4, time.Minute)
	var n atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		d.Schedule(func() { n.Add(1); wg.Done() })
		if i%10 == 0 {
			wg.Wait() // let workers go idle so they get reused
		}
	}
	wg.Wait()
	require.EqualValues(t, 1000, n.Load())
	require.LessOrEqual(t, runtime.NumGoroutine()-base, 4+2, "idle workers are bounded")
	d.shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), base)
}

// TestClaimRefresh: of concurrent readers one claims a due refresh; a
// recorded refresh (a write) makes none due until the interval passed.
func TestClaimRefresh(t *testing.T) {
	d := NewDoc(codec.NewSession(codec.PHP))
	now := time.Now()
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if d.ClaimRefresh(now, time.Minute) {
				claimed.Add(1)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, int64(1), claimed.Load())
	require.False(t, d.ClaimRefresh(now.Add(59*time.Second), time.Minute))
	require.True(t, d.ClaimRefresh(now.Add(time.Minute), time.Minute))
	d.markRefreshed(now.Add(5 * time.Minute))
	require.False(t, d.ClaimRefresh(now.Add(5*time.Minute+time.Second), time.Minute))
	d.markRefreshed(now) // older: ignored
	require.False(t, d.ClaimRefresh(now.Add(5*time.Minute+time.Second), time.Minute))
}
