package phpsession_test

import (
	"context"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// incrN increments integer key name of session id by one.
func incrN(ctx context.Context, m *phpsession.Manager, id, name string) error {
	return m.Update(ctx, id, func(s *phpsession.Session) error {
		var n int
		if _, err := s.Unmarshal(name, &n); err != nil {
			return err
		}
		return s.Set(name, n+1)
	})
}

// Several Managers (as several processes would) write one hot session:
// every acknowledged increment lands, once they conflict they take turns
// under the write lease, and the lease keys are gone once they are done.
func TestWriteLeaseManagersShareHotSession(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	const managers, writers, each = 4, 8, 600
	ms := make([]*phpsession.Manager, managers)
	for i := range ms {
		ms[i] = openTest(t, r, phpsession.Config{})
	}
	id := phpsession.NewID()
	require.NoError(t, ms[0].Set(ctx, id, "n", 0))
	var acked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, managers*writers)
	for _, m := range ms {
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if err := incrN(ctx, m, id, "n"); err != nil {
						errs <- err
						return
					}
					acked.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n := storedN(t, r, id)
	require.EqualValues(t, acked.Load(), n, "every acknowledged increment landed")
	require.EqualValues(t, managers*writers*each, n)
	var taken, busy, released int64
	for _, m := range ms {
		st := m.Store().Stats()
		taken += st.LeaseTaken
		busy += st.LeaseBusy
		released += st.LeaseReleased
	}
	t.Logf("leases taken %d, found busy %d, released %d", taken, busy, released)
	for _, m := range ms {
		require.NoError(t, m.Close(ctx))
	}
	require.Equal(t, "0", r.MustDo("EXISTS", "phpsession:lease:PHPREDIS_SESSION:"+id), "Close gives the lease back")
}

var nRe = regexp.MustCompile(`n\|i:(-?[0-9]+);`)

// storedN reads integer key n of session id straight from Redis.
func storedN(t *testing.T, r *testenv.Redis, id string) int {
	t.Helper()
	m := nRe.FindStringSubmatch(r.MustDo("GET", "PHPREDIS_SESSION:"+id))
	require.NotNil(t, m, "n in the stored session")
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}
