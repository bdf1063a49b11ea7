package phpsession_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// incrN increments integer key name of session id by one.
func incrN(ctx context.Context, m *phpsession.Manager, id, name string) error {
	return m.Update(ctx, id, func(s *phpsession.Session) error {
		var n int
		if _, err := s.Unmarshal(name, &n); err != nil {
			return err
		}
		return s.Set(name, n+1)
	})
}

// Several Managers (as several processes would) write one hot session:
// every acknowledged increment lands, once they conflict they take turns
// under the write lease, and the lease keys are gone once they are done.
func TestWriteLeaseManagersShareHotSession(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	const managers, writers, each = 4, 8, 600
	ms, id := hotSession(t, r, managers)
	var acked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, managers*writers)
	for _, m := range ms {
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					if err := incrN(ctx, m, id, "n"); err != nil {
						errs <- err
						return
					}
					acked.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n := storedN(t, r, id)
	require.EqualValues(t, acked.Load(), n, "every acknowledged increment landed")
	require.EqualValues(t, managers*writers*each, n)
	var busy, released int64
	for _, m := range ms {
		st := m.Store().Stats()
		busy += st.LeaseBusy
		released += st.LeaseReleased
	}
	taken := leasesTaken(ms)
	t.Logf("leases taken %d, found busy %d, released %d", taken, busy, released)
	require.Positive(t, taken, "Managers writing one session take turns under the lease")
	for _, m := range ms {
		require.NoError(t, m.Close(ctx))
	}
	require.Equal(t, "0", r.MustDo("EXISTS", "phpsession:lease:PHPREDIS_SESSION:"+id), "Close gives the lease back")
}

// hotSession opens n Managers on r (as n processes would) and a new
// session with n = 0 for them to write.
func hotSession(t *testing.T, r *testenv.Redis, n int) ([]*phpsession.Manager, string) {
	t.Helper()
	ms := make([]*phpsession.Manager, n)
	for i := range ms {
		ms[i] = openTest(t, r, phpsession.Config{})
	}
	id := phpsession.NewID()
	require.NoError(t, ms[0].Set(context.Background(), id, "n", 0))
	return ms, id
}

// leasesTaken is how many write leases ms took in all.
func leasesTaken(ms []*phpsession.Manager) int64 {
	var n int64
	for _, m := range ms {
		n += m.Store().Stats().LeaseTaken
	}
	return n
}

// requireCounted checks the stored counter got against the increments
// acknowledged and those of unknown outcome: none acknowledged was lost,
// none was applied twice.
func requireCounted(t *testing.T, got int, acked, unknown int64) {
	t.Helper()
	require.GreaterOrEqual(t, int64(got), acked, "an acknowledged increment was lost")
	require.LessOrEqual(t, int64(got), acked+unknown, "an increment was applied twice")
}

var nRe = regexp.MustCompile(`n\|i:(-?[0-9]+);`)

// storedN reads integer key n of session id straight from Redis.
func storedN(t *testing.T, r *testenv.Redis, id string) int {
	t.Helper()
	m := nRe.FindStringSubmatch(r.MustDo("GET", "PHPREDIS_SESSION:"+id))
	require.NotNil(t, m, "n in the stored session")
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	return n
}

// hammer runs writers goroutines per Manager incrementing n of id until
// stop is closed, counting acknowledged increments, outcomes reported
// unknown, and other errors (the first kept).
type hammer struct {
	acked, unknown, failed atomic.Int64
	first                  atomic.Value
	wg                     sync.WaitGroup
	stop                   chan struct{}
}

func startHammer(ctx context.Context, ms []*phpsession.Manager, writers int, id string) *hammer {
	h := &hammer{stop: make(chan struct{})}
	for _, m := range ms {
		for range writers {
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				for {
					select {
					case <-h.stop:
						return
					default:
					}
					switch err := incrN(ctx, m, id, "n"); {
					case err == nil:
						h.acked.Add(1)
					case errors.Is(err, phpsession.ErrClosed):
						return
					case errors.Is(err, redisio.ErrOutcomeUnknown):
						h.unknown.Add(1)
					default:
						h.failed.Add(1)
						h.first.CompareAndSwap(nil, err.Error())
					}
				}
			}()
		}
	}
	return h
}

