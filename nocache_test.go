package phpsession_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/rueidis"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
)

// TestWithoutClientCache runs the Manager on miniredis, which has no CLIENT
// TRACKING: the DisableClientCache path (plain reads, polling lock waits)
// and New with a caller-built client.
func TestWithoutClientCache(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx := context.Background()
	open := map[string]func() (*phpsession.Manager, error){
		"OpenURL": func() (*phpsession.Manager, error) {
			return phpsession.OpenURL("redis://"+mr.Addr(), phpsession.Config{DisableClientCache: true, Prefix: "a:"})
		},
		"New": func() (*phpsession.Manager, error) {
			c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{mr.Addr()}, DisableCache: true})
			if err != nil {
				return nil, err
			}
			t.Cleanup(c.Close)
			return phpsession.New(c, phpsession.Config{Prefix: "b:"})
		},
	}
	for name, mk := range open {
		t.Run(name, func(t *testing.T) {
			m, err := mk()
			require.NoError(t, err)
			defer m.Close(ctx)
			var wg sync.WaitGroup
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					assert.NoError(t, m.Update(ctx, "s1", func(s *phpsession.Session) error {
						var n int
						_, _ = s.Unmarshal("n", &n)
						return s.Set("n", n+1)
					}))
				}()
			}
			wg.Wait()
			n, err := phpsession.GetAs[int](ctx, m, "s1", "n")
			require.NoError(t, err)
			require.Equal(t, 50, n)
			// a foreign write is seen (every read revalidates without tracking)
			prefix := m.Config().Prefix
			mr.Set(prefix+"s1", "n|i:7;")
			n, err = phpsession.GetAs[int](ctx, m, "s1", "n")
			require.NoError(t, err)
			require.Equal(t, 7, n)
			require.Equal(t, "n|i:7;", fmt.Sprint(must(mr.Get(prefix+"s1"))))
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
