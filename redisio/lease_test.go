package redisio

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

// leaseProcs starts a Redis and opens n stores on it, one per process of
// the lease protocol. Their safety poll is a minute, so that a waiter is
// woken only by an invalidation or by its lease timer; each reports on
// its sleeps channel when a wait goes to sleep.
func leaseProcs(t *testing.T, n int, cfg Config) (*testenv.Redis, []*leaseProc) {
	t.Helper()
	r := testenv.StartRedis(t)
	cfg.PollInterval = time.Minute
	ps := make([]*leaseProc, n)
	for i := range ps {
		ps[i] = newLeaseProc(openTest(t, r, cfg))
	}
	return r, ps
}

// newLeaseProc wraps s, whose waits report on sleeps.
func newLeaseProc(s *Store) *leaseProc {
	p := &leaseProc{Store: s, sleeps: make(chan struct{}, 16)}
	p.waitHook = func(string, string) { p.sleeps <- struct{}{} }
	return p
}

// leaseProc is one store of leaseProcs.
type leaseProc struct {
	*Store
	sleeps chan struct{}
}

// acquire takes or renews id's lease and fails the test on an error.
func (p *leaseProc) acquire(t *testing.T, id string, l *Lease, px time.Duration, read, join bool) (*Lease, Data, LeaseTurn) {
	t.Helper()
	got, d, turn, err := p.AcquireLease(context.Background(), id, l, px, read, join)
	if err != nil {
		t.Fatal(err)
	}
	return got, d, turn
}

// refused acquires id's lease, which another process holds: it returns
// where we wait.
func (p *leaseProc) refused(t *testing.T, id string, px time.Duration) LeaseTurn {
	t.Helper()
	l, _, turn := p.acquire(t, id, nil, px, false, false)
	if l != nil {
		t.Fatalf("took a held lease: %+v", l)
	}
	return turn
}

// wait runs WaitLease for turn and returns once it sleeps; the channel
// gets its result.
func (p *leaseProc) wait(turn LeaseTurn) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.WaitLease(context.Background(), turn) }()
	select {
	case <-p.sleeps:
	case err := <-done: // returned at once: pass it on
		done <- err
	}
	return done
}

// sync sends a round trip on p's connection: invalidations Redis pushed
// before its reply have been processed when it returns.
func (p *leaseProc) sync(t *testing.T) {
	t.Helper()
	if _, err := p.Exists(context.Background(), "sync"); err != nil {
		t.Fatal(err)
	}
}

