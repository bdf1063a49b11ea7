package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestSavePathFlag: --save-path takes the session.save_path string PHP
// uses (here: an ACL login, a database and a prefix) and reads and writes
// the sessions PHP does; it refuses to be combined with --redis or
// --prefix, and refuses a save_path phpredis would misread.
func TestSavePathFlag(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	r.MustDo("ACL", "SETUSER", "alice", "on", ">pw1", "~*", "&*", "+@all")
	r.MustDo("CONFIG", "SET", "requirepass", "dpw")
	sp := "tcp://" + r.Addr + "?auth[]=alice&auth[]=pw1&database=3&prefix=app1:"
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, Extra: map[string]string{"session.save_path": sp}}
	phpRun(t, php, richSessionPHP, "sp1")

	assert.Equal(t, "int(1)\n", mustCLI(t, "--save-path", sp, "get", "sp1", "n"))
	mustCLI(t, "--save-path", sp, "set", "sp1", "n", "9")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(phpRun(t, php, readBackPHP, "sp1")), &m))
	assert.EqualValues(t, 9, m["n"])

	for _, args := range [][]string{
		{"--save-path", sp, "--redis", r.URL(), "get", "sp1"},
		{"--save-path", sp, "--prefix", "x:", "get", "sp1"},
		{"--save-path", r.Addr + "?prefix=app1:", "get", "sp1"},
	} {
		res := cli(t, "", args...)
		assert.Equal(t, 2, res.Code, "%v: %s", args, res.Err)
		assert.Contains(t, res.Err, "--save-path")
	}
}
