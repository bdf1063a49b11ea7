package bench

import (
	"fmt"
	"io"
)

// Goal is one of the project's performance targets checked against a run.
type Goal struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	Met  bool   `json:"met"`
}

// CheckGoals evaluates the project's targets (issue "bench/") on the rows
// of a run; targets whose rows (or reference rows: B1, the raw GET) were
// not run are left out.
func CheckGoals(rows []Result) []Goal {
	find := func(scenario, target string, w int) *Result {
		for i := range rows {
			r := &rows[i]
			if r.Scenario == scenario && r.Target == target && (w < 0 || r.Writers == w) && r.Ops > 0 {
				return r
			}
		}
		return nil
	}
	lib := targetLabel(TargetLib)
	var out []Goal
	if r := find(ScenarioHot, lib, 64); r != nil && r.RatioB1 > 0 {
		out = append(out,
			Goal{"hot W=64 throughput", "≥ 20× B1", fmt.Sprintf("%.1f×", r.RatioB1), r.RatioB1 >= 20},
			Goal{"hot W=64 Redis commands per update", "≤ 0.1", fmt.Sprintf("%.3f (all commands Redis executed, incl. inside Lua)", r.CmdsPerOp), r.CmdsPerOp <= 0.1},
			Goal{"hot W=64 lost updates", "0", fmt.Sprint(r.Lost), r.Lost == 0 && r.Errors == 0})
	}
	if r := find(ScenarioHot, lib, 64); r != nil {
		if c := find(ScenarioHot, targetLabel(TargetCeiling), 64); c != nil && c.OpsPerSec > 0 {
			x := r.OpsPerSec / c.OpsPerSec
			out = append(out, Goal{"hot W=64 throughput vs the bare batching loop", "≥ 80 % of ceiling",
				fmt.Sprintf("%.0f %% (%.0f vs %.0f ops/s)", 100*x, r.OpsPerSec, c.OpsPerSec), x >= 0.8})
		}
	}
	if r := find(ScenarioSpread, lib, -1); r != nil && r.RatioB1 > 0 {
		out = append(out, Goal{"spread throughput", "≥ 1.5× B1", fmt.Sprintf("%.2f×", r.RatioB1), r.RatioB1 >= 1.5})
	}
	if r := find(ScenarioGet, lib, -1); r != nil {
		if g := find(ScenarioGet, rawGet{}.Name(), -1); g != nil && r.P50us > 0 {
			x := g.P50us / r.P50us
			out = append(out, Goal{"cached Get p50 vs network GET p50", "≥ 20× faster",
				fmt.Sprintf("%.1f× (%.2f µs vs %.1f µs)", x, r.P50us, g.P50us), x >= 20})
		}
	}
	one, eight := find(ScenarioReplicas, lib+" ×1 processes", -1), find(ScenarioReplicas, lib+" ×8 processes", -1)
	if one != nil && eight != nil && one.OpsPerSec > 0 {
		x := eight.OpsPerSec / one.OpsPerSec
		out = append(out, Goal{"replicas: 8 processes vs 1", "≥ 90 % of 1 process's total", fmt.Sprintf("%.0f %% (%.0f vs %.0f ops/s)", 100*x, eight.OpsPerSec, one.OpsPerSec), x >= 0.9})
		lost, fails, reqs := eight.Lost, int64(0), int64(0)
		if eight.PHP != nil {
			lost += eight.PHP.Lost
			fails, reqs = eight.PHP.LockFail, eight.PHP.OK+eight.PHP.LockFail+eight.PHP.WriteFail
		}
		out = append(out, Goal{"replicas: 8 processes, lost updates / PHP lock failures", "0 / 0",
			fmt.Sprintf("%d / %d of %d PHP requests", lost, fails, reqs), lost == 0 && fails == 0 && eight.Errors == 0})
	}
	if r := find(ScenarioMemory, lib, -1); r != nil && r.Mem != nil && r.Mem.BaseRSSMB > 0 {
		m := r.Mem
		out = append(out,
			Goal{"memory: RSS per live session (small payload)", "≤ 1 KB", fmt.Sprintf("%.0f B (%d of %d sessions live when measured)", m.RSSPerSession, m.TouchedLive, r.Sessions),
				m.RSSPerSession <= 1024 && m.TouchedLive == r.Sessions},
			Goal{"memory: RSS back to baseline after idle", "≤ baseline + 10 MB", fmt.Sprintf("%.1f MB (baseline %.1f MB) after %.1fs", m.IdleRSSMB, m.BaseRSSMB, m.IdleWaitSeconds),
				m.IdleRSSMB <= m.BaseRSSMB+10})
	}
	if r := find(ScenarioMixed, lib, -1); r != nil && r.PHP != nil {
		ref := ""
		for i := range rows {
			if rows[i].Scenario == ScenarioMixed && rows[i].Writers == 0 && rows[i].PHP != nil {
				p := rows[i].PHP
				ref = fmt.Sprintf("; PHP alone: %d of %d", p.LockFail, p.OK+p.LockFail+p.WriteFail)
			}
		}
		p := r.PHP
		out = append(out,
			Goal{"mixed: PHP lock failures", "0", fmt.Sprintf("%d of %d PHP requests%s", p.LockFail, p.OK+p.LockFail+p.WriteFail, ref), p.LockFail == 0},
			Goal{"mixed: lost updates (Go / PHP)", "0 / 0", fmt.Sprintf("%d / %d", r.Lost, p.Lost), r.Lost == 0 && p.Lost == 0})
	}
	return out
}

// WriteGoals prints the goals as a markdown table.
func WriteGoals(w io.Writer, goals []Goal) {
	if len(goals) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | want | got | met |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, g := range goals {
		met := "no"
		if g.Met {
			met = "yes"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", g.Name, g.Want, g.Got, met)
	}
}
