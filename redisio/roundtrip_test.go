package redisio

import (
	"context"
	"crypto/tls"
	"net"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/redis/rueidis"
)

// countConn counts the writes (flushes) a client makes: for sequential
// calls, one write is one round trip.
type countConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countConn) Write(b []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(b)
}

func openCounting(t testing.TB, addr string, cfg Config) (*Store, *atomic.Int64) {
	t.Helper()
	n := new(atomic.Int64)
	s, err := Open(rueidis.ClientOption{
		InitAddress: []string{addr},
		DialCtxFn: func(ctx context.Context, dst string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
			c, err := d.DialContext(ctx, "tcp", dst)
			if err != nil {
				return nil, err
			}
			return countConn{c, n}, nil
		},
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, n
}

func median(xs []int64) int64 {
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	return xs[len(xs)/2]
}

// TestRoundTrips counts round trips (client writes) and Redis commands
// (INFO commandstats deltas) of an uncontended LockAndRead and Commit.
func TestRoundTrips(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, tc := range []struct {
		name                string
		split               bool
		untracked           bool
		wantLockRT, wantCRT int64
		maxCmds             float64 // Redis commands executed per cycle (0: not checked)
	}{
		{"standalone", false, false, 1, 1, 0},
		{"split-keys", true, false, 2, 3, 0},
		// SET NX + GET, then EVALSHA (GET lock, SETEX, DEL lock inside):
		// no CLIENT CACHING YES, no PTTL barrier.
		{"standalone-untracked", false, true, 1, 1, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, writes := openCounting(t, r.Addr, Config{SplitKeys: tc.split})
			ctx := context.Background()
			// Warm up: connection, script cache (EVALSHA → NOSCRIPT → EVAL once).
			if err := incr(ctx, s, "rt-warm"); err != nil {
				t.Fatal(err)
			}
			const n = 50
			var lockRT, commitRT []int64
			before, _ := testenv.CommandCalls(r.Addr)
			for i := 0; i < n; i++ {
				id := tc.name + strconv.Itoa(i)
				r.MustDo("SET", s.Key(id), "n|i:1;")
				w0 := writes.Load()
				lock := s.LockAndRead
				if tc.untracked {
					lock = s.LockAndReadUntracked
				}
				l, d, err := lock(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				w1 := writes.Load()
				if _, err := s.Commit(ctx, l, WriteData, append(d.Bytes, 'x')); err != nil {
					t.Fatal(err)
				}
				w2 := writes.Load()
				lockRT = append(lockRT, w1-w0)
				commitRT = append(commitRT, w2-w1)
			}
			after, _ := testenv.CommandCalls(r.Addr)
			delta := map[string]int64{}
			var total int64
			for k, v := range after {
				d := v - before[k]
				if k == "set" {
					d -= n // the test's own SETs
				}
				if d > 0 && k != "info" {
					delta[k] = d
					total += d
				}
			}
			lrt, crt := median(lockRT), median(commitRT)
			t.Logf("per lock+read+commit cycle: LockAndRead %d round trip(s), Commit %d round trip(s); Redis commands per cycle %.2f (commandstats counts the commands run inside scripts too) %v",
				lrt, crt, float64(total)/n, delta)
			if lrt != tc.wantLockRT || crt != tc.wantCRT {
				t.Fatalf("round trips: lock %d commit %d, want %d and %d", lrt, crt, tc.wantLockRT, tc.wantCRT)
			}
			if tc.maxCmds > 0 && float64(total)/n > tc.maxCmds {
				t.Fatalf("%.2f Redis commands per cycle, want at most %v: %v", float64(total)/n, tc.maxCmds, delta)
			}
		})
	}
}
