package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// richSessionPHP writes a session with an object (all visibilities), a
// reference pair, a binary string, floats and nested arrays, and prints
// serialize($_SESSION).
const richSessionPHP = `
class User { public $name = "bob"; protected $role = "admin"; private $secret = "x\0y"; }
session_id($argv[1]);
session_start();
$_SESSION['n'] = 1;
$_SESSION['user'] = new User;
$_SESSION['list'] = [1, 2.5, "three", true, null];
$a = ['k' => 'v'];
$_SESSION['ref1'] = &$a;
$_SESSION['ref2'] = &$a;
$_SESSION['bin'] = "\xff\xfe\n";
$_SESSION['f'] = 0.1;
session_write_close();
echo serialize($_SESSION);
`

// readBackPHP prints var_export of the session (as PHP sees it).
const readBackPHP = `
session_id($argv[1]);
session_start(['read_and_close' => true]);
echo json_encode($_SESSION, JSON_INVALID_UTF8_SUBSTITUTE);
`

func TestGetRendersPHPSession(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, richSessionPHP, "rich1")
	u := "--redis=" + r.URL()

	out := mustCLI(t, u, "get", "rich1")
	for _, want := range []string{
		`session "rich1": php, `,
		`7 variables, TTL 24m0s`,
		"n => int(1)",
		"user => object(User) (3) {",
		`  public $name => string(3) "bob"`,
		`  protected $role => string(5) "admin"`,
		`  private(User) $secret => string(3) "x\x00y"`,
		"  [1] => float(2.5)",
		"  [4] => null",
		"ref1 => &1 array(1) {",
		`  ["k"] => string(1) "v"`,
		"ref2 => &1 (reference, see above)",
		`bin => string(3) "\xff\xfe\n"`,
		"f => float(0.1)",
	} {
		assert.Contains(t, out, want)
	}

	// one key, lossless JSON
	out = mustCLI(t, u, "get", "rich1", "user", "--json")
	assert.JSONEq(t, `{"object":"User","members":[{"name":"name","value":"bob"},{"name":"role","visibility":"protected","value":"admin"},{"name":"secret","visibility":"private","class":"User","value":"x\u0000y"}]}`, out)
	assert.Equal(t, "int(1)\n", mustCLI(t, u, "get", "rich1", "n"))

	// get --json | encode reproduces the stored bytes
	js := mustCLI(t, u, "--json", "get", "rich1")
	enc, stderr, code := runBin(t, []byte(js), "encode")
	require.Equal(t, 0, code, stderr)
	raw := mustCLI(t, u, "get", "rich1", "--raw")
	stored, _ := rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:rich1")
	assert.Equal(t, stored, raw)
	assert.Equal(t, stored, string(enc))

	// the other serializers, as PHP writes them
	for _, h := range []string{"php_serialize", "php_binary"} {
		cfg := php
		cfg.Serializer = h
		phpRun(t, cfg, `session_id("`+h+`"); session_start(); $_SESSION["v"] = [1.5, "é"]; $_SESSION[5] = "int key"; session_write_close();`)
		out := mustCLI(t, u, "--handler", h, "get", h)
		assert.Contains(t, out, `session "`+h+`": `+h, h)
		assert.Contains(t, out, "v => array(2) {\n  [0] => float(1.5)\n  [1] => string(2) \"é\"\n}", h)
		if h == "php_serialize" { // php_binary drops int keys, as PHP does
			assert.Contains(t, out, `[5] => string(7) "int key"`)
		}
		js := mustCLI(t, u, "--handler", h, "--json", "get", h)
		enc, stderr, code := runBin(t, []byte(js), "encode")
		require.Equal(t, 0, code, stderr)
		stored, _ := rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:"+h)
		assert.Equal(t, stored, string(enc), h)
	}

	// errors
	res := cli(t, "", u, "get", "nosuch")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, `session "nosuch" not found`)
	res = cli(t, "", u, "get", "rich1", "nokey")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, `has no variable "nokey"`)
	res = cli(t, "", u, "--handler", "php_serialize", "get", "rich1")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "cannot decode as php_serialize")
	assert.Contains(t, res.Err, "try --handler php")
	assert.Contains(t, res.Err, "offset")
}

