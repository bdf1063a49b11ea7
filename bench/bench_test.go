package bench_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/phpsession/phpsession/bench"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestMain lets the test binary serve as a replica process of the
// replicas scenario (Config.Worker below re-executes it).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bench-worker" {
		if err := bench.RunWorker(context.Background(), bench.Library, os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// smokeTargets returns the targets a smoke run can exercise here: php only
// when available (or required), the coordinator only when wired in.
func smokeTargets(t *testing.T) []string {
	ts := []string{bench.TargetCeiling, bench.TargetB1, bench.TargetB2, bench.TargetB3}
	if bench.Library != nil {
		ts = append(ts, bench.TargetLib)
	}
	if _, err := testenv.PHPPath(); err == nil {
		ts = append(ts, bench.TargetPHP)
	} else if testenv.Required() {
		t.Fatalf("php required: %v", err)
	}
	return ts
}

// TestScenariosSmoke runs every scenario at tiny sizes so the harness
// itself is exercised quickly; the real numbers come from `phpsess bench`.
func TestScenariosSmoke(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	targets := smokeTargets(t)
	cfg := bench.Config{
		Worker:        []string{os.Args[0], "bench-worker"},
		Replicas:      []int{1, 2},
		RedisURL:      r.URL(),
		Targets:       targets,
		Writers:       []int{1, 4},
		Ops:           60,
		Duration:      300 * time.Millisecond,
		Sessions:      20,
		PHPWorkers:    1,
		PHPMaxWorkers: 2,
		PayloadBytes:  300,
		IdleTimeout:   100 * time.Millisecond,
		Library:       bench.Library,
		Codec:         bench.DefaultCodec(),
	}
	var streamed int
	rep, err := bench.Run(ctx, cfg, func(bench.Result) { streamed++ })
	if err != nil {
		t.Fatal(err)
	}
	if streamed != len(rep.Results) {
		t.Errorf("streamed %d rows, report has %d", streamed, len(rep.Results))
	}
	seen := map[string]bool{}
	for _, res := range rep.Results {
		seen[res.Scenario] = true
		name := res.Scenario + "/" + res.Target
		if strings.HasPrefix(res.Note, "not run") {
			if res.Target == "phpsession" && bench.Library == nil || strings.Contains(res.Note, "php") && !contains(targets, bench.TargetPHP) {
				continue
			}
			t.Errorf("%s: %s", name, res.Note)
			continue
		}
		if res.PHP != nil && res.Writers == 0 { // PHP alone: only the PHP side ran
			if res.PHP.OK == 0 || res.PHP.Lost != 0 {
				t.Errorf("%s: PHP side %+v", name, *res.PHP)
			}
			continue
		}
		if res.Ops == 0 {
			t.Errorf("%s: no operations: %+v", name, res)
		}
		if res.Errors != 0 {
			t.Errorf("%s: %d errors: %s", name, res.Errors, res.Note)
		}
		if res.P50us <= 0 || res.P99us < res.P50us {
			t.Errorf("%s: bad percentiles p50=%v p99=%v", name, res.P50us, res.P99us)
		}
		if res.Scenario != bench.ScenarioGet && res.CmdsPerOp <= 0 {
			t.Errorf("%s: no Redis commands counted", name)
		}
		// Every locked target must lose nothing; B3 may.
		if res.Target != "B3 no lock" && res.Lost != 0 {
			t.Errorf("%s: %d lost updates", name, res.Lost)
		}
		if p := res.PHP; p != nil && res.Target != "B3 no lock" && p.Lost != 0 {
			t.Errorf("%s: PHP lost %d updates", name, p.Lost)
		}
		if res.Target == "B1 per-request lock" && res.Mem == nil && res.RatioB1 != 1 {
			t.Errorf("%s: ratio to itself %v", name, res.RatioB1)
		}
	}
	for _, s := range bench.AllScenarios {
		if s == bench.ScenarioMemory && bench.Library == nil {
			continue
		}
		if s == bench.ScenarioMixed && !contains(targets, bench.TargetPHP) {
			continue
		}
		if !seen[s] {
			t.Errorf("scenario %s produced no row", s)
		}
	}
	var sb strings.Builder
	bench.WriteMarkdown(&sb, rep)
	if !strings.Contains(sb.String(), "| hot | B1 per-request lock | 4 |") || !strings.Contains(sb.String(), "Redis 7") && !strings.Contains(sb.String(), "Redis ") {
		t.Errorf("markdown table lacks rows or machine line:\n%s", sb.String())
	}
	t.Logf("\n%s", sb.String())
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestIncrExact checks the incr helper through a locked baseline: every
// increment lands, and the final value says so.
func TestIncrExact(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tg, err := bench.NewPerRequest(r.URL(), bench.DefaultCodec())
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	for round := 1; round <= 2; round++ {
		res, err := bench.Incr(ctx, tg, "incr-exact", "n", 4, 100)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Landed(100) || res.Final != int64(100*round) {
			t.Fatalf("round %d: %+v", round, res)
		}
	}
}

func TestUnknownScenario(t *testing.T) {
	_, err := bench.Run(context.Background(), bench.Config{RedisURL: "redis://127.0.0.1:1", Scenarios: []string{"nope"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "unknown scenario") {
		t.Fatalf("err = %v", err)
	}
}
