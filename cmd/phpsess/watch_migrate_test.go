package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestWatchSeesPHPAndGoChanges: watch prints one line per change, whoever
// made it (PHP request, phpsess set through the coordinator, deletion).
func TestWatchSeesPHPAndGoChanges(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, richSessionPHP, "w1")
	u := "--redis=" + r.URL()

	w := startCLI(t, u, "--json", "watch", "w1", "--count", "4", "--timeout", "50s")
	ready := readLine(t, w.err, 30*time.Second)
	require.Contains(t, ready, `watching session "w1" (7 variables: n, user, list, ref1, ref2, bin, f)`)

	next := func() map[string]any {
		t.Helper()
		var m map[string]any
		line := readLine(t, w.out, 30*time.Second)
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		return m
	}

	// a PHP request: one variable added, one changed, one removed
	phpRun(t, php, `session_id("w1"); session_start(); $_SESSION["cnt"] = 1; $_SESSION["n"] = 2; unset($_SESSION["list"]); session_write_close();`)
	ev := next()
	assert.Equal(t, "changed", ev["event"])
	assert.Equal(t, []any{"cnt"}, ev["added"])
	assert.Equal(t, []any{"n"}, ev["changed"])
	assert.Equal(t, []any{"list"}, ev["removed"])
	assert.Equal(t, "int(1) → int(2)", ev["values"].(map[string]any)["n"])

	// a PHP request that changes nothing (lazy_write: EXPIRE only) prints nothing;
	// then Go changes a variable through the coordinator
	phpRun(t, php, `session_id("w1"); session_start(); session_write_close();`)
	mustCLI(t, u, "set", "w1", "cnt", "42")
	ev = next()
	assert.Equal(t, []any{"cnt"}, ev["changed"])
	assert.Nil(t, ev["added"])

	// undecodable bytes written by someone
	r.MustDo("SET", "PHPREDIS_SESSION:w1", "garbage")
	ev = next()
	assert.Equal(t, "undecodable", ev["event"])
	assert.Contains(t, ev["error"], "offset")

	mustCLI(t, u, "del", "w1")
	ev = next()
	assert.Equal(t, "deleted", ev["event"])
	require.Equal(t, 0, w.wait(t, 30*time.Second))

	// text form, and --timeout with --count not reached
	res := cli(t, "", u, "watch", "w1", "--count", "1", "--timeout", "1s")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "timed out after 0 of 1 changes")

	w = startCLI(t, u, "watch", "w2", "--count", "1")
	assert.Contains(t, readLine(t, w.err, 30*time.Second), "does not exist yet")
	phpRun(t, php, `session_id("w2"); session_start(); $_SESSION["a"] = "x"; session_write_close();`)
	line := readLine(t, w.out, 30*time.Second)
	assert.Contains(t, line, `created +a="x"`)
	require.Equal(t, 0, w.wait(t, 30*time.Second))
}

// migrateWriterPHP writes sessions mig<i> for i in [argv[1], argv[2]) with
// varied content and prints, per session, "id serialize($_SESSION)".
const migrateWriterPHP = `
class Cart { public $items = []; protected $owner; private $note = "n\0b";
  function __construct($o) { $this->owner = $o; } }
for ($i = (int)$argv[1]; $i < (int)$argv[2]; $i++) {
  session_id("mig$i");
  session_start();
  $_SESSION['i'] = $i;
  $_SESSION['name'] = str_repeat("é", $i % 5);
  $_SESSION['f'] = $i / 7;
  $c = new Cart("u$i"); $c->items = range(0, $i % 4);
  $_SESSION['cart'] = $c;
  $_SESSION['again'] = $c;
  $x = [$i];
  $_SESSION['r1'] = &$x; $_SESSION['r2'] = &$x;
  session_write_close();
  echo "mig$i ", base64_encode(serialize($_SESSION)), "\n";
}
`

const migrateReaderPHP = `
class Cart { public $items = []; protected $owner; private $note; }
for ($i = (int)$argv[1]; $i < (int)$argv[2]; $i++) {
  session_id("mig$i");
  session_start(['read_and_close' => true]);
  echo "mig$i ", base64_encode(serialize($_SESSION)), "\n";
}
`

func parseIDLines(s string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if id, v, ok := strings.Cut(l, " "); ok {
			out[id] = v
		}
	}
	return out
}

