// Package bench measures the phpsession coordinator side by side with the
// baselines it replaces, in one process and one run against one Redis:
//
//   - B1, per-request locking: the protocol phpredis and the original Python
//     library use (SET NX PX polled every 2 ms, GET, decode, modify, encode,
//     SETEX, Lua release), ported straight to Go on rueidis;
//   - B2, what a Go user assembles today: go-redis, bsm/redislock and
//     yvasiyarov/php_session_decoder, same protocol;
//   - B3, no lock at all (last write wins, like scs/redisstore), the unsafe
//     ceiling, with its lost updates counted;
//   - PHP itself: php CLI workers looping session_start/session_write_close
//     with phpredis locking on.
//
// Every scenario reports throughput, p50/p99 latency, Redis commands per
// operation (from INFO commandstats deltas, which count commands run inside
// Lua scripts too), lost updates (checked against Redis with the harness's
// own parser) and the ratio to B1. The `phpsess bench` command prints the
// results as a markdown table or JSON.
//
// The baselines' dependencies (go-redis, redislock, the peer codec) are
// imported only here and in cmd/phpsess, never by the library packages.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// Scenario names accepted by Config.Scenarios.
const (
	ScenarioHot    = "hot"    // W writers on one session
	ScenarioSpread = "spread" // 64 writers over many sessions
	ScenarioRead   = "read"   // 95% Get / 5% Incr over 1,000 sessions
	ScenarioGet    = "get"    // one goroutine, Get on one warm session
	ScenarioMixed  = "mixed"  // hot at W=64 while PHP workers hit the same session
	ScenarioMemory = "memory" // heap and goroutines for many sessions, then idle
)

// AllScenarios lists the scenarios in the order Run executes them.
var AllScenarios = []string{ScenarioHot, ScenarioSpread, ScenarioRead, ScenarioGet, ScenarioMixed, ScenarioReplicas, ScenarioMemory}

// Target names accepted by Config.Targets.
const (
	TargetLib = "lib" // the phpsession coordinator
	// TargetCeiling is the bare lock-free batching loop (hot and spread
	// only): the yardstick for the coordinator's own per-op cost.
	TargetCeiling = "ceiling"
	TargetB1      = "b1"
	TargetB2      = "b2"
	TargetB3      = "b3"
	TargetPHP     = "php"
)

// AllTargets lists every target.
var AllTargets = []string{TargetLib, TargetCeiling, TargetB1, TargetB2, TargetB3, TargetPHP}

// LibraryOptions tune the coordinator for a scenario.
type LibraryOptions struct {
	// IdleTimeout, when > 0, is how long an idle session actor lives
	// before passivation (the memory scenario sets it short).
	IdleTimeout time.Duration
}

// LibraryFactory builds the coordinator target over url.
type LibraryFactory func(url string, opts LibraryOptions) (Target, error)

// Config selects and sizes the scenarios. Zero fields take defaults.
type Config struct {
	RedisURL  string   // required
	Scenarios []string // default AllScenarios
	Targets   []string // default AllTargets (lib needs Library)
	Writers   []int    // hot scenario W values; default 1, 8, 64, 256
	// Ops caps the operations per cell (0: duration only).
	Ops int64
	// Duration is the length of each cell (default 2s; 0 with Ops > 0
	// means ops only).
	Duration time.Duration
	// Rounds splits each hot and spread cell into this many slices, the
	// targets taking turns (default 4), so that all of them see the same
	// machine: on a shared host whose speed drifts, cells run one after
	// the other compare the moments more than the targets.
	Rounds int
	// Sessions overrides the session count of spread (10,000), read
	// (1,000) and memory (100,000).
	Sessions int
	// PHPWorkers is the number of php processes in the mixed scenario
	// (default 4); PHPMaxWorkers caps the php row of the hot scenario
	// (default 16).
	PHPWorkers    int
	PHPMaxWorkers int
	// PHPThink is how long each PHP worker of the mixed scenario pauses
	// between requests (default 2 ms; negative: back to back).
	PHPThink time.Duration
	// PayloadBytes is the size of the seed session (default 1024).
	PayloadBytes int
	// IdleTimeout is the coordinator's actor idle timeout in the memory
	// scenario (default 15s: longer than touching 100,000 sessions takes,
	// so that all are live when measured; the scenario then waits for
	// them to passivate).
	IdleTimeout time.Duration
	// Replicas lists the process counts of the replicas scenario
	// (default 1, 2, 4, 8).
	Replicas []int
	// Worker is the command line that starts one replica process of the
	// replicas scenario (RunWorker's flags are appended), e.g. the phpsess
	// binary and "bench-worker"; empty leaves the scenario out.
	Worker []string
	// Library builds the coordinator; nil leaves its rows out.
	Library LibraryFactory
	// Codec is the baselines' decode/modify/encode (default StandInCodec).
	Codec SessionCodec
	// PHP is the php binary ("" = look it up; rows needing PHP are left
	// out when none is found).
	PHP string
	// Log receives progress lines (nil: silent).
	Log io.Writer
	// HeapProfile, when set, receives a heap profile taken in the memory
	// scenario while every touched session is live.
	HeapProfile io.Writer
	// IdleHeapProfile, when set, receives a heap profile taken in the
	// memory scenario once the touched sessions' actors passivated: what
	// the process keeps after a burst.
	IdleHeapProfile io.Writer
}

