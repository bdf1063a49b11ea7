package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// output runs f with os.Stdout captured.
func output(t *testing.T, f func() error) string {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	old := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := f()
	os.Stdout = old
	w.Close()
	out := <-done
	require.NoError(t, ferr, out)
	return out
}

// checkFigures: the demo counts the 200 POST updates as updates (the reads
// after them apart), and the side-by-side run shows per-request locking
// sending more commands than phpsession for the same work.
func checkFigures(t *testing.T, out string) {
	t.Helper()
	assert.Regexp(t, `200\s+updates: Update calls`, out)
	assert.Regexp(t, `\(200 updates / \d+ writes\)`, out)
	assert.Regexp(t, `200\s+reads \(the GET /cart after each POST; reads are not updates\)`, out)
	assert.Contains(t, out, "lock-free conflicts: such a write refused")
	m := regexp.MustCompile(`Redis commands\s+(\d+)\s+(\d+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	lib, _ := strconv.Atoi(m[1])
	per, _ := strconv.Atoi(m[2])
	assert.Greater(t, per, lib, "per-request locking sends more commands")
	assert.GreaterOrEqual(t, per, 4*200, "at least SET NX, GET, SETEX and release per request")
}

// The demo runs end to end (and with php on PATH, its PHP part too).
func TestDemoRedisServer(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	checkFigures(t, output(t, func() error { return run(ctx, r.URL(), r.Addr, true, "127.0.0.1:0", false) }))
}

func TestDemoMiniredis(t *testing.T) {
	mr := miniredis.RunT(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	checkFigures(t, output(t, func() error { return run(ctx, "redis://"+mr.Addr(), mr.Addr(), false, "127.0.0.1:0", false) }))
}

func TestAddTo(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []Item
		want  []Item
	}{
		{"empty cart", nil, []Item{{"mug", 2}}},
		{"new line", []Item{{"sticker", 1}}, []Item{{"sticker", 1}, {"mug", 2}}},
		{"more of a line", []Item{{"mug", 1}, {"sticker", 1}}, []Item{{"mug", 3}, {"sticker", 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, addTo(tc.items, "mug", 2))
		})
	}
}

// TestPHPMessagesOnce: the demo counts PHP's lock failures by their
// message, so each message must reach the output once, whatever the
// machine's php.ini says about logging.
func TestPHPMessagesOnce(t *testing.T) {
	php := testenv.RequirePHP(t)
	script := filepath.Join(t.TempDir(), "warn.php")
	require.NoError(t, os.WriteFile(script, []byte(`<?php trigger_error("Acquire of session lock was not successful", E_USER_WARNING);`), 0o644))
	// As a php.ini that logs to stderr (Debian's php-cli does): the
	// demo's own flags come after and decide.
	args := append([]string{"-d", "log_errors=1"}, phpFlags("127.0.0.1:1")...)
	args = append(args, script)
	out, err := exec.Command(php, args...).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, 1, strings.Count(string(out), "Acquire of session lock was not successful"), string(out))
}
