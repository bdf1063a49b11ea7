package phpsession_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestStressRealRedis: thousands of goroutines over few and many sessions,
// actors passivating after 1 ms idle, exact final counters, and no
// goroutine left after Close.
func TestStressRealRedis(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, tc := range []struct {
		name     string
		sessions int
		cap      int
	}{
		{"few", 3, 0},
		{"many", 500, 0},
		{"capped", 300, 32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			m, err := phpsession.OpenURL(r.URL(), phpsession.Config{
				Prefix: "stress" + tc.name + ":", IdleTimeout: time.Millisecond, MaxActors: tc.cap,
			})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			const workers, per = 2000, 4
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						id := fmt.Sprintf("s%d", (w*13+i)%tc.sessions)
						if err := m.Update(ctx, id, func(s *phpsession.Session) error {
							var n int
							if _, err := s.Unmarshal("n", &n); err != nil {
								return err
							}
							return s.Set("n", n+1)
						}); err != nil {
							t.Error(err)
							return
						}
						if i%2 == 1 {
							if _, err := phpsession.GetAs[int](ctx, m, id, "n"); err != nil {
								t.Error(err)
							}
						}
					}
				}()
			}
			wg.Wait()
			total := 0
			for s := 0; s < tc.sessions; s++ {
				n, err := phpsession.GetAs[int](ctx, m, fmt.Sprintf("s%d", s), "n")
				require.NoError(t, err)
				total += n
			}
			require.Equal(t, workers*per, total)
			st := m.Stats()
			t.Logf("%d updates: batches=%d ops/batch=%.1f passivations=%d cache hits/misses=%d/%d live=%d",
				workers*per, st.Batches, st.OpsPerBatch(), st.Passivations, st.CacheHits, st.CacheMisses, st.LiveSessions)
			if tc.cap > 0 {
				require.LessOrEqual(t, st.LiveSessions, tc.cap)
			}
			require.NoError(t, m.Close(ctx))
			waitGoroutines(t, base)
		})
	}
}

func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