func TestSetDelThroughCoordinator(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, richSessionPHP, "s1")
	u := "--redis=" + r.URL()

	mustCLI(t, u, "set", "s1", "n", "5")
	mustCLI(t, u, "set", "s1", "obj", `{"b":1,"a":[true,null,1.5],"7":"x"}`)
	mustCLI(t, u, "set", "s1", "s", "--string", "plain text")
	mustCLI(t, u, "set", "s1", "p", "--php", `O:8:"stdClass":1:{s:1:"a";i:1;}`)
	typed := mustCLI(t, u, "--json", "get", "s1", "user")
	mustCLI(t, u, "set", "s1", "user2", "--typed", strings.TrimSpace(typed))
	mustCLI(t, u, "del", "s1", "list")

	got := phpRun(t, php, readBackPHP, "s1")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(got), &m))
	assert.EqualValues(t, 5, m["n"])
	assert.Equal(t, map[string]any{"b": 1.0, "a": []any{true, nil, 1.5}, "7": "x"}, m["obj"])
	assert.Equal(t, "plain text", m["s"])
	assert.Equal(t, map[string]any{"a": 1.0}, m["p"])
	assert.Equal(t, map[string]any{"__PHP_Incomplete_Class_Name": "User", "name": "bob"}, m["user2"]) // class unknown to the reader; json_encode shows public members
	assert.NotContains(t, m, "list")
	assert.Contains(t, m, "ref1") // untouched variables kept
	// the variables set kept their PHP types
	out := mustCLI(t, u, "get", "s1", "user2")
	assert.Contains(t, out, "private(User) $secret")
	out = mustCLI(t, u, "get", "s1", "obj")
	assert.Contains(t, out, "[7] => string(1) \"x\"") // numeric key became int, as in PHP

	// missing session / variable
	res := cli(t, "", u, "set", "nosuch", "k", "1")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "--create")
	_, found := rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:nosuch")
	assert.False(t, found)
	mustCLI(t, u, "set", "newsess", "k", `"v"`, "--create", "--ttl", "90s")
	assert.Equal(t, `{"k":"v"}`, phpRun(t, php, readBackPHP, "newsess"))
	ttl, err := strconv.Atoi(r.MustDo("TTL", "PHPREDIS_SESSION:newsess"))
	require.NoError(t, err)
	assert.InDelta(t, 85, ttl, 5.5) // 90 s, minus the time since

	res = cli(t, "", u, "del", "s1", "nokey")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, `no variable "nokey"`)
	res = cli(t, "", u, "set", "s1", "k", "not json")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "--string")
	res = cli(t, "", u, "set", "bad|id", "k", "1")
	assert.Equal(t, 2, res.Code)
	res = cli(t, "", u, "set", "s1", "a|b", "1")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "'|'")

	// --json output
	out = mustCLI(t, u, "--json", "del", "s1", "n")
	assert.JSONEq(t, `{"id":"s1","key":"n","deleted":true}`, out)
	mustCLI(t, u, "del", "s1")
	_, found = rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:s1")
	assert.False(t, found)
	res = cli(t, "", u, "del", "s1")
	assert.Equal(t, 1, res.Code)
}

// TestSetWaitsForPHPLock: while a PHP request holds the session lock,
// set waits; PHP's write and the set both land (no lost update).
func TestSetWaitsForPHPLock(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, richSessionPHP, "held")
	bin := testenv.RequirePHP(t)

	script := t.TempDir() + "/hold.php"
	require.NoError(t, os.WriteFile(script, []byte(`<?php
session_id($argv[1]);
session_start();
echo "locked\n";
fgets(STDIN);
$_SESSION['from_php'] = 1;
session_write_close();
echo "done\n";
`), 0o644))
	pc := exec.Command(bin, append(php.Args(), script, "held")...)
	stdin, err := pc.StdinPipe()
	require.NoError(t, err)
	pout, err := pc.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, pc.Start())
	t.Cleanup(func() { _ = pc.Process.Kill(); _ = pc.Wait() })
	br := bufio.NewReader(pout)
	require.Equal(t, "locked", readLine(t, br, 30*time.Second))

	before, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	set := startCLI(t, "--redis="+r.URL(), "set", "held", "from_go", "2")
	// wait until the set has tried to write: its lock-free script (refused
	// while PHP holds the lock) or a SET NX reached Redis
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(time.Millisecond) // poll an observable condition
	defer tick.Stop()
	for {
		now, err := testenv.CommandCalls(r.Addr)
		require.NoError(t, err)
		if now["set"] > before["set"] || now["evalsha"]+now["eval"] > before["evalsha"]+before["eval"] {
			break
		}
		require.True(t, time.Now().Before(deadline), "set never tried to write")
		<-tick.C
	}
	holder := r.MustDo("GET", "PHPREDIS_SESSION:held_LOCK")
	assert.NotContains(t, holder, "|go") // still PHP's lock
	_, err = stdin.Write([]byte("go\n"))
	require.NoError(t, err)
	require.Equal(t, "done", readLine(t, br, 30*time.Second))
	require.Equal(t, 0, set.wait(t, 30*time.Second))

	got := phpRun(t, php, readBackPHP, "held")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(got), &m))
	assert.EqualValues(t, 1, m["from_php"])
	assert.EqualValues(t, 2, m["from_go"])
}

