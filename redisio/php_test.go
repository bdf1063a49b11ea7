package redisio

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// phpIncr increments $_SESSION['n'] argv[2] times under phpredis's lock and
// prints one line per failure plus "done <successes>".
const phpIncr = `
$id = $argv[1]; $n = (int)$argv[2]; $ok = 0;
for ($i = 0; $i < $n; $i++) {
    session_id($id);
    if (!@session_start()) { echo "FAIL start\n"; continue; }
    $_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
    if (!@session_write_close()) { echo "FAIL write\n"; continue; }
    $ok++;
}
echo "done $ok\n";
`

func TestMutualExclusionPHPAndGo(t *testing.T) {
	for _, tc := range []struct {
		name       string
		lockExpire int
	}{
		{"no-lock-expire", 0},
		{"lock-expire", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.RequirePHP(t)
			r := testenv.StartRedis(t)
			s := openTest(t, r, Config{})
			const (
				phpProcs = 3
				phpEach  = 25
				goRout   = 8
				goEach   = 25
			)
			id := "mutex" + strconv.Itoa(tc.lockExpire)
			cfg := testenv.PHPSession{Addr: r.Addr, Locking: true, LockExpire: tc.lockExpire,
				LockRetries: 40000, LockWaitTime: 250}
			ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
			defer cancel()
			waitPHP := startPHPIncrs(ctx, t, cfg, phpProcs, phpEach, id)
			// Go keeps incrementing until every PHP process has finished, so
			// both sides really contend for the lock.
			var phpDone atomic.Bool
			var goCount atomic.Int64
			goErr := make(chan error, 16)
			var gwg sync.WaitGroup
			for g := 0; g < goRout; g++ {
				gwg.Add(1)
				go func() {
					defer gwg.Done()
					for i := 0; i < goEach || !phpDone.Load(); i++ {
						if err := incr(ctx, s, id); err != nil {
							select {
							case goErr <- err:
							default:
							}
							return
						}
						goCount.Add(1)
					}
				}()
			}
			before, _ := testenv.CommandCalls(r.Addr)
			total, phpErrs := waitPHP()
			phpDone.Store(true)
			gwg.Wait()
			close(goErr)
			for err := range goErr {
				t.Errorf("go: %v", err)
			}
			after, _ := testenv.CommandCalls(r.Addr)
			for _, err := range phpErrs {
				t.Error(err)
			}
			want := total + int(goCount.Load())
			if got := counterIn(t, r, s.Key(id)); got != want {
				t.Fatalf("counter %d, want %d (php %d + go %d)", got, want, total, goCount.Load())
			}
			// SET NX calls beyond the acquisitions are failed attempts: proof
			// that the two sides contended.
			t.Logf("php %d + go %d increments; SET NX calls %d for %d acquisitions",
				total, goCount.Load(), after["set"]-before["set"], want)
			if total != phpProcs*phpEach {
				t.Fatalf("php succeeded %d of %d", total, phpProcs*phpEach)
			}
			if got := r.MustDo("EXISTS", s.LockKey(id)); got != "0" {
				t.Fatalf("lock left behind")
			}
		})
	}
}

// phpHold takes the lock, reports it, holds it for argv[2] ms, writes n+1,
// releases and prints the release time (microtime after write_close).
const phpHold = `
$id = $argv[1];
session_id($id);
session_start();
$_SESSION['n'] = ($_SESSION['n'] ?? 0) + 1;
usleep((int)$argv[2] * 1000);
session_write_close();
printf("released %.6f\n", microtime(true));
usleep(100000); // stay alive so process exit does not compete for the CPU
`

func TestGoWaitsForPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lat []time.Duration
	for round := 0; round < 5; round++ {
		id := "wait" + strconv.Itoa(round)
		r.MustDo("SET", s.Key(id), "n|i:41;")
		type result struct {
			out string
			err error
		}
		done := make(chan result, 1)
		go func() {
			out, _, err := testenv.RunPHP(ctx, t, testenv.PHPSession{Addr: r.Addr, Locking: true}, phpHold, id, "150")
			done <- result{out, err}
		}()
		// Wait until PHP holds the lock (condition poll, not a sleep).
		for {
			if _, _, held, err := s.LockHolder(ctx, id); err != nil {
				t.Fatal(err)
			} else if held {
				break
			}
			select {
			case res := <-done:
				t.Fatalf("php ended before locking: %q %v", res.out, res.err)
			case <-time.After(time.Millisecond):
			}
		}
		l, d, err := s.LockAndRead(ctx, id)
		acquired := time.Now()
		if err != nil {
			t.Fatal(err)
		}
		if string(d.Bytes) != "n|i:42;" {
			t.Fatalf("go read %q after php released, want PHP's write", d.Bytes)
		}
		if _, err := s.Commit(ctx, l, WriteData, counterBytes(43)); err != nil {
			t.Fatal(err)
		}
		res := <-done
		if res.err != nil {
			t.Fatal(res.err)
		}
		var rel float64
		if _, err := fmt.Sscanf(res.out, "released %f", &rel); err != nil {
			t.Fatalf("php output %q", res.out)
		}
		released := time.Unix(0, int64(rel*1e9))
		lat = append(lat, acquired.Sub(released))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("Go acquired the lock after PHP released it: latencies %v (median %v; PHP's own polling waits 2-20 ms)", lat, lat[len(lat)/2])
}

