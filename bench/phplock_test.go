package bench_test

import (
	"bufio"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/bench"
	"github.com/phpsession/phpsession/internal/phplock"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// TestPHPLockFailureHolder checks that the PHP workers attribute each lock
// failure to who held the lock: a Go lock (redisio's token), a PHP request
// (phpredis's), or nobody. The holder keeps the lock for the whole run, so
// every request of the worker fails (counts, no timing).
func TestPHPLockFailureHolder(t *testing.T) {
	php, err := testenv.PHPPath()
	if err != nil {
		if testenv.Required() {
			t.Fatalf("php required: %v", err)
		}
		t.Skip(err)
	}
	r := testenv.StartRedis(t)
	cases := []struct {
		name   string
		holder string // phplock.Go, phplock.PHP or "" (nobody)
		want   map[string]int64
	}{
		{"go holds", phplock.Go, map[string]int64{phplock.Go: 3}},
		{"php holds", phplock.PHP, map[string]int64{phplock.PHP: 3}},
		{"nobody", "", nil},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			id := "phplockholder" + strings.Repeat("x", 20) + string(rune('a'+i))
			switch tc.holder {
			case phplock.Go:
				s, err := redisio.OpenURL(r.URL(), redisio.Config{})
				require.NoError(t, err)
				defer s.Close()
				l, _, err := s.LockAndReadUntracked(ctx, id)
				require.NoError(t, err)
				defer func() { _ = s.Release(context.Background(), l) }()
			case phplock.PHP:
				// a real PHP request that holds the session's lock until
				// its stdin closes
				cmd := exec.CommandContext(ctx, php, "-d", "session.save_handler=redis", "-d", "session.save_path=tcp://"+r.Addr,
					"-d", "session.use_cookies=0", "-d", "session.cache_limiter=", "-d", "redis.session.locking_enabled=1",
					"-r", `session_id($argv[1]); session_start(); echo "locked\n"; fgets(STDIN);`, id)
				in, err := cmd.StdinPipe()
				require.NoError(t, err)
				out, err := cmd.StdoutPipe()
				require.NoError(t, err)
				require.NoError(t, cmd.Start())
				defer func() { _ = in.Close(); _ = cmd.Wait() }()
				line, err := bufio.NewReader(out).ReadString('\n')
				require.NoError(t, err)
				require.Equal(t, "locked\n", line)
			}
			ws, err := bench.StartPHPWorkers(ctx, php, bench.PHPConfig{Addr: r.Addr, LockRetries: 2, LockWaitTime: 1000}, 1, id, "php", time.Minute, 3)
			require.NoError(t, err)
			res, err := ws.Wait()
			require.NoError(t, err)
			if tc.want == nil {
				require.EqualValues(t, 3, res.OK)
				require.Zero(t, res.LockFail)
				require.Empty(t, res.LockFailHolder)
				return
			}
			require.Zero(t, res.OK)
			require.EqualValues(t, 3, res.LockFail)
			require.Equal(t, tc.want, res.LockFailHolder)
			require.Len(t, res.LockFailLatencies, 3)
		})
	}
}
