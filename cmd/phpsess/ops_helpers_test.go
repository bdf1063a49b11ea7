package main

// Helpers of the operator-command tests: they drive the binary built by
// TestMain (phpsessBin) against redis-server and php started through
// internal/testenv.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

type cliResult struct {
	Out, Err string
	Code     int
}

// cli runs phpsess with args (and stdin) and returns what it printed.
func cli(t testing.TB, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, phpsessBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	res := cliResult{Out: so.String(), Err: se.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.Code = ee.ExitCode()
	default:
		t.Fatalf("run phpsess %v: %v", args, err)
	}
	return res
}

// mustCLI is cli that requires exit status 0.
func mustCLI(t testing.TB, args ...string) string {
	t.Helper()
	r := cli(t, "", args...)
	require.Equal(t, 0, r.Code, "phpsess %v: stdout %q stderr %q", args, r.Out, r.Err)
	return r.Out
}

// bg is a phpsess process running in the background, its stdout and
// stderr readable line by line (through os pipes, so output is never lost
// to Wait closing them).
type bg struct {
	cmd      *exec.Cmd
	out, err *bufio.Reader
	done     chan error
}

func startCLI(t testing.TB, args ...string) *bg {
	t.Helper()
	cmd := exec.Command(phpsessBin, args...)
	or, ow, err := os.Pipe()
	require.NoError(t, err)
	er, ew, err := os.Pipe()
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = ow, ew
	require.NoError(t, cmd.Start())
	ow.Close()
	ew.Close()
	b := &bg{cmd: cmd, out: bufio.NewReader(or), err: bufio.NewReader(er), done: make(chan error, 1)}
	go func() { b.done <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-b.done:
		default:
			_ = cmd.Process.Kill() // we started it: stop it by its own handle
			<-b.done
		}
		or.Close()
		er.Close()
	})
	return b
}

// wait waits for the process to exit and returns its exit status.
func (b *bg) wait(t testing.TB, d time.Duration) int {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err // keep it for Cleanup
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		require.NoError(t, err)
		return 0
	case <-time.After(d):
		t.Fatalf("phpsess did not exit within %v", d)
	}
	return -1
}

// line reads one line from r, failing the test after d.
func readLine(t testing.TB, r *bufio.Reader, d time.Duration) string {
	t.Helper()
	ch := make(chan string, 1)
	ech := make(chan error, 1)
	go func() {
		s, err := r.ReadString('\n')
		if err != nil {
			ech <- err
			return
		}
		ch <- strings.TrimRight(s, "\n")
	}()
	select {
	case s := <-ch:
		return s
	case err := <-ech:
		t.Fatalf("reading line: %v", err)
	case <-time.After(d):
		t.Fatalf("no line within %v", d)
	}
	return ""
}

// rawClient is a plain rueidis client for checking stored bytes.
func rawClient(t testing.TB, addrs ...string) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: addrs, DisableCache: true})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

func rawGet(t testing.TB, c rueidis.Client, key string) (string, bool) {
	t.Helper()
	s, err := c.Do(context.Background(), c.B().Get().Key(key).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", false
	}
	require.NoError(t, err)
	return s, true
}

// phpWrite runs a PHP script that starts session id (argv[1]) under cfg,
// and returns its stdout.
func phpRun(t testing.TB, cfg testenv.PHPSession, script string, argv ...string) string {
	t.Helper()
	out, _, err := testenv.RunPHP(context.Background(), t, cfg, script, argv...)
	require.NoError(t, err)
	return out
}

// jsonLines decodes one JSON object per line.
func jsonLines(t testing.TB, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, "output %q", s)
		out = append(out, m)
	}
}