func TestPHPWaitsForGo(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	id := "phpwaits"
	l, _, err := s.LockAndRead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	before, err := testenv.CommandCalls(r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, _, err := testenv.RunPHP(ctx, t, testenv.PHPSession{Addr: r.Addr, Locking: true, LockRetries: 5000, LockWaitTime: 2000},
			`session_id($argv[1]); session_start(); echo $_SESSION['n'] ?? 'none'; $_SESSION['n']++; session_write_close();`, id)
		done <- result{out, err}
	}()
	// Hold the lock until PHP has tried (and failed) to take it 3 times.
	for {
		now, err := testenv.CommandCalls(r.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if now["set"]-before["set"] >= 3 {
			break
		}
		select {
		case res := <-done:
			t.Fatalf("php finished while Go held the lock: %q %v", res.out, res.err)
		case <-time.After(time.Millisecond):
		}
	}
	if _, err := s.Commit(ctx, l, WriteData, counterBytes(1)); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.out != "1" {
		t.Fatalf("php read %q, want Go's 1", res.out)
	}
	if got := counterIn(t, r, s.Key(id)); got != 2 {
		t.Fatalf("final %d", got)
	}
}

func TestInteropPHPWritesGoReads(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx := context.Background()
	cfg := testenv.PHPSession{Addr: r.Addr, Locking: true, GCMaxLifetime: 1440}
	// PHP writes, Go reads (cached and locked).
	if _, _, err := testenv.RunPHP(ctx, t, cfg, `session_id("interop1"); session_start(); $_SESSION["user"]="ann"; $_SESSION["n"]=7;`); err != nil {
		t.Fatal(err)
	}
	want := `user|s:3:"ann";n|i:7;`
	d, err := s.Get(ctx, "interop1")
	if err != nil || !d.Found || string(d.Bytes) != want {
		t.Fatalf("Get: %q %v", d.Bytes, err)
	}
	l, d, err := s.LockAndRead(ctx, "interop1")
	if err != nil || string(d.Bytes) != want {
		t.Fatalf("LockAndRead: %q %v", d.Bytes, err)
	}
	// Go writes, PHP reads.
	if _, err := s.Commit(ctx, l, WriteData, []byte(`user|s:3:"bob";n|i:8;`)); err != nil {
		t.Fatal(err)
	}
	out, _, err := testenv.RunPHP(ctx, t, cfg, `session_id("interop1"); session_start(); echo $_SESSION["user"], " ", $_SESSION["n"];`)
	if err != nil || out != "bob 8" {
		t.Fatalf("php read %q %v", out, err)
	}
	// PHP's write after Go's is seen by Go's cached Get (invalidation).
	if _, _, err := testenv.RunPHP(ctx, t, cfg, `session_id("interop1"); session_start(); $_SESSION["n"]=9;`); err != nil {
		t.Fatal(err)
	}
	d, err = s.Get(ctx, "interop1")
	if err != nil || string(d.Bytes) != `user|s:3:"bob";n|i:9;` {
		t.Fatalf("Get after php write: %q %v", d.Bytes, err)
	}
	// Go's TTL is the configured one; PHP's lazy write (unchanged data) via
	// WriteTouch keeps the bytes.
	l, _, err = s.LockAndRead(ctx, "interop1")
	if err != nil {
		t.Fatal(err)
	}
	r.MustDo("EXPIRE", s.Key("interop1"), "100")
	res, err := s.Commit(ctx, l, WriteTouch, nil)
	if err != nil || !res.Existed {
		t.Fatalf("touch: %+v %v", res, err)
	}
	if ttl := r.MustDo("TTL", s.Key("interop1")); ttl != "86400" {
		t.Fatalf("ttl after touch %s", ttl)
	}
	// Destroy under lock, PHP sees an empty session.
	l, _, err = s.LockAndRead(ctx, "interop1")
	if err != nil {
		t.Fatal(err)
	}
	res, err = s.Commit(ctx, l, WriteDelete, nil)
	if err != nil || !res.Existed {
		t.Fatalf("delete: %+v %v", res, err)
	}
	out, _, err = testenv.RunPHP(ctx, t, cfg, `session_id("interop1"); session_start(); echo count($_SESSION);`)
	if err != nil || out != "0" {
		t.Fatalf("php after delete: %q %v", out, err)
	}
}

// TestInteropCustomPrefix: phpredis URL-decodes the save_path prefix; Go
// uses the decoded prefix and both share the session and its lock.
func TestInteropCustomPrefix(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{Prefix: "my:pfx x:"})
	ctx := context.Background()
	cfg := testenv.PHPSession{Addr: r.Addr, Prefix: "my%3Apfx+x:", Locking: true}
	if _, _, err := testenv.RunPHP(ctx, t, cfg, `session_id("pfx1"); session_start(); $_SESSION["n"]=1;`); err != nil {
		t.Fatal(err)
	}
	l, d, err := s.LockAndRead(ctx, "pfx1")
	if err != nil || string(d.Bytes) != "n|i:1;" {
		t.Fatalf("%q %v", d.Bytes, err)
	}
	// PHP (no retries left) cannot take the lock Go holds: its write is
	// refused (phpredis 5.3 proceeds read-only).
	out, _, err := testenv.RunPHP(ctx, t, testenv.PHPSession{Addr: r.Addr, Prefix: "my%3Apfx+x:", Locking: true, LockRetries: 1, LockWaitTime: 1000},
		`session_id("pfx1"); session_start(); $_SESSION["n"]=100; var_export(session_write_close());`)
	if err != nil {
		t.Fatal(err)
	}
	if v := r.MustDo("GET", "my:pfx x:pfx1"); v != "n|i:1;" {
		t.Fatalf("php wrote under Go's lock: %q (php said %q)", v, out)
	}
	if _, err := s.Commit(ctx, l, WriteData, counterBytes(2)); err != nil {
		t.Fatal(err)
	}
	out, _, err = testenv.RunPHP(ctx, t, cfg, `session_id("pfx1"); session_start(); echo $_SESSION["n"];`)
	if err != nil || out != "2" {
		t.Fatalf("php read %q %v", out, err)
	}
}
