package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/internal/redisserver"
)

// Machine describes where a run happened; it heads every table.
type Machine struct {
	Date         string `json:"date"`
	CPU          string `json:"cpu"`
	Cores        int    `json:"cores"`
	GOMAXPROCS   int    `json:"gomaxprocs"`
	GoVersion    string `json:"go"`
	OS           string `json:"os"`
	RedisVersion string `json:"redis"`
	PHPVersion   string `json:"php,omitempty"`
}

// DescribeMachine gathers CPU, Go, Redis and PHP versions.
func DescribeMachine(ctx context.Context, c rueidis.Client, php string) Machine {
	m := Machine{
		Date:       time.Now().UTC().Format("2006-01-02 15:04 MST"),
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
	}
	if info, err := c.Do(ctx, c.B().Info().Section("server").Build()).ToString(); err == nil {
		m.RedisVersion = infoField(info, "redis_version")
	}
	if php != "" {
		out, err := exec.CommandContext(ctx, php, "-r", `echo PHP_VERSION, " phpredis ", phpversion("redis");`).Output()
		if err == nil {
			m.PHPVersion = strings.TrimSpace(string(out))
		}
	}
	return m
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func infoField(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return ""
}

// cmdStats is a snapshot of INFO commandstats: calls per command.
type cmdStats map[string]int64

// commandStats reads INFO commandstats. It counts every command Redis
// executed, including the ones run inside Lua scripts (Redis counts those
// too); the INFO calls themselves are left out.
func commandStats(ctx context.Context, c rueidis.Client) (cmdStats, error) {
	info, err := c.Do(ctx, c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		return nil, err
	}
	st := cmdStats{}
	for _, l := range strings.Split(info, "\n") {
		l = strings.TrimSpace(l)
		rest, ok := strings.CutPrefix(l, "cmdstat_")
		if !ok {
			continue
		}
		name, fields, ok := strings.Cut(rest, ":")
		if !ok || name == "info" {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(fields, "calls="), ",")
		n, _ := strconv.ParseInt(calls, 10, 64)
		st[name] = n
	}
	return st, nil
}

// delta returns after-before summed over all commands, and per command.
func (after cmdStats) delta(before cmdStats) (int64, map[string]int64) {
	var total int64
	per := map[string]int64{}
	for k, v := range after {
		d := v - before[k]
		if d != 0 {
			per[k] = d
			total += d
		}
	}
	return total, per
}

// redisCPU returns used_cpu_user + used_cpu_sys of the Redis server.
func redisCPU(ctx context.Context, c rueidis.Client) (time.Duration, error) {
	info, err := c.Do(ctx, c.B().Info().Section("cpu").Build()).ToString()
	if err != nil {
		return 0, err
	}
	var total float64
	for _, f := range []string{"used_cpu_user", "used_cpu_sys"} {
		v, err := strconv.ParseFloat(infoField(info, f), 64)
		if err != nil {
			return 0, fmt.Errorf("bench: INFO cpu %s: %w", f, err)
		}
		total += v
	}
	return time.Duration(total * float64(time.Second)), nil
}

// processCPU returns the user+sys CPU time of this process plus that of
// its reaped children.
func processCPU() time.Duration {
	var total time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			total += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return total
}

// Server is a redis-server process started by the harness.
type Server struct {
	URL string
	s   *redisserver.Server
}

// ErrNoRedis is returned when no Redis URL was given and no redis-server
// binary is on PATH.
var ErrNoRedis = errors.New("bench: no Redis: pass --redis URL, set REDIS_URL, or install redis-server (Debian: apt-get install redis-server)")

// StartServer starts a throwaway redis-server (no persistence) on a free
// loopback port in a temporary directory. Stop kills it and removes the
// directory.
func StartServer(ctx context.Context) (*Server, error) {
	s, err := redisserver.Start(ctx, "")
	if errors.Is(err, redisserver.ErrNotInstalled) {
		return nil, ErrNoRedis
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return &Server{URL: s.URL(), s: s}, nil
}

// Stop kills the server (by its pid) and removes its directory.
func (s *Server) Stop() {
	if s != nil && s.s != nil {
		s.s.Stop()
		s.s = nil
	}
}

// Describe connects to url and describes the machine (PHP included when
// the php CLI with phpredis is found).
func Describe(ctx context.Context, url string) (Machine, error) {
	c, err := NewRueidisClient(url, false)
	if err != nil {
		return Machine{}, fmt.Errorf("bench: connect %s: %w", url, err)
	}
	defer c.Close()
	php, _ := FindPHP()
	return DescribeMachine(ctx, c, php), nil
}
