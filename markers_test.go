package phpsession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// markerCounts are the outcomes of increments by one writer group.
type markerCounts struct{ acked, unknown, failed atomic.Int64 }

// incrementUntil increments session "shared" with workers goroutines
// until the group has total outcomes, or stop is closed; onAck runs after
// each acknowledged increment.
func incrementUntil(ctx context.Context, m *phpsession.Manager, workers int, total int64, c *markerCounts, firstErr *atomic.Value, stop <-chan struct{}, onAck func(int64)) {
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c.acked.Load()+c.unknown.Load()+c.failed.Load() < total {
				select {
				case <-stop:
					return
				default:
				}
				err := m.Update(ctx, "shared", func(s *phpsession.Session) error {
					var n int
					if _, err := s.Unmarshal("n", &n); err != nil {
						return err
					}
					return s.Set("n", n+1)
				})
				switch {
				case err == nil:
					if onAck != nil {
						onAck(c.acked.Add(1))
					} else {
						c.acked.Add(1)
					}
				case errors.Is(err, phpsession.ErrOutcomeUnknown):
					c.unknown.Add(1)
				default:
					c.failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
}

// Two processes' worth of writers (two Managers, each with its own Redis
// client) increment one session while every client connection is killed
// again and again. With WriteMarkers each write leaves its own marker, so
// a lost reply is settled even when the other writer changed the session
// meanwhile: no unknown outcome, nothing lost, nothing applied twice.
func TestMarkersSettleLostRepliesTwoWriters(t *testing.T) {
	r := testenv.StartRedis(t)
	cfg := phpsession.Config{WriteMarkers: true}
	ma, mb := openTest(t, r, cfg), openTest(t, r, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const total = 800
	var a, b markerCounts
	var firstErr atomic.Value
	var kills atomic.Int64
	kill := func(n int64) {
		if n%25 == 0 {
			_, _ = r.Do("CLIENT", "KILL", "TYPE", "normal")
			kills.Add(1)
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); incrementUntil(ctx, ma, 12, total, &a, &firstErr, nil, kill) }()
	go func() { defer wg.Done(); incrementUntil(ctx, mb, 12, total, &b, &firstErr, nil, kill) }()
	wg.Wait()
	got, err := phpsession.GetAs[int](ctx, ma, "shared", "n")
	require.NoError(t, err)
	acked := a.acked.Load() + b.acked.Load()
	unknown := a.unknown.Load() + b.unknown.Load()
	t.Logf("acked %d, unknown %d, failed %d (%v); counter %d; %d kills", acked, unknown,
		a.failed.Load()+b.failed.Load(), firstErr.Load(), got, kills.Load())
	require.Positive(t, kills.Load())
	require.GreaterOrEqual(t, int64(got), acked, "an acknowledged increment was lost")
	require.LessOrEqual(t, int64(got), acked+unknown, "an increment was applied twice")
	require.Zero(t, unknown, "a lost reply was not settled")
	require.Zero(t, a.failed.Load()+b.failed.Load(), "errors")
}

// envMarkerWriter names the Redis URL for the writer process that
// TestMarkersSettleLostRepliesTwoProcesses starts (this test binary again).
const envMarkerWriter = "PHPSESSION_TEST_MARKER_WRITER"

// TestMarkerWriterProcess is the second process of
// TestMarkersSettleLostRepliesTwoProcesses; it does nothing unless started
// by it. It increments until stdin closes, then reports its counts.
func TestMarkerWriterProcess(t *testing.T) {
	url := os.Getenv(envMarkerWriter)
	if url == "" {
		t.Skip("started by TestMarkersSettleLostRepliesTwoProcesses")
	}
	m, err := phpsession.OpenURL(url, phpsession.Config{WriteMarkers: true})
	require.NoError(t, err)
	stop := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		close(stop)
	}()
	var c markerCounts
	var firstErr atomic.Value
	incrementUntil(context.Background(), m, 12, 1<<40, &c, &firstErr, stop, nil)
	fmt.Printf("RESULT acked=%d unknown=%d failed=%d first=%v\n", c.acked.Load(), c.unknown.Load(), c.failed.Load(), firstErr.Load())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, m.Close(ctx))
}

// The same with a real second process (this test binary, running
// TestMarkerWriterProcess) writing the session beside this one.
func TestMarkersSettleLostRepliesTwoProcesses(t *testing.T) {
	if os.Getenv(envMarkerWriter) != "" {
		t.Skip("inside the writer process")
	}
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{WriteMarkers: true})
	cmd := exec.Command(os.Args[0], "-test.run=^TestMarkerWriterProcess$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), envMarkerWriter+"="+r.URL())
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// wait until the other process writes
	for {
		v, err := r.Do("GET", "PHPREDIS_SESSION:shared")
		require.NoError(t, err)
		if v != "(nil)" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	var c markerCounts
	var firstErr atomic.Value
	var kills atomic.Int64
	incrementUntil(ctx, m, 12, 600, &c, &firstErr, nil, func(n int64) {
		if n%25 == 0 {
			_, _ = r.Do("CLIENT", "KILL", "TYPE", "normal")
			kills.Add(1)
		}
	})
	_ = stdin.Close()
	require.NoError(t, cmd.Wait(), out.String())
	var oa, ou, of int64
	line := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "RESULT ") {
			line = l
		}
	}
	require.NotEmpty(t, line, out.String())
	_, err = fmt.Sscanf(line, "RESULT acked=%d unknown=%d failed=%d", &oa, &ou, &of)
	require.NoError(t, err, line)
	got, err := phpsession.GetAs[int](ctx, m, "shared", "n")
	require.NoError(t, err)
	acked, unknown := c.acked.Load()+oa, c.unknown.Load()+ou
	t.Logf("this process: acked %d unknown %d failed %d (%v); other: %s; counter %d; %d kills",
		c.acked.Load(), c.unknown.Load(), c.failed.Load(), firstErr.Load(), line, got, kills.Load())
	require.Positive(t, oa, "the other process wrote nothing")
	require.GreaterOrEqual(t, int64(got), acked, "an acknowledged increment was lost")
	require.LessOrEqual(t, int64(got), acked+unknown, "an increment was applied twice")
	require.Zero(t, unknown, "a lost reply was not settled")
	require.Zero(t, c.failed.Load()+of, "errors")
}
