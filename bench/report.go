package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteHeader prints the machine line that heads a markdown table.
func WriteHeader(w io.Writer, m Machine, config string) {
	fmt.Fprintf(w, "Machine: %s, %d cores (GOMAXPROCS %d), %s, %s, Redis %s", m.CPU, m.Cores, m.GOMAXPROCS, m.GoVersion, m.OS, m.RedisVersion)
	if m.PHPVersion != "" {
		fmt.Fprintf(w, ", PHP %s", m.PHPVersion)
	}
	fmt.Fprintf(w, "; %s\n", m.Date)
	if config != "" {
		fmt.Fprintf(w, "Run: %s\n", config)
	}
	fmt.Fprintln(w)
}

// TableHead prints the markdown table's header rows.
func TableHead(w io.Writer) {
	fmt.Fprintln(w, "| scenario | target | W | sessions | ops | ops/s | p50 µs | p99 µs | cmds/op | CPU µs/op (Go+PHP / Redis) | lost | ×B1 | notes |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
}

// TableRow prints one result as a markdown table row.
func TableRow(w io.Writer, r Result) {
	ratio := ""
	if r.RatioB1 > 0 {
		ratio = fmt.Sprintf("%.2f", r.RatioB1)
	}
	cmds := ""
	if r.Ops > 0 || r.CmdsPerOp > 0 {
		cmds = fmt.Sprintf("%.3g", r.CmdsPerOp)
	}
	cpu := ""
	if r.ClientCPUus > 0 {
		cpu = num(r.ClientCPUus) + " / " + num(r.RedisCPUus)
	}
	fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %s | %s | %s | %s | %s | %d | %s | %s |\n",
		r.Scenario, r.Target, r.Writers, r.Sessions, r.Ops, num(r.OpsPerSec), num(r.P50us), num(r.P99us),
		cmds, cpu, r.Lost, ratio, strings.ReplaceAll(notes(r), "|", "/"))
}

func num(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.2f", f)
	}
}

// notes renders the scenario-specific fields of a row.
func notes(r Result) string {
	var parts []string
	if r.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%d errors", r.Errors))
	}
	if r.Scenario == ScenarioRead && r.GetP50us > 0 {
		parts = append(parts, fmt.Sprintf("Get p50 %s µs p99 %s µs, Update p50 %s µs", num(r.GetP50us), num(r.GetP99us), num(r.UpdateP50us)))
	}
	if r.CacheHitRatio != nil {
		parts = append(parts, fmt.Sprintf("cache hits %.1f%%", *r.CacheHitRatio*100))
	}
	if p := r.PHP; p != nil {
		parts = append(parts, fmt.Sprintf("PHP ×%d: %d ok, %d lock failures, %d write failures, %d lost, p50 %s µs p99 %s µs",
			p.Workers, p.OK, p.LockFail, p.WriteFail, p.Lost, num(p.P50us), num(p.P99us)))
	}
	if m := r.Mem; m != nil {
		parts = append(parts, fmt.Sprintf("RSS %.1f→%.1f MB (%.0f B/session), heap %.1f→%.1f MB (%.0f B/session, %.1f live objects/session, %.1f allocs/session), goroutines %d→%d, live actors %d; after %.1fs idle: RSS %.1f MB, heap %.1f MB, goroutines %d, live %d",
			m.BaseRSSMB, m.TouchedRSSMB, m.RSSPerSession, m.BaseHeapMB, m.TouchedHeapMB, m.BytesPerSession, m.ObjectsPerSession, m.AllocsPerSession, m.BaseGoroutines, m.TouchedGoroutines, m.TouchedLive,
			m.IdleWaitSeconds, m.IdleRSSMB, m.IdleHeapMB, m.IdleGoroutines, m.IdleLive))
	}
	if r.Note != "" {
		parts = append(parts, r.Note)
	}
	return strings.Join(parts, "; ")
}

// WriteMarkdown prints a whole report as one markdown table.
func WriteMarkdown(w io.Writer, rep *Report) {
	WriteHeader(w, rep.Machine, rep.Config)
	TableHead(w)
	for _, r := range rep.Results {
		TableRow(w, r)
	}
}

// ScenarioJSON is the JSON object printed for one scenario.
type ScenarioJSON struct {
	Scenario string   `json:"scenario"`
	Machine  Machine  `json:"machine"`
	Config   string   `json:"config,omitempty"`
	Results  []Result `json:"results"`
}

// WriteJSON prints one scenario's rows as one JSON object on one line.
func WriteJSON(w io.Writer, m Machine, config, scenario string, rows []Result) error {
	return json.NewEncoder(w).Encode(ScenarioJSON{Scenario: scenario, Machine: m, Config: config, Results: rows})
}
