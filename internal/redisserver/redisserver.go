// Package redisserver starts and stops throwaway redis-server processes on
// free loopback ports: for the tests (through internal/testenv), the bench
// harness and the demo. Persistence is off unless extra arguments turn it on.
package redisserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrNotInstalled is returned when no redis-server binary is on PATH.
var ErrNotInstalled = errors.New("redis-server not found on PATH (Debian: apt-get install redis-server)")

// Path returns the redis-server binary, or "" when there is none on PATH.
func Path() string {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return p
}

// Server is one redis-server process.
type Server struct {
	Port int
	Addr string // 127.0.0.1:port
	Dir  string // working directory (and log file redis.log)

	bin     string
	args    []string
	ownsDir bool

	mu  sync.Mutex
	cmd *exec.Cmd
}

// URL returns the redis:// URL of the server.
func (s *Server) URL() string { return "redis://" + s.Addr }

// PID returns the process id of the running server, or 0.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Start starts redis-server on a free port of 127.0.0.1 with persistence
// off, in dir (a new temporary directory, removed by Stop, when dir is "").
// Extra arguments are appended to the command line. It returns once the
// server answers PING.
func Start(ctx context.Context, dir string, extra ...string) (*Server, error) {
	bin := Path()
	if bin == "" {
		return nil, ErrNotInstalled
	}
	s := &Server{bin: bin, Dir: dir}
	if dir == "" {
		d, err := os.MkdirTemp("", "phpsession-redis-")
		if err != nil {
			return nil, err
		}
		s.Dir, s.ownsDir = d, true
	}
	s.args = append([]string{"--save", "", "--appendonly", "no", "--bind", "127.0.0.1",
		"--dir", s.Dir, "--daemonize", "no", "--logfile", filepath.Join(s.Dir, "redis.log")}, extra...)
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if s.Port, err = freePort(); err != nil {
			continue
		}
		s.Addr = fmt.Sprintf("127.0.0.1:%d", s.Port)
		if err = s.start(ctx); err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	if s.ownsDir {
		_ = os.RemoveAll(s.Dir)
	}
	return nil, fmt.Errorf("start redis-server: %w", err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start(ctx context.Context) error {
	args := append([]string{"--port", strconv.Itoa(s.Port)}, s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "redis.log"))
			return fmt.Errorf("redis-server exited: %s", lastLines(log, 5))
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ctx.Err()
		default:
		}
		if ping(s.Addr) {
			s.mu.Lock()
			s.cmd = cmd
			s.mu.Unlock()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return fmt.Errorf("redis-server on %s not ready after 10s", s.Addr)
}

// Kill kills the process by its pid and waits until the port is closed;
// the directory is kept (Restart reuses it).
func (s *Server) Kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(cmd.Process.Pid, syscall.SIGKILL)
	for i := 0; i < 500; i++ {
		c, err := net.DialTimeout("tcp", s.Addr, 20*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
}

// Signal sends sig to the running server (e.g. syscall.SIGSTOP and
// SIGCONT to freeze and thaw it); it fails when the server is not running.
func (s *Server) Signal(sig syscall.Signal) error {
	pid := s.PID()
	if pid == 0 {
		return errors.New("redis-server not running")
	}
	return syscall.Kill(pid, sig)
}

// Stop kills the server and removes its directory if Start created it.
func (s *Server) Stop() {
	s.Kill()
	if s.ownsDir {
		_ = os.RemoveAll(s.Dir)
	}
}

// Restart kills the server and starts it again on the same port and
// directory (without persistence its data is gone).
func (s *Server) Restart(ctx context.Context) error {
	s.Kill()
	var err error
	for i := 0; i < 50; i++ {
		if err = s.start(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "+PONG")
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
