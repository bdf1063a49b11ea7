package phpsession_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/phplock"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// phpIncrScript increments $_SESSION['php'] argv[2] times in session argv[1],
// one session_start/session_write_close per iteration (one PHP "request"),
// sleeping argv[3] µs after each. When a request fails its lock, it asks
// Redis at argv[4]:argv[5] on a second connection who holds the lock right
// after its last attempt (phplock.ProbePHP). It prints one JSON line:
// refused (requests whose lock failed: phpredis refuses their write),
// holders (those failures by holder class) and other (any other message,
// or a failed session_start, in a request whose lock did not fail).
const phpIncrScript = "<?php\n" + phplock.ProbePHP + `
$id = $argv[1]; $n = (int)$argv[2]; $think = (int)($argv[3] ?? 0);
$probe = new Redis();
$probe->connect($argv[4], (int)$argv[5]);
$lockKey = 'PHPREDIS_SESSION:' . $id . '_LOCK';
$refused = 0; $lf = false; $holders = []; $other = [];
set_error_handler(function ($no, $str) use (&$lf, &$holders, &$other, $probe, $lockKey) {
    if (strpos($str, 'Acquire of session lock was not successful') !== false) {
        if (!$lf) {
            $k = phpsess_lock_holder($probe, $lockKey);
            $holders[$k] = ($holders[$k] ?? 0) + 1;
        }
        $lf = true;
    } elseif (!$lf) {
        $other[] = $str; // a failure that is not the lock's (e.g. a refused write)
    }
    return false; // still reported on stderr
});
for ($i = 0; $i < $n; $i++) {
    $lf = false;
    session_id($id);
    $ok = session_start();
    if ($ok) {
        $_SESSION['php'] = ($_SESSION['php'] ?? 0) + 1;
        session_write_close();
    } elseif (!$lf) {
        $other[] = 'session_start failed';
    }
    if ($lf) { $refused++; }
    usleep($think);
}
echo json_encode(['refused' => $refused, 'holders' => (object)$holders, 'other' => $other]), "\n";
`

// phpIncrOut is phpIncrScript's output.
type phpIncrOut struct {
	Refused int            // requests whose lock failed
	Holders map[string]int // those failures by phplock holder class
	Other   []string       // errors outside a lock failure
}

// parsePHPIncr parses phpIncrScript's output line.
func parsePHPIncr(out string) (phpIncrOut, error) {
	var o phpIncrOut
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &o); err != nil {
		return o, fmt.Errorf("php output %q: %w", out, err)
	}
	return o, nil
}

// splitAddr splits a loopback host:port for phpIncrScript's argv.
func splitAddr(t *testing.T, addr string) (host, port string) {
	t.Helper()
	host, port, ok := strings.Cut(addr, ":")
	require.True(t, ok, addr)
	return host, port
}

// TestInteropUnderLoadWithPHP runs Go at full speed on one session while PHP
// processes with phpredis 5.3's default lock settings (lock_retries 10,
// lock_wait_time 2000 µs: 11 tries 2 ms apart) update the same session.
// Every update from both sides must land, and Go must never keep PHP from
// its lock (see interopUnderLoadBlob for how that is told apart from PHP
// requests failing behind each other on a loaded machine).
func TestInteropUnderLoadWithPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	interopUnderLoad(t, r, m, "")
}

// TestInteropUnderLoadLongSession: the same on a session of ~100 KiB,
// which Go writes under the lock with tracking (actor/tracked.go): no
// update of either side is lost and Go never keeps PHP from the lock.
func TestInteropUnderLoadLongSession(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	interopUnderLoadBlob(t, r, m, "", 100<<10)
}

// interopUnderLoad runs the scenario; serializer is PHP's
// session.serialize_handler ("" for php), which m must be configured for.
func interopUnderLoad(t *testing.T, r *testenv.Redis, m *phpsession.Manager, serializer string) {
	interopUnderLoadBlob(t, r, m, serializer, 0)
}

