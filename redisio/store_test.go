package redisio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

func TestReleaseScriptSHA(t *testing.T) {
	if len(ReleaseScript) != 95 {
		t.Fatalf("release script is %d bytes, want 95", len(ReleaseScript))
	}
	if got := sha1hex(ReleaseScript); got != ReleaseScriptSHA {
		t.Fatalf("sha %s", got)
	}
}

func openTest(t testing.TB, r *testenv.Redis, cfg Config) *Store {
	return openURL(t, r.URL(), cfg)
}

func TestBasicCycle(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	ctx := context.Background()
	l, d, err := s.LockAndRead(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if d.Found {
		t.Fatalf("found %q", d.Bytes)
	}
	if l.Waited != 0 {
		t.Fatalf("uncontended lock reports a wait of %v", l.Waited)
	}
	if got := r.MustDo("GET", s.LockKey("abc")); got != l.Token {
		t.Fatalf("lock value %q want %q", got, l.Token)
	}
	if _, _, err := s.TryLockAndRead(ctx, "abc"); !errors.Is(err, ErrLockHeld) {
		t.Fatalf("try: %v", err)
	}
	if _, err := s.Commit(ctx, l, WriteData, []byte("n|i:1;")); err != nil {
		t.Fatal(err)
	}
	if got := r.MustDo("GET", "PHPREDIS_SESSION:abc"); got != "n|i:1;" {
		t.Fatalf("data %q", got)
	}
	if got := r.MustDo("TTL", "PHPREDIS_SESSION:abc"); got != "86400" {
		t.Fatalf("ttl %q", got)
	}
	if got := r.MustDo("EXISTS", s.LockKey("abc")); got != "0" {
		t.Fatalf("lock left: %q", got)
	}
	// Release uses phpredis's script: same SHA in Redis's script cache.
	l2, _, err := s.LockAndRead(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, l2); err != nil {
		t.Fatal(err)
	}
	if got := r.MustDo("SCRIPT", "EXISTS", ReleaseScriptSHA); got != "1" {
		t.Fatalf("release script not loaded under phpredis's SHA: %q", got)
	}
	d, err = s.Get(ctx, "abc")
	if err != nil || string(d.Bytes) != "n|i:1;" {
		t.Fatalf("get %q %v", d.Bytes, err)
	}
	ctx2, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	r.MustDo("SET", s.LockKey("abc"), "vm|123")
	_, _, err = s.LockAndRead(ctx2, "abc")
	if !errors.Is(err, ErrLockTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want timeout, got %v", err)
	}
	t.Log(err)
}
