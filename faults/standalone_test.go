package faults_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// pauseAllFor is how long CLIENT PAUSE ALL keeps Redis from answering.
// Nothing ends that pause early (CLIENT UNPAUSE waits behind it too), so it
// is as long as a hang guard: the calls that start in it must all return
// before it ends (downWindow), whatever the machine's load.
const pauseAllFor = 30 * time.Second

func standalone(srv *testenv.Redis) topology {
	return topology{
		name: "standalone",
		open: func(cfg phpsession.Config) (*phpsession.Manager, error) {
			return phpsession.OpenURL(srv.URL(), cfg)
		},
		get:      func(key string) (string, error) { return srv.Do("GET", key) },
		lockKeys: func() (map[string]int64, error) { return lockKeysOn(srv.Addr) },
		set: func(key, value string) error {
			_, err := srv.Do("SET", key, value)
			return err
		},
	}
}

type standaloneFault struct {
	name   string
	args   []string // extra redis-server arguments
	cfg    phpsession.Config
	inject func(t *testing.T, r *run, srv *testenv.Redis)
}

var debugCmd = []string{"--enable-debug-command", "yes"}

func standaloneFaults() []standaloneFault {
	return []standaloneFault{
		{name: "ClientKill", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			for i := 0; i < 10; i++ {
				r.waitAcked(time.Now(), 2, 20*time.Second, "between kills")
				srv.MustDo("CLIENT", "KILL", "TYPE", "normal")
			}
		}},
		{name: "ClientKillLocked", cfg: phpsession.Config{NoLockFree: true}, inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			for i := 0; i < 10; i++ {
				r.waitAcked(time.Now(), 2, 20*time.Second, "between kills")
				srv.MustDo("CLIENT", "KILL", "TYPE", "normal")
			}
		}},
		{name: "ClientKillPHP", inject: clientKillPHP},
		{name: "PauseWrite", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			r.downWindow(func() {
				// longer than the hang guard; CLIENT UNPAUSE ends it
				srv.MustDo("CLIENT", "PAUSE", ms(2*testenv.HangGuard), "WRITE")
			}, func() { srv.MustDo("CLIENT", "UNPAUSE") }, testenv.HangGuard)
		}},
		{name: "PauseAll", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			paused := time.Now()
			r.downWindow(func() { srv.MustDo("CLIENT", "PAUSE", ms(pauseAllFor), "ALL") }, func() {
				time.Sleep(time.Until(paused.Add(pauseAllFor))) // waiting for its end is the fault
			}, pauseAllFor-time.Second) // judged before the pause ends by itself
		}},
		{name: "SIGSTOP", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			r.downWindow(func() {
				if err := srv.Signal(syscall.SIGSTOP); err != nil {
					t.Fatal(err)
				}
			}, func() {
				if err := srv.Signal(syscall.SIGCONT); err != nil {
					t.Fatal(err)
				}
			}, testenv.HangGuard)
		}},
		{name: "RestartNoPersistence", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			r.lossyWindow(func() {
				r.downWindow(srv.Kill, srv.Restart, testenv.HangGuard)
			})
		}},
		{name: "RestartAOF", args: []string{"--appendonly", "yes", "--appendfsync", "always"},
			inject: func(t *testing.T, r *run, srv *testenv.Redis) {
				r.downWindow(srv.Kill, srv.Restart, testenv.HangGuard)
			}},
		// reads keep sessions alive (Config.ReadRefresh): off here, so
		// that the keys expire while the readers read them
		{name: "ExpiryActive", cfg: phpsession.Config{TTL: 2 * time.Second, ReadRefresh: -1}, inject: expire},
		{name: "ExpiryLazy", args: debugCmd, cfg: phpsession.Config{TTL: 2 * time.Second, ReadRefresh: -1},
			inject: func(t *testing.T, r *run, srv *testenv.Redis) {
				srv.MustDo("DEBUG", "SET-ACTIVE-EXPIRE", "0")
				expire(t, r, srv)
			}},
		{name: "Del", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			for i := 0; i < 3; i++ {
				r.waitAcked(time.Now(), 5, 20*time.Second, "between deletes")
				r.lossyWindow(func() {
					for _, id := range r.sessions {
						srv.MustDo("DEL", r.m.Store().Key(id))
					}
				})
			}
		}},
		{name: "FlushAll", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			for i := 0; i < 3; i++ {
				r.waitAcked(time.Now(), 5, 20*time.Second, "between flushes")
				r.lossyWindow(func() { srv.MustDo("FLUSHALL") })
			}
		}},
		{name: "DebugReload", args: debugCmd, inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			for i := 0; i < 3; i++ {
				r.waitAcked(time.Now(), 5, 20*time.Second, "between reloads")
				srv.MustDo("DEBUG", "RELOAD")
			}
		}},
		{name: "SwapDB", inject: func(t *testing.T, r *run, srv *testenv.Redis) {
			r.lossyWindow(func() { srv.MustDo("SWAPDB", "0", "1") })
		}},
	}
}

