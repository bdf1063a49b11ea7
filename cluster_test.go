package phpsession_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestClusterManager runs concurrent updates and cached reads on a local
// 3-master Redis Cluster (lock and data keys on different nodes).
func TestClusterManager(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster start-up is slow")
	}
	c := testenv.StartCluster(t, 3)
	m, err := phpsession.Open(rueidis.ClientOption{InitAddress: c.Addrs()}, phpsession.Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	defer m.Close(ctx)
	require.True(t, m.Store().Cluster())

	const sessions, workers, per = 5, 50, 10
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				id := fmt.Sprintf("cl%d", (w+i)%sessions)
				if err := m.Update(ctx, id, func(s *phpsession.Session) error {
					var n int
					_, _ = s.Unmarshal("n", &n)
					return s.Set("n", n+1)
				}); err != nil {
					t.Error(err)
					return
				}
				if _, err := phpsession.GetAs[int](ctx, m, id, "n"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for s := 0; s < sessions; s++ {
		n, err := phpsession.GetAs[int](ctx, m, fmt.Sprintf("cl%d", s), "n")
		require.NoError(t, err)
		total += n
	}
	require.Equal(t, workers*per, total)
	st := m.Stats()
	t.Logf("cluster: %d updates in %d batches", st.Updates, st.Batches)
}
