package redisio

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/internal/testenv"
)

var lastRetryErr atomic.Value

var counterRE = regexp.MustCompile(`^n\|i:(-?\d+);$`)

// parseCounter reads the session "n|i:<k>;" (an absent or empty session is 0).
func parseCounter(d Data) (int, error) {
	if !d.Found || len(d.Bytes) == 0 {
		return 0, nil
	}
	m := counterRE.FindSubmatch(d.Bytes)
	if m == nil {
		return 0, fmt.Errorf("unexpected session bytes %q", d.Bytes)
	}
	return strconv.Atoi(string(m[1]))
}

func counterBytes(n int) []byte { return fmt.Appendf(nil, "n|i:%d;", n) }

// incr increments the counter of session id under the lock once.
func incr(ctx context.Context, s *Store, id string) error {
	l, d, err := s.LockAndRead(ctx, id)
	if err != nil {
		return err
	}
	n, err := parseCounter(d)
	if err != nil {
		_ = s.Release(ctx, l)
		return err
	}
	_, err = s.Commit(ctx, l, WriteData, counterBytes(n+1))
	return err
}

// incrRetry increments once, retrying errors that prove nothing was
// written (lock lost, connection errors before the commit) until ctx ends.
// It returns an error only for outcomes it cannot classify.
func incrRetry(ctx context.Context, s *Store, id string, retries *atomic.Int64) error {
	for {
		err := incr(ctx, s, id)
		if err == nil {
			return nil
		}
		if retries.Add(1) <= 3 {
			lastRetryErr.Store(err.Error())
		}
		if errors.Is(err, ErrOutcomeUnknown) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Millisecond):
		}
	}
}

func openURL(t testing.TB, url string, cfg Config) *Store {
	t.Helper()
	s, err := OpenURL(url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func counterIn(t testing.TB, r *testenv.Redis, key string) int {
	t.Helper()
	v := r.MustDo("GET", key)
	if v == "(nil)" {
		return 0
	}
	n, err := parseCounter(Data{Bytes: []byte(v), Found: true})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// startPHPIncrs starts procs php processes, each incrementing id's counter
// each times with phpIncr. wait returns the increments PHP reported and the
// processes' errors (a failed request is an error).
func startPHPIncrs(ctx context.Context, t *testing.T, cfg testenv.PHPSession, procs, each int, id string) (wait func() (total int, errs []error)) {
	var wg sync.WaitGroup
	ok := make([]int, procs)
	perr := make([]error, procs)
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _, err := testenv.RunPHP(ctx, t, cfg, phpIncr, id, strconv.Itoa(each))
			if err != nil {
				perr[p] = err
				return
			}
			if strings.Contains(out, "FAIL") {
				perr[p] = fmt.Errorf("php: %s", out)
			}
			_, _ = fmt.Sscanf(out[strings.LastIndex(out, "done"):], "done %d", &ok[p])
		}()
	}
	return func() (int, []error) {
		wg.Wait()
		total := 0
		var errs []error
		for p := range procs {
			if perr[p] != nil {
				errs = append(errs, fmt.Errorf("php %d: %w", p, perr[p]))
			}
			total += ok[p]
		}
		return total, errs
	}
}

// roundTrips stands between a Store and its rueidis client and records,
// for each command or pipeline the Store sends on behalf of a call (a
// context made by roundTrips.call), how far away the deadline of its
// context was when it was sent: the bound the Store put on that round trip
// (negative: no deadline at all). Round trips of the Store's own
// background work (contexts without the mark) are not recorded. With it a
// test proves that a call is bounded (a count of round trips, each bounded
// by a configured duration) without timing the call.
type roundTrips struct {
	rueidis.Client
	mu   sync.Mutex
	left map[string][]time.Duration
}

// roundTripCall is the context key of the name of the call a round trip
// is sent for.
type roundTripCall struct{}

// recordRoundTrips makes s send every command through a new roundTrips.
// Call it before s is used from more than one goroutine.
func recordRoundTrips(s *Store) *roundTrips {
	rt := &roundTrips{Client: s.c, left: map[string][]time.Duration{}}
	s.c = rt
	return rt
}

// call returns ctx marked so that the round trips sent under it are
// recorded as those of the call named name.
func (rt *roundTrips) call(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, roundTripCall{}, name)
}

