package phpsession_test

import (
	"context"
	"errors"
	"sync"
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
