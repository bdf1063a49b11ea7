package main

// Tests of the CLI points of issue 15: JSON fields in set, get --plain,
// a server that is not Redis, decode's trailing-newline hint, migrate
// re-runs retrying failures, the final progress line, and watch paths.

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestSetJSONFields: set stores a JSON field's VALUE as the JSON text
// itself (PHP's json_decode() reads it), like the library; --json-fields
// changes or disables the list.
func TestSetJSONFields(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr}
	u := "--redis=" + r.URL()
	phpRun(t, php, `session_id("jf1"); session_start(); $_SESSION["n"] = 1; session_write_close();`)

	mustCLI(t, u, "set", "jf1", "scart_items", `[{"sku":"b","qty":2}]`)
	mustCLI(t, u, "set", "jf1", "trace_list_9", `{"a":[1,2.5]}`)
	mustCLI(t, u, "set", "jf1", "other", `[{"sku":"b"}]`)                         // not a JSON field: a PHP array
	mustCLI(t, u, "set", "jf1", "mine", `{"x":1}`, "--json-fields", "mine,log_*") // custom list
	mustCLI(t, u, "set", "jf1", "ga_data", `{"x":1}`, "--json-fields", "none")    // disabled: a PHP array
	res := cli(t, "", u, "set", "jf1", "scart_items", `not json`)
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "not JSON")

	raw := r.MustDo("GET", "PHPREDIS_SESSION:jf1")
	assert.Contains(t, raw, `scart_items|s:21:"[{"sku":"b","qty":2}]";`)
	assert.Contains(t, raw, `mine|s:7:"{"x":1}";`)
	assert.Contains(t, raw, `ga_data|a:1:{s:1:"x";i:1;}`)
	out := phpRun(t, php, `session_id("jf1"); session_start(["read_and_close" => true]);
echo json_encode([json_decode($_SESSION["scart_items"], true), json_decode($_SESSION["trace_list_9"], true), $_SESSION["other"]]);`)
	assert.JSONEq(t, `[[{"sku":"b","qty":2}],{"a":[1,2.5]},[{"sku":"b"}]]`, out)

	// get --plain: natural JSON, JSON fields embedded, jq-friendly
	plain := mustCLI(t, u, "get", "jf1", "--plain")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(plain), &m), plain)
	assert.Equal(t, []any{map[string]any{"sku": "b", "qty": 2.0}}, m["scart_items"])
	assert.Equal(t, map[string]any{"a": []any{1.0, 2.5}}, m["trace_list_9"])
	assert.Equal(t, 1.0, m["n"])
	one := mustCLI(t, u, "get", "jf1", "scart_items", "--json", "--plain")
	assert.JSONEq(t, `[{"sku":"b","qty":2}]`, one)
	// the lossless form is unchanged
	lossless := mustCLI(t, u, "get", "jf1", "scart_items", "--json")
	assert.Equal(t, `"[{\"sku\":\"b\",\"qty\":2}]"`+"\n", lossless)
}

// TestNotARedisServer: a server where Redis was expected that answers in
// another protocol (HTTP) or closes the connection is named as such, its
// address said once, for the reading and the writing commands. (The
// silent server is left to the library's tests: the CLI would wait out
// its default timeouts.)
func TestNotARedisServer(t *testing.T) {
	t.Parallel()
	for _, srv := range testenv.NotRedisServers {
		if srv.Name == "silent" {
			continue
		}
		addr := testenv.FakeServer(t, srv.Serve)
		for _, args := range [][]string{{"ls"}, {"get", "abc"}, {"set", "abc", "k", "1"}, {"--no-tracking", "get", "abc"}} {
			res := cli(t, "", append([]string{"--redis=redis://" + addr}, args...)...)
			assert.Equal(t, 1, res.Code, "%s %v", srv.Name, args)
			assert.Contains(t, res.Err, addr+" did not answer as a Redis server ("+srv.Detail+"); check the address and port in --redis", "%s %v", srv.Name, args)
			assert.Equal(t, 1, strings.Count(res.Err, addr), "%s %v: the address once: %s", srv.Name, args, res.Err)
			assert.NotContains(t, res.Err, "unknown message type", "%s %v", srv.Name, args)
		}
	}
}

// TestDecodeTrailingNewline: the one newline redis-cli --raw adds is named
// in decode's error, with the pipe to use instead.
func TestDecodeTrailingNewline(t *testing.T) {
	t.Parallel()
	res := cli(t, "a|i:1;\n", "decode")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "ends with one newline")
	assert.Contains(t, res.Err, "phpsess get ID --raw | phpsess decode")
	res = cli(t, "a|i:1;x\n", "decode") // another problem: no hint
	assert.NotContains(t, res.Err, "newline")
	assert.Equal(t, 0, cli(t, "a|i:1;", "decode").Code)
}

