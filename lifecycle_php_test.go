package phpsession_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// phpVersions are the phpredis builds a lifecycle test runs against:
// Debian's 5.3.7 and, when built (PHPREDIS6_SO), 6.1.0.
var phpVersions = []struct {
	name string
	php  func(t *testing.T) []string
}{
	{"phpredis5.3", func(t *testing.T) []string { return []string{testenv.RequirePHP(t)} }},
	{"phpredis6.1", func(t *testing.T) []string { return testenv.PHPRedis6(t) }},
}

// TestPHPRegenerateWhileGoReads: a session Go has read (and keeps in
// memory) is moved by PHP's session_regenerate_id(true or false) in a
// request that also changes it. Go then reads the new ID with PHP's
// bytes exactly; the old ID is gone (true) or holds what PHP wrote to it
// (false: PHP writes the old session before it moves); no lock is left;
// and a Go write queued for a deleted old ID starts a new session, never
// bringing back the data Go had read.
func TestPHPRegenerateWhileGoReads(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	addr := "tcp://" + r.Addr
	ini := []string{"session.save_path", addr, "redis.session.locking_enabled", "1", "redis.session.lock_expire", "30"}
	write := `session_id($argv[1]); session_start(); $_SESSION['user'] = 'alice'; $_SESSION['n'] = 1; session_write_close();`
	regen := `session_id($argv[1]); session_start(); $_SESSION['n']++; session_regenerate_id($argv[2] === 'delete'); $_SESSION['after'] = true; echo session_id(); session_write_close();`
	for _, v := range phpVersions {
		t.Run(v.name, func(t *testing.T) {
			php := v.php(t)
			for _, del := range []bool{true, false} {
				old := phpsession.NewID()
				runPHPIni(t, php, ini, write, old)
				user, err := phpsession.GetAs[string](ctx, m, old, "user")
				require.NoError(t, err)
				require.Equal(t, "alice", user)

				mode := "keep"
				if del {
					mode = "delete"
				}
				nid := strings.TrimSpace(runPHPIni(t, php, ini, regen, old, mode))
				require.NotEqual(t, old, nid)
				s, err := m.Load(ctx, nid)
				require.NoError(t, err)
				raw, err := s.Encode()
				require.NoError(t, err)
				require.Equal(t, r.MustDo("GET", "PHPREDIS_SESSION:"+nid), string(raw), "Go reads the new session byte-exact")

				for _, id := range []string{old, nid} {
					require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id+"_LOCK"), "PHP released the lock")
				}
				if del {
					ok, err := m.Exists(ctx, old)
					require.NoError(t, err)
					require.False(t, ok, "the old session is gone for Go too")
					require.NoError(t, m.Set(ctx, old, "late", 1))
					_, err = m.Get(ctx, old, "user")
					require.ErrorIs(t, err, phpsession.ErrNotFound, "a write after the delete starts a new session")
					continue
				}
				n, err := phpsession.GetAs[int](ctx, m, old, "n")
				require.NoError(t, err)
				require.Equal(t, 2, n, "PHP wrote the old session before moving")
				_, err = m.Get(ctx, old, "after")
				require.ErrorIs(t, err, phpsession.ErrNotFound, "the change after the move is only in the new session")
			}
		})
	}
}