func (c *Config) defaults() {
	if len(c.Scenarios) == 0 {
		c.Scenarios = AllScenarios
	}
	if len(c.Targets) == 0 {
		c.Targets = AllTargets
	}
	if len(c.Writers) == 0 {
		c.Writers = []int{1, 8, 64, 256}
	}
	if c.Duration == 0 && c.Ops == 0 {
		c.Duration = 2 * time.Second
	}
	if len(c.Replicas) == 0 {
		c.Replicas = []int{1, 2, 4, 8}
	}
	if c.Rounds <= 0 {
		c.Rounds = 4
	}
	if c.PHPThink == 0 {
		c.PHPThink = 2 * time.Millisecond
	} else if c.PHPThink < 0 {
		c.PHPThink = 0
	}
	if c.PHPWorkers == 0 {
		c.PHPWorkers = 4
	}
	if c.PHPMaxWorkers == 0 {
		c.PHPMaxWorkers = 16
	}
	if c.PayloadBytes == 0 {
		c.PayloadBytes = 1024
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 15 * time.Second
	}
	if c.Codec == nil {
		c.Codec = StandInCodec{}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
}

// Result is one row: one target in one scenario cell.
type Result struct {
	Scenario  string  `json:"scenario"`
	Target    string  `json:"target"`
	Writers   int     `json:"writers"`
	Sessions  int     `json:"sessions"`
	Ops       int64   `json:"ops"` // acknowledged operations
	Errors    int64   `json:"errors"`
	Seconds   float64 `json:"seconds"`
	OpsPerSec float64 `json:"ops_per_sec"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
	// CmdsPerOp counts every command Redis executed during the cell
	// (including inside Lua scripts) per acknowledged operation.
	CmdsPerOp float64          `json:"cmds_per_op"`
	Commands  map[string]int64 `json:"commands,omitempty"`
	// ClientCPUus is the CPU time of this process (plus php workers and
	// replica processes that exited during the cell, less the replicas'
	// start-up) per operation, in µs; RedisCPUus the
	// redis-server's (INFO cpu). On a shared machine these are steadier
	// than throughput.
	ClientCPUus float64 `json:"client_cpu_us_per_op"`
	RedisCPUus  float64 `json:"redis_cpu_us_per_op"`
	// Lost is acknowledged updates minus the growth of the counters in
	// Redis (negative: failed calls that landed anyway).
	Lost int64 `json:"lost_updates"`
	// RatioB1 is ops/s divided by B1's in the same cell (get scenario:
	// B1's p50 divided by this row's p50).
	RatioB1 float64 `json:"ratio_b1,omitempty"`

	GetP50us      float64  `json:"get_p50_us,omitempty"`
	GetP99us      float64  `json:"get_p99_us,omitempty"`
	UpdateP50us   float64  `json:"update_p50_us,omitempty"`
	CacheHitRatio *float64 `json:"cache_hit_ratio,omitempty"`

	PHP *PHPSide `json:"php,omitempty"`
	Mem *MemInfo `json:"memory,omitempty"`

	Note string `json:"note,omitempty"`
}

// PHPSide is what the PHP workers saw in a mixed run.
type PHPSide struct {
	Workers   int     `json:"workers"`
	OK        int64   `json:"ok"`
	LockFail  int64   `json:"lock_failures"`
	WriteFail int64   `json:"write_failures"`
	Lost      int64   `json:"lost_updates"`
	P50us     float64 `json:"p50_us"`
	P99us     float64 `json:"p99_us"`
}

// MemInfo is the memory scenario's measurements: heap after GC, and the
// process's resident set after GC with freed memory returned to the OS
// (debug.FreeOSMemory), so that garbage of earlier scenarios does not count.
type MemInfo struct {
	BaseRSSMB         float64 `json:"base_rss_mb"`
	TouchedRSSMB      float64 `json:"touched_rss_mb"`
	RSSPerSession     float64 `json:"rss_bytes_per_session"`
	IdleRSSMB         float64 `json:"idle_rss_mb"`
	BaseHeapMB        float64 `json:"base_heap_mb"`
	TouchedHeapMB     float64 `json:"touched_heap_mb"`
	BytesPerSession   float64 `json:"bytes_per_session"`
	TouchedGoroutines int     `json:"touched_goroutines"`
	TouchedLive       int     `json:"touched_live_actors"`
	IdleHeapMB        float64 `json:"idle_heap_mb"`
	IdleGoroutines    int     `json:"idle_goroutines"`
	IdleLive          int     `json:"idle_live_actors"`
	IdleWaitSeconds   float64 `json:"idle_wait_seconds"`
	BaseGoroutines    int     `json:"base_goroutines"`
	// AllocsPerSession: heap objects allocated while touching, per
	// session; ObjectsPerSession: heap objects still live after GC once
	// all sessions were touched, per session (both load-independent).
	AllocsPerSession  float64 `json:"allocs_per_session"`
	ObjectsPerSession float64 `json:"objects_per_session"`
}

// Report is a whole run.
type Report struct {
	Machine Machine  `json:"machine"`
	Config  string   `json:"config"`
	Results []Result `json:"results"`
}

// runner holds what a run shares.
type runner struct {
	cfg   Config
	admin rueidis.Client
	addr  string
	tag   string
	emit  func(Result)
}

// Run executes the selected scenarios and returns every row. emit, when
// not nil, is called with each row as soon as it is final (its ratio to B1
// filled in once B1's row of the same cell exists).
func Run(ctx context.Context, cfg Config, emit func(Result)) (*Report, error) {
	cfg.defaults()
	if cfg.RedisURL == "" {
		return nil, ErrNoRedis
	}
	for _, s := range cfg.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			return nil, fmt.Errorf("bench: unknown scenario %q (have %s)", s, strings.Join(AllScenarios, ", "))
		}
	}
	for _, t := range cfg.Targets {
		if !slices.Contains(AllTargets, t) {
			return nil, fmt.Errorf("bench: unknown target %q (have %s)", t, strings.Join(AllTargets, ", "))
		}
	}
	admin, err := NewRueidisClient(cfg.RedisURL, false)
	if err != nil {
		return nil, fmt.Errorf("bench: connect %s: %w", cfg.RedisURL, err)
	}
	defer admin.Close()
	if err := admin.Do(ctx, admin.B().Ping().Build()).Error(); err != nil {
		return nil, fmt.Errorf("bench: ping %s: %w", cfg.RedisURL, err)
	}
	if cfg.PHP == "" && (slices.Contains(cfg.Targets, TargetPHP) || slices.Contains(cfg.Scenarios, ScenarioMixed)) {
		cfg.PHP, _ = FindPHP()
	}
	r := &runner{cfg: cfg, admin: admin, addr: redisAddr(cfg.RedisURL), tag: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	rep := &Report{Machine: DescribeMachine(ctx, admin, cfg.PHP), Config: cfg.describe()}
	var pending []Result
	r.emit = func(res Result) {
		rep.Results = append(rep.Results, res)
		pending = append(pending, res)
	}
	flush := func() {
		fillRatios(pending)
		if emit != nil {
			for _, p := range pending {
				emit(p)
			}
		}
		copy(rep.Results[len(rep.Results)-len(pending):], pending)
		pending = pending[:0]
	}
	for _, s := range cfg.Scenarios {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		switch s {
		case ScenarioHot:
			for _, w := range cfg.Writers {
				r.hot(ctx, w)
				flush()
			}
		case ScenarioSpread:
			r.spread(ctx)
		case ScenarioRead:
			r.read(ctx)
		case ScenarioGet:
			r.get(ctx)
		case ScenarioMixed:
			r.mixed(ctx)
		case ScenarioReplicas:
			r.replicas(ctx)
		case ScenarioMemory:
			r.memory(ctx)
		}
		flush()
	}
	return rep, nil
}

// Describe summarises the run's sizes for the table header.
func (c Config) Describe() string {
	c.defaults()
	return c.describe()
}

func (c *Config) describe() string {
	return fmt.Sprintf("duration=%s ops=%d rounds=%d payload=%dB php_workers=%d php_think=%s codec=%s", c.Duration, c.Ops, c.Rounds, c.PayloadBytes, c.PHPWorkers, c.PHPThink, c.Codec.Name())
}

func redisAddr(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return "127.0.0.1:6379"
	}
	if p.Port() == "" {
		return p.Host + ":6379"
	}
	return p.Host
}

// fillRatios sets RatioB1 for every row of a cell group from its B1 row.
func fillRatios(rows []Result) {
	for i := range rows {
		var b1 *Result
		for j := range rows {
			if rows[j].Target == targetLabel(TargetB1) && rows[j].Scenario == rows[i].Scenario && rows[j].Writers == rows[i].Writers {
				b1 = &rows[j]
			}
		}
		if b1 == nil || rows[i].Mem != nil {
			continue
		}
		if rows[i].Scenario == ScenarioGet {
			if rows[i].P50us > 0 {
				rows[i].RatioB1 = b1.P50us / rows[i].P50us
			}
		} else if b1.OpsPerSec > 0 {
			rows[i].RatioB1 = rows[i].OpsPerSec / b1.OpsPerSec
		}
	}
}

// targetLabel is the row label of a target name.
func targetLabel(name string) string {
	switch name {
	case TargetLib:
		return "phpsession"
	case TargetCeiling:
		return "ceiling (bare batching loop)"
	case TargetB1:
		return "B1 per-request lock"
	case TargetB2:
		return "B2 go-redis+redislock"
	case TargetB3:
		return "B3 no lock"
	case TargetPHP:
		return "PHP (php-cli workers)"
	}
	return name
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.cfg.Log, format+"\n", args...)
}

// goTargets returns the selected in-process targets (PHP excluded), in
// table order; the ceiling only in the counter scenarios (hot, spread),
// where it is the yardstick.
func (r *runner) goTargets() []string {
	return r.selected(TargetLib, TargetCeiling, TargetB1, TargetB2, TargetB3)
}

// sessionTargets are goTargets without the ceiling (read, get, mixed).
func (r *runner) sessionTargets() []string {
	return r.selected(TargetLib, TargetB1, TargetB2, TargetB3)
}

func (r *runner) selected(ts ...string) []string {
	var out []string
	for _, t := range ts {
		if slices.Contains(r.cfg.Targets, t) {
			out = append(out, t)
		}
	}
	return out
}

// newTarget builds a fresh target (each cell gets its own clients and
// coordinator, so no cell warms the next).
func (r *runner) newTarget(name string, lo LibraryOptions) (Target, error) {
	switch name {
	case TargetLib:
		if r.cfg.Library == nil {
			return nil, errors.New("coordinator not wired in")
		}
		return r.cfg.Library(r.cfg.RedisURL, lo)
	case TargetCeiling:
		return NewCeiling(r.cfg.RedisURL)
	case TargetB1:
		return NewPerRequest(r.cfg.RedisURL, r.cfg.Codec)
	case TargetB2:
		return NewAssembled(r.cfg.RedisURL)
	case TargetB3:
		return NewNoLock(r.cfg.RedisURL, r.cfg.Codec)
	}
	return nil, fmt.Errorf("unknown target %q", name)
}

// ids returns n session IDs unique to this run, scenario and target.
func (r *runner) ids(scenario, target string, w, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("bench-%s-%s-%s-w%d-%d", r.tag, scenario, target, w, i)
	}
	return out
}

// seed writes the seed session (plus extra, already serialized entries)
// to every id.
func (r *runner) seed(ctx context.Context, ids []string, extra string) error {
	return r.seedBlob(ctx, ids, string(SeedSession(r.cfg.PayloadBytes))+extra)
}

// smallSession is the memory scenario's session: a small payload, so that
// the per-session figure is the library's own bookkeeping.
const smallSession = `user_id|i:4711;login|s:5:"alice";n|i:0;`

func (r *runner) seedBlob(ctx context.Context, ids []string, blob string) error {
	const chunk = 1000
	for start := 0; start < len(ids); start += chunk {
		end := min(start+chunk, len(ids))
		cmds := make(rueidis.Commands, 0, end-start)
		for _, id := range ids[start:end] {
			cmds = append(cmds, r.admin.B().Setex().Key(KeyPrefix+id).Seconds(int64(SessionTTL/time.Second)).Value(blob).Build())
		}
		for _, res := range r.admin.DoMulti(ctx, cmds...) {
			if err := res.Error(); err != nil {
				return err
			}
		}
	}
	return nil
}

// meter is what measured saw around a run.
type meter struct {
	cmds      int64            // commands Redis executed (-1: unknown)
	per       map[string]int64 // by command
	clientCPU time.Duration    // this process and reaped children (php)
	redisCPU  time.Duration    // redis-server user+sys (-1: unknown)
}

// measured runs f between two snapshots of INFO commandstats, INFO cpu and
// this process's CPU time.
func (r *runner) measured(ctx context.Context, f func()) meter {
	before, err1 := commandStats(ctx, r.admin)
	rb, err3 := redisCPU(ctx, r.admin)
	cb := processCPU()
	f()
	ca := processCPU()
	ra, err4 := redisCPU(ctx, r.admin)
	after, err2 := commandStats(ctx, r.admin)
	m := meter{cmds: -1, redisCPU: -1, clientCPU: ca - cb}
	if err1 == nil && err2 == nil {
		m.cmds, m.per = after.delta(before)
	}
	if err3 == nil && err4 == nil {
		m.redisCPU = ra - rb
	}
	return m
}

// merge adds another slice of the same cell.
func (m *meter) merge(o meter) {
	if m.cmds >= 0 {
		if o.cmds < 0 {
			m.cmds = -1
		} else {
			m.cmds += o.cmds
		}
	}
	for k, v := range o.per {
		m.per[k] += v
	}
	m.clientCPU += o.clientCPU
	if m.redisCPU >= 0 {
		if o.redisCPU < 0 {
			m.redisCPU = -1
		} else {
			m.redisCPU += o.redisCPU
		}
	}
}

// fill completes the common fields of a row from a run.
func fill(res *Result, st *runStats, m meter) {
	res.Ops = st.total()
	res.Errors = st.errors
	res.Seconds = st.elapsed.Seconds()
	if res.Seconds > 0 {
		res.OpsPerSec = float64(res.Ops) / res.Seconds
	}
	all := st.allLat()
	res.P50us = micros(percentile(all, 50))
	res.P99us = micros(percentile(all, 99))
	if res.Ops > 0 {
		if m.cmds >= 0 {
			res.CmdsPerOp = float64(m.cmds) / float64(res.Ops)
		}
		res.ClientCPUus = micros(m.clientCPU) / float64(res.Ops)
		if m.redisCPU >= 0 {
			res.RedisCPUus = micros(m.redisCPU) / float64(res.Ops)
		}
	}
	res.Commands = m.per
	if st.firstErr != nil {
		res.Note = appendNote(res.Note, "first error: "+st.firstErr.Error())
	}
}

// addTargetNotes appends a target's own counters to the row's notes.
func addTargetNotes(res *Result, t Target) {
	if n, ok := t.(Noter); ok {
		if s := n.Notes(); s != "" {
			res.Note = appendNote(res.Note, s)
		}
	}
}

func appendNote(note, s string) string {
	if note == "" {
		return s
	}
	return note + "; " + s
}

func sum(v []int64) int64 {
	var s int64
	for _, x := range v {
		s += x
	}
	return s
}

// failed emits a row that records why a target could not run.
func (r *runner) failed(scenario, target string, w int, err error) {
	r.logf("%s %s W=%d: %v", scenario, target, w, err)
	r.emit(Result{Scenario: scenario, Target: targetLabel(target), Writers: w, Note: "not run: " + err.Error()})
}

// hot: w goroutines incrementing one key of one session.
func (r *runner) hot(ctx context.Context, w int) {
	r.counterCells(ctx, ScenarioHot, w, func(name string) []string { return r.ids(ScenarioHot, name, w, 1) },
		func(ids []string) func(int, int, *rand.Rand) string {
			return func(int, int, *rand.Rand) string { return ids[0] }
		})
	if slices.Contains(r.cfg.Targets, TargetPHP) {
		r.hotPHP(ctx, w)
	}
}

// cell is one target's share of an interleaved counter scenario.
type cell struct {
	name string
	t    Target
	ids  []string
	pick func(w, i int, rng *rand.Rand) string
	rngs []*rand.Rand
	st   *runStats
	m    meter
}

// counterCells runs, for every Go target, w goroutines of Incr on
// sessions chosen by pick, and checks the counters afterwards. The targets
// take turns in Options.Rounds slices of the cell's duration (or
// operations), in an order that rotates every round, so that a shared
// machine whose speed drifts during the run slows every target alike:
// the ratios compare targets measured side by side, not one after the
// other. Each target keeps its clients and Manager across its slices.
func (r *runner) counterCells(ctx context.Context, scenario string, w int, idsFor func(name string) []string,
	pickFor func(ids []string) func(w, i int, rng *rand.Rand) string) {
	const key = "n"
	var cells []*cell
	defer func() {
		for _, c := range cells {
			c.t.Close()
		}
	}()
	for _, name := range r.goTargets() {
		t, err := r.newTarget(name, LibraryOptions{})
		if err != nil {
			r.failed(scenario, name, w, err)
			continue
		}
		ids := idsFor(name)
		if err := r.seed(ctx, ids, ""); err != nil {
			t.Close()
			r.failed(scenario, name, w, err)
			continue
		}
		cells = append(cells, &cell{name: name, t: t, ids: ids, pick: pickFor(ids), rngs: workerRNGs(w), st: &runStats{}, m: meter{per: map[string]int64{}}})
	}
	rounds := max(r.cfg.Rounds, 1)
	dur := r.cfg.Duration / time.Duration(rounds)
	ops := r.cfg.Ops
	if ops > 0 {
		ops = max((ops+int64(rounds)-1)/int64(rounds), 1)
	}
	for round := 0; round < rounds; round++ {
		for i := range cells {
			c := cells[(i+round)%len(cells)]
			r.logf("%s %s W=%d sessions=%d round %d/%d ...", scenario, c.t.Name(), w, len(c.ids), round+1, rounds)
			var st *runStats
			m := r.measured(ctx, func() {
				st = drive(ctx, w, ops, dur, func(ctx context.Context, wk, i int) (int, error) {
					return kindUpdate, c.t.Incr(ctx, c.pick(wk, i, c.rngs[wk]), key)
				})
			})
			c.st.merge(st)
			c.m.merge(m)
		}
	}
	for _, c := range cells {
		res := Result{Scenario: scenario, Target: c.t.Name(), Writers: w, Sessions: len(c.ids)}
		fill(&res, c.st, c.m)
		addTargetNotes(&res, c.t)
		final, err := Verify(ctx, r.admin, c.ids, key)
		if err != nil {
			res.Note = appendNote(res.Note, "verify: "+err.Error())
		} else {
			res.Lost = c.st.acked[kindUpdate] - sum(final)
		}
		r.emit(res)
	}
}

func workerRNGs(w int) []*rand.Rand {
	out := make([]*rand.Rand, w)
	for i := range out {
		out[i] = rand.New(rand.NewPCG(uint64(i)+1, 0x9e3779b97f4a7c15))
	}
	return out
}

// hotPHP runs the hot cell with php CLI processes (at most PHPMaxWorkers)
// that wait for the lock as long as it takes (lock_retries large,
// lock_wait_time 2 ms), i.e. PHP's own throughput with locking on.
func (r *runner) hotPHP(ctx context.Context, w int) {
	if r.cfg.PHP == "" {
		r.failed(ScenarioHot, TargetPHP, w, ErrNoPHP)
		return
	}
	procs := min(w, r.cfg.PHPMaxWorkers)
	id := r.ids(ScenarioHot, TargetPHP, w, 1)[0]
	if err := r.seed(ctx, []string{id}, ""); err != nil {
		r.failed(ScenarioHot, TargetPHP, w, err)
		return
	}
	dur := r.cfg.Duration
	if dur == 0 {
		dur = time.Minute // ops-bounded
	}
	maxPer := 0
	if r.cfg.Ops > 0 {
		maxPer = int((r.cfg.Ops + int64(procs) - 1) / int64(procs))
	}
	r.logf("%s PHP W=%d (%d procs) ...", ScenarioHot, w, procs)
	var pr PHPResult
	var perr error
	var elapsed time.Duration
	m := r.measured(ctx, func() {
		ws, err := StartPHPWorkers(ctx, r.cfg.PHP, PHPConfig{Addr: r.addr, LockRetries: 1000000, LockWaitTime: 2000}, procs, id, "n", dur, maxPer)
		if err != nil {
			perr = err
			return
		}
		pr, perr = ws.Wait()
		elapsed = min(time.Since(ws.Start), dur)
	})
	res := Result{Scenario: ScenarioHot, Target: targetLabel(TargetPHP), Writers: w, Sessions: 1}
	if procs != w {
		res.Note = fmt.Sprintf("%d processes", procs)
	}
	if perr != nil {
		res.Note = appendNote(res.Note, perr.Error())
	}
	st := &runStats{elapsed: elapsed}
	st.acked[kindUpdate] = pr.OK
	st.errors = pr.LockFail + pr.WriteFail
	st.lat[kindUpdate] = pr.Latencies
	fill(&res, st, m)
	if final, err := Verify(ctx, r.admin, []string{id}, "n"); err == nil {
		res.Lost = pr.OK - final[0]
	}
	if pr.LockFail > 0 {
		res.Note = appendNote(res.Note, fmt.Sprintf("%d lock failures", pr.LockFail))
	}
	r.emit(res)
}

func (r *runner) sessions(def int) int {
	if r.cfg.Sessions > 0 {
		return r.cfg.Sessions
	}
	return def
}

// spread: 64 goroutines over many sessions, each op on a random session.
func (r *runner) spread(ctx context.Context) {
	const w = 64
	n := r.sessions(10000)
	r.counterCells(ctx, ScenarioSpread, w, func(name string) []string { return r.ids(ScenarioSpread, name, w, n) },
		func(ids []string) func(int, int, *rand.Rand) string {
			return func(_, _ int, rng *rand.Rand) string { return ids[rng.IntN(len(ids))] }
		})
}

// read: 64 goroutines, 95% Get and 5% Incr over 1,000 sessions.
func (r *runner) read(ctx context.Context) {
	const w = 64
	const key = "n"
	n := r.sessions(1000)
	for _, name := range r.sessionTargets() {
		ids := r.ids(ScenarioRead, name, w, n)
		t, err := r.newTarget(name, LibraryOptions{})
		if err != nil {
			r.failed(ScenarioRead, name, w, err)
			continue
		}
		if err := r.seed(ctx, ids, "n|i:0;"); err != nil {
			t.Close()
			r.failed(ScenarioRead, name, w, err)
			continue
		}
		rngs := workerRNGs(w)
		r.logf("%s %s ...", ScenarioRead, t.Name())
		var st *runStats
		m := r.measured(ctx, func() {
			st = drive(ctx, w, r.cfg.Ops, r.cfg.Duration, func(ctx context.Context, wk, i int) (int, error) {
				rng := rngs[wk]
				id := ids[rng.IntN(len(ids))]
				if rng.IntN(100) < 5 {
					return kindUpdate, t.Incr(ctx, id, key)
				}
				_, err := t.Get(ctx, id, key)
				return kindGet, err
			})
		})
		res := Result{Scenario: ScenarioRead, Target: t.Name(), Writers: w, Sessions: n}
		fill(&res, st, m)
		addTargetNotes(&res, t)
		res.GetP50us = micros(percentile(st.lat[kindGet], 50))
		res.GetP99us = micros(percentile(st.lat[kindGet], 99))
		res.UpdateP50us = micros(percentile(st.lat[kindUpdate], 50))
		if cs, ok := t.(CacheStater); ok {
			h, m := cs.CacheStats()
			if h+m > 0 {
				ratio := float64(h) / float64(h+m)
				res.CacheHitRatio = &ratio
			}
		}
		if final, err := Verify(ctx, r.admin, ids, key); err == nil {
			res.Lost = st.acked[kindUpdate] - sum(final)
		}
		t.Close()
		r.emit(res)
	}
}

// rawGet is the reference row of the get scenario: one network GET with
// no decode.
type rawGet struct{ c rueidis.Client }

func (g rawGet) Name() string                                   { return "redis GET (rueidis, no decode)" }
func (g rawGet) Incr(ctx context.Context, id, key string) error { return errors.ErrUnsupported }
func (g rawGet) Get(ctx context.Context, id, key string) (int64, error) {
	return 0, g.c.Do(ctx, g.c.B().Get().Key(KeyPrefix+id).Build()).Error()
}
func (g rawGet) Close() error { return nil }

// get: one goroutine reading one key of one warm session, to compare a
// cached Get with a network GET.
func (r *runner) get(ctx context.Context) {
	names := append(r.sessionTargets(), "raw")
	for _, name := range names {
		var t Target
		var err error
		if name == "raw" {
			t = rawGet{r.admin}
		} else {
			t, err = r.newTarget(name, LibraryOptions{})
		}
		if err != nil {
			r.failed(ScenarioGet, name, 1, err)
			continue
		}
		id := r.ids(ScenarioGet, name, 1, 1)[0]
		if err := r.seed(ctx, []string{id}, "n|i:7;"); err != nil {
			t.Close()
			r.failed(ScenarioGet, name, 1, err)
			continue
		}
		if _, err := t.Get(ctx, id, "n"); err != nil { // warm up
			t.Close()
			r.failed(ScenarioGet, name, 1, err)
			continue
		}
		r.logf("%s %s ...", ScenarioGet, t.Name())
		var st *runStats
		m := r.measured(ctx, func() {
			st = drive(ctx, 1, r.cfg.Ops, r.cfg.Duration, func(ctx context.Context, _, _ int) (int, error) {
				v, err := t.Get(ctx, id, "n")
				if err == nil && v != 7 && name != "raw" {
					err = fmt.Errorf("read %d, want 7", v)
				}
				return kindGet, err
			})
		})
		res := Result{Scenario: ScenarioGet, Target: t.Name(), Writers: 1, Sessions: 1}
		fill(&res, st, m)
		if cs, ok := t.(CacheStater); ok {
			h, m := cs.CacheStats()
			if h+m > 0 {
				ratio := float64(h) / float64(h+m)
				res.CacheHitRatio = &ratio
			}
		}
		t.Close()
		r.emit(res)
	}
}

// mixed: the hot scenario at W=64 on key "go" while PHP workers with
// phpredis 5.3 defaults (lock_retries 10, lock_wait_time 2000 µs)
// increment key "php" of the same session.
func (r *runner) mixed(ctx context.Context) {
	const w = 64
	if r.cfg.PHP == "" {
		r.failed(ScenarioMixed, TargetPHP, w, ErrNoPHP)
		return
	}
	dur := r.cfg.Duration
	if dur == 0 {
		dur = 2 * time.Second
	}
	names := r.sessionTargets()
	if slices.Contains(r.cfg.Targets, TargetPHP) {
		// The reference: the same PHP workers with no Go writer at all.
		names = append(names, TargetPHP)
	}
	for _, name := range names {
		id := r.ids(ScenarioMixed, name, w, 1)[0]
		var t Target
		label, gw := targetLabel(TargetPHP)+" alone", 0
		if name != TargetPHP {
			var err error
			if t, err = r.newTarget(name, LibraryOptions{}); err != nil {
				r.failed(ScenarioMixed, name, w, err)
				continue
			}
			label, gw = t.Name(), w
		}
		closeT := func() {
			if t != nil {
				t.Close()
			}
		}
		if err := r.seed(ctx, []string{id}, ""); err != nil {
			closeT()
			r.failed(ScenarioMixed, name, w, err)
			continue
		}
		r.logf("%s %s + %d PHP ...", ScenarioMixed, label, r.cfg.PHPWorkers)
		st := &runStats{}
		var pr PHPResult
		var perr error
		m := r.measured(ctx, func() {
			ws, err := StartPHPWorkers(ctx, r.cfg.PHP, PHPConfig{Addr: r.addr, LockRetries: 10, LockWaitTime: 2000, Think: r.cfg.PHPThink}, r.cfg.PHPWorkers, id, "php", dur, 0)
			if err != nil {
				perr = err
				return
			}
			time.Sleep(time.Until(ws.Start))
			if t != nil {
				st = drive(ctx, w, r.cfg.Ops, dur, func(ctx context.Context, _, _ int) (int, error) {
					return kindUpdate, t.Incr(ctx, id, "go")
				})
			}
			pr, perr = ws.Wait()
			if t == nil {
				st.elapsed = dur
			}
		})
		res := Result{Scenario: ScenarioMixed, Target: label, Writers: gw, Sessions: 1}
		fill(&res, st, m)
		if t != nil {
			addTargetNotes(&res, t)
		}
		closeT()
		if perr != nil {
			res.Note = appendNote(res.Note, perr.Error())
		}
		side := &PHPSide{Workers: r.cfg.PHPWorkers, OK: pr.OK, LockFail: pr.LockFail, WriteFail: pr.WriteFail,
			P50us: micros(percentile(pr.Latencies, 50)), P99us: micros(percentile(pr.Latencies, 99))}
		if g, err := Verify(ctx, r.admin, []string{id}, "go"); err == nil {
			res.Lost = st.acked[kindUpdate] - g[0]
		}
		if p, err := Verify(ctx, r.admin, []string{id}, "php"); err == nil {
			side.Lost = pr.OK - p[0]
		}
		res.PHP = side
		// Redis served both sides: spread its commands over both sides' ops.
		if n := res.Ops + pr.OK; n > 0 {
			if m.cmds >= 0 {
				res.CmdsPerOp = float64(m.cmds) / float64(n)
			}
			res.ClientCPUus = micros(m.clientCPU) / float64(n)
			if m.redisCPU >= 0 {
				res.RedisCPUus = micros(m.redisCPU) / float64(n)
			}
		}
		r.emit(res)
	}
}

// memory: the coordinator's heap and goroutines after touching many
// sessions once, and again after its idle actors were passivated.
func (r *runner) memory(ctx context.Context) {
	const w = 64
	if !slices.Contains(r.cfg.Targets, TargetLib) {
		return
	}
	n := r.sessions(100000)
	ids := r.ids(ScenarioMemory, TargetLib, w, n)
	if err := r.seedBlob(ctx, ids, smallSession); err != nil {
		r.failed(ScenarioMemory, TargetLib, w, err)
		return
	}
	idle := r.cfg.IdleTimeout
	t, err := r.newTarget(TargetLib, LibraryOptions{IdleTimeout: idle})
	if err != nil {
		r.failed(ScenarioMemory, TargetLib, w, err)
		return
	}
	defer t.Close()
	// The baseline is an open Manager with its connections up, so the
	// per-session figure excludes fixed costs (connection buffers).
	if _, err := t.Get(ctx, ids[0], "n"); err != nil {
		r.failed(ScenarioMemory, TargetLib, w, err)
		return
	}
	mi := &MemInfo{}
	ms0 := gcStats()
	mi.BaseHeapMB, mi.BaseGoroutines = float64(ms0.HeapAlloc)/(1<<20), runtime.NumGoroutine()
	mi.BaseRSSMB = rssMB()
	r.logf("%s %s sessions=%d ...", ScenarioMemory, t.Name(), n)
	var st *runStats
	m := r.measured(ctx, func() {
		st = drive(ctx, w, int64(n), 0, func(ctx context.Context, wk, i int) (int, error) {
			_, err := t.Get(ctx, ids[i], "n")
			return kindGet, err
		})
	})
	res := Result{Scenario: ScenarioMemory, Target: t.Name(), Writers: w, Sessions: n}
	fill(&res, st, m)
	ms1 := gcStats()
	mi.TouchedHeapMB, mi.TouchedGoroutines = float64(ms1.HeapAlloc)/(1<<20), runtime.NumGoroutine()
	mi.AllocsPerSession = float64(ms1.Mallocs-ms0.Mallocs) / float64(n)
	mi.ObjectsPerSession = (float64(ms1.HeapObjects) - float64(ms0.HeapObjects)) / float64(n)
	mi.TouchedRSSMB = rssMB()
	mi.RSSPerSession = (mi.TouchedRSSMB - mi.BaseRSSMB) * (1 << 20) / float64(n)
	if r.cfg.HeapProfile != nil {
		if err := pprof.Lookup("heap").WriteTo(r.cfg.HeapProfile, 0); err != nil {
			res.Note = appendNote(res.Note, "heap profile: "+err.Error())
		}
	}
	mi.BytesPerSession = (mi.TouchedHeapMB - mi.BaseHeapMB) * (1 << 20) / float64(n)
	lc, hasLive := t.(LiveCounter)
	if hasLive {
		mi.TouchedLive = lc.Live()
	}
	waitStart := time.Now()
	deadline := waitStart.Add(idle*3 + 30*time.Second)
	for hasLive && lc.Live() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if !hasLive {
		time.Sleep(idle * 2)
	}
	mi.IdleWaitSeconds = time.Since(waitStart).Seconds()
	mi.IdleHeapMB, mi.IdleGoroutines = heapMB(), runtime.NumGoroutine()
	mi.IdleRSSMB = rssMB()
	if r.cfg.IdleHeapProfile != nil {
		if err := pprof.Lookup("heap").WriteTo(r.cfg.IdleHeapProfile, 0); err != nil {
			res.Note = appendNote(res.Note, "idle heap profile: "+err.Error())
		}
	}
	if hasLive {
		mi.IdleLive = lc.Live()
	}
	res.Mem = mi
	r.emit(res)
}

// rssMB returns the process's resident set after a GC that returned freed
// memory to the OS (-1 where /proc is not available).
func rssMB() float64 {
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return float64(pages*int64(os.Getpagesize())) / (1 << 20)
}

func heapMB() float64 {
	ms := gcStats()
	return float64(ms.HeapAlloc) / (1 << 20)
}

// gcStats returns the memory statistics after two GCs (the second frees
// what finalizers of the first released).
func gcStats() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
