package main

// Coordinator metrics across processes: any phpsess command given
// --stats-addr ADDR (bench in particular) serves the summed
// phpsession.Manager.Stats of its Managers as expvar JSON at
// http://ADDR/debug/vars under "phpsession"; `phpsess stats --from ADDR`
// polls it and prints rates.

import (
	"encoding/json"
	"errors"
	"expvar"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/bench"
)

func init() { register(newStatsCmd) }

// statsJSON is the published form of phpsession.Stats (durations in ns).
type statsJSON struct {
	Reads           uint64 `json:"reads"`
	Updates         uint64 `json:"updates"`
	Destroys        uint64 `json:"destroys"`
	Errors          uint64 `json:"errors"`
	NotFound        uint64 `json:"not_found"`
	Batches         uint64 `json:"batches"`
	BatchedOps      uint64 `json:"batched_ops"`
	MaxBatch        uint64 `json:"max_batch"`
	Writes          uint64 `json:"writes"`
	Touches         uint64 `json:"touches"`
	Deletes         uint64 `json:"deletes"`
	LockWaits       uint64 `json:"lock_waits"`
	LockWaitNs      int64  `json:"lock_wait_ns"`
	CacheHits       uint64 `json:"cache_hits"`
	CacheMisses     uint64 `json:"cache_misses"`
	LockLostRetries uint64 `json:"lock_lost_retries"`
	Passivations    uint64 `json:"passivations"`
	FairnessGaps    uint64 `json:"fairness_gaps"`
	FairnessGapNs   int64  `json:"fairness_gap_ns"`
	LiveSessions    int    `json:"live_sessions"`
	Managers        int    `json:"managers"`
}

func (a *statsJSON) add(s phpsession.Stats) {
	a.Reads += s.Reads
	a.Updates += s.Updates
	a.Destroys += s.Destroys
	a.Errors += s.Errors
	a.NotFound += s.NotFound
	a.Batches += s.Batches
	a.BatchedOps += s.BatchedOps
	a.MaxBatch = max(a.MaxBatch, s.MaxBatch)
	a.Writes += s.Writes
	a.Touches += s.Touches
	a.Deletes += s.Deletes
	a.LockWaits += s.LockWaits
	a.LockWaitNs += int64(s.LockWaitTime)
	a.CacheHits += s.CacheHits
	a.CacheMisses += s.CacheMisses
	a.LockLostRetries += s.LockLostRetries
	a.Passivations += s.Passivations
	a.FairnessGaps += s.FairnessGaps
	a.FairnessGapNs += int64(s.FairnessGapTime)
	a.LiveSessions += s.LiveSessions
	a.Managers++
}

var (
	statsMu       sync.Mutex
	statsManagers []*phpsession.Manager
	statsOnce     sync.Once
)

// registerManager adds m to the Managers whose counters are published.
// Counters of closed Managers stay in the sums.
func registerManager(m *phpsession.Manager) {
	statsMu.Lock()
	statsManagers = append(statsManagers, m)
	statsMu.Unlock()
}

func statsSnapshot() statsJSON {
	statsMu.Lock()
	ms := append([]*phpsession.Manager(nil), statsManagers...)
	statsMu.Unlock()
	var s statsJSON
	for _, m := range ms {
		s.add(m.Stats())
	}
	return s
}

