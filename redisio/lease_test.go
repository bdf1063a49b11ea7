package redisio

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// The lease protocol between two stores (two processes): one takes it,
// the other is refused and queued, the holder sees that through its cached
// read, renews, gives it up to the queued waiter, which is woken by the
// change and finds it holds the lease, with the current data.
func TestLease(t *testing.T) {
	r := testenv.StartRedis(t)
	a := openTest(t, r, Config{PollInterval: time.Minute})
	b := openTest(t, r, Config{PollInterval: time.Minute})
	ctx := context.Background()
	const px = 5 * time.Second
	r.MustDo("SET", a.Key("s"), "n|i:1;")

	la, d, renewed, err := a.AcquireLease(ctx, "s", nil, px, true)
	if err != nil || la == nil || renewed || string(d.Bytes) != "n|i:1;" {
		t.Fatalf("a: lease %v data %q renewed %v err %v", la, d.Bytes, renewed, err)
	}
	if w, err := a.LeaseWanted(ctx, "s"); err != nil || w {
		t.Fatalf("wanted before anyone asked: %v %v", w, err)
	}
	if w, _ := a.LeaseWanted(ctx, "s"); w {
		t.Fatal("wanted (cached)")
	}
	lb, busy, _, err := b.AcquireLease(ctx, "s", nil, px, true)
	if err != nil || lb != nil || string(busy.Bytes) != la.Token {
		t.Fatalf("b took a held lease: %v %v, holder %q", lb, err, busy.Bytes)
	}
	// a round trip on a's connection: the invalidation pushed before its
	// reply has been processed when it returns
	if _, err := a.Exists(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if w, err := a.LeaseWanted(ctx, "s"); err != nil || !w {
		t.Fatalf("holder does not see the waiter: %v %v", w, err)
	}
	la2, _, renewed, err := a.AcquireLease(ctx, "s", la, px, false)
	if err != nil || la2 == nil || !renewed || la2.Since != la.Since {
		t.Fatalf("renew: %v %v %v", la2, renewed, err)
	}

	waiting := make(chan struct{})
	b.waitHook = func(string, string) {
		select {
		case <-waiting:
		default:
			close(waiting)
		}
	}
	done := make(chan error, 1)
	go func() { done <- b.WaitLease(ctx, "s", "") }()
	<-waiting
	r.MustDo("SET", a.Key("s"), "n|i:2;")
	before := b.Stats().WakeInvalidated
	if err := a.ReleaseLease(ctx, la2, px); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b.Stats().WakeInvalidated <= before {
		t.Fatal("waiter not woken by the release's invalidation (the poll is a minute)")
	}
	if r.MustDo("EXISTS", a.leaseQueueKey("s")) != "0" {
		t.Fatal("the waiter is still queued")
	}
	if got := r.MustDo("GET", a.LeaseKey("s")); !strings.HasSuffix(got, b.tokenRand) {
		t.Fatalf("lease not handed to the waiter: %q", got)
	}
	lb, d, _, err = b.AcquireLease(ctx, "s", nil, px, true)
	if err != nil || lb == nil || string(d.Bytes) != "n|i:2;" {
		t.Fatalf("b after release: %v %q %v", lb, d.Bytes, err)
	}
	if w, err := b.LeaseWanted(ctx, "s"); err != nil || w {
		t.Fatalf("new holder wanted: %v %v", w, err)
	}
	// a's old lease is gone: renewing it does not take b's
	if l, _, _, err := a.AcquireLease(ctx, "s", la2, px, false); err != nil || l != nil {
		t.Fatalf("stale renew took the lease: %v %v", l, err)
	}
	if _, err := b.Exists(ctx, "s"); err != nil {
		t.Fatal(err)
	}
	if w, err := b.LeaseWanted(ctx, "s"); err != nil || !w {
		t.Fatalf("b does not see a waiting: %v %v", w, err)
	}
	if st := a.Stats(); st.LeaseTaken != 1 || st.LeaseBusy != 1 || st.LeaseReleased != 1 {
		t.Fatalf("a stats %+v", st)
	}
}

// A holder that disappears (crashed, stopped) delays a waiter by the
// lease's PX at most: the waiter's timer at the PTTL wakes it.
func TestLeaseExpiryWakesWaiter(t *testing.T) {
	r := testenv.StartRedis(t)
	a := openTest(t, r, Config{PollInterval: time.Minute, LockTimeout: 10 * time.Second})
	b := openTest(t, r, Config{PollInterval: time.Minute, LockTimeout: 10 * time.Second})
	ctx := context.Background()
	l, _, _, err := a.AcquireLease(ctx, "x", nil, 50*time.Millisecond, false)
	if err != nil || l == nil {
		t.Fatal(l, err)
	}
	if err := b.WaitLease(ctx, "x", ""); err != nil {
		t.Fatal(err)
	}
	if got := r.MustDo("EXISTS", a.LeaseKey("x")); got != "0" {
		t.Fatalf("woken while the lease exists (%s)", got)
	}
	if l, _, _, err := b.AcquireLease(ctx, "x", nil, time.Second, false); err != nil || l == nil {
		t.Fatal(l, err)
	}
}

// A waiter returns when another holder than the one it was refused by
// took the lease (that holder must learn that it waits), not only when
// the lease is free.
func TestLeaseWaitReturnsOnNewHolder(t *testing.T) {
	r := testenv.StartRedis(t)
	b := openTest(t, r, Config{PollInterval: time.Minute})
	ctx := context.Background()
	key := b.LeaseKey("h")
	r.MustDo("SET", key, "first", "PX", "60000")
	waiting := make(chan struct{})
	b.waitHook = func(string, string) {
		select {
		case <-waiting:
		default:
			close(waiting)
		}
	}
	done := make(chan error, 1)
	go func() { done <- b.WaitLease(ctx, "h", "first") }()
	<-waiting
	r.MustDo("SET", key, "second", "PX", "60000")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
