package main

// phpsess stats --metrics-url: the counters of a process that exports its
// Manager's events with contrib/prometheus, read from its /metrics page
// (the Prometheus text exposition format).

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// promSample is one sample line: name, labels, value.
type promSample struct {
	name   string
	labels map[string]string
	value  float64
}

// parsePromText reads the sample lines of the text exposition format
// (comments and blank lines skipped; a timestamp after the value ignored).
func parsePromText(r io.Reader) ([]promSample, error) {
	var out []promSample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parsePromLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", ln, err)
		}
		out = append(out, s)
	}
	return out, sc.Err()
}

func parsePromLine(line string) (promSample, error) {
	s := promSample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, errors.New("no value")
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		line = line[1:]
		for {
			line = strings.TrimLeft(line, " ,")
			if line == "" {
				return s, errors.New("unterminated labels")
			}
			if line[0] == '}' {
				line = line[1:]
				break
			}
			eq := strings.IndexByte(line, '=')
			if eq <= 0 || eq+1 >= len(line) || line[eq+1] != '"' {
				return s, errors.New("bad label")
			}
			key := strings.TrimSpace(line[:eq])
			line = line[eq+2:]
			var val strings.Builder
			j := 0
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
					switch line[j] {
					case 'n':
						val.WriteByte('\n')
					default:
						val.WriteByte(line[j])
					}
					continue
				}
				val.WriteByte(line[j])
			}
			if j >= len(line) {
				return s, errors.New("unterminated label value")
			}
			s.labels[key] = val.String()
			line = line[j+1:]
		}
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return s, errors.New("no value")
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return s, fmt.Errorf("value %q: %w", f[0], err)
	}
	s.value = v
	return s, nil
}

// fetchPromStats reads the phpsession_* metrics of contrib/prometheus
// (namespace ns) from a /metrics URL into the counters stats prints.
func fetchPromStats(cl *http.Client, u, ns string) (statsJSON, error) {
	var samples []promSample
	err := getBody(cl, u, 64<<20, func(body io.Reader) error {
		var err error
		if samples, err = parsePromText(body); err != nil {
			return fmt.Errorf("%s: not the Prometheus text format: %w", u, err)
		}
		return nil
	})
	if err != nil {
		return statsJSON{}, err
	}
	return promToStats(samples, ns, u)
}

// promToStats sums the samples of namespace ns (read from u) into the
// counters stats prints.
func promToStats(samples []promSample, ns, u string) (statsJSON, error) {
	var s statsJSON
	seen := false
	n := func(v float64) uint64 { return uint64(math.Max(0, v)) }
	for _, x := range samples {
		name, ok := strings.CutPrefix(x.name, ns+"_")
		if !ok {
			continue
		}
		seen = true
		switch name {
		case "operations_total":
			switch x.labels["op"] {
			case "read":
				s.Reads += n(x.value)
			case "update":
				s.Updates += n(x.value)
			case "destroy":
				s.Destroys += n(x.value)
			}
			switch x.labels["outcome"] {
			case "error", "canceled":
				s.Errors += n(x.value)
			case "not_found":
				s.NotFound += n(x.value)
			}
		case "batches_total":
			s.Batches += n(x.value)
			switch x.labels["write"] {
			case "data":
				s.Writes += n(x.value)
			case "touch":
				s.Touches += n(x.value)
			case "delete":
				s.Deletes += n(x.value)
			}
		case "batch_ops_sum":
			s.BatchedOps += n(x.value)
		case "lock_waits_total":
			s.LockWaits += n(x.value)
		case "lock_wait_seconds_sum":
			s.LockWaitNs += int64(x.value * 1e9)
		case "cache_lookups_total":
			if x.labels["result"] == "hit" {
				s.CacheHits += n(x.value)
			} else {
				s.CacheMisses += n(x.value)
			}
		case "lock_lost_retries_total":
			s.LockLostRetries += n(x.value)
		case "fairness_gaps_total":
			s.FairnessGaps += n(x.value)
		case "live_actors":
			s.LiveSessions += int(x.value)
		}
	}
	if !seen {
		return s, fmt.Errorf("%s serves no %s_* metrics (not a phpsession Prometheus collector? see contrib/prometheus)", u, ns)
	}
	s.Managers = 1
	return s, nil
}
