package redisio

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// hammer runs workers incrementing one session with incrRetry until total
// increments succeeded, calling disrupt(k) after the k-th success for k in
// at. It checks the final counter equals the number of successes (no lost,
// no doubled writes) and that no lock is left.
func hammer(t *testing.T, do func(args ...string) (string, error), s *Store, id string, workers, total int, at map[int64]bool, disrupt func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var ok, unknown, retries atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ok.Load() < int64(total) {
				err := incrRetry(ctx, s, id, &retries)
				if err != nil {
					if errors.Is(err, ErrOutcomeUnknown) {
						unknown.Add(1)
						t.Errorf("outcome unknown: %v", err)
						continue
					}
					t.Errorf("increment: %v", err)
					return
				}
				k := ok.Add(1)
				if at[k] {
					mu.Lock()
					disrupt()
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	want := int(ok.Load())
	var got int
	for i := 0; ; i++ { // the server may be restarting: retry briefly
		v, err := do("GET", s.Key(id))
		if err == nil {
			got, err = parseCounter(Data{Bytes: []byte(v), Found: v != "(nil)"})
			if err != nil {
				t.Fatal(err)
			}
			break
		}
		if i > 100 {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d increments, %d failed attempts retried (e.g. %v); store stats %+v", want, retries.Load(), lastRetryErr.Load(), s.Stats())
	if got != want {
		t.Fatalf("counter %d, want %d successful increments (unknown outcomes: %d)", got, want, unknown.Load())
	}
	if v, err := do("GET", s.LockKey(id)); err != nil || v != "(nil)" {
		t.Fatalf("lock left behind: %q %v", v, err)
	}
}

func TestFaultConnectionKilled(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, split := range []bool{false, true} {
		t.Run("split="+strconv.FormatBool(split), func(t *testing.T) {
			s := openTest(t, r, Config{SplitKeys: split})
			at := map[int64]bool{}
			for k := int64(20); k < 400; k += 37 {
				at[k] = true
			}
			kills := 0
			hammer(t, r.Do, s, "killed"+strconv.FormatBool(split), 8, 400, at, func() {
				kills++
				killClients(t, r, kills)
			})
			t.Logf("%d kills", kills)
		})
	}
}

// killClients kills every normal client but the caller: by type, or one
// by one by ID.
func killClients(t *testing.T, r *testenv.Redis, n int) {
	if n%2 == 0 {
		_, _ = r.Do("CLIENT", "KILL", "TYPE", "normal")
		return
	}
	list, err := r.Do("CLIENT", "LIST", "TYPE", "normal")
	if err != nil {
		t.Error(err)
		return
	}
	for _, f := range splitFields(list) {
		_, _ = r.Do("CLIENT", "KILL", "ID", f)
	}
}

// splitFields extracts the id= fields of CLIENT LIST output.
func splitFields(list string) []string {
	var ids []string
	for i := 0; i+3 < len(list); i++ {
		if list[i:i+3] == "id=" && (i == 0 || list[i-1] == '\n') {
			j := i + 3
			for j < len(list) && list[j] >= '0' && list[j] <= '9' {
				j++
			}
			ids = append(ids, list[i+3:j])
		}
	}
	return ids
}

func TestFaultRedisRestart(t *testing.T) {
	// AOF with fsync always, so an acknowledged write survives the restart
	// (without persistence a restart loses everything anyway).
	r := testenv.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	for _, split := range []bool{false, true} {
		t.Run("split="+strconv.FormatBool(split), func(t *testing.T) {
			s := openTest(t, r, Config{SplitKeys: split})
			hammer(t, r.Do, s, "restart"+strconv.FormatBool(split), 6, 300, map[int64]bool{80: true, 200: true}, func() { r.Restart() })
		})
	}
}

func TestLockExpiresWhileHeld(t *testing.T) {
	r := testenv.StartRedis(t)
	get := func(k string) string { return r.MustDo("GET", k) }
	do := func(args ...string) { r.MustDo(args...) }
	t.Run("standalone", func(t *testing.T) {
		lockExpiresWhileHeld(t, openTest(t, r, Config{}), "exp1", get, do)
	})
	t.Run("split-keys", func(t *testing.T) {
		lockExpiresWhileHeld(t, openTest(t, r, Config{SplitKeys: true}), "exp2", get, do)
	})
}

// TestReconcileAfterTimeout pauses Redis's writes so that our commands time
// out on the client while still queued on the server; reconciliation must
// find out what happened.
func TestReconcileAfterTimeout(t *testing.T) {
	for _, split := range []bool{false, true} {
		t.Run("split="+strconv.FormatBool(split), func(t *testing.T) {
			r := testenv.StartRedis(t)
			// a lock outliving the hang guard: only our cleanup removes it
			s := openTest(t, r, Config{SplitKeys: split, LockExpiry: 10 * time.Minute})
			bg := context.Background()

			// SET NX's context ends while Redis holds it, and it executes
			// after LockAndRead gave up: the lock must not be left behind.
			var err error
			underWritePause(t, r, true, nil, func(ctx context.Context) { _, _, err = s.LockAndRead(ctx, "rec") })
			if err == nil {
				t.Fatal("LockAndRead succeeded during a write pause")
			}
			for deadline := time.Now().Add(testenv.HangGuard); r.MustDo("EXISTS", s.LockKey("rec")) != "0"; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("lock left behind after timed-out SET NX: %s", r.MustDo("GET", s.LockKey("rec")))
				}
			}

			// Commit's context ends while Redis holds it, and it executes
			// after the pause: reported as done (reconciled), data
			// written, lock released.
			l, _, err := s.LockAndRead(bg, "rec")
			if err != nil {
				t.Fatal(err)
			}
			var res CommitResult
			underWritePause(t, r, false, nil, func(ctx context.Context) { res, err = s.Commit(ctx, l, WriteData, counterBytes(5)) })
			if err != nil {
				t.Fatalf("commit: %v", err)
			}
			if !res.Reconciled {
				t.Fatalf("expected a reconciled commit: %+v", res)
			}
			if v := r.MustDo("GET", s.Key("rec")); v != "n|i:5;" {
				t.Fatalf("data %q", v)
			}
			if v := r.MustDo("EXISTS", s.LockKey("rec")); v != "0" {
				t.Fatal("lock left behind after reconciled commit")
			}
			d, err := s.Get(bg, "rec")
			if err != nil || string(d.Bytes) != "n|i:5;" {
				t.Fatalf("get after reconciled commit: %q %v", d.Bytes, err)
			}
		})
	}
}

// TestOutcomeUnknown: the reply is lost and, by the time Redis answers
// again, our lock has expired: nothing proves whether the write happened,
// so Commit must say so (and must not claim ErrLockLost, which invites a
// retry).
func TestOutcomeUnknown(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{LockExpiry: 60 * time.Millisecond})
	bg := context.Background()
	l, _, err := s.LockAndRead(bg, "unk")
	if err != nil {
		t.Fatal(err)
	}
	// the pause is lifted once the lock expired (Redis reports an expired
	// key gone during a pause, and expires it when the pause ends)
	expired := func() {
		for deadline := time.Now().Add(testenv.HangGuard); r.MustDo("EXISTS", s.LockKey("unk")) != "0"; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the lock has not expired after %v", testenv.HangGuard)
			}
		}
	}
	underWritePause(t, r, false, expired, func(ctx context.Context) { _, err = s.Commit(ctx, l, WriteData, counterBytes(1)) })
	if !errors.Is(err, ErrOutcomeUnknown) || errors.Is(err, ErrLockLost) {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
	if v := r.MustDo("EXISTS", s.Key("unk")); v != "0" {
		t.Fatal("written after the lock expired")
	}
}

