package redisio

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/stretchr/testify/require"
)

// trackedKeys returns INFO stats' tracking_total_keys: how many keys
// Redis's tracking table holds for all clients.
func trackedKeys(t *testing.T, r *testenv.Redis) int {
	t.Helper()
	for _, l := range strings.Split(r.MustDo("INFO", "stats"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "tracking_total_keys:"); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no tracking_total_keys in INFO stats")
	return 0
}

// TestCommitTrackedTracksOnlyTheDataKey: a tracked commit re-arms
// tracking of the session's data key and of no other key. Under CLIENT
// CACHING YES a script's reads make Redis track every key it declares, so
// a script that declared the lock and the staged key left the lock
// tracked (an invalidation back to us on every write) and one entry per
// write in Redis's tracking table (a new staged key name each time, never
// written again), growing with the number of writes.
func TestCommitTrackedTracksOnlyTheDataKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
	}{
		{"inline", 100},
		{"staged", 2 * LongValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testenv.StartRedis(t)
			s := openURL(t, r.URL(), Config{TTL: time.Hour})
			require.True(t, s.CanCommitTracked("t"))
			ctx := context.Background()
			data := []byte(strings.Repeat("x", tc.size))
			write := func() {
				l, w, err := s.LockWatched(ctx, "t", data)
				require.NoError(t, err)
				defer w.Close()
				_, err = s.CommitTracked(ctx, l, data)
				require.NoError(t, err)
				require.Equal(t, int64(1), w.Invalidations(), "our own write's invalidation, after the first write armed tracking")
			}
			l, w, err := s.LockWatched(ctx, "t", data)
			require.NoError(t, err)
			_, err = s.CommitTracked(ctx, l, data) // arms tracking of the data key
			require.NoError(t, err)
			w.Close()
			for range 20 {
				write()
			}
			require.Equal(t, 1, trackedKeys(t, r), "keys tracked after 21 tracked commits")
			require.Equal(t, "0", r.MustDo("EXISTS", s.LockKey("t")))
			require.Equal(t, data, []byte(r.MustDo("GET", s.Key("t"))))
		})
	}
}

// TestCommitTrackedStagedKeyVanished: when the key LockWatched staged the
// data in is gone by the time the script runs (evicted, expired), the
// script's RENAME finds no key, writes nothing and CommitTracked uploads
// the data again under the lock it still holds.
func TestCommitTrackedStagedKeyVanished(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openURL(t, r.URL(), Config{TTL: time.Hour})
	ctx := context.Background()
	data := []byte(strings.Repeat("y", 2*LongValue))
	l, w, err := s.LockWatched(ctx, "v", data)
	require.NoError(t, err)
	defer w.Close()
	require.NotEmpty(t, l.staged)
	require.Equal(t, "1", r.MustDo("DEL", l.staged))
	_, err = s.CommitTracked(ctx, l, data)
	require.NoError(t, err)
	require.Equal(t, data, []byte(r.MustDo("GET", s.Key("v"))))
	require.Equal(t, "0", r.MustDo("EXISTS", s.LockKey("v")))
	ttl, err := strconv.Atoi(r.MustDo("TTL", s.Key("v")))
	require.NoError(t, err)
	require.Greater(t, ttl, 3500, "the session TTL, not the staged key's")
}