func (h *hammer) finish() { close(h.stop); h.wg.Wait() }

// Managers whose connections are killed again and again while they take
// turns under the lease: no acknowledged increment is lost, none is
// applied twice, and no call fails for another reason (a lease call that
// fails lets the batch go on without it).
func TestWriteLeaseUnderConnectionKills(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	ms, id := hotSession(t, r, 3)
	h := startHammer(ctx, ms, 8, id)
	kills := 0
	for kills < 20 {
		target := h.acked.Load() + 100
		waitUntil(t, "increments between kills", func() bool { return h.acked.Load() >= target })
		_, _ = r.Do("CLIENT", "KILL", "TYPE", "normal")
		kills++
	}
	h.finish()
	got := storedN(t, r, id)
	taken := leasesTaken(ms)
	t.Logf("%d acknowledged, %d unknown, %d other errors (%v); counter %d; %d kills; %d leases taken",
		h.acked.Load(), h.unknown.Load(), h.failed.Load(), h.first.Load(), got, kills, taken)
	requireCounted(t, got, h.acked.Load(), h.unknown.Load())
	require.Zero(t, h.failed.Load())
	require.Positive(t, taken, "the Managers used the lease")
}

// A Manager closed while its writers and two other Managers write the
// session: its queued calls are answered, the others go on (its lease, if
// it held one, is given back or expires), and the counter matches.
func TestWriteLeaseCloseMidTraffic(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	ms, id := hotSession(t, r, 3)
	h := startHammer(ctx, ms, 8, id)
	waitUntil(t, "the Managers take turns under the lease", func() bool { return leasesTaken(ms) > 3 })
	require.NoError(t, ms[0].Close(ctx))
	after := h.acked.Load() + 500
	waitUntil(t, "the other Managers go on", func() bool { return h.acked.Load() >= after })
	h.finish()
	requireCounted(t, storedN(t, r, id), h.acked.Load(), h.unknown.Load())
	require.Zero(t, h.failed.Load(), "%v", h.first.Load())
}

// leaseHelperEnv names the Redis URL and session of the helper process of
// TestWriteLeaseHolderStopped (this test binary, re-executed).
const leaseHelperEnv = "PHPSESSION_LEASE_HELPER"

// TestLeaseHelperProcess is not a test: run by TestWriteLeaseHolderStopped
// as a second process, it increments n of the session from 8 goroutines
// until its stdin closes, then prints how many increments were
// acknowledged, unknown and failed.
func TestLeaseHelperProcess(t *testing.T) {
	arg := os.Getenv(leaseHelperEnv)
	if arg == "" {
		t.Skip("helper process only")
	}
	url, id, _ := strings.Cut(arg, " ")
	ctx := context.Background()
	m, err := phpsession.OpenURL(url, phpsession.Config{})
	require.NoError(t, err)
	h := startHammer(ctx, []*phpsession.Manager{m}, 8, id)
	waitUntil(t, "a first increment", func() bool { return h.acked.Load() > 0 })
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	h.finish()
	require.NoError(t, m.Close(ctx))
	fmt.Printf("result %d %d %d %v\n", h.acked.Load(), h.unknown.Load(), h.failed.Load(), h.first.Load())
}