func TestNoTTLLockTimesOut(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{LockTimeout: 60 * time.Millisecond})
	r.MustDo("SET", s.LockKey("stuck"), "vm|4242") // a PHP CLI lock: no TTL
	start := time.Now()
	_, _, err := s.LockAndRead(context.Background(), "stuck")
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("got %v", err)
	}
	var he *HolderError
	if !errors.As(err, &he) || he.Holder != "vm|4242" || he.PTTL >= 0 {
		t.Fatalf("holder detail: %#v", he)
	}
	t.Logf("%v after %v", err, time.Since(start))
	// TryLockAndRead reports the holder at once.
	_, _, err = s.TryLockAndRead(context.Background(), "stuck")
	if !errors.Is(err, ErrLockHeld) || !errors.As(err, &he) || he.Holder != "vm|4242" {
		t.Fatalf("try: %v", err)
	}
}

// TestWaitEndsAtLockPTTL: a foreign lock with a TTL whose holder vanished
// (nobody releases it) is taken right after it expires, long before the
// safety poll.
func TestWaitEndsAtLockPTTL(t *testing.T) {
	// Active expiry off: as on a busy server, the expired lock is only
	// removed (and invalidated) when someone touches it, so only our PTTL
	// timer can end the wait.
	r := testenv.StartRedis(t, "--enable-debug-command", "yes")
	r.MustDo("DEBUG", "SET-ACTIVE-EXPIRE", "0")
	s := openTest(t, r, Config{PollInterval: time.Hour, LockTimeout: 20 * time.Second})
	r.MustDo("SET", s.LockKey("crashed"), "vm|1", "PX", "150")
	start := time.Now()
	l, _, err := s.LockAndRead(context.Background(), "crashed")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("acquired %v after a 150 ms foreign lock was set; stats %+v", time.Since(start), s.Stats())
	if st := s.Stats(); st.WakeTimer != 1 || st.WakeInvalidated != 0 {
		t.Fatalf("expected exactly one timer wake-up: %+v", st)
	}
	if _, err := s.Commit(context.Background(), l, WriteNone, nil); err != nil {
		t.Fatal(err)
	}
}