// startStatsServer serves expvar (with the "phpsession" variable) on addr
// and makes bench's coordinator targets publish their Managers.
func startStatsServer(cmd *cobra.Command, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--stats-addr: %w", err)
	}
	statsOnce.Do(func() {
		expvar.Publish("phpsession", expvar.Func(func() any { return statsSnapshot() }))
		if orig := bench.Library; orig != nil {
			bench.Library = func(url string, o bench.LibraryOptions) (bench.Target, error) {
				t, err := orig(url, o)
				if lt, ok := t.(*bench.LibTarget); ok && err == nil {
					registerManager(lt.M)
				}
				return t, err
			}
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Fprintf(cmd.ErrOrStderr(), "phpsess: serving coordinator metrics on http://%s/debug/vars\n", ln.Addr())
	return nil
}

func newStatsCmd() *cobra.Command {
	var (
		from, metricsURL, namespace string
		interval                    time.Duration
		count                       int
		wait                        time.Duration
	)
	c := &cobra.Command{
		Use:   "stats --from ADDR",
		Short: "Show the coordinator's metrics of a running phpsess process",
		Long: `stats polls the coordinator metrics that another phpsess process serves with
--stats-addr (typically 'phpsess bench --stats-addr 127.0.0.1:7070 ...'),
every --interval, and prints one line per poll: operations per second by
kind, locked batches per second and operations per batch (how much the
coordinator saves over per-request locking), client-cache hit ratio,
waits for locks held by PHP, lost-lock retries, pauses left for PHP and
live session actors. The counters are those of phpsession.Manager.Stats,
summed over the process's Managers.

The metrics are plain expvar JSON at http://ADDR/debug/vars (variable
"phpsession"), so any expvar reader works too. With --json one JSON object
per poll is printed: the totals plus the per-second rates of the interval.

With --metrics-url URL the same figures are read from a Prometheus
/metrics page that a service exports with contrib/prometheus (metric
names phpsession_*; --namespace if the collector was given another one),
so the counters of any Go service using the library can be followed.

stats waits up to --wait for the source to come up; it ends after --count
polls, on Ctrl-C, or when the source goes away.`,
		Example: `  phpsess bench --scenario hot --targets lib --duration 30s --stats-addr 127.0.0.1:7070 &
  phpsess stats --from 127.0.0.1:7070
  phpsess stats --metrics-url http://10.0.0.7:9090/metrics --interval 5s`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case from != "" && metricsURL != "":
				return usageError{errors.New("stats: --from and --metrics-url are mutually exclusive")}
			case metricsURL != "":
				fetch := func(cl *http.Client) (statsJSON, error) { return fetchPromStats(cl, metricsURL, namespace) }
				return runStats(cmd, fetch, interval, count, wait)
			case from == "":
				return usageError{errors.New("stats: --from ADDR (the --stats-addr of a running phpsess) or --metrics-url URL is required")}
			}
			u := statsURL(from)
			return runStats(cmd, func(cl *http.Client) (statsJSON, error) { return fetchStats(cl, u) }, interval, count, wait)
		},
	}
	c.Flags().StringVar(&from, "from", "", "`ADDR` (host:port or URL) a phpsess process serves --stats-addr on")
	c.Flags().StringVar(&metricsURL, "metrics-url", "", "read a Prometheus /metrics `URL` served with contrib/prometheus instead")
	c.Flags().StringVar(&namespace, "namespace", "phpsession", "metric name prefix of --metrics-url (phpprom.Options.Namespace)")
	c.Flags().DurationVar(&interval, "interval", time.Second, "time between polls")
	c.Flags().IntVar(&count, "count", 0, "stop after `N` polls (0: until interrupted or the source goes away)")
	c.Flags().DurationVar(&wait, "wait", 10*time.Second, "how long to wait for the source to answer the first time")
	return c
}

func statsURL(from string) string {
	if !strings.Contains(from, "://") {
		from = "http://" + from
	}
	if !strings.Contains(strings.SplitN(from, "://", 2)[1], "/") {
		from += "/debug/vars"
	}
	return from
}

// getBody GETs u and hands read at most limit bytes of its body when the
// status is 200 OK.
func getBody(cl *http.Client, u string, limit int64, read func(io.Reader) error) error {
	resp, err := cl.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return read(io.LimitReader(resp.Body, limit))
}