// TestMigrateRerunRetriesFailures: running a finished migrate --state
// again retries the sessions that failed; a non-terminal --progress ends
// with a "done:" summary line.
func TestMigrateRerunRetriesFailures(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	u := "--redis=" + r.URL()
	r.MustDo("SET", "PHPREDIS_SESSION:ok1", `a|i:1;`)
	r.MustDo("SET", "PHPREDIS_SESSION:bad1", `garbage`)
	state := t.TempDir() + "/state.json"
	res := cli(t, "", u, "migrate", "--from", "php", "--to", "php_serialize", "--state", state, "--progress")
	assert.Equal(t, 1, res.Code, res.Err)
	assert.Contains(t, res.Out, "1 converted, 0 skipped (already php_serialize), 1 failed")
	lines := strings.Split(strings.TrimSpace(res.Err), "\n")
	assert.True(t, strings.HasPrefix(lines[len(lines)-2], "done: migrating"), res.Err)
	assert.Contains(t, lines[len(lines)-2], "1 converted, 0 skipped, 1 failed")

	// fixed by someone: the re-run converts it
	r.MustDo("SET", "PHPREDIS_SESSION:bad1", `b|s:1:"x";`)
	res = cli(t, "", u, "migrate", "--from", "php", "--to", "php_serialize", "--state", state)
	assert.Equal(t, 0, res.Code, res.Err)
	assert.Contains(t, res.Err, "retrying its 1 failed session(s)")
	assert.Contains(t, res.Out, "2 converted, 0 skipped (already php_serialize), 0 failed")
	assert.Equal(t, `a:1:{s:1:"b";s:1:"x";}`, r.MustDo("GET", "PHPREDIS_SESSION:bad1"))
	res = cli(t, "", u, "migrate", "--from", "php", "--to", "php_serialize", "--state", state)
	assert.Equal(t, 0, res.Code, res.Err)
	assert.Contains(t, res.Err, "already complete")
}

// TestWatchNestedPaths: a change deep inside an array or object is shown
// by its path.
func TestWatchNestedPaths(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr}
	u := "--redis=" + r.URL()
	phpRun(t, php, `session_id("wp"); session_start();
$_SESSION["cart"] = ["items" => [["qty" => 1], ["qty" => 1], ["sku" => "c", "qty" => 1]], "note" => "n"];
$o = new stdClass; $o->name = "a"; $_SESSION["user"] = $o; session_write_close();`)
	w := startCLI(t, u, "watch", "wp", "--count", "2", "--timeout", "50s")
	readLine(t, w.err, 30*time.Second)
	phpRun(t, php, `session_id("wp"); session_start();
$_SESSION["cart"]["items"][2]["qty"] = 2; unset($_SESSION["cart"]["note"]); $_SESSION["cart"]["coupon"] = "X";
$_SESSION["user"]->name = "b"; session_write_close();`)
	line := readLine(t, w.out, 30*time.Second)
	assert.Contains(t, line, "~cart.items[2].qty: int(1) → int(2)")
	assert.Contains(t, line, `+cart.coupon="X"`)
	assert.Contains(t, line, "-cart.note")
	assert.Contains(t, line, `~user.name: "a" → "b"`)
	w2 := startCLI(t, u, "--json", "watch", "wp", "--count", "3", "--timeout", "50s")
	readLine(t, w2.err, 30*time.Second)
	phpRun(t, php, `session_id("wp"); session_start(); $_SESSION["cart"]["items"][0]["qty"] = 5; session_write_close();`)
	var ev struct {
		Paths []pathChange `json:"paths"`
	}
	require.NoError(t, json.Unmarshal([]byte(readLine(t, w2.out, 30*time.Second)), &ev))
	assert.Equal(t, []pathChange{{Path: "cart.items[0].qty", Op: "changed", Old: "int(1)", New: "int(5)"}}, ev.Paths)
	readLine(t, w.out, 30*time.Second)
	// inside a JSON field's JSON text (the library's default fields)
	phpRun(t, php, `session_id("wp"); session_start(); $_SESSION["scart_items"] = json_encode([["sku" => "a", "qty" => 1]]); session_write_close();`)
	readLine(t, w2.out, 30*time.Second) // added
	phpRun(t, php, `session_id("wp"); session_start(); $_SESSION["scart_items"] = json_encode([["sku" => "a", "qty" => 3]]); session_write_close();`)
	ev.Paths = nil
	require.NoError(t, json.Unmarshal([]byte(readLine(t, w2.out, 30*time.Second)), &ev))
	assert.Equal(t, []pathChange{{Path: "scart_items[0].qty", Op: "changed", Old: "int(1)", New: "int(3)"}}, ev.Paths)
	require.Equal(t, 0, w.wait(t, 30*time.Second))
	require.Equal(t, 0, w2.wait(t, 30*time.Second))
}
