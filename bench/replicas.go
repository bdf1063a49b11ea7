package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ScenarioReplicas runs N separate processes of the coordinator (N in
// Config.Replicas, default 1, 2, 4, 8) on one hot session, 64 writers in
// each (replicas behind a load balancer, each serving its share of a hot
// session's traffic), beside the mixed scenario's PHP workers.
const ScenarioReplicas = "replicas"

// Conflicter is implemented by targets that count lock-free conflicts
// (commits refused because the lock was held or the data changed).
type Conflicter interface {
	Conflicts() uint64
}

// workerReport is what one replica process prints when done.
type workerReport struct {
	Acked     int64   `json:"acked"`
	Errors    int64   `json:"errors"`
	FirstErr  string  `json:"first_error,omitempty"`
	Conflicts uint64  `json:"conflicts"`
	Seconds   float64 `json:"seconds"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	Notes     string  `json:"notes,omitempty"`
	// Counters: the target's counts (Counterer), summed over processes.
	Counters map[string]int64 `json:"counters,omitempty"`
	// StartCPU: CPU seconds (rusage) of this process before the start
	// line (process start, Manager open, the warming read).
	StartCPU float64 `json:"start_cpu"`
	// CPU seconds of this process from the start line to the report, by
	// runtime/metrics class: total, GC (mark assists, workers, pauses),
	// scavenger, user (everything else the Go code ran), idle (Ps idle).
	CPU map[string]float64 `json:"cpu,omitempty"`
}

// Counterer is implemented by targets with counters worth summing over
// the replicas scenario's processes (see LibTarget.Counters).
type Counterer interface {
	Counters() map[string]int64
}

// cpuClasses reads the process's CPU time by class (runtime/metrics).
func cpuClasses() map[string]float64 {
	names := map[string]string{
		"/cpu/classes/total:cpu-seconds":          "total",
		"/cpu/classes/gc/total:cpu-seconds":       "gc",
		"/cpu/classes/scavenge/total:cpu-seconds": "scavenge",
		"/cpu/classes/user:cpu-seconds":           "user",
		"/cpu/classes/idle:cpu-seconds":           "idle",
	}
	var ss []metrics.Sample
	for n := range names {
		ss = append(ss, metrics.Sample{Name: n})
	}
	metrics.Read(ss)
	out := map[string]float64{}
	for _, s := range ss {
		if s.Value.Kind() == metrics.KindFloat64 {
			out[names[s.Name]] = s.Value.Float64()
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out["rusage"] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return out
}

// WorkerCPUProfileEnv names the environment variable that makes each
// replica process write a CPU profile of its measured run to the path it
// holds plus "." and the process id (set it for `phpsess bench`; the
// workers inherit it).
const WorkerCPUProfileEnv = "PHPSESS_BENCH_WORKER_CPUPROFILE"

// RunWorker is one replica process of the replicas scenario (`phpsess
// bench-worker`, started by the scenario; not for direct use): it opens
// the coordinator (Library) on --redis, prints "ready", waits for a line
// on in, increments --key of --session from --writers goroutines for
// --duration, and prints one JSON report line.
func RunWorker(ctx context.Context, lib LibraryFactory, args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("bench-worker", flag.ContinueOnError)
	url := fs.String("redis", "", "Redis URL")
	id := fs.String("session", "", "session ID")
	key := fs.String("key", "go", "counter key")
	writers := fs.Int("writers", 8, "goroutines")
	dur := fs.Duration("duration", 2*time.Second, "how long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if lib == nil || *url == "" || *id == "" {
		return errors.New("bench-worker: --redis and --session are required, and the coordinator must be wired in")
	}
	t, err := lib(*url, LibraryOptions{})
	if err != nil {
		return err
	}
	defer t.Close()
	// Warm: the session is known before the clock starts, as in the
	// in-process hot cells after their first slice.
	if _, err := t.Get(ctx, *id, *key); err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	if _, err := bufio.NewReader(in).ReadString('\n'); err != nil {
		return fmt.Errorf("bench-worker: waiting for the start: %w", err)
	}
	stopProfile := func() {}
	if p := os.Getenv(WorkerCPUProfileEnv); p != "" {
		if f, err := os.Create(fmt.Sprintf("%s.%d", p, os.Getpid())); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				stopProfile = func() { pprof.StopCPUProfile(); _ = f.Close() }
			} else {
				_ = f.Close()
			}
		}
	}
	cpu0 := cpuClasses()
	rep := workerReport{StartCPU: cpu0["rusage"]}
	st := drive(ctx, *writers, 0, *dur, func(ctx context.Context, _, _ int) (int, error) {
		return kindUpdate, t.Incr(ctx, *id, *key)
	})
	cpu1 := cpuClasses()
	stopProfile()
	rep.Acked, rep.Errors, rep.Seconds = st.acked[kindUpdate], st.errors, st.elapsed.Seconds()
	rep.P50us, rep.P99us = micros(percentile(st.lat[kindUpdate], 50)), micros(percentile(st.lat[kindUpdate], 99))
	if st.firstErr != nil {
		rep.FirstErr = st.firstErr.Error()
	}
	if c, ok := t.(Conflicter); ok {
		rep.Conflicts = c.Conflicts()
	}
	if nt, ok := t.(Noter); ok {
		rep.Notes = nt.Notes()
	}
	if c, ok := t.(Counterer); ok {
		rep.Counters = c.Counters()
	}
	rep.CPU = map[string]float64{}
	for k, v := range cpu1 {
		rep.CPU[k] = v - cpu0[k]
	}
	return json.NewEncoder(out).Encode(rep)
}