func TestLsLocksUnlock(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, LockRetries: 2, LockWaitTime: 1000}
	for i := 0; i < 5; i++ {
		phpRun(t, php, richSessionPHP, fmt.Sprintf("ls%d", i))
	}
	for i := 0; i < 30; i++ { // other keys under and outside the prefix
		r.MustDo("SET", fmt.Sprintf("PHPREDIS_SESSION:other%02d", i), "n|i:1;", "EX", "600")
		r.MustDo("SET", fmt.Sprintf("unrelated:%d", i), "x")
	}
	r.MustDo("PERSIST", "PHPREDIS_SESSION:other00")
	r.MustDo("HSET", "PHPREDIS_SESSION:hash", "a", "b") // not a session: skipped

	// a stale lock left by a PHP CLI process that died while holding it
	staleLockByKilledPHP(t, php, "ls1")
	// a live lock with a TTL
	r.MustDo("SET", "PHPREDIS_SESSION:ls2_LOCK", "web1|4242", "PX", "60000")

	u := "--redis=" + r.URL()
	rows := jsonLines(t, mustCLI(t, u, "--json", "ls", "--scan-count", "7"))
	byID := map[string]map[string]any{}
	for _, row := range rows {
		byID[row["id"].(string)] = row
	}
	assert.Len(t, byID, 35)
	assert.NotContains(t, byID, "hash")
	assert.NotContains(t, byID, "ls1_LOCK")
	stored, _ := rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:ls0")
	assert.EqualValues(t, len(stored), byID["ls0"]["size"])
	assert.InDelta(t, 1440_000, byID["ls0"]["ttl_ms"], 60_000)
	assert.EqualValues(t, -1, byID["other00"]["ttl_ms"])
	assert.NotContains(t, byID["ls0"], "lock_holder")
	assert.EqualValues(t, -1, byID["ls1"]["lock_ttl_ms"])
	assert.Contains(t, byID["ls1"]["lock_holder"], "|")
	assert.Equal(t, "web1|4242", byID["ls2"]["lock_holder"])

	// text, --match, --limit, --memory, --progress
	out := mustCLI(t, u, "ls", "--match", "ls*")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Len(t, lines, 6) // header + 5
	assert.Contains(t, lines[0], "ID")
	assert.Contains(t, out, `"web1|4242" (TTL `)
	res := cli(t, "", u, "ls", "--limit", "3", "--progress", "--memory", "--scan-count", "5")
	require.Equal(t, 0, res.Code, res.Err)
	assert.Len(t, strings.Split(strings.TrimSpace(res.Out), "\n"), 4)
	assert.Contains(t, res.Err, "scanning")

	// shell completion of session IDs
	out = mustCLI(t, u, "__complete", "get", "ls")
	for i := 0; i < 5; i++ {
		assert.Contains(t, out, fmt.Sprintf("ls%d\n", i))
	}
	assert.NotContains(t, out, "_LOCK")

	// locks
	out = mustCLI(t, u, "locks")
	assert.Contains(t, out, "none (stale?)")
	assert.Contains(t, out, "web1|4242")
	locks := jsonLines(t, mustCLI(t, u, "--json", "locks", "--stale"))
	require.Len(t, locks, 1)
	assert.Equal(t, "ls1", locks[0]["id"])
	assert.Equal(t, true, locks[0]["no_ttl"])
	assert.Equal(t, "gone", locks[0]["holder_process"]) // the PHP process was killed
	assert.EqualValues(t, -1, locks[0]["ttl_ms"])

	// PHP cannot get the stale lock
	_, stderr, _ := testenv.RunPHP(context.Background(), t, php, `session_id("ls1"); session_start(); $_SESSION["x"] = 1; session_write_close();`)
	assert.Contains(t, stderr, "lock")

	// unlock: refused without --force, not confirmed, confirmed
	res = cli(t, "", u, "unlock", "ls1")
	assert.Equal(t, 2, res.Code)
	assert.Contains(t, res.Err, "--force")
	res = cli(t, "n\n", u, "unlock", "ls1", "--force")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "Break the lock")
	assert.Contains(t, res.Err, "no longer running on this host")
	assert.Contains(t, r.MustDo("EXISTS", "PHPREDIS_SESSION:ls1_LOCK"), "1")
	res = cli(t, "", u, "unlock", "ls1", "--force") // EOF: not confirmed
	assert.Equal(t, 1, res.Code)
	res = cli(t, "y\n", u, "unlock", "ls1", "--force")
	require.Equal(t, 0, res.Code, res.Err)
	assert.Contains(t, res.Out, "broken")
	assert.Contains(t, r.MustDo("EXISTS", "PHPREDIS_SESSION:ls1_LOCK"), "0")
	res = cli(t, "", u, "unlock", "ls1", "--force", "--yes")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "not locked")
	un := jsonLines(t, mustCLI(t, u, "--json", "unlock", "ls2", "--force", "-y"))
	require.Len(t, un, 1)
	assert.Equal(t, "ls2", un[0]["id"])
	assert.Equal(t, true, un[0]["unlocked"])
	assert.Equal(t, "web1|4242", un[0]["holder"])
	assert.InDelta(t, 60000, un[0]["ttl_ms"], 30000)

	// PHP locks and writes again
	_, stderr, err := testenv.RunPHP(context.Background(), t, php, `session_id("ls1"); session_start(); $_SESSION["x"] = 1; session_write_close();`)
	require.NoError(t, err)
	assert.NotContains(t, stderr, "lock")
	assert.Contains(t, mustCLI(t, u, "get", "ls1", "x"), "int(1)")
}

