package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/bench"
)

func init() { register(newBenchCmd) }

type benchFlags struct {
	redis       string
	scenarios   []string
	targets     []string
	writers     []int
	ops         int64
	duration    time.Duration
	sessions    int
	replicas    []int
	idle        time.Duration
	phpWorkers  int
	phpThink    time.Duration
	rounds      int
	payload     int
	json        bool
	verbose     bool
	cpuprofile  string
	memprofile  string
	heapprofile string
	idleprofile string
	// incr
	session string
	key     string
	target  string
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the coordinator against per-request locking, a go-redis stack, no locking and PHP",
		Long: `bench runs the phpsession coordinator side by side with its baselines in one
process against one Redis and prints a markdown table (or, with --json, one
JSON object per scenario):

  B1  per-request locking, the phpredis / Python-library protocol on rueidis
  B2  go-redis + bsm/redislock + yvasiyarov/php_session_decoder, same protocol
  B3  no lock (last write wins, like scs/redisstore): counts its lost updates
  PHP php CLI workers looping session_start/session_write_close, locking on

Scenarios: hot (W writers on one session), spread (64 writers over 10,000
sessions), read (95% Get / 5% Update over 1,000 sessions), get (one reader on
a warm session vs a network GET), mixed (hot at W=64 while PHP workers with
phpredis 5.3 defaults hit the same session), replicas (1, 2, 4, 8 separate
processes of the coordinator — this binary re-executed — with 64 writers each
on one hot session, beside the PHP workers), memory (100,000 sessions touched
once, then idle: heap and process RSS). Target "ceiling" (hot and spread) is
the bare lock-free batching loop the coordinator is measured against. With
PHPSESS_BENCH_WORKER_CPUPROFILE=PATH each replica process writes a CPU
profile of its measured run to PATH.<pid> (--cpuprofile covers only this
process).

Redis: --redis URL, else $REDIS_URL, else a throwaway redis-server started on a
free port (when one is on PATH). Do not point it at a production Redis: it
writes PHPREDIS_SESSION:bench-* keys and resets nothing.

With --scenario incr it instead increments one integer key of one session
(--session, --key) --ops times in total from --writers goroutines through the
coordinator, prints the final value, and exits 0 only if every increment
landed; run it beside live PHP traffic for ad-hoc checks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBench(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.redis, "redis", "", "Redis URL (default $REDIS_URL, else a throwaway redis-server)")
	fl.StringSliceVar(&f.scenarios, "scenario", nil, "scenarios to run: "+strings.Join(bench.AllScenarios, ",")+" (default all), or incr")
	fl.StringSliceVar(&f.targets, "targets", nil, "targets to run: "+strings.Join(bench.AllTargets, ",")+" (default all)")
	fl.IntSliceVar(&f.writers, "writers", nil, "goroutines (hot: list of W, default 1,8,64,256; incr: default 8)")
	fl.Int64Var(&f.ops, "ops", 0, "operations per cell (0: run for --duration; incr: total increments, default 1000)")
	fl.DurationVar(&f.duration, "duration", 0, "length of each cell (default 2s unless --ops is set)")
	fl.IntSliceVar(&f.replicas, "replicas", nil, "replicas: list of process counts (default 1,2,4,8)")
	fl.DurationVar(&f.idle, "idle-timeout", 0, "memory: the coordinator's IdleTimeout (default 15s)")
	fl.IntVar(&f.sessions, "sessions", 0, "session count for spread (10000), read (1000) and memory (100000)")
	fl.IntVar(&f.phpWorkers, "php-workers", 4, "php processes in the mixed scenario")
	fl.IntVar(&f.rounds, "rounds", 4, "hot and spread: targets take turns in this many slices of each cell (1: one after the other)")
	fl.DurationVar(&f.phpThink, "php-think", 2*time.Millisecond, "pause of each php worker between requests in the mixed scenario (0: back to back)")
	fl.IntVar(&f.payload, "payload", 1024, "size in bytes of the seed session")
	fl.BoolVar(&f.json, "json", false, "print one JSON object per scenario (one line each) instead of a table")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log progress to stderr")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	fl.StringVar(&f.memprofile, "memprofile", "", "write an allocation profile at the end of the run to this file")
	fl.StringVar(&f.heapprofile, "heapprofile", "", "memory scenario: write a heap profile taken while all touched sessions are live")
	fl.StringVar(&f.idleprofile, "idleheapprofile", "", "memory scenario: write a heap profile taken once the touched sessions' actors passivated")
	fl.StringVar(&f.session, "session", "", "incr: session ID")
	fl.StringVar(&f.key, "key", "n", "incr: integer key to increment")
	fl.StringVar(&f.target, "target", bench.TargetLib, "incr: target to increment through (lib, ceiling, b1, b2, b3)")
	return cmd
}

func runBench(ctx context.Context, out, errOut io.Writer, f benchFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := f.validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	url := f.redis
	if url == "" {
		url = os.Getenv("REDIS_URL")
	}
	var srv *bench.Server
	if url == "" {
		var err error
		srv, err = bench.StartServer(ctx)
		if err != nil {
			return err
		}
		defer srv.Stop()
		url = srv.URL
	}
	if f.cpuprofile != "" {
		pf, err := os.Create(f.cpuprofile)
		if err != nil {
			return err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if f.memprofile != "" {
		defer func() {
			if pf, err := os.Create(f.memprofile); err == nil {
				_ = pprof.Lookup("allocs").WriteTo(pf, 0)
				pf.Close()
			}
		}()
	}
	if len(f.scenarios) == 1 && f.scenarios[0] == "incr" {
		return runIncr(ctx, out, url, f)
	}
	for _, s := range f.scenarios {
		if s == "incr" {
			return usageError{errors.New("--scenario incr cannot be combined with other scenarios")}
		}
	}
	cfg := bench.Config{
		RedisURL:     url,
		Scenarios:    f.scenarios,
		Targets:      f.targets,
		Writers:      f.writers,
		Ops:          f.ops,
		Duration:     f.duration,
		Sessions:     f.sessions,
		Replicas:     f.replicas,
		IdleTimeout:  f.idle,
		PHPWorkers:   f.phpWorkers,
		PHPThink:     phpThinkOption(f.phpThink),
		Rounds:       f.rounds,
		PayloadBytes: f.payload,
		Library:      bench.Library,
		Codec:        bench.DefaultCodec(),
	}
	if exe, err := os.Executable(); err == nil {
		cfg.Worker = []string{exe, "bench-worker"}
	}
	if f.verbose {
		cfg.Log = errOut
	}
	if f.heapprofile != "" {
		hf, err := os.Create(f.heapprofile)
		if err != nil {
			return err
		}
		defer hf.Close()
		cfg.HeapProfile = hf
	}
	if f.idleprofile != "" {
		hf, err := os.Create(f.idleprofile)
		if err != nil {
			return err
		}
		defer hf.Close()
		cfg.IdleHeapProfile = hf
	}
	var (
		headerDone bool
		machine    bench.Machine
		werr       error
		pending    []bench.Result // --json: rows of the current scenario
	)
	flushJSON := func() {
		if len(pending) == 0 {
			return
		}
		if err := bench.WriteJSON(out, machine, cfg.Describe(), pending[0].Scenario, pending); err != nil && werr == nil {
			werr = err
		}
		pending = nil
	}
	emit := func(r bench.Result) {
		if f.json {
			if len(pending) > 0 && pending[0].Scenario != r.Scenario {
				flushJSON()
			}
			pending = append(pending, r)
			return
		}
		if !headerDone {
			bench.TableHead(out)
			headerDone = true
		}
		bench.TableRow(out, r)
	}
	// The machine line must precede the rows: describe it first.
	m, err := bench.Describe(ctx, url)
	if err != nil {
		return err
	}
	machine = m
	if !f.json {
		note := cfg.Describe()
		if srv != nil {
			note += "; Redis: throwaway redis-server started by phpsess bench"
		}
		bench.WriteHeader(out, machine, note)
	}
	rep, err := bench.Run(ctx, cfg, emit)
	if f.json {
		flushJSON()
	}
	if err != nil {
		return err
	}
	if rep != nil {
		if goals := bench.CheckGoals(rep.Results); len(goals) > 0 {
			if f.json {
				if err := json.NewEncoder(out).Encode(struct {
					Scenario string       `json:"scenario"`
					Goals    []bench.Goal `json:"goals"`
				}{"goals", goals}); err != nil && werr == nil {
					werr = err
				}
			} else {
				bench.WriteGoals(out, goals)
			}
		}
	}
	return werr
}

// validate refuses counts and durations that cannot be meant: a negative
// --duration or --ops would run a cell forever (neither bound applies), a
// writer count below 1 has no goroutine to run (a negative one crashed
// making their random sources), and the other negative sizes have no
// meaning.
func (f benchFlags) validate() error {
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"duration", f.duration}, {"idle-timeout", f.idle}} {
		if d.v < 0 {
			return usageError{fmt.Errorf("--%s must not be negative (got %s)", d.flag, d.v)}
		}
	}
	for _, n := range []struct {
		flag string
		v    int64
	}{{"ops", f.ops}, {"sessions", int64(f.sessions)}, {"php-workers", int64(f.phpWorkers)}, {"rounds", int64(f.rounds)}, {"payload", int64(f.payload)}} {
		if n.v < 0 {
			return usageError{fmt.Errorf("--%s must not be negative (got %d)", n.flag, n.v)}
		}
	}
	for _, l := range []struct {
		flag string
		v    []int
	}{{"writers", f.writers}, {"replicas", f.replicas}} {
		for _, v := range l.v {
			if v < 1 {
				return usageError{fmt.Errorf("--%s: every count must be at least 1 (got %d)", l.flag, v)}
			}
		}
	}
	return nil
}

func runIncr(ctx context.Context, out io.Writer, url string, f benchFlags) error {
	if f.session == "" {
		return usageError{errors.New("--scenario incr needs --session ID")}
	}
	ops := f.ops
	if ops <= 0 {
		ops = 1000
	}
	writers := 8
	if len(f.writers) > 0 {
		writers = f.writers[0]
	}
	var t bench.Target
	var err error
	switch f.target {
	case bench.TargetLib:
		if bench.Library == nil {
			return errors.New("bench: the coordinator is not wired into this build")
		}
		t, err = bench.Library(url, bench.LibraryOptions{})
	case bench.TargetCeiling:
		t, err = bench.NewCeiling(url)
	case bench.TargetB1:
		t, err = bench.NewPerRequest(url, bench.DefaultCodec())
	case bench.TargetB2:
		t, err = bench.NewAssembled(url)
	case bench.TargetB3:
		t, err = bench.NewNoLock(url, bench.DefaultCodec())
	default:
		return usageError{fmt.Errorf("unknown --target %q (lib, ceiling, b1, b2, b3)", f.target)}
	}
	if err != nil {
		return err
	}
	defer t.Close()
	res, err := bench.Incr(ctx, t, f.session, f.key, writers, ops)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, res.Final)
	if !res.Landed(ops) {
		msg := fmt.Sprintf("only %d of %d increments acknowledged (%d errors), value grew by %d", res.Acked, ops, res.Errors, res.Final-res.Initial)
		if res.First != nil {
			msg += "; first error: " + res.First.Error()
		}
		return errors.New(msg)
	}
	return nil
}

// phpThinkOption maps the flag (0 = back to back) to bench.Options (0 =
// default, negative = back to back).
func phpThinkOption(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

func init() { register(newBenchWorkerCmd) }

// newBenchWorkerCmd is the hidden command the replicas scenario starts in
// each replica process (this binary, re-executed).
func newBenchWorkerCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "bench-worker",
		Short:              "One replica process of `bench --scenario replicas` (internal)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return bench.RunWorker(cmd.Context(), bench.Library, args, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
}
