package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phpsession/phpsession/bench"
	"github.com/phpsession/phpsession/internal/testenv"
)

// phpsessBinary returns the phpsess binary: the one TestMain built, else
// one built into the test's temporary directory.
func phpsessBinary(t *testing.T) string {
	t.Helper()
	if phpsessBin != "" {
		return phpsessBin
	}
	if p, ok := builtBins.Load(t.Name()); ok {
		return p.(string)
	}
	p := filepath.Join(t.TempDir(), "phpsess")
	out, err := exec.Command("go", "build", "-o", p, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	builtBins.Store(t.Name(), p)
	return p
}

var builtBins sync.Map

// runBenchCmd runs the binary with the inherited environment.
func runBenchCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runBenchCmdEnv(t, nil, args...)
}

// runBenchCmdEnv runs the binary with env (nil: inherited) and returns its
// output and exit code.
func runBenchCmdEnv(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, phpsessBinary(t), args...)
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run phpsess: %v", err)
	}
	return so.String(), se.String(), code
}

// incrTarget is the coordinator when wired in, else the per-request
// baseline (same protocol, so the check is the same).
func incrTarget() string {
	if bench.Library != nil {
		return bench.TargetLib
	}
	return bench.TargetB1
}

// TestBenchIncrBinary drives `phpsess bench --scenario incr` against a
// real redis-server, twice, with PHP workers incrementing the same key in
// between when php is available: every increment of both sides must land.
func TestBenchIncrBinary(t *testing.T) {
	r := testenv.StartRedis(t)
	args := []string{"bench", "--scenario", "incr", "--redis", r.URL(), "--session", "incrsess1", "--key", "hits",
		"--writers", "8", "--ops", "300", "--target", incrTarget()}

	out, errOut, code := runBenchCmd(t, args...)
	if code != 0 || strings.TrimSpace(out) != "300" {
		t.Fatalf("first run: code %d out %q err %q", code, out, errOut)
	}

	var phpOK int64
	var ws *bench.PHPWorkers
	if php, err := testenv.PHPPath(); err == nil {
		// PHP waits for the lock as long as it takes here: this checks
		// mutual exclusion, not fairness.
		ws, err = bench.StartPHPWorkers(context.Background(), php, bench.PHPConfig{Addr: r.Addr, LockRetries: 100000, LockWaitTime: 2000},
			2, "incrsess1", "hits", time.Minute, 100)
		if err != nil {
			t.Fatal(err)
		}
	} else if testenv.Required() {
		t.Fatalf("php required: %v", err)
	}
	out, errOut, code = runBenchCmd(t, args...)
	if code != 0 {
		t.Fatalf("second run: code %d out %q err %q", code, out, errOut)
	}
	if ws != nil {
		res, err := ws.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if res.LockFail+res.WriteFail != 0 {
			t.Fatalf("php failures: %+v", res)
		}
		phpOK = res.OK
	}
	// A third, single-writer run reads the final value after PHP is done.
	out, errOut, code = runBenchCmd(t, "bench", "--scenario", "incr", "--redis", r.URL(), "--session", "incrsess1", "--key", "hits",
		"--writers", "1", "--ops", "1", "--target", incrTarget())
	got, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if code != 0 || got != 601+phpOK {
		t.Fatalf("final: code %d value %d, want %d (php %d); err %q", code, got, 601+phpOK, phpOK, errOut)
	}
}

func TestBenchIncrUsage(t *testing.T) {
	_, errOut, code := runBenchCmd(t, "bench", "--scenario", "incr", "--redis", "redis://127.0.0.1:1")
	if code != 2 || !strings.Contains(errOut, "--session") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	_, errOut, code = runBenchCmd(t, "bench", "--writers", "x")
	if code != 2 {
		t.Fatalf("bad flag: code %d, stderr %q", code, errOut)
	}
}

