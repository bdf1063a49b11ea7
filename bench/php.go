package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phpsession/phpsession/internal/phplock"
)

// PHPConfig is how the php CLI workers use Redis sessions. Zero values
// take phpredis 5.3 defaults (lock_retries 10, lock_wait_time 2000 µs).
type PHPConfig struct {
	Addr         string // host:port of Redis
	LockRetries  int    // redis.session.lock_retries (0 = phpredis default)
	LockWaitTime int    // redis.session.lock_wait_time in µs (0 = default)
	// Think is how long each worker sleeps after a request before the
	// next one (0: back to back). A PHP process serving one user's
	// requests does other work between them; back to back, 4 workers on
	// one session keep its lock busy almost all the time and fail each
	// other's lock waits (phpredis 5.3 gives up after about 20 ms).
	Think time.Duration
}

func (c PHPConfig) args() []string {
	d := [][2]string{
		{"session.save_handler", "redis"},
		{"session.save_path", "tcp://" + c.Addr},
		{"session.serialize_handler", "php"},
		{"session.use_cookies", "0"},
		{"session.use_strict_mode", "0"},
		{"session.cache_limiter", ""},
		{"session.gc_maxlifetime", strconv.Itoa(int(SessionTTL / time.Second))},
		{"session.gc_probability", "0"},
		{"display_errors", "stderr"},
		{"log_errors", "0"}, // else php-cli prints each message twice (its log goes to stderr too)
		{"error_reporting", "E_ALL"},
		{"redis.session.locking_enabled", "1"},
	}
	if c.LockRetries != 0 {
		d = append(d, [2]string{"redis.session.lock_retries", strconv.Itoa(c.LockRetries)})
	}
	if c.LockWaitTime != 0 {
		d = append(d, [2]string{"redis.session.lock_wait_time", strconv.Itoa(c.LockWaitTime)})
	}
	var out []string
	for _, kv := range d {
		out = append(out, "-d", kv[0]+"="+kv[1])
	}
	return out
}

// phpWorkerScript prints "ready", reads "<start> <until>" (unix seconds)
// from stdin, then loops session_start / increment / session_write_close on
// one session from start until until or an op budget (sleeping the think
// time in µs after each request), and prints one JSON line.
// A lock failure is phpredis 5.3's "Acquire of session lock was not
// successful" notice (its write is then refused); a write failure is
// session_write_close returning false without one.
const phpWorkerScript = "<?php\n" + phplock.ProbePHP + `
[$_, $id, $key, $max, $think, $host, $port] = $argv;
$max = (int)$max;
$think = (int)$think;
$GLOBALS['probe'] = new Redis(); // a second connection: who holds the lock when ours fails
$GLOBALS['probe']->connect($host, (int)$port);
$GLOBALS['lockkey'] = 'PHPREDIS_SESSION:' . $id . '_LOCK';
$GLOBALS['holders'] = [];
echo "ready\n";
fflush(STDOUT);
$go = fgets(STDIN);
if ($go === false) { exit(3); }
[$start, $until] = array_map('floatval', explode(' ', trim($go)));
$GLOBALS['lf'] = false;
$GLOBALS['msgs'] = [];
set_error_handler(function ($no, $str) {
    if (stripos($str, 'lock') !== false) {
        if (!$GLOBALS['lf']) {
            // who holds the lock right after our last attempt failed
            $k = phpsess_lock_holder($GLOBALS['probe'], $GLOBALS['lockkey']);
            $GLOBALS['holders'][$k] = ($GLOBALS['holders'][$k] ?? 0) + 1;
        }
        $GLOBALS['lf'] = true;
    }
    elseif (stripos($str, 'Failed to write session data') === false) { $GLOBALS['msgs'][$str] = true; }
    return true;
});
while (microtime(true) < $start) { usleep(1000); }
$ok = 0; $lockfail = 0; $writefail = 0; $lat = []; $flat = [];
while (microtime(true) < $until && ($max <= 0 || $ok + $lockfail + $writefail < $max)) {
    $GLOBALS['lf'] = false;
    $t = hrtime(true);
    session_id($id);
    if (!session_start()) { $writefail++; continue; }
    $_SESSION[$key] = ($_SESSION[$key] ?? 0) + 1;
    $w = session_write_close();
    $lat[] = intdiv(hrtime(true) - $t, 1000);
    if ($GLOBALS['lf']) { $lockfail++; $flat[] = end($lat); } elseif (!$w) { $writefail++; } else { $ok++; }
    if ($think > 0) { usleep($think); }
}
echo json_encode(['ok' => $ok, 'lockfail' => $lockfail, 'writefail' => $writefail,
    'messages' => array_keys($GLOBALS['msgs']), 'lat' => $lat, 'holders' => (object)$GLOBALS['holders'], 'faillat' => $flat]), "\n";
`

