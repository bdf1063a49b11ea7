package redisio

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// maxDownRoundTrips is how many round trips one Store call may send
// while Redis does not answer (docs/guarantees.md, "Bounded calls"): the
// command, and the reconciliation of a write whose reply was lost.
const maxDownRoundTrips = 2

// storeCalls are the Store's calls, each on a session of its own, with a
// context without deadline (as the actor's).
var storeCalls = []struct {
	name string
	call func(ctx context.Context, s *Store, id string) error
}{
	{"Get", func(ctx context.Context, s *Store, id string) error { _, err := s.Get(ctx, id); return err }},
	{"GetUntracked", func(ctx context.Context, s *Store, id string) error { _, err := s.GetUntracked(ctx, id); return err }},
	{"Exists", func(ctx context.Context, s *Store, id string) error { _, err := s.Exists(ctx, id); return err }},
	{"Touch", func(ctx context.Context, s *Store, id string) error { _, err := s.Touch(ctx, id); return err }},
	{"Destroy", func(ctx context.Context, s *Store, id string) error { _, err := s.Destroy(ctx, id); return err }},
	{"LockHolder", func(ctx context.Context, s *Store, id string) error {
		_, _, _, err := s.LockHolder(ctx, id)
		return err
	}},
	{"WaitUnlocked", func(ctx context.Context, s *Store, id string) error { return s.WaitUnlocked(ctx, id) }},
	{"LockAndRead", func(ctx context.Context, s *Store, id string) error {
		l, _, err := s.LockAndRead(ctx, id)
		if err == nil {
			return s.Release(ctx, l)
		}
		return err
	}},
	{"WriteIfUnlocked", func(ctx context.Context, s *Store, id string) error {
		_, err := s.WriteIfUnlocked(ctx, id, Data{}, WriteData, counterBytes(1))
		return err
	}},
}

// While Redis is unreachable (its process stopped with SIGSTOP, or killed)
// every call with a deadline-free context fails within a few Timeouts with
// an error wrapping ErrUnavailable (or ErrOutcomeUnknown for a write whose
// fate is unknown), and works again once Redis is back, on the same Store.
// "Within a few Timeouts" is shown without timing the call: it sends at
// most maxDownRoundTrips round trips, each under a deadline at most
// Timeout away although the caller's context has none.
func TestUnavailableCallsAreBounded(t *testing.T) {
	for _, fault := range []string{"sigstop", "killed"} {
		t.Run(fault, func(t *testing.T) {
			r := testenv.StartRedis(t)
			const timeout = 300 * time.Millisecond
			s := openTest(t, r, Config{Timeout: timeout, WriteMarkers: true})
			rt := recordRoundTrips(s)
			bg := context.Background()
			for _, c := range storeCalls { // warm up: scripts loaded, connection up
				if err := c.call(bg, s, "warm"+c.name); err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
			}
			pid := r.Server.PID()
			switch fault {
			case "sigstop":
				if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
			case "killed":
				r.Stop()
			}
			for _, c := range storeCalls {
				ctx := rt.call(bg, c.name)
				err := testenv.ReturnsWithin(t, c.name, func() error { return c.call(ctx, s, "down"+c.name) })
				trips := rt.take(c.name)
				t.Logf("%s: %v after %d round trips, deadlines %v away", c.name, err, len(trips), trips)
				if err == nil {
					t.Fatalf("%s: succeeded while Redis is down", c.name)
				}
				if !errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrOutcomeUnknown) {
					t.Errorf("%s: %v: want ErrUnavailable", c.name, err)
				}
				if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					t.Errorf("%s: %v: Redis's silence reported as a context error", c.name, err)
				}
				if len(trips) == 0 || len(trips) > maxDownRoundTrips {
					t.Errorf("%s: %d round trips while Redis is down, want 1 to %d", c.name, len(trips), maxDownRoundTrips)
				}
				for _, left := range trips {
					if left < 0 || left > timeout {
						t.Errorf("%s: a round trip sent with its deadline %v away (negative: none), want at most Timeout %v", c.name, left, timeout)
					}
				}
			}
			switch fault {
			case "sigstop":
				if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
					t.Fatal(err)
				}
			case "killed":
				r.Restart()
			}
			// recovery without a new Store (rueidis reconnects; a call may
			// still meet the old connection's end)
			for _, c := range storeCalls {
				var err error
				for try := 0; try < 20; try++ {
					if err = c.call(bg, s, fmt.Sprintf("up%s%d", c.name, try)); err == nil {
						break
					}
				}
				if err != nil {
					t.Errorf("%s after recovery: %v", c.name, err)
				}
			}
		})
	}
}