// TestEarlyRefreshTTLLikePHP6: with phpredis 6.1's
// redis.session.early_refresh=1 a read-only PHP request refreshes the TTL
// when it reads (GETEX ... EX gc_maxlifetime); a Go read refreshes it to
// the same value (Config.TTL = gc_maxlifetime), and PHP 6.1 and Go read
// each other's sessions with it on.
func TestEarlyRefreshTTLLikePHP6(t *testing.T) {
	php := testenv.PHPRedis6(t)
	r := testenv.StartRedis(t)
	const ttl = 1000
	m := openTest(t, r, phpsession.Config{TTL: ttl * time.Second})
	ctx := context.Background()
	ini := []string{"session.save_path", "tcp://" + r.Addr, "session.gc_maxlifetime", strconv.Itoa(ttl),
		"redis.session.early_refresh", "1", "redis.session.locking_enabled", "1", "redis.session.lock_expire", "30"}
	id := phpsession.NewID()
	runPHPIni(t, php, ini, `session_id($argv[1]); session_start(); $_SESSION['user'] = 'alice'; session_write_close();`, id)

	before := expireCalls(t, r)
	r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+id, "50")
	out := runPHPIni(t, php, ini, `session_id($argv[1]); session_start(); echo $_SESSION['user']; session_write_close();`, id)
	require.Equal(t, "alice", out)
	phpTTL := ttlOf(t, r, id)
	require.Greater(t, phpTTL, ttl-60, "PHP's read refreshed the TTL")
	calls, err := testenv.CommandCalls(r.Addr)
	require.NoError(t, err)
	require.Positive(t, calls["getex"], "phpredis 6.1 reads with GETEX")
	require.Equal(t, before+1, expireCalls(t, r), "PHP sent no EXPIRE at close (only the test's own)")

	r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+id, "50")
	user, err := phpsession.GetAs[string](ctx, m, id, "user")
	require.NoError(t, err)
	require.Equal(t, "alice", user)
	require.Greater(t, waitTTLAbove(t, r, id, 50), ttl-60, "Go's read refreshed the TTL to the same value")
	require.LessOrEqual(t, ttlOf(t, r, id), ttl)

	gid := phpsession.NewID()
	require.NoError(t, m.Set(ctx, gid, "user", "bob"))
	require.Equal(t, "bob", runPHPIni(t, php, ini, `session_id($argv[1]); session_start(); echo $_SESSION['user']; session_write_close();`, gid))
}

// TestGoWaitsOutDeadPHPLock: a PHP request killed while it holds the
// session lock (phpredis's "<host>|<pid>" value) leaves the lock behind.
// With lock_expire set, Go's write waits for it to expire and then
// applies; with no TTL (lock_expire=0 and max_execution_time=0, the PHP
// CLI's defaults) Go never breaks it: the write fails with
// ErrLockTimeout and the lock stays PHP's, as PHP's own requests would
// find it.
func TestGoWaitsOutDeadPHPLock(t *testing.T) {
	for _, v := range phpVersions {
		t.Run(v.name, func(t *testing.T) {
			php := v.php(t)
			for _, expire := range []int{1, 0} {
				r := testenv.StartRedis(t)
				// the expired lock is waited for with the default LockTimeout
				// (30 s); a lock without TTL makes the write fail at 3 s
				cfg := phpsession.Config{}
				if expire == 0 {
					cfg.LockTimeout = 3 * time.Second
				}
				m := openTest(t, r, cfg)
				ctx := context.Background()
				ini := []string{"session.save_path", "tcp://" + r.Addr, "redis.session.locking_enabled", "1",
					"redis.session.lock_expire", strconv.Itoa(expire), "max_execution_time", "0"}
				id := phpsession.NewID()
				runPHPIni(t, php, ini, `session_id($argv[1]); session_start(); $_SESSION['user'] = 'alice'; session_write_close();`, id)

				flag := t.TempDir() + "/locked"
				cmd := phpCommand(t, php, ini, `session_id($argv[1]); session_start(); touch($argv[2]); sleep(600);`, id, flag)
				require.NoError(t, cmd.Start())
				waitFile(t, flag)
				require.NoError(t, cmd.Process.Kill())
				_ = cmd.Wait()
				lock := "PHPREDIS_SESSION:" + id + "_LOCK"
				holder := r.MustDo("GET", lock)
				require.True(t, strings.HasSuffix(holder, "|"+strconv.Itoa(cmd.Process.Pid)), "phpredis's lock value is host|pid: %q", holder)

				err := m.Set(ctx, id, "go", 1)
				if expire > 0 {
					require.NoError(t, err, "the dead request's lock expired")
					got, err := phpsession.GetAs[string](ctx, m, id, "user")
					require.NoError(t, err)
					require.Equal(t, "alice", got)
					continue
				}
				require.ErrorIs(t, err, phpsession.ErrLockTimeout)
				require.Equal(t, holder, r.MustDo("GET", lock), "Go never breaks PHP's lock")
				require.Equal(t, "-1", r.MustDo("PTTL", lock))
			}
		})
	}
}