func TestTokensUnique(t *testing.T) {
	r := testenv.StartRedis(t)
	a := openTest(t, r, Config{})
	b := openTest(t, r, Config{})
	ctx := context.Background()
	la, _, err := a.LockAndRead(ctx, "u")
	if err != nil {
		t.Fatal(err)
	}
	// Another Store in the same process cannot release our lock.
	if err := b.Release(ctx, &Lock{ID: "u", Key: la.Key, Token: b.newToken()}); !errors.Is(err, ErrLockLost) {
		t.Fatalf("foreign release: %v", err)
	}
	if v := r.MustDo("GET", a.LockKey("u")); v != la.Token {
		t.Fatalf("lock %q", v)
	}
	if err := a.Release(ctx, la); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		tok := a.newToken()
		if seen[tok] {
			t.Fatal("duplicate token")
		}
		seen[tok] = true
	}
}

// TestLateSetNX: a SET NX of ours whose reply was lost may land after we
// concluded it had not: a lock found holding our own token is adopted, and
// a token given up on is removed a moment later.
func TestLateSetNX(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx := context.Background()
	r.MustDo("SET", s.Key("late"), "n|i:3;")
	r.MustDo("SET", s.LockKey("late"), "mytok", "PX", "60000")
	l, d, err := s.lockAndReadToken(ctx, "late", true, "mytok")
	if err != nil || string(d.Bytes) != "n|i:3;" {
		t.Fatalf("adopt: %q %v", d.Bytes, err)
	}
	if pttl := r.MustDo("PTTL", s.LockKey("late")); pttl == "-1" {
		t.Fatal("adopted lock has no TTL")
	}
	if _, err := s.Commit(ctx, l, WriteData, counterBytes(4)); err != nil {
		t.Fatal(err)
	}
	// A ghost of an abandoned token is removed; a foreign lock is not.
	s.abandon(s.LockKey("ghost"), "ghosttok", true)
	r.MustDo("SET", s.LockKey("ghost"), "ghosttok", "PX", "60000")
	s.abandon(s.LockKey("other"), "ghosttok", true)
	r.MustDo("SET", s.LockKey("other"), "phptok", "PX", "60000")
	waitFor(t, 5*time.Second, "ghost lock removed", func() bool {
		v, _ := r.Do("EXISTS", s.LockKey("ghost"))
		return v == "0"
	})
	if v := r.MustDo("GET", s.LockKey("other")); v != "phptok" {
		t.Fatalf("foreign lock touched: %q", v)
	}
}