// The record of keys the client-side cache may hold stays within
// MaxCachedKeys however many distinct sessions are read, and a write to a
// key dropped from it is still read back (every write carries the
// read-your-own-writes barrier until the dropped keys' cached copies
// expired).
func TestCachedKeysRecordBounded(t *testing.T) {
	r := testenv.StartRedis(t)
	const limit = 64
	s := openTest(t, r, Config{MaxCachedKeys: limit})
	ctx := context.Background()
	const n = 3000
	for i := 0; i < n; i++ {
		id := fmt.Sprint("ck", i)
		if i < 100 {
			r.MustDo("SET", s.Key(id), "n|i:1;")
		}
		if _, err := s.Get(ctx, id); err != nil {
			t.Fatal(err)
		}
		s.armMu.Lock()
		size := len(s.armed)
		s.armMu.Unlock()
		if size > limit {
			t.Fatalf("record holds %d keys after %d reads (bound %d)", size, i+1, limit)
		}
	}
	for i := 0; i < 100; i++ {
		id := fmt.Sprint("ck", i)
		res, err := s.WriteIfUnlocked(ctx, id, Data{Bytes: counterBytes(1), Found: true}, WriteData, counterBytes(2))
		if err != nil || !res.Applied {
			t.Fatalf("%s: %+v %v", id, res, err)
		}
		d, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Bytes) != "n|i:2;" {
			t.Fatalf("%s: read %q after writing n|i:2;", id, d.Bytes)
		}
	}
}

// Get reports how long its answer holds: the key's expiry (or the cache
// lifetime, if sooner), never later than Redis drops the key.
func TestGetReportsExpiry(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx := context.Background()
	// Redis drops the key between setStart and setEnd + 5 s; Get may count
	// its own round trip (and a millisecond, and the PTTL's rounding) off
	// that, however long a loaded machine makes the round trip
	setStart := time.Now()
	r.MustDo("SET", s.Key("ex"), "n|i:1;", "PX", "5000")
	setEnd := time.Now()
	for i := 0; i < 2; i++ { // a miss, then a hit
		before := time.Now()
		d, err := s.Get(ctx, "ex")
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := setStart.Add(5*time.Second-time.Since(before)-2*time.Millisecond), setEnd.Add(5*time.Second)
		if d.Expires.IsZero() || d.Expires.After(hi) || d.Expires.Before(lo) {
			t.Fatalf("read %d: Expires %v, want between %v and %v", i, d.Expires, lo, hi)
		}
	}
	r.MustDo("SET", s.Key("noex"), "n|i:1;")
	d, err := s.Get(ctx, "noex")
	if err != nil {
		t.Fatal(err)
	}
	if d.Expires.After(time.Now().Add(s.Config().CacheTTL)) {
		t.Fatalf("Expires %v beyond the cache lifetime", d.Expires)
	}
}

// rueidis's client-side cache is sized by Config.ClientCacheBytes (its own
// default, 128 MiB per connection, is not used): reading 24 MB of
// distinct sessions through Get leaves at most about that in memory.
func TestClientCacheBytesBoundsMemory(t *testing.T) {
	r := testenv.StartRedis(t)
	const limit = 1 << 20
	s := openTest(t, r, Config{ClientCacheBytes: limit})
	ctx := context.Background()
	val := strings.Repeat("x", 12<<10)
	const n = 2000
	for i := 0; i < n; i += 100 {
		args := []string{"MSET"}
		for j := i; j < i+100; j++ {
			args = append(args, s.Key(fmt.Sprint("big", j)), val)
		}
		r.MustDo(args...)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		if _, err := s.Get(ctx, fmt.Sprint("big", i)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew by %d bytes after reading %d bytes", grew, n*len(val))
	if grew > 8*limit {
		t.Fatalf("heap grew by %d bytes: the client-side cache is not bounded by ClientCacheBytes (%d)", grew, limit)
	}
}
