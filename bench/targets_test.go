package bench

import (
	"strings"
	"testing"
)

func TestCheckGoals(t *testing.T) {
	lib, b1 := targetLabel(TargetLib), targetLabel(TargetB1)
	rows := []Result{
		{Scenario: ScenarioHot, Target: lib, Writers: 64, Ops: 1000, RatioB1: 25, CmdsPerOp: 0.08},
		{Scenario: ScenarioHot, Target: b1, Writers: 64, Ops: 40, RatioB1: 1},
		{Scenario: ScenarioHot, Target: lib, Writers: 8, Ops: 1000, RatioB1: 3, CmdsPerOp: 0.5},
		{Scenario: ScenarioSpread, Target: lib, Writers: 64, Ops: 10, RatioB1: 1.2},
		{Scenario: ScenarioGet, Target: lib, Writers: 1, Ops: 10, P50us: 1},
		{Scenario: ScenarioGet, Target: rawGet{}.Name(), Writers: 1, Ops: 10, P50us: 30},
		{Scenario: ScenarioMixed, Target: lib, Writers: 64, Ops: 10, PHP: &PHPSide{OK: 99, LockFail: 1}},
		{Scenario: ScenarioMixed, Target: "PHP alone", Writers: 0, PHP: &PHPSide{OK: 50, LockFail: 2}},
	}
	want := map[string]bool{
		"hot W=64 throughput":                true,
		"hot W=64 Redis commands per update": true,
		"hot W=64 lost updates":              true,
		"spread throughput":                  false,
		"cached Get p50 vs network GET p50":  true,
		"mixed: PHP lock failures":           false,
		"mixed: lost updates (Go / PHP)":     true,
	}
	goals := CheckGoals(rows)
	if len(goals) != len(want) {
		t.Fatalf("got %d goals: %+v", len(goals), goals)
	}
	for _, g := range goals {
		if met, ok := want[g.Name]; !ok || met != g.Met {
			t.Errorf("%s: met=%v got %q", g.Name, g.Met, g.Got)
		}
		if g.Name == "mixed: PHP lock failures" && !strings.Contains(g.Got, "PHP alone: 2 of 52") {
			t.Errorf("mixed: %q", g.Got)
		}
	}
	if len(CheckGoals(nil)) != 0 {
		t.Error("goals without rows")
	}
}
