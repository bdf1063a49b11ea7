package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Sentinel is a redis-server running in sentinel mode, monitoring one
// master under the name "mymaster".
type Sentinel struct {
	Addr   string
	Master string
	dir    string
}

// Log returns the Sentinel's log file so far (its view of a failover:
// +switch-master, +convert-to-slave, +sdown, ...), for failure messages.
func (s *Sentinel) Log() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "sentinel.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// StartSentinel starts a Sentinel (redis-server --sentinel) on a free port
// that monitors master as "mymaster" (quorum 1). Extra lines are appended
// to its configuration (e.g. "sentinel down-after-milliseconds mymaster
// 1000"). It is killed at cleanup.
func StartSentinel(t testing.TB, master *Redis, extra ...string) *Sentinel {
	t.Helper()
	checkOff(t)
	bin := RedisServerPath()
	if bin == "" {
		missing(t, "redis-server")
	}
	dir := t.TempDir()
	port := FreePort(t)
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor mymaster 127.0.0.1 %d 1\n",
		port, dir, filepath.Join(dir, "sentinel.log"), master.Port)
	for _, l := range extra {
		body += l + "\n"
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start sentinel: %v", err)
	}
	go func() { _ = cmd.Wait() }()
	t.Cleanup(func() { _ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL) })
	s := &Sentinel{Addr: fmt.Sprintf("127.0.0.1:%d", port), Master: "mymaster", dir: dir}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, err := Do(s.Addr, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
		if err == nil && strings.Contains(out, fmt.Sprint(master.Port)) {
			return s
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "sentinel.log"))
			t.Fatalf("sentinel not ready: %v %q: %s", err, out, lastLines(log, 5))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URL returns a redis-sentinel:// URL for the monitored master.
func (s *Sentinel) URL() string { return "redis-sentinel://" + s.Addr + "/" + s.Master }

// WaitReplica waits until the Sentinel lists rep among the master's
// replicas (it learns them from the master's INFO, every few seconds): only
// then can it promote rep. It fails the test after a hang guard's wait.
func (s *Sentinel) WaitReplica(t testing.TB, rep *Redis) {
	t.Helper()
	deadline := time.Now().Add(HangGuard)
	for {
		out, err := Do(s.Addr, "SENTINEL", "REPLICAS", s.Master)
		if err == nil && strings.Contains(out, fmt.Sprint(rep.Port)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sentinel does not list replica %s after %v: %v %q", rep.Addr, HangGuard, err, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
