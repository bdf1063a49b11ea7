// Package testenv starts the real components the integration tests need: a
// redis-server on a free loopback port, a local Redis Cluster, and the php
// CLI with phpredis. Tests skip when a component is missing, unless
// PHPSESSION_INTEGRATION=required, in which case they fail (CI sets it).
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/redisserver"
)

// EnvIntegration names the variable that controls integration tests:
// "required" turns a missing redis-server or php into a failure, "off"
// skips every integration test, anything else skips only what is missing.
const EnvIntegration = "PHPSESSION_INTEGRATION"

const howTo = "install redis-server and php-cli php-redis php-igbinary php-msgpack (Debian), " +
	"or run `bash .ci/run`; set " + EnvIntegration + "=required to make this a failure"

// Required reports whether missing components must fail tests.
func Required() bool { return os.Getenv(EnvIntegration) == "required" }

func missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is required (%s=required) but unavailable: %s", what, EnvIntegration, howTo)
	}
	t.Skipf("skipping: %s unavailable; %s", what, howTo)
}

func checkOff(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvIntegration) == "off" {
		if Required() {
			return
		}
		t.Skipf("skipping: %s=off", EnvIntegration)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Redis is a redis-server process owned by one test.
type Redis struct {
	*redisserver.Server
	t testing.TB
}

// RedisServerPath returns the redis-server binary or "" when absent.
func RedisServerPath() string { return redisserver.Path() }

// StartRedis starts a standalone redis-server with persistence off on a free
// port in a temporary directory; it is stopped (by pid) when the test ends.
// Extra args are appended to the command line (e.g. "--maxmemory", "10mb").
func StartRedis(t testing.TB, extra ...string) *Redis {
	t.Helper()
	checkOff(t)
	if RedisServerPath() == "" {
		missing(t, "redis-server")
	}
	s, err := redisserver.Start(context.Background(), t.TempDir(), extra...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	r := &Redis{Server: s, t: t}
	t.Cleanup(r.Stop)
	return r
}

// Stop kills the server by its pid and waits for the port to close.
func (r *Redis) Stop() { r.Server.Kill() }

// Restart stops the server and starts it again on the same port (data is
// lost unless persistence was turned on).
func (r *Redis) Restart() {
	r.t.Helper()
	if err := r.Server.Restart(context.Background()); err != nil {
		r.t.Fatalf("restart redis-server: %v", err)
	}
}

// Do sends one command over a fresh RESP2 connection and returns the reply
// rendered as text (bulk strings raw, integers as digits, arrays one element
// per line, nil as "(nil)", errors as "ERR ..." with a non-nil error).
func (r *Redis) Do(args ...string) (string, error) { return Do(r.Addr, args...) }

// MustDo is Do that fails the test on error.
func (r *Redis) MustDo(args ...string) string {
	r.t.Helper()
	s, err := r.Do(args...)
	if err != nil {
		r.t.Fatalf("redis %v: %v", args, err)
	}
	return s
}

// Do sends one command to addr over a fresh RESP2 connection (see Redis.Do).
func Do(addr string, args ...string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write(b.Bytes()); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(c))
}

func readReply(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return line[1:], fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "(nil)", nil
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "(nil)", nil
		}
		parts := make([]string, 0, n)
		for i := 0; i < n; i++ {
			s, err := readReply(br)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

func ioReadFull(br *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := br.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func pingOK(addr string) bool {
	s, err := Do(addr, "PING")
	return err == nil && s == "PONG"
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Cluster is a local Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Redis
}

// Addrs returns the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr
	}
	return out
}

// StartCluster starts n (≥3) redis-server processes with cluster mode on and
// joins them with `redis-cli --cluster create`; it returns once every slot
// is served and cluster_state is ok.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	checkOff(t)
	if n < 3 {
		n = 3
	}
	if _, err := exec.LookPath("redis-cli"); err != nil {
		missing(t, "redis-cli")
	}
	c := &Cluster{}
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		c.Nodes = append(c.Nodes, StartRedis(t, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "5000"))
	}
	args := []string{"--cluster", "create"}
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "redis-cli", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, node := range c.Nodes {
		for {
			info, _ := node.Do("CLUSTER", "INFO")
			if strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster not ok after 30s: %s", info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// WaitGoroutines waits (polling a condition, up to max) until no more than
// base goroutines run, and fails the test with every stack when they don't:
// a leak check after Close.
func WaitGoroutines(t testing.TB, base int, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("goroutine leak: %d > %d\n%s", runtime.NumGoroutine(), base, buf[:n])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}
