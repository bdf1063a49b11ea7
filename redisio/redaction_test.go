package redisio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// lockedBuffer is a bytes.Buffer safe for a slog handler used from
// several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNoSecretsInErrorsOrLogs drives the Store through its failure paths
// (lock held and timed out, lock stolen before commit, renew and release
// of a lost lock, connections killed mid-write, the server gone) and
// checks that no error message and no log line shows a full session ID or
// a lock token.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	r := testenv.StartRedis(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := openTest(t, r, Config{Logger: logger, LockTimeout: 200 * time.Millisecond, ReconcileTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	var (
		errs    []error
		secrets []string
	)
	note := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	newID := func() string {
		id := fmt.Sprintf("%x", time.Now().UnixNano()) + "0123456789abcdef"
		secrets = append(secrets, id)
		return id
	}

	// a lock held by PHP: timeouts and refusals
	id := newID()
	tok := "phpworker-3|4711"
	secrets = append(secrets, tok)
	r.MustDo("SET", s.LockKey(id), tok, "PX", "60000")
	_, _, err := s.LockAndRead(ctx, id)
	if !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("want timeout, got %v", err)
	}
	note(err)
	_, _, err = s.TryLockAndRead(ctx, id)
	note(err)
	note(s.WaitUnlocked(ctx, id))
	_, err = s.WriteIfUnlocked(ctx, id, Data{}, WriteData, []byte("a|i:1;"))
	note(err)

	// our lock stolen before commit, renew and release
	id = newID()
	l, _, err := s.LockAndRead(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, l.Token)
	r.MustDo("SET", s.LockKey(id), tok, "PX", "60000")
	note(s.Renew(ctx, l))
	_, err = s.Commit(ctx, l, WriteData, []byte("a|i:1;"))
	note(err)
	note(s.Release(ctx, l))

	// connections killed while writes run
	id = newID()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
				l, _, err := s.LockAndReadUntracked(cctx, id)
				if err == nil {
					mu.Lock()
					secrets = append(secrets, l.Token)
					mu.Unlock()
					_, err = s.Commit(cctx, l, WriteData, []byte(fmt.Sprintf("n|i:%d;", i)))
				}
				if err == nil {
					_, err = s.WriteIfUnlocked(cctx, id, Data{}, WriteData, []byte("x|i:1;"))
				}
				cancel()
				mu.Lock()
				note(err)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 10; i++ {
		_, _ = r.Do("CLIENT", "KILL", "TYPE", "normal")
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()

	// the server gone
	r.Stop()
	cctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	id = newID()
	_, _, err = s.LockAndRead(cctx, id)
	note(err)
	_, err = s.Get(cctx, id)
	note(err)
	_, err = s.CreateNX(cctx, id, []byte("x"))
	note(err)

	texts := strings.Split(logs.String(), "\n")
	for _, e := range errs {
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e))
	}
	for _, txt := range texts {
		for _, sec := range secrets {
			if strings.Contains(txt, sec) {
				t.Errorf("a secret (%s) appears in: %s", sec[:4], txt)
			}
		}
	}
	t.Logf("checked %d errors and %d log lines for %d secrets", len(errs), len(texts)-len(errs)*2, len(secrets))
}