// wanted reports p's (cached) LeaseWanted.
func (p *leaseProc) wanted(t *testing.T, id string) bool {
	t.Helper()
	w, err := p.LeaseWanted(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// rivals reports p's LeaseRivals.
func (p *leaseProc) rivals(t *testing.T, id string, join bool) bool {
	t.Helper()
	v, err := p.LeaseRivals(context.Background(), id, join)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The lease protocol between two stores (two processes): one takes it,
// the other is refused and queued, the holder sees that through its cached
// read, renews, gives it up to the queued waiter, which is woken by the
// change and finds it holds the lease, with the current data.
func TestLease(t *testing.T) {
	r, ps := leaseProcs(t, 2, Config{})
	a, b := ps[0], ps[1]
	ctx := context.Background()
	const px = 5 * time.Second
	r.MustDo("SET", a.Key("s"), "n|i:1;")

	la, d, _ := a.acquire(t, "s", nil, px, true, false)
	if la == nil || string(d.Bytes) != "n|i:1;" {
		t.Fatalf("a: lease %v data %q", la, d.Bytes)
	}
	if a.wanted(t, "s") || a.wanted(t, "s") {
		t.Fatal("wanted before anyone asked")
	}
	turn := b.refused(t, "s", px)
	if turn.Holder != la.Token || turn.Ahead != 0 || turn.PTTL <= 0 || turn.PTTL > px {
		t.Fatalf("b's turn %+v", turn)
	}
	a.sync(t)
	if !a.wanted(t, "s") {
		t.Fatal("holder does not see the waiter")
	}
	if la2, _, _ := a.acquire(t, "s", la, px, false, false); la2 != la {
		t.Fatalf("renew returned %+v, not the lease renewed", la2)
	}

	done := b.wait(turn)
	r.MustDo("SET", a.Key("s"), "n|i:2;")
	before := b.Stats().WakeInvalidated
	if err := a.ReleaseLease(ctx, la, px); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b.Stats().WakeInvalidated <= before {
		t.Fatal("waiter not woken by the hand-over's invalidation (the poll is a minute)")
	}
	if r.MustDo("EXISTS", a.leaseQueueKey("s")) != "0" {
		t.Fatal("the waiter is still queued")
	}
	if got := r.MustDo("GET", a.LeaseKey("s")); !strings.HasSuffix(got, b.tokenRand) {
		t.Fatalf("lease not handed to the waiter: %q", got)
	}
	lb, d, _ := b.acquire(t, "s", nil, px, true, false)
	if lb == nil || string(d.Bytes) != "n|i:2;" {
		t.Fatalf("b after release: %v %q", lb, d.Bytes)
	}
	if b.wanted(t, "s") {
		t.Fatal("new holder wanted")
	}
	// a's old lease is gone: renewing it does not take b's
	if l, _, _ := a.acquire(t, "s", la, px, false, false); l != nil {
		t.Fatalf("stale renew took the lease: %v", l)
	}
	b.sync(t)
	if !b.wanted(t, "s") {
		t.Fatal("b does not see a waiting")
	}
	if st := a.Stats(); st.LeaseTaken != 1 || st.LeaseBusy != 1 || st.LeaseReleased != 1 {
		t.Fatalf("a stats %+v", st)
	}
}

// A hand-over wakes only the waiter it hands the lease to: the others
// keep sleeping (no invalidation reaches them) until their own turn.
func TestLeaseHandOverWakesOnlyNext(t *testing.T) {
	r, ps := leaseProcs(t, 3, Config{})
	a, b, c := ps[0], ps[1], ps[2]
	ctx := context.Background()
	const px = 5 * time.Second
	la, _, _ := a.acquire(t, "q", nil, px, false, false)
	if la == nil {
		t.Fatal("a did not take a free lease")
	}
	tb := b.refused(t, "q", px)
	tc := c.refused(t, "q", px)
	// Refused within one millisecond, the two are ordered by token: b
	// names the first in the queue.
	if first := r.MustDo("ZRANGE", a.leaseQueueKey("q"), "0", "0"); first != b.leaseToken() {
		b, c, tb, tc = c, b, tc, tb
	}
	bDone, cDone := b.wait(tb), c.wait(tc)
	cWoken := c.Stats().WakeInvalidated

	a.sync(t)
	if err := a.ReleaseLease(ctx, la, px); err != nil {
		t.Fatal(err)
	}
	if err := <-bDone; err != nil {
		t.Fatal(err)
	}
	lb, _, _ := b.acquire(t, "q", nil, px, false, false)
	if lb == nil {
		t.Fatal("b woken but not holding the lease")
	}
	c.sync(t)
	select {
	case err := <-cDone:
		t.Fatalf("c woken by the hand-over to b (%v)", err)
	default:
	}
	if got := c.Stats().WakeInvalidated; got != cWoken {
		t.Fatalf("c saw %d invalidations", got-cWoken)
	}

	b.sync(t)
	if err := b.ReleaseLease(ctx, lb, px); err != nil {
		t.Fatal(err)
	}
	if err := <-cDone; err != nil {
		t.Fatal(err)
	}
	if lc, _, _ := c.acquire(t, "q", nil, px, false, false); lc == nil {
		t.Fatal("c woken but not holding the lease")
	}
}

// A holder that disappears (crashed, stopped) delays the first waiter by
// the lease's PX at most, and a waiter behind a waiter that disappeared
// after the lease was handed to it by one more PX: their timers wake
// them, with the poll at a minute.
func TestLeaseExpiryWakesWaiters(t *testing.T) {
	r, ps := leaseProcs(t, 3, Config{LockTimeout: 10 * time.Second})
	a, b, c := ps[0], ps[1], ps[2]
	ctx := context.Background()
	const px = 50 * time.Millisecond
	if l, _, _ := a.acquire(t, "x", nil, px, false, false); l == nil {
		t.Fatal("a did not take a free lease")
	}
	tb := b.refused(t, "x", px)
	if err := <-b.wait(tb); err != nil {
		t.Fatal(err)
	}
	if got := r.MustDo("EXISTS", a.LeaseKey("x")); got != "0" {
		t.Fatalf("woken while the lease exists (%s)", got)
	}
	lb, _, _ := b.acquire(t, "x", nil, 4*px, false, false)
	if lb == nil {
		t.Fatal("b did not take the expired lease")
	}

	// b hands the lease to a, which never claims it; c waits behind a.
	ta := a.refused(t, "x", px)
	tc := c.refused(t, "x", px)
	if first := r.MustDo("ZRANGE", a.leaseQueueKey("x"), "0", "0"); first != a.leaseToken() {
		a, c, ta, tc = c, a, tc, ta // refused within one millisecond: ordered by token
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_ = a.WaitLease(cancelled, ta) // a is gone
	cDone := c.wait(tc)
	b.sync(t)
	if err := b.ReleaseLease(ctx, lb, px); err != nil {
		t.Fatal(err)
	}
	if err := <-cDone; err != nil {
		t.Fatal(err)
	}
	lc, _, turn := c.acquire(t, "x", nil, px, false, false)
	for lc == nil { // woken before a's lease ran out: wait again
		if err := <-c.wait(turn); err != nil {
			t.Fatal(err)
		}
		lc, _, turn = c.acquire(t, "x", nil, px, false, false)
	}
	if c.Stats().WakeTimer == 0 {
		t.Fatal("c not woken by its timer")
	}
}

// LeaseRivals tells whether another process took part in the lease
// recently: a lone process finds none, one that joins is seen by the
// other (its cached read invalidated), a participant that did not record
// itself within LeaseJoinFor is not counted, and AcquireLease with join
// records its caller too.
func TestLeaseRivals(t *testing.T) {
	r, ps := leaseProcs(t, 3, Config{})
	a, b, c := ps[0], ps[1], ps[2]
	if a.rivals(t, "p", true) || a.rivals(t, "p", false) {
		t.Fatal("a alone sees a rival")
	}
	old := time.Now().Add(-2 * LeaseJoinFor).UnixMilli()
	r.MustDo("ZADD", a.leaseProcsKey("p"), strconv.FormatInt(old, 10), "gone")
	a.sync(t)
	if a.rivals(t, "p", false) {
		t.Fatal("a counts a participant older than LeaseJoinFor")
	}
	if !b.rivals(t, "p", true) {
		t.Fatal("b does not see a")
	}
	a.sync(t)
	if !a.rivals(t, "p", false) {
		t.Fatal("a does not see b (cached read not invalidated)")
	}
	if got := r.MustDo("ZSCORE", a.leaseProcsKey("p"), "gone"); got != "(nil)" {
		t.Fatalf("the old participant was not dropped: %q", got)
	}
	if l, _, _ := c.acquire(t, "q", nil, time.Second, false, true); l == nil {
		t.Fatal("c did not take a free lease")
	}
	if !a.rivals(t, "q", false) {
		t.Fatal("a does not see c, which took the lease with join")
	}
	if st := c.Stats(); st.LeaseJoined != 1 {
		t.Fatalf("c joined %d times", st.LeaseJoined)
	}
}

// A release skips waiters that stopped trying (crashed, gave up), however
// early they queued, and hands the lease to one that still tries,
// however long ago it first queued.
func TestLeaseReleaseSkipsGoneWaiters(t *testing.T) {
	r, ps := leaseProcs(t, 2, Config{})
	a, b := ps[0], ps[1]
	const px = 5 * time.Second
	la, _, _ := a.acquire(t, "g", nil, px, false, false)
	if la == nil {
		t.Fatal("a did not take a free lease")
	}
	turn := b.refused(t, "g", px) // b tries now
	queue := a.leaseQueueKey("g")
	long := strconv.FormatInt(time.Now().Add(-3*leaseQueueAge).UnixMilli(), 10)
	r.MustDo("ZADD", queue, long, "gone")               // queued first, never tried since
	r.MustDo("ZADD", queue, "XX", long, b.leaseToken()) // b queued as long ago
	done := b.wait(turn)
	if err := a.ReleaseLease(context.Background(), la, px); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := r.MustDo("GET", a.LeaseKey("g")); got != b.leaseToken() {
		t.Fatalf("lease handed to %q, want b", got)
	}
	if got := r.MustDo("ZSCORE", queue, "gone"); got != "(nil)" {
		t.Fatalf("the gone waiter is still queued (%s)", got)
	}
}
