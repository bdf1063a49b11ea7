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