// expire stops all traffic, waits until Redis's expiry of every session
// key has passed (without touching the keys, so that no access expires
// them early), and lets the readers see the sessions gone before the
// writers start again.
func expire(t *testing.T, r *run, srv *testenv.Redis) {
	r.pauseWriters()
	start := time.Now()
	// reads after the last write leave the sessions in the caches
	r.waitReads(time.Now(), 5, 20*time.Second, "reads before expiry")
	r.pauseReaders()
	var until time.Time
	for _, id := range r.sessions {
		p, err := srv.Do("PTTL", r.m.Store().Key(id))
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(p)
		if n < 0 {
			t.Fatalf("session key %s has PTTL %d", id, n)
		}
		// Redis's expiry is before now+PTTL; memo entries may have
		// taken a little later reply times as their base
		if e := time.Now().Add(time.Duration(n)*time.Millisecond + 250*time.Millisecond); e.After(until) {
			until = e
		}
	}
	time.Sleep(time.Until(until)) // waiting for the expiry is the fault
	r.addLossy(window{start: start, end: until})
	r.resumeReaders()
	r.waitReads(until, 20, 20*time.Second, "reads after expiry")
	r.resumeWriters()
}

func ms(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }

// TestStandaloneFaults runs each fault on its own redis-server under load.
func TestStandaloneFaults(t *testing.T) {
	for _, f := range standaloneFaults() {
		t.Run(f.name, func(t *testing.T) {
			if reason := knownFailure(f.name); reason != "" {
				t.Skip("known: " + reason)
			}
			srv := testenv.StartRedis(t, f.args...)
			r := startRun(t, standalone(srv), f.cfg)
			f.inject(t, r, srv)
			r.finish()
		})
	}
}

// phpIncr increments "p" in session argv[1] argv[2] times through
// phpredis's session handler with locking on, and prints how many of its
// writes succeeded (a killed connection fails a request, as it would in
// production; a failed lock or write only raises a notice).
const phpIncr = `
$id = $argv[1]; $n = (int)$argv[2]; $ok = 0; $failed = false;
// a failed lock or write is only a notice or warning, and
// session_write_close() still returns true
set_error_handler(function () use (&$failed) { $failed = true; return true; });
for ($i = 0; $i < $n; $i++) {
	$failed = false;
	try {
		session_id($id);
		if (session_start()) {
			$_SESSION['p'] = ($_SESSION['p'] ?? 0) + 1;
			if (session_write_close() && !$failed) { $ok++; }
		}
	} catch (Throwable $e) {
		@session_abort();
	}
}
echo $ok;
`

// clientKillPHP kills every connection again and again while a PHP
// process writes the same hot session under phpredis's lock: Go's writes
// and PHP's never overwrite each other (the harness's counter stays exact).
func clientKillPHP(t *testing.T, r *run, srv *testenv.Redis) {
	testenv.RequirePHP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := make(chan struct{})
	var out string
	var perr error
	go func() {
		defer close(done)
		out, _, perr = testenv.RunPHP(ctx, t, testenv.PHPSession{Addr: srv.Addr, Locking: true, LockExpire: 2},
			phpIncr, r.sessions[0], "300")
	}()
	kills := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			r.waitAcked(time.Now(), 3, 30*time.Second, "between kills")
			srv.MustDo("CLIENT", "KILL", "TYPE", "normal")
			kills++
		}
	}
	if perr != nil {
		t.Fatalf("php: %v", perr)
	}
	ok, _ := strconv.Atoi(strings.TrimSpace(out))
	t.Logf("PHP: %d of 300 session writes succeeded under %d kills", ok, kills)
	if ok == 0 {
		t.Fatalf("no PHP session write succeeded (output %q)", out)
	}
	// Go's writes since keep PHP's variable: none of PHP's acknowledged
	// writes was overwritten
	raw := srv.MustDo("GET", r.m.Store().Key(r.sessions[0]))
	m := phpCounterRE.FindStringSubmatch(raw)
	if m == nil {
		t.Fatalf("PHP's counter missing from %q", raw)
	}
	if p, _ := strconv.Atoi(m[1]); p < ok || p > 300 {
		t.Fatalf("PHP's counter %d, want between its %d acknowledged writes and 300 attempts", p, ok)
	}
}

var phpCounterRE = regexp.MustCompile(`(?:^|;|\})p\|i:(\d+);`)