// replicas runs the replicas scenario.
func (r *runner) replicas(ctx context.Context) {
	const per = 64 // writers per process
	if !slices.Contains(r.cfg.Targets, TargetLib) {
		return
	}
	lib := targetLabel(TargetLib)
	if len(r.cfg.Worker) == 0 {
		r.failed(ScenarioReplicas, TargetLib, per, errors.New("no worker command: run through phpsess bench"))
		return
	}
	dur := r.cfg.Duration
	if dur == 0 {
		dur = 2 * time.Second
	}
	for _, n := range r.cfg.Replicas {
		id := r.ids(ScenarioReplicas, TargetLib, n, 1)[0]
		if err := r.seed(ctx, []string{id}, ""); err != nil {
			r.failed(ScenarioReplicas, TargetLib, per, err)
			continue
		}
		label := fmt.Sprintf("%s ×%d processes", lib, n)
		r.logf("%s %s + %d PHP ...", ScenarioReplicas, label, r.cfg.PHPWorkers)
		var reps []workerReport
		var werr error
		var pr PHPResult
		var perr error
		withPHP := r.cfg.PHP != ""
		m := r.measured(ctx, func() {
			start, wait, err := r.startWorkers(ctx, n, per, id, dur)
			if err != nil {
				werr = err
				return
			}
			var ws *PHPWorkers
			if withPHP {
				if ws, perr = StartPHPWorkers(ctx, r.cfg.PHP, PHPConfig{Addr: r.addr, LockRetries: 10, LockWaitTime: 2000, Think: r.cfg.PHPThink}, r.cfg.PHPWorkers, id, "php", dur, 0); perr == nil {
					time.Sleep(time.Until(ws.Start))
				}
			}
			start()
			reps, werr = wait()
			if ws != nil {
				pr, perr = ws.Wait()
			}
		})
		res := Result{Scenario: ScenarioReplicas, Target: label, Writers: n * per, Sessions: 1}
		var conflicts uint64
		var p99 float64
		st := &runStats{}
		var p50s []float64
		counters := map[string]int64{}
		cpu := map[string]float64{}
		for _, w := range reps {
			for k, v := range w.Counters {
				counters[k] += v
			}
			for k, v := range w.CPU {
				cpu[k] += v
			}
			cpu["start"] += w.StartCPU
			st.acked[kindUpdate] += w.Acked
			st.errors += w.Errors
			if st.firstErr == nil && w.FirstErr != "" {
				st.firstErr = errors.New(w.FirstErr)
			}
			st.elapsed = max(st.elapsed, time.Duration(w.Seconds*float64(time.Second)))
			conflicts += w.Conflicts
			p50s = append(p50s, w.P50us)
			p99 = max(p99, w.P99us)
		}
		// The CPU column counts what the cell's work cost, like every
		// other row's: not the ~70 ms each worker process spends starting
		// (reaped with the children, so inside m), which would charge the
		// 8-process cell 7 start-ups more than the 1-process cell.
		if start := time.Duration(cpu["start"] * float64(time.Second)); start > 0 && start < m.clientCPU {
			m.clientCPU -= start
		}
		fill(&res, st, m)
		if len(p50s) > 0 {
			sort.Float64s(p50s)
			res.P50us, res.P99us = p50s[len(p50s)/2], p99
		}
		res.Note = appendNote(res.Note, fmt.Sprintf("%d processes × %d writers, %d lock-free conflicts", n, per, conflicts))
		if len(reps) > 0 && reps[0].Notes != "" {
			res.Note = appendNote(res.Note, "first process: "+reps[0].Notes)
		}
		if len(counters) > 0 {
			res.Note = appendNote(res.Note, "all processes: "+fmtCounters(counters))
		}
		if ops := st.acked[kindUpdate]; ops > 0 && cpu["rusage"] > 0 {
			us := func(s float64) float64 { return s * 1e6 / float64(ops) }
			res.Note = appendNote(res.Note, fmt.Sprintf("Go CPU µs/op while measured %.2f (runtime/metrics estimates: GC %.2f, scavenge %.2f), before the start %.2f",
				us(cpu["rusage"]), us(cpu["gc"]), us(cpu["scavenge"]), us(cpu["start"])))
		}
		if werr != nil {
			res.Note = appendNote(res.Note, werr.Error())
		}
		if g, err := Verify(ctx, r.admin, []string{id}, "go"); err == nil {
			res.Lost = st.acked[kindUpdate] - g[0]
		}
		if withPHP {
			if perr != nil {
				res.Note = appendNote(res.Note, perr.Error())
			}
			side := &PHPSide{Workers: r.cfg.PHPWorkers, OK: pr.OK, LockFail: pr.LockFail, WriteFail: pr.WriteFail,
				P50us: micros(percentile(pr.Latencies, 50)), P99us: micros(percentile(pr.Latencies, 99))}
			if pr.LockFail > 0 {
				var fl []string
				for _, l := range pr.LockFailLatencies {
					fl = append(fl, l.Round(time.Millisecond).String())
				}
				res.Note = appendNote(res.Note, fmt.Sprintf("PHP lock failures by holder after the last attempt: %v, their latencies %s",
					pr.LockFailHolder, strings.Join(fl, " ")))
			}
			if p, err := Verify(ctx, r.admin, []string{id}, "php"); err == nil {
				side.Lost = pr.OK - p[0]
			}
			res.PHP = side
		}
		r.emit(res)
	}
}