// interopUnderLoadBlob is interopUnderLoad on a session that also holds a
// string of blob bytes (0: none), written by Go before the load starts.
//
// A PHP request fails its lock on a loaded machine even without Go: a
// CPU-starved PHP request holds the lock past its peers' retries. So each
// failed request records who held the lock right after its last attempt,
// and the test fails on a failure behind a Go holder only; failures
// behind another PHP request or none (released by the time of the probe)
// are PHP's own and only logged. Any other PHP error fails the test.
func interopUnderLoadBlob(t *testing.T, r *testenv.Redis, m *phpsession.Manager, serializer string, blob int) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	id := "interop" + phpsession.NewID()[:10]
	if blob > 0 {
		require.NoError(t, m.Set(ctx, id, "blob", strings.Repeat("b", blob)))
	}

	// PHP requests arrive with a little think time in between: back-to-back
	// PHP loops on one session starve each other even without Go (measured:
	// 4 tight loops, 2 of 600 requests failed their lock with no Go at all).
	const phpProcs, phpIters, goWriters = 3, 150, 64
	var goOK atomic.Int64
	stop := make(chan struct{})
	var gwg sync.WaitGroup
	for w := 0; w < goWriters; w++ {
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := m.Update(ctx, id, func(s *phpsession.Session) error {
					var n int
					if _, err := s.Unmarshal("go", &n); err != nil {
						return err
					}
					return s.Set("go", n+1)
				})
				if err != nil {
					t.Error(err)
					return
				}
				goOK.Add(1)
			}
		}()
	}

	cfg := testenv.PHPSession{Addr: r.Addr, Locking: true, Serializer: serializer} // 5.3 defaults: 10 retries, 2000 µs
	host, port := splitAddr(t, r.Addr)
	var pwg sync.WaitGroup
	outs := make([]phpIncrOut, phpProcs)
	for p := 0; p < phpProcs; p++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			out, serr, err := testenv.RunPHP(ctx, t, cfg, phpIncrScript, id, fmt.Sprint(phpIters), "2000", host, port)
			if err == nil {
				outs[p], err = parsePHPIncr(out)
			}
			if err != nil {
				t.Errorf("php: %v", err)
			}
			if strings.TrimSpace(serr) != "" {
				t.Logf("php stderr: %.500s", serr)
			}
		}()
	}
	pwg.Wait()
	close(stop)
	gwg.Wait()

	holders := map[string]int{}
	failures := 0
	for _, o := range outs {
		failures += o.Refused
		for k, n := range o.Holders {
			holders[k] += n
		}
		for _, msg := range o.Other {
			t.Errorf("PHP error outside a lock failure: %s", msg)
		}
	}
	goN, err := phpsession.GetAs[int](ctx, m, id, "go")
	require.NoError(t, err)
	phpN, err := phpsession.GetAs[int](ctx, m, id, "php")
	require.NoError(t, err)
	st := m.Stats()
	t.Logf("go updates=%d (stored %d), php updates=%d (stored %d), php lock failures=%d by holder %v; batches=%d (lock-free %d, conflicts %d) ops/batch=%.1f gaps=%d lockwaits=%d",
		goOK.Load(), goN, phpProcs*phpIters, phpN, failures, holders, st.Batches, st.LockFreeBatches, st.Conflicts, st.OpsPerBatch(), st.FairnessGaps, st.LockWaits)
	// Fairness: no PHP request failed its lock behind Go. Failures behind
	// PHP or none are PHP's own (a starved PHP request, or load).
	if n := holders[phplock.Go]; n > 0 {
		t.Errorf("PHP lock failure behind Go: %d of %d failed PHP requests found a Go lock holder right after their last attempt", n, failures)
	}
	if n := failures - holders[phplock.Go]; n > 0 {
		t.Logf("%d PHP lock failures behind PHP (%d) or nobody (%d): PHP's own, not Go's", n, holders[phplock.PHP], holders[phplock.None])
	}
	// Beside PHP, Go's batches go lock-free (the script refuses while PHP
	// holds the lock or after PHP changed the data): PHP never waits for Go.
	// A session over redisio.TrackedOver is written under the lock instead.
	if blob <= redisio.TrackedOver {
		require.Greater(t, st.LockFreeBatches, st.Batches/2, "most batches lock-free")
	}
	if blob > 0 {
		b, err := phpsession.GetAs[string](ctx, m, id, "blob")
		require.NoError(t, err)
		require.Len(t, b, blob, "the long variable survives Go's and PHP's writes")
	}
	require.Equal(t, int(goOK.Load()), goN, "lost Go updates")
	// a PHP request that failed its lock had its write refused by phpredis
	// itself (not lost by Go): every write PHP reported done must be there
	done := phpProcs * phpIters
	for _, o := range outs {
		done -= o.Refused
	}
	require.Equal(t, done, phpN, "lost PHP updates")
}

// TestInteropValuesWithPHP: what PHP writes Go reads as PHP meant it, and
// what Go writes (Go values, a JSON field) PHP reads back as Go meant it.
func TestInteropValuesWithPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	cfg := testenv.PHPSession{Addr: r.Addr, Locking: true}
	id := "vals" + phpsession.NewID()[:8]

	_, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start();
$_SESSION['user'] = ['id' => 7, 'name' => 'Zoë', 'roles' => ['admin', 'dev']];
$_SESSION['price'] = 0.1;
$_SESSION['ga_data'] = json_encode(['cid' => 'GA1.2.3', 'hits' => 3]);
session_write_close();
`, id)
	require.NoError(t, err)

	type user struct {
		ID    int      `php:"id"`
		Name  string   `php:"name"`
		Roles []string `php:"roles"`
	}
	u, err := phpsession.GetAs[user](ctx, m, id, "user")
	require.NoError(t, err)
	require.Equal(t, user{7, "Zoë", []string{"admin", "dev"}}, u)
	price, err := phpsession.GetAs[float64](ctx, m, id, "price")
	require.NoError(t, err)
	require.Equal(t, 0.1, price)
	ga, err := m.Get(ctx, id, "ga_data") // JSON field: decoded
	require.NoError(t, err)
	cid, _ := ga.(*codec.Object).Get("cid")
	require.Equal(t, codec.String("GA1.2.3"), cid)

	require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
		u.Roles = append(u.Roles, "go")
		if err := s.Set("user", u); err != nil {
			return err
		}
		if err := s.Set("ga_data", map[string]any{"cid": "GA1.2.3", "hits": 4}); err != nil {
			return err
		}
		return s.Set("from_go", map[string]int{"a": 1})
	}))

	out, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start();
$u = $_SESSION['user'];
$ga = json_decode($_SESSION['ga_data'], true);
echo json_encode([$u['id'], $u['name'], $u['roles'], $_SESSION['price'], $ga['hits'], $_SESSION['from_go']['a']]);
session_write_close();
`, id)
	require.NoError(t, err)
	require.JSONEq(t, `[7,"Zoë",["admin","dev","go"],0.1,4,1]`, out)
}