// PHPResult sums what the PHP workers report.
type PHPResult struct {
	OK        int64           // increments PHP wrote (lock held, write acknowledged)
	LockFail  int64           // requests that did not get the lock (their write was refused)
	WriteFail int64           // other failed requests
	Latencies []time.Duration // per request, session_start to session_write_close
	// LockFailHolder counts the lock failures by who held the lock right
	// after the failed request's last attempt (phplock.PHP, phplock.Go or
	// phplock.None: released by then): a GET of the lock key from a
	// second connection.
	LockFailHolder map[string]int64
	// LockFailLatencies: the failed requests' latencies (their lock
	// attempts span at least lock_retries × lock_wait_time).
	LockFailLatencies []time.Duration
}

// ErrNoPHP is returned when the php CLI with phpredis is not available.
var ErrNoPHP = errors.New("bench: php CLI with the redis extension not found")

// FindPHP returns the php binary if it has the redis extension loaded.
func FindPHP() (string, error) {
	p, err := exec.LookPath("php")
	if err != nil {
		return "", ErrNoPHP
	}
	out, err := exec.Command(p, "-m").Output()
	if err != nil || !strings.Contains(strings.ToLower(string(out)), "\nredis\n") {
		return "", ErrNoPHP
	}
	return p, nil
}

// PHPWorkers is a set of php CLI processes incrementing one key of one
// session.
type PHPWorkers struct {
	// Start and Until bound the workers' loop (all of them started and
	// were ready before Start).
	Start, Until time.Time

	wg   sync.WaitGroup
	mu   sync.Mutex
	res  PHPResult
	errs []error
	dir  string
}

// StartPHPWorkers starts n php processes, waits until each has loaded
// (php startup takes tens of milliseconds, more on a busy machine), then
// lets all of them loop for dur (or until each made maxOps requests, when
// > 0). The loop starts at the returned workers' Start.
func StartPHPWorkers(ctx context.Context, php string, cfg PHPConfig, n int, id, key string, dur time.Duration, maxOps int) (*PHPWorkers, error) {
	dir, err := os.MkdirTemp("", "phpsess-bench-php-")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "worker.php")
	if err := os.WriteFile(script, []byte(phpWorkerScript), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	w := &PHPWorkers{dir: dir}
	var gos []io.WriteCloser
	fail := func(err error) (*PHPWorkers, error) {
		for _, g := range gos {
			g.Close() // a worker reading EOF exits
		}
		w.wg.Wait()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	for i := 0; i < n; i++ {
		host, port, _ := strings.Cut(cfg.Addr, ":")
		args := append(cfg.args(), script, id, key, strconv.Itoa(maxOps), strconv.FormatInt(cfg.Think.Microseconds(), 10), host, port)
		cmd := exec.CommandContext(ctx, php, args...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return fail(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return fail(err)
		}
		var se bytes.Buffer
		cmd.Stderr = &se
		if err := cmd.Start(); err != nil {
			return fail(err)
		}
		gos = append(gos, stdin)
		br := bufio.NewReader(stdout)
		line, err := br.ReadString('\n')
		if strings.TrimSpace(line) != "ready" {
			_ = cmd.Wait()
			return fail(fmt.Errorf("php worker did not start: %v: %s", err, strings.TrimSpace(se.String())))
		}
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rest, rerr := io.ReadAll(br)
			err := cmd.Wait()
			if err == nil {
				err = rerr
			}
			w.collect(rest, se.String(), err)
		}()
	}
	w.Start = time.Now().Add(5 * time.Millisecond)
	w.Until = w.Start.Add(dur)
	ts := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMicro())/1e6, 'f', 6, 64) }
	msg := ts(w.Start) + " " + ts(w.Until) + "\n"
	for _, g := range gos {
		_, _ = io.WriteString(g, msg)
		g.Close()
	}
	return w, nil
}

func (w *PHPWorkers) collect(out []byte, stderr string, err error) {
	var r struct {
		OK, LockFail, WriteFail int64
		Messages                []string
		Lat                     []int64
		Holders                 map[string]int64
		FailLat                 []int64
	}
	if err == nil {
		err = json.Unmarshal(bytes.TrimSpace(out), &r)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.errs = append(w.errs, fmt.Errorf("php worker: %v: %s", err, strings.TrimSpace(stderr)))
		return
	}
	w.res.OK += r.OK
	w.res.LockFail += r.LockFail
	w.res.WriteFail += r.WriteFail
	for _, l := range r.FailLat {
		w.res.LockFailLatencies = append(w.res.LockFailLatencies, time.Duration(l)*time.Microsecond)
	}
	for k, n := range r.Holders {
		if w.res.LockFailHolder == nil {
			w.res.LockFailHolder = map[string]int64{}
		}
		w.res.LockFailHolder[k] += n
	}
	for _, m := range r.Messages {
		if len(w.errs) < 3 {
			w.errs = append(w.errs, errors.New("php: "+m))
		}
	}
	for _, l := range r.Lat {
		w.res.Latencies = append(w.res.Latencies, time.Duration(l)*time.Microsecond)
	}
}

// Wait waits for every worker and returns the summed result.
func (w *PHPWorkers) Wait() (PHPResult, error) {
	w.wg.Wait()
	_ = os.RemoveAll(w.dir)
	return w.res, errors.Join(w.errs...)
}