// TestGoDestroyWithPHP: Go's Destroy of a session PHP holds waits for
// PHP's lock, then removes the data and the lock in one step (the data
// PHP wrote last is gone too); PHP then finds no session: in strict mode
// it replaces the ID, otherwise it starts an empty session under it.
func TestGoDestroyWithPHP(t *testing.T) {
	for _, v := range phpVersions {
		t.Run(v.name, func(t *testing.T) {
			php := v.php(t)
			r := testenv.StartRedis(t)
			m := openTest(t, r, phpsession.Config{})
			ctx := context.Background()
			ini := []string{"session.save_path", "tcp://" + r.Addr, "redis.session.locking_enabled", "1", "redis.session.lock_expire", "30"}
			id := phpsession.NewID()
			runPHPIni(t, php, ini, `session_id($argv[1]); session_start(); $_SESSION['user'] = 'alice'; session_write_close();`, id)

			flag := t.TempDir() + "/locked"
			cmd := phpCommand(t, php, ini, `session_id($argv[1]); session_start(); touch($argv[2]); usleep(300000); $_SESSION['late'] = 1; session_write_close();`, id, flag)
			require.NoError(t, cmd.Start())
			waitFile(t, flag)
			existed, err := m.Destroy(ctx, id)
			require.NoError(t, err)
			require.NoError(t, cmd.Wait(), "PHP kept its lock and wrote")
			require.True(t, existed)
			require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id), "the data PHP wrote last is gone too")
			require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id+"_LOCK"), "no lock left")

			read := `session_id($argv[1]); session_start(); echo session_id() === $argv[1] ? 'same' : 'new', ' ', json_encode($_SESSION);`
			strict := append([]string{"session.use_strict_mode", "1"}, ini...)
			require.Equal(t, "new []", runPHPIni(t, php, strict, read, id))
			require.Equal(t, "same []", runPHPIni(t, php, ini, read, id))
		})
	}
}

// TestRegenerateKeepOldRefreshesTTL: PHP's session_regenerate_id(false)
// writes the old session again (SETEX … gc_maxlifetime) before it moves,
// so the old ID lives a full TTL from then; RegenerateID(id, false) does
// the same (an EXPIRE under the old lock, the bytes unchanged).
func TestRegenerateKeepOldRefreshesTTL(t *testing.T) {
	php := []string{testenv.RequirePHP(t)}
	r := testenv.StartRedis(t)
	const ttl = 1000
	m := openTest(t, r, phpsession.Config{TTL: ttl * time.Second})
	ctx := context.Background()
	ini := []string{"session.save_path", "tcp://" + r.Addr, "session.gc_maxlifetime", strconv.Itoa(ttl), "redis.session.locking_enabled", "1", "redis.session.lock_expire", "30"}
	write := `session_id($argv[1]); session_start(); $_SESSION['user'] = 'alice'; session_write_close();`
	phpOld, goOld := phpsession.NewID(), phpsession.NewID()
	for _, id := range []string{phpOld, goOld} {
		runPHPIni(t, php, ini, write, id)
		r.MustDo("EXPIRE", "PHPREDIS_SESSION:"+id, "50")
	}
	runPHPIni(t, php, ini, `session_id($argv[1]); session_start(); session_regenerate_id(false); session_write_close();`, phpOld)
	require.Greater(t, ttlOf(t, r, phpOld), ttl-60, "PHP refreshed the old session")

	raw := r.MustDo("GET", "PHPREDIS_SESSION:"+goOld)
	nid, err := m.RegenerateID(ctx, goOld, false)
	require.NoError(t, err)
	require.Greater(t, ttlOf(t, r, goOld), ttl-60, "Go refreshed the old session as PHP does")
	require.Equal(t, raw, r.MustDo("GET", "PHPREDIS_SESSION:"+goOld), "its bytes unchanged")
	require.Equal(t, raw, r.MustDo("GET", "PHPREDIS_SESSION:"+nid))
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+goOld+"_LOCK"))
}