// A second process that holds the lease is stopped (SIGSTOP) while it
// and two Managers here write one session: the Managers go on once its
// lease expired (they are never held up for longer than its PX), and
// after SIGCONT it goes on too; every acknowledged increment of both
// processes landed once.
func TestWriteLeaseHolderStopped(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	ms, id := hotSession(t, r, 2)

	cmd := exec.Command(os.Args[0], "-test.run=^TestLeaseHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), leaseHelperEnv+"="+r.URL()+" "+id)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	outp, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	out := bufio.NewScanner(outp)
	for out.Scan() && out.Text() != "ready" {
	}
	pid := "|" + strconv.Itoa(cmd.Process.Pid) + "|"

	h := startHammer(ctx, ms, 8, id)
	leaseKey := "phpsession:lease:PHPREDIS_SESSION:" + id
	// Stop the helper at a moment when it holds the lease.
	stopped := false
	for i := 0; i < 10000 && !stopped; i++ {
		v, _ := r.Do("GET", leaseKey)
		if !strings.Contains(v, pid) {
			runtime.Gosched()
			continue
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
		if v, _ := r.Do("GET", leaseKey); strings.Contains(v, pid) {
			stopped = true
			break
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	}
	require.True(t, stopped, "the helper was never caught holding the lease")
	before := h.acked.Load()
	waitUntil(t, "the Managers go on while the lease holder is stopped", func() bool { return h.acked.Load() >= before+500 })
	require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	after := h.acked.Load()
	waitUntil(t, "writes after the holder resumed", func() bool { return h.acked.Load() >= after+500 })
	h.finish()
	require.NoError(t, in.Close())
	var acked, unknown, failed int64
	var first string
	for out.Scan() {
		if _, err := fmt.Sscanf(out.Text(), "result %d %d %d %s", &acked, &unknown, &failed, &first); err == nil {
			break
		}
	}
	require.NoError(t, cmd.Wait())
	got := storedN(t, r, id)
	t.Logf("here: %d acknowledged, %d unknown; helper: %d acknowledged, %d unknown, %d failed (%s); counter %d",
		h.acked.Load(), h.unknown.Load(), acked, unknown, failed, first, got)
	require.Positive(t, acked)
	require.Zero(t, failed)
	require.Zero(t, h.failed.Load(), "%v", h.first.Load())
	requireCounted(t, got, h.acked.Load()+acked, h.unknown.Load()+unknown)
}

// A single Manager beside PHP workers on one hot session never takes the
// write lease: the changes under its lock-free writes come from PHP (no
// other process of this package takes part in the session's lease), and
// the lease would cost a round trip plus renewals for nothing. It still
// asked (LeaseJoined), and no update of either side is lost.
func TestWriteLeaseNotTakenBesidePHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	ctx := context.Background()
	m := openTest(t, r, phpsession.Config{})
	id := phpsession.NewID()
	require.NoError(t, m.Set(ctx, id, "n", 0))
	const phpProcs, phpIters = 3, 150
	host, port := splitAddr(t, r.Addr)
	var joined int64
	for round := 1; joined == 0; round++ {
		// A change PHP made between two Go batches (not one Go waited
		// for) is what makes a Manager consider the lease; under a
		// scheduling accident none may have happened: run again.
		require.LessOrEqual(t, round, 5, "no lock-free write of Go was refused after a change by PHP it did not wait for")
		h := startHammer(ctx, []*phpsession.Manager{m}, 64, id)
		cfg := testenv.PHPSession{Addr: r.Addr, Locking: true}
		var wg sync.WaitGroup
		for range phpProcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, _, err := testenv.RunPHP(ctx, t, cfg, phpIncrScript, id, fmt.Sprint(phpIters), "2000", host, port)
				if err == nil {
					_, err = parsePHPIncr(out)
				}
				if err != nil {
					t.Errorf("php: %v", err)
				}
			}()
		}
		wg.Wait()
		h.finish()
		require.Zero(t, h.failed.Load(), "%v", h.first.Load())
		st := m.Store().Stats()
		joined = st.LeaseJoined
		t.Logf("round %d: %d Go updates, %d conflicts; lease: %d asked, %d taken", round, h.acked.Load(), m.Stats().Conflicts, st.LeaseJoined, st.LeaseTaken)
		require.Zero(t, st.LeaseTaken, "a lone Manager took the write lease beside PHP")
	}
	require.Equal(t, "0", r.MustDo("EXISTS", "phpsession:lease:PHPREDIS_SESSION:"+id))
}