// TestMigrateResumable converts PHP-written php sessions to php_serialize
// in two runs (--limit, then resumed from --state), leaves an undecodable
// session and a session behind a stale lock untouched, skips a session
// already in the target format, keeps TTLs, and PHP reads every converted
// session back as the same values under the new serializer.
func TestMigrateResumable(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	const n = 40
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, GCMaxLifetime: 3600}
	written := parseIDLines(phpRun(t, php, migrateWriterPHP, "0", strconv.Itoa(n)))
	require.Len(t, written, n)
	// already php_serialize
	phpSer := php
	phpSer.Serializer = "php_serialize"
	phpRun(t, phpSer, `session_id("already"); session_start(); $_SESSION["a"] = [1]; session_write_close();`)
	// not decodable as php nor php_serialize
	r.MustDo("SET", "PHPREDIS_SESSION:broken", "a|i:1;b|s:99:\"short\";")
	// locked by a PHP process that died
	r.MustDo("SET", "PHPREDIS_SESSION:stuck", "k|i:1;")
	r.MustDo("SET", "PHPREDIS_SESSION:stuck_LOCK", "deadhost|999")
	r.MustDo("PERSIST", "PHPREDIS_SESSION:mig0")

	c := rawClient(t, r.Addr)
	brokenBefore, _ := rawGet(t, c, "PHPREDIS_SESSION:broken")
	mig1Before, _ := rawGet(t, c, "PHPREDIS_SESSION:mig1")
	u := "--redis=" + r.URL()
	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{u, "--json", "migrate", "--from", "php", "--to", "php_serialize", "--state", state, "--scan-count", "7", "--lock-timeout", "200ms"}

	// dry run changes nothing
	res := cli(t, "", u, "--json", "migrate", "--from", "php", "--to", "php_serialize", "--dry-run")
	dry := jsonLines(t, res.Out)
	require.Len(t, dry, 1, res.Err)
	assert.EqualValues(t, n+1, dry[0]["converted"]) // the stuck one converts fine without a lock
	assert.EqualValues(t, 1, dry[0]["skipped"])
	assert.EqualValues(t, 1, dry[0]["failed"])
	got, _ := rawGet(t, c, "PHPREDIS_SESSION:mig1")
	assert.Equal(t, mig1Before, got)

	// first run stops after 15 sessions
	res = cli(t, "", append(args, "--limit", "15", "--progress")...)
	first := jsonLines(t, res.Out)
	require.Len(t, first, 1, res.Err)
	assert.Equal(t, false, first[0]["complete"])
	done1 := first[0]["converted"].(float64) + first[0]["skipped"].(float64) + first[0]["failed"].(float64)
	assert.EqualValues(t, 15, done1)
	assert.Contains(t, res.Err, "run the same command again")
	assert.Contains(t, res.Err, "migrating")
	var st migrateState
	b, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	assert.False(t, st.Complete)

	// resumed run finishes; nothing is handled twice
	res = cli(t, "", args...)
	assert.Equal(t, 1, res.Code, res.Err) // failures → exit status 1
	assert.Contains(t, res.Err, "resuming migration")
	fin := jsonLines(t, res.Out)
	require.Len(t, fin, 1)
	assert.Equal(t, true, fin[0]["complete"])
	assert.EqualValues(t, n, fin[0]["converted"])
	assert.EqualValues(t, 1, fin[0]["skipped"])
	assert.EqualValues(t, 2, fin[0]["failed"])
	reasons := map[string]string{}
	for _, f := range fin[0]["failures"].([]any) {
		m := f.(map[string]any)
		reasons[m["id"].(string)] = m["reason"].(string)
	}
	assert.Contains(t, reasons["broken"], "not php data")
	assert.Contains(t, reasons["broken"], "offset")
	assert.Contains(t, reasons["stuck"], "held by PHP")
	assert.NotContains(t, reasons["stuck"], "deadhost|999", "lock tokens are not shown")

	// failed sessions untouched
	got, _ = rawGet(t, c, "PHPREDIS_SESSION:broken")
	assert.Equal(t, brokenBefore, got)
	got, _ = rawGet(t, c, "PHPREDIS_SESSION:stuck")
	assert.Equal(t, "k|i:1;", got)
	// TTLs kept
	assert.Equal(t, "-1", r.MustDo("TTL", "PHPREDIS_SESSION:mig0"))
	ttl, err := strconv.Atoi(r.MustDo("TTL", "PHPREDIS_SESSION:mig1"))
	require.NoError(t, err)
	assert.InDelta(t, 3600, ttl, 120)

	// PHP reads every session back, identical, under php_serialize
	read := parseIDLines(phpRun(t, phpSer, migrateReaderPHP, "0", strconv.Itoa(n)))
	assert.Equal(t, written, read)

	// a completed state with failures retries only them (they fail again);
	// a plain re-run skips everything
	res = cli(t, "", args...)
	assert.Contains(t, res.Err, "retrying its 2 failed session(s)")
	assert.Contains(t, res.Out, `"failed":2`)
	res = cli(t, "", u, "migrate", "--from", "php", "--to", "php_serialize", "--lock-timeout", "200ms")
	assert.Contains(t, res.Out, fmt.Sprintf("0 converted, %d skipped (already php_serialize), 2 failed", n+1))
	assert.Contains(t, res.Out, "failed (untouched unless the reason says converted or outcome unknown):")

	// another migration refuses this state file
	res = cli(t, "", u, "migrate", "--from", "php", "--to", "php_binary", "--state", state)
	assert.Equal(t, 2, res.Code)
	assert.Contains(t, res.Err, "belongs to another migration")
}