// fetchStats reads the "phpsession" expvar variable of a phpsess
// --stats-addr from its /debug/vars URL.
func fetchStats(cl *http.Client, u string) (statsJSON, error) {
	var s statsJSON
	var doc struct {
		P *statsJSON `json:"phpsession"`
	}
	err := getBody(cl, u, 16<<20, func(body io.Reader) error {
		if err := json.NewDecoder(body).Decode(&doc); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	if doc.P == nil {
		return s, fmt.Errorf("%s serves no \"phpsession\" variable (not a phpsess --stats-addr?)", u)
	}
	return *doc.P, nil
}

type statsRates struct {
	Time        time.Time `json:"time"`
	Totals      statsJSON `json:"totals"`
	OpsPerSec   float64   `json:"ops_per_sec"`
	Reads       float64   `json:"reads_per_sec"`
	Updates     float64   `json:"updates_per_sec"`
	Batches     float64   `json:"batches_per_sec"`
	OpsPerBatch float64   `json:"ops_per_batch"`
	CacheHit    float64   `json:"cache_hit_ratio"`
	LockWaits   float64   `json:"lock_waits_per_sec"`
	AvgWaitMs   float64   `json:"avg_lock_wait_ms"`
	Errors      float64   `json:"errors_per_sec"`
}

func rates(prev, cur statsJSON, dt time.Duration, now time.Time) statsRates {
	sec := dt.Seconds()
	if sec <= 0 {
		sec = 1
	}
	d := func(a, b uint64) float64 {
		if b < a {
			return 0
		}
		return float64(b - a)
	}
	r := statsRates{Time: now, Totals: cur}
	ops := d(prev.Reads+prev.Updates+prev.Destroys, cur.Reads+cur.Updates+cur.Destroys)
	r.OpsPerSec = ops / sec
	r.Reads = d(prev.Reads, cur.Reads) / sec
	r.Updates = d(prev.Updates+prev.Destroys, cur.Updates+cur.Destroys) / sec
	b := d(prev.Batches, cur.Batches)
	r.Batches = b / sec
	if b > 0 {
		r.OpsPerBatch = d(prev.BatchedOps, cur.BatchedOps) / b
	}
	if hm := d(prev.CacheHits+prev.CacheMisses, cur.CacheHits+cur.CacheMisses); hm > 0 {
		r.CacheHit = d(prev.CacheHits, cur.CacheHits) / hm
	}
	w := d(prev.LockWaits, cur.LockWaits)
	r.LockWaits = w / sec
	if w > 0 {
		r.AvgWaitMs = float64(cur.LockWaitNs-prev.LockWaitNs) / w / 1e6
	}
	r.Errors = d(prev.Errors, cur.Errors) / sec
	return r
}

func runStats(cmd *cobra.Command, fetch func(*http.Client) (statsJSON, error), interval time.Duration, count int, wait time.Duration) error {
	ctx := cmd.Context()
	cl := &http.Client{Timeout: 5 * time.Second}
	out := cmd.OutOrStdout()
	if interval <= 0 {
		interval = time.Second
	}
	// first sample, waiting for the source
	deadline := time.Now().Add(wait)
	var prev statsJSON
	var err error
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for {
		prev, err = fetch(cl)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stats: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-retry.C:
		}
	}
	last := time.Now()
	if !g.json {
		fmt.Fprintf(out, "%-8s %10s %10s %10s %9s %9s %7s %9s %9s %8s %7s %6s\n",
			"TIME", "OPS/S", "READS/S", "WRITES/S", "BATCH/S", "OPS/BATCH", "CACHE%", "WAITS/S", "AVGWAIT", "LOSTRTRY", "ERR/S", "LIVE")
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for n := 0; count <= 0 || n < count; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		cur, err := fetch(cl)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "phpsess: stats source went away: %v\n", err)
			return nil
		}
		now := time.Now()
		r := rates(prev, cur, now.Sub(last), now)
		prev, last = cur, now
		if g.json {
			if err := writeJSON(out, r); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(out, "%-8s %10.0f %10.0f %10.0f %9.0f %9.1f %6.1f%% %9.1f %8.2fms %8d %7.1f %6d\n",
			now.Format("15:04:05"), r.OpsPerSec, r.Reads, r.Updates, r.Batches, r.OpsPerBatch, 100*r.CacheHit,
			r.LockWaits, r.AvgWaitMs, cur.LockLostRetries, r.Errors, cur.LiveSessions)
	}
	return nil
}