// staleLockByKilledPHP starts a PHP CLI request (no lock TTL: lock_expire 0,
// max_execution_time 0), and kills it while it holds the session lock.
func staleLockByKilledPHP(t *testing.T, php testenv.PHPSession, id string) {
	t.Helper()
	bin := testenv.RequirePHP(t)
	script := t.TempDir() + "/die.php"
	require.NoError(t, os.WriteFile(script, []byte(`<?php
session_id($argv[1]);
session_start();
echo "locked\n";
fgets(STDIN);
`), 0o644))
	pc := exec.Command(bin, append(php.Args(), script, id)...)
	stdin, err := pc.StdinPipe()
	require.NoError(t, err)
	defer stdin.Close()
	pout, err := pc.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, pc.Start())
	require.Equal(t, "locked", readLine(t, bufio.NewReader(pout), 30*time.Second))
	require.NoError(t, pc.Process.Kill())
	_ = pc.Wait()
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"nosuchcmd"}, 2, "unknown command"},
		{[]string{"get"}, 2, "missing ID"},
		{[]string{"get", "a", "b", "c"}, 2, "too many arguments"},
		{[]string{"ls", "--nope"}, 2, "unknown flag"},
		{[]string{"set", "a", "b"}, 2, "missing VALUE"},
		{[]string{"set", "a", "b", "1", "--php", "--string"}, 2, "mutually exclusive"},
		{[]string{"migrate", "--from", "php"}, 2, "--from and --to"},
		{[]string{"migrate", "--from", "php", "--to", "php"}, 2, "both php"},
		{[]string{"migrate", "--from", "php", "--to", "wddx"}, 2, "not a serializer"},
		{[]string{"stats"}, 2, "--from"},
		{[]string{"--redis", "redis://127.0.0.1:1", "ls"}, 1, "redis unavailable: connect to 127.0.0.1:1"},
		{[]string{"--redis", "redis://:secret@127.0.0.1:1", "get", "x"}, 1, "redis unavailable: connect to 127.0.0.1:1"},
	} {
		res := cli(t, "", tc.args...)
		assert.Equal(t, tc.code, res.Code, "%v: %s", tc.args, res.Err)
		assert.Contains(t, res.Err, tc.msg, "%v", tc.args)
		assert.NotContains(t, res.Err, "secret")
	}
	out := mustCLI(t, "completion", "bash")
	assert.Contains(t, out, "bash completion")
	out = mustCLI(t, "--help")
	assert.Contains(t, out, "Exit status:")
}