// startWorkers starts n replica processes with per writers each and
// waits until each is ready. start releases them all at once;
// wait collects their reports.
func (r *runner) startWorkers(ctx context.Context, n, per int, id string, dur time.Duration) (start func(), wait func() ([]workerReport, error), err error) {
	type proc struct {
		cmd   *exec.Cmd
		in    io.WriteCloser
		out   *bufio.Reader
		errb  *strings.Builder
		ready bool
	}
	var ps []*proc
	kill := func() {
		for _, p := range ps {
			_ = p.in.Close()
			if p.cmd.Process != nil {
				_ = p.cmd.Process.Kill()
			}
			_ = p.cmd.Wait()
		}
	}
	for range n {
		args := append(slices.Clone(r.cfg.Worker[1:]), "--redis", r.cfg.RedisURL, "--session", id, "--key", "go",
			"--writers", fmt.Sprint(per), "--duration", dur.String())
		cmd := exec.CommandContext(ctx, r.cfg.Worker[0], args...)
		in, err := cmd.StdinPipe()
		if err != nil {
			kill()
			return nil, nil, err
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			kill()
			return nil, nil, err
		}
		p := &proc{cmd: cmd, in: in, out: bufio.NewReader(out), errb: &strings.Builder{}}
		cmd.Stderr = p.errb
		if err := cmd.Start(); err != nil {
			kill()
			return nil, nil, err
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		line, err := p.out.ReadString('\n')
		if err != nil || strings.TrimSpace(line) != "ready" {
			kill()
			return nil, nil, fmt.Errorf("replica did not start: %q %v %s", line, err, p.errb.String())
		}
	}
	start = func() {
		for _, p := range ps {
			_, _ = io.WriteString(p.in, "go\n")
		}
	}
	wait = func() ([]workerReport, error) {
		reps := make([]workerReport, len(ps))
		errs := make([]error, len(ps))
		var wg sync.WaitGroup
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				line, err := p.out.ReadString('\n')
				if err == nil {
					err = json.Unmarshal([]byte(line), &reps[i])
				}
				_ = p.in.Close()
				if werr := p.cmd.Wait(); err == nil && werr != nil {
					err = fmt.Errorf("%w: %s", werr, p.errb.String())
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		return reps, errors.Join(errs...)
	}
	return start, wait, nil
}

// fmtCounters prints counters sorted by name.
func fmtCounters(c map[string]int64) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(c)) {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, c[k])
	}
	return b.String()
}
