package testenv

import (
	"context"
	"strings"
	"testing"
)

func TestStartRedisAndPHP(t *testing.T) {
	r := StartRedis(t)
	if got := r.MustDo("SET", "PHPREDIS_SESSION:abc", "n|i:5;"); got != "OK" {
		t.Fatalf("SET: %q", got)
	}
	out, _, err := RunPHP(nil, t, PHPSession{Addr: r.Addr, Locking: true},
		`session_id("abc"); session_start(); echo $_SESSION["n"]; $_SESSION["n"]++; session_write_close();`)
	if err != nil {
		t.Fatal(err)
	}
	if out != "5" {
		t.Fatalf("php read %q", out)
	}
	if got := r.MustDo("GET", "PHPREDIS_SESSION:abc"); got != "n|i:6;" {
		t.Fatalf("after php write: %q", got)
	}
	r.Restart()
	if got := r.MustDo("EXISTS", "PHPREDIS_SESSION:abc"); got != "0" {
		t.Fatalf("after restart: %q", got)
	}
}

func TestStartCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := StartCluster(t, 3)
	info := c.Nodes[0].MustDo("CLUSTER", "INFO")
	if !strings.Contains(info, "cluster_known_nodes:3") {
		t.Fatalf("cluster info: %s", info)
	}
}

// TestRunPHPMessagesOnce: tests count phpredis's lock failures by their
// message on stderr, so each message must appear there once, whatever the
// machine's php.ini says about logging (Debian's php-cli logs to stderr).
func TestRunPHPMessagesOnce(t *testing.T) {
	_, serr, err := RunPHP(context.Background(), t, PHPSession{Addr: "127.0.0.1:1"},
		`trigger_error("Acquire of session lock was not successful", E_USER_WARNING);`)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(serr, "Acquire of session lock was not successful"); n != 1 {
		t.Fatalf("message seen %d times on stderr, want 1: %s", n, serr)
	}
}