// TestSetBesidePHPTraffic: phpsess set and del run while PHP workers
// increment a counter in the same session under phpredis locking; no
// update of either side is lost.
func TestSetBesidePHPTraffic(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, LockRetries: -1, LockWaitTime: 2000}
	phpRun(t, php, `session_id("busy"); session_start(); $_SESSION["php_n"] = 0; $_SESSION["tmp"] = 1; session_write_close();`)
	u := "--redis=" + r.URL()
	const workers, incs, goers, sets = 3, 40, 3, 5

	var wg sync.WaitGroup
	errs := make(chan error, workers+goers*sets+1)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, stderr, err := testenv.RunPHP(context.Background(), t, php, fmt.Sprintf(`
for ($i = 0; $i < %d; $i++) {
  session_id("busy"); session_start(); $_SESSION["php_n"]++; session_write_close();
}`, incs))
			if err != nil || strings.Contains(stderr, "lock") {
				errs <- fmt.Errorf("php: %v %s", err, stderr)
			}
		}()
	}
	for gi := 0; gi < goers; gi++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < sets; i++ {
				if res := cli(t, "", u, "set", "busy", fmt.Sprintf("go_%d_%d", gi, i), strconv.Itoa(i)); res.Code != 0 {
					errs <- fmt.Errorf("set: %s", res.Err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if res := cli(t, "", u, "del", "busy", "tmp"); res.Code != 0 {
			errs <- fmt.Errorf("del: %s", res.Err)
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(phpRun(t, php, readBackPHP, "busy")), &m))
	assert.EqualValues(t, workers*incs, m["php_n"])
	for gi := 0; gi < goers; gi++ {
		for i := 0; i < sets; i++ {
			assert.EqualValues(t, i, m[fmt.Sprintf("go_%d_%d", gi, i)])
		}
	}
	assert.NotContains(t, m, "tmp")
}

// TestCustomPrefix: sessions PHP stores under a save_path prefix are found
// with --prefix, and writes keep using it.
func TestCustomPrefix(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, Prefix: "app1:"}
	phpRun(t, php, richSessionPHP, "pre1")
	phpRun(t, testenv.PHPSession{Addr: r.Addr}, richSessionPHP, "default1")
	u := "--redis=" + r.URL()

	rows := jsonLines(t, mustCLI(t, u, "--prefix", "app1:", "--json", "ls"))
	require.Len(t, rows, 1)
	assert.Equal(t, "pre1", rows[0]["id"])
	rows = jsonLines(t, mustCLI(t, u, "--json", "ls"))
	require.Len(t, rows, 1)
	assert.Equal(t, "default1", rows[0]["id"])

	mustCLI(t, u, "--prefix", "app1:", "set", "pre1", "n", "9")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(phpRun(t, php, readBackPHP, "pre1")), &m))
	assert.EqualValues(t, 9, m["n"])
	res := cli(t, "", u, "get", "pre1")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, `key "PHPREDIS_SESSION:pre1"`)

	// $REDIS_URL when --redis is not given
	cmd := exec.Command(phpsessBin, "--prefix=app1:", "get", "pre1", "n")
	cmd.Env = append(os.Environ(), "REDIS_URL="+r.URL())
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "int(9)\n", string(out))
}

// With an empty session prefix every key is a candidate; the library's
// write marker (left for a few seconds by a lock-free write of a process
// with WriteMarkers on) is not listed.
func TestLsSkipsWriteMarkerWithNoPrefix(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	u := "--redis=" + r.URL()
	mustCLI(t, u, "--prefix=", "set", "--create", "nopfx1", "n", "1")
	r.MustDo("SET", redisio.MarkerPrefix+"nopfx1", "host|1|go1:x", "PX", "60000")
	rows := jsonLines(t, mustCLI(t, u, "--prefix=", "--json", "ls"))
	var ids []string
	for _, row := range rows {
		ids = append(ids, row["id"].(string))
	}
	assert.Equal(t, []string{"nopfx1"}, ids)
}
