package phpsession_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestRoundTripsPerBatch counts Redis commands (INFO commandstats deltas)
// for one batch of N concurrent updates on one session: the count must not
// depend on N. Lock-free, a batch is one EVALSHA (EXISTS lock, GET, SETEX
// or EXPIRE inside: 4 commands; 5 with WriteMarkers); locked, SET NX +
// GET, then EVALSHA (GET lock, SETEX or EXPIRE, DEL lock inside: 6
// commands).
func TestRoundTripsPerBatch(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      phpsession.Config
		perBatch int64
	}{
		{"lock-free", phpsession.Config{}, 4},
		{"lock-free+markers", phpsession.Config{WriteMarkers: true}, 5},
		{"locked", phpsession.Config{NoLockFree: true}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testRoundTripsPerBatch(t, tc.cfg, tc.perBatch)
		})
	}
}

func testRoundTripsPerBatch(t *testing.T, cfg phpsession.Config, perBatch int64) {
	r := testenv.StartRedis(t)
	// MaxHold large: a slow (race-detector, loaded) machine must not split the batch
	cfg.NoFairness, cfg.MaxHold = true, 10*time.Second
	m := openTest(t, r, cfg)
	ctx := context.Background()

	run := func(id string, n int) (total int64, per map[string]int64) {
		// warm up: connection, script cache, session exists
		require.NoError(t, m.Set(ctx, id, "n", 0))
		before, err := testenv.CommandCalls(r.Addr)
		require.NoError(t, err)
		base := m.Stats().Submitted
		// A gate op holds the actor (inside its batch) until the n updates
		// are queued behind it; they then form the next batch.
		// The n updates are submitted only once the gate's function runs
		// (its batch has started): submitted earlier, they could join the
		// gate's batch when the actor picks the gate up late.
		gate := make(chan struct{})
		started := make(chan struct{})
		var once sync.Once
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
				once.Do(func() { close(started) })
				<-gate
				return nil
			}))
		}()
		<-started
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
					var v int
					_, _ = s.Unmarshal("n", &v)
					return s.Set("n", v+1)
				}))
			}()
		}
		waitUntil(t, "every update is queued", func() bool { return m.Stats().Submitted >= base+uint64(n)+1 })
		close(gate)
		wg.Wait()
		after, err := testenv.CommandCalls(r.Addr)
		require.NoError(t, err)
		per = map[string]int64{}
		for k, v := range after {
			if d := v - before[k]; d > 0 && k != "info" {
				per[k] = d
				total += d
			}
		}
		got, err := phpsession.GetAs[int](ctx, m, id, "n")
		require.NoError(t, err)
		require.Equal(t, n, got)
		return total, per
	}
	run("rtwarm", 1) // loads the scripts
	var totals []int64
	for _, n := range []int{10, 100, 400} {
		st0 := m.Stats()
		total, per := run(fmt.Sprintf("rt%d", n), n)
		st1 := m.Stats()
		keys := make([]string, 0, len(per))
		for k := range per {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		desc := ""
		for _, k := range keys {
			desc += fmt.Sprintf(" %s=%d", k, per[k])
		}
		t.Logf("N=%d: %d Redis commands in %d batches (%.3f commands/update):%s",
			n, total, st1.Batches-st0.Batches, float64(total)/float64(n), desc)
		require.EqualValues(t, 3, st1.Batches-st0.Batches, "warm-up Set, gate batch, one batch of N")
		totals = append(totals, total)
	}
	require.Equal(t, 2*perBatch, totals[0], "the gate's batch and the batch of N")
	require.Equal(t, totals[0], totals[1])
	require.Equal(t, totals[0], totals[2])
}
