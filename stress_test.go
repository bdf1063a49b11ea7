package phpsession_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
	testenv.WaitGoroutines(t, base, testenv.HangGuard)
}

// TestLazyDecodeRace: fast-path readers decode variables of the memoised
// session lazily while updates clone it and change other variables.
func TestLazyDecodeRace(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	for round := 0; round < 20; round++ {
		id := fmt.Sprintf("lazy%d", round)
		// many undecoded variables, containers included
		var b strings.Builder
		for i := 0; i < 20; i++ {
			fmt.Fprintf(&b, `v%d|a:2:{s:1:"x";i:%d;s:1:"y";a:1:{i:0;s:3:"abc";}}`, i, i)
		}
		r.MustDo("SET", "PHPREDIS_SESSION:"+id, b.String())
		_, err := m.Exists(ctx, id) // memoise
		require.NoError(t, err)
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					name := fmt.Sprintf("v%d", (g*7+i)%20)
					if g%2 == 0 {
						if _, err := m.Get(ctx, id, name); err != nil {
							t.Error(err)
						}
					} else {
						if err := m.Update(ctx, id, func(s *phpsession.Session) error {
							v, _, err := s.Value(name)
							if err != nil {
								return err
							}
							_ = v
							return s.Set(fmt.Sprintf("w%d", g), i)
						}); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
		wg.Wait()
	}
}

// TestTwoManagersOneSession: two Managers (as two Go processes) update one
// session concurrently; the Redis lock serialises them and both see each
// other's writes.
func TestTwoManagersOneSession(t *testing.T) {
	r := testenv.StartRedis(t)
	a := openTest(t, r, phpsession.Config{})
	b := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, key := a, "a"
			if i%2 == 1 {
				m, key = b, "b"
			}
			for j := 0; j < 20; j++ {
				assert.NoError(t, m.Update(ctx, "shared", func(s *phpsession.Session) error {
					var n int
					_, _ = s.Unmarshal(key, &n)
					if err := s.Set(key, n+1); err != nil {
						return err
					}
					var tot int
					_, _ = s.Unmarshal("total", &tot)
					return s.Set("total", tot+1)
				}))
			}
		}()
	}
	wg.Wait()
	for _, m := range []*phpsession.Manager{a, b} {
		require.Eventually(t, func() bool {
			tot, err1 := phpsession.GetAs[int](ctx, m, "shared", "total")
			na, err2 := phpsession.GetAs[int](ctx, m, "shared", "a")
			nb, err3 := phpsession.GetAs[int](ctx, m, "shared", "b")
			return err1 == nil && err2 == nil && err3 == nil && tot == 64*20 && na == 32*20 && nb == 32*20
		}, 30*time.Second, time.Millisecond)
	}
	t.Logf("a: %+v", a.Stats())
}