func (rt *roundTrips) note(ctx context.Context) {
	name, ok := ctx.Value(roundTripCall{}).(string)
	if !ok {
		return
	}
	left := time.Duration(-1)
	if d, ok := ctx.Deadline(); ok {
		left = max(time.Until(d), 0)
	}
	rt.mu.Lock()
	rt.left[name] = append(rt.left[name], left)
	rt.mu.Unlock()
}

// take returns the round trips recorded for the call named name.
func (rt *roundTrips) take(name string) []time.Duration {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	l := rt.left[name]
	delete(rt.left, name)
	return l
}

func (rt *roundTrips) Do(ctx context.Context, cmd rueidis.Completed) rueidis.RedisResult {
	rt.note(ctx)
	return rt.Client.Do(ctx, cmd)
}

func (rt *roundTrips) DoMulti(ctx context.Context, cmds ...rueidis.Completed) []rueidis.RedisResult {
	rt.note(ctx)
	return rt.Client.DoMulti(ctx, cmds...)
}

func (rt *roundTrips) DoCache(ctx context.Context, cmd rueidis.Cacheable, ttl time.Duration) rueidis.RedisResult {
	rt.note(ctx)
	return rt.Client.DoCache(ctx, cmd, ttl)
}

func (rt *roundTrips) DoMultiCache(ctx context.Context, multi ...rueidis.CacheableTTL) []rueidis.RedisResult {
	rt.note(ctx)
	return rt.Client.DoMultiCache(ctx, multi...)
}

var clientFlagsRE = regexp.MustCompile(` flags=(\S*) `)

// underWritePause runs call while Redis pauses writes, with a context
// that ends while call's first write waits behind the pause, whatever the
// machine's load: the context is cancelled once Redis holds a client
// blocked by the pause. The pause is lifted, for lateWrite, once call
// returned (the write then runs after call gave up on it); else once a
// command call sent after the context ended waits behind the write too (its
// reconciliation asking what became of it), so that the write's reply
// reaches a caller already reconciling. beforeLift, if not nil, runs
// right before the pause is lifted. It returns when call did.
func underWritePause(t *testing.T, r *testenv.Redis, lateWrite bool, beforeLift func(), call func(ctx context.Context)) {
	t.Helper()
	r.MustDo("CLIENT", "PAUSE", strconv.FormatInt((2*testenv.HangGuard).Milliseconds(), 10), "WRITE")
	paused := true
	defer func() {
		if paused {
			r.MustDo("CLIENT", "UNPAUSE")
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); call(ctx) }()
	deadline := time.Now().Add(testenv.HangGuard)
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("after %v: %s", testenv.HangGuard, what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	blocked := func() (string, bool) {
		for _, l := range strings.Split(r.MustDo("CLIENT", "LIST"), "\n") {
			if m := clientFlagsRE.FindStringSubmatch(l); m != nil && strings.Contains(m[1], "b") {
				return l, true // b: blocked (here: by the pause)
			}
		}
		return "", false
	}
	waitFor("no write of call waits behind the pause", func() bool {
		select {
		case <-done:
			t.Fatal("call returned before its write reached Redis")
		default:
		}
		_, ok := blocked()
		return ok
	})
	cancel()
	if lateWrite {
		waitFor("call did not return while its write waits behind the pause", func() bool {
			select {
			case <-done:
				return true
			default:
				return false
			}
		})
	} else {
		waitFor("call sent nothing after the write it lost", func() bool {
			l, ok := blocked()
			return ok && !strings.Contains(l, " qbuf=0 ")
		})
	}
	if beforeLift != nil {
		beforeLift()
	}
	r.MustDo("CLIENT", "UNPAUSE")
	paused = false
	waitFor("call did not return after the pause", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
}