// Counts and durations that cannot be meant are usage errors (exit 2, the
// flag named, no stack trace), found before anything connects: a negative
// --writers crashed with "makeslice: len out of range", a negative --ops
// or --duration ran its cell forever.
func TestBenchRefusesBadCounts(t *testing.T) {
	for _, tc := range []struct{ flag, value string }{
		{"--writers", "-1"},
		{"--writers", "0"},
		{"--writers", "8,-2"},
		{"--replicas", "0"},
		{"--ops", "-5"},
		{"--duration", "-1s"},
		{"--idle-timeout", "-1s"},
		{"--sessions", "-3"},
		{"--php-workers", "-1"},
		{"--rounds", "-1"},
		{"--payload", "-1"},
	} {
		t.Run(tc.flag+"="+tc.value, func(t *testing.T) {
			for _, scenario := range []string{"hot", "incr"} {
				_, errOut, code := runBenchCmd(t, "bench", "--redis", "redis://127.0.0.1:1", "--scenario", scenario, "--session", "s1",
					tc.flag, tc.value)
				if code != 2 || !strings.Contains(errOut, tc.flag) || strings.Contains(errOut, "goroutine ") {
					t.Fatalf("%s: code %d, stderr %q", scenario, code, errOut)
				}
			}
		})
	}
}

// TestBenchTableAndJSON runs one small scenario through the binary and
// checks the table's machine line and the JSON rows.
func TestBenchTableAndJSON(t *testing.T) {
	r := testenv.StartRedis(t)
	out, errOut, code := runBenchCmd(t, "bench", "--redis", r.URL(), "--scenario", "get", "--targets", "b1,b3", "--ops", "50")
	if code != 0 {
		t.Fatalf("code %d: %s", code, errOut)
	}
	for _, want := range []string{"Machine: ", "cores", "Redis 7", "| get | B1 per-request lock | 1 |", "| get | B3 no lock |"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = runBenchCmd(t, "bench", "--redis", r.URL(), "--scenario", "hot", "--writers", "2,3", "--targets", "b1", "--ops", "40", "--json")
	if code != 0 {
		t.Fatalf("json: code %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 JSON object (one scenario), got %d:\n%s", len(lines), out)
	}
	var obj struct {
		Scenario string        `json:"scenario"`
		Machine  bench.Machine `json:"machine"`
		Results  []struct {
			Scenario  string  `json:"scenario"`
			Writers   int     `json:"writers"`
			Ops       int64   `json:"ops"`
			Lost      int64   `json:"lost_updates"`
			CmdsPerOp float64 `json:"cmds_per_op"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &obj); err != nil {
		t.Fatal(err)
	}
	if obj.Scenario != "hot" || obj.Machine.RedisVersion == "" || len(obj.Results) != 2 {
		t.Fatalf("object %+v", obj)
	}
	for _, row := range obj.Results {
		if row.Ops != 40 || row.Lost != 0 || row.CmdsPerOp < 5 {
			t.Fatalf("row %+v", row)
		}
	}
}

// TestBenchStartsItsOwnRedis: with neither --redis nor REDIS_URL the
// command starts a throwaway redis-server (when one is on PATH), and says
// what to install when none is.
func TestBenchStartsItsOwnRedis(t *testing.T) {
	if testenv.RedisServerPath() == "" {
		if testenv.Required() {
			t.Fatal("redis-server required")
		}
		t.Skip("redis-server not installed")
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, errOut, code := runBenchCmdEnv(t, env, "bench", "--scenario", "get", "--targets", "b1", "--ops", "20")
	if code != 0 || !strings.Contains(out, "throwaway redis-server") || !strings.Contains(out, "| get | B1 per-request lock |") {
		t.Fatalf("code %d\nout %s\nerr %s", code, out, errOut)
	}
	empty := t.TempDir()
	_, errOut, code = runBenchCmdEnv(t, []string{"PATH=" + empty}, "bench", "--scenario", "get", "--ops", "1")
	if code != 1 || !strings.Contains(errOut, "redis-server") || !strings.Contains(errOut, "--redis") {
		t.Fatalf("without redis-server: code %d, stderr %q", code, errOut)
	}
}