// TestMigrateInterruptedWhileLocked: a migration blocked on a lock held by
// a live PHP request and then interrupted (SIGINT) saves its checkpoint,
// and the resumed run converts the session once PHP released it.
func TestMigrateInterruptedResumes(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, `session_id("only"); session_start(); $_SESSION["v"] = 1; session_write_close();`)
	r.MustDo("SET", "PHPREDIS_SESSION:only_LOCK", "php|1", "PX", "60000")
	u := "--redis=" + r.URL()
	state := filepath.Join(t.TempDir(), "s.json")
	before, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	m := startCLI(t, u, "migrate", "--from", "php", "--to", "php_binary", "--state", state, "--lock-timeout", "60s")
	// wait until it tried the lock, then interrupt it
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for deadline := time.Now().Add(30 * time.Second); ; <-tick.C {
		now, err := testenv.CommandCalls(r.Addr)
		require.NoError(t, err)
		if now["set"] > before["set"] {
			break
		}
		require.True(t, time.Now().Before(deadline))
	}
	require.NoError(t, m.cmd.Process.Signal(os.Interrupt))
	m.wait(t, 30*time.Second)
	var st migrateState
	b, err := os.ReadFile(state)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &st))
	assert.False(t, st.Complete)
	assert.EqualValues(t, 0, st.Converted+st.Failed)
	got, _ := rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:only")
	assert.Equal(t, "v|i:1;", got)

	r.MustDo("DEL", "PHPREDIS_SESSION:only_LOCK")
	out := mustCLI(t, u, "migrate", "--from", "php", "--to", "php_binary", "--state", state)
	assert.Contains(t, out, "1 converted")
	got, _ = rawGet(t, rawClient(t, r.Addr), "PHPREDIS_SESSION:only")
	assert.Equal(t, "\x01vi:1;", got)
}

// TestWatchSurvivesRedisRestart: watch keeps following the session across
// a Redis restart (the data is lost: no persistence) and sees it recreated.
func TestWatchSurvivesRedisRestart(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	phpRun(t, php, `session_id("rs"); session_start(); $_SESSION["a"] = 1; session_write_close();`)
	w := startCLI(t, "--redis="+r.URL(), "--json", "watch", "rs", "--count", "2", "--timeout", "60s")
	readLine(t, w.err, 30*time.Second)
	r.Restart()
	var ev map[string]any
	require.NoError(t, json.Unmarshal([]byte(readLine(t, w.out, 30*time.Second)), &ev))
	assert.Equal(t, "deleted", ev["event"])
	phpRun(t, php, `session_id("rs"); session_start(); $_SESSION["b"] = 2; session_write_close();`)
	require.NoError(t, json.Unmarshal([]byte(readLine(t, w.out, 30*time.Second)), &ev))
	assert.Equal(t, "created", ev["event"])
	assert.Equal(t, []any{"b"}, ev["added"])
	require.Equal(t, 0, w.wait(t, 30*time.Second))
}
