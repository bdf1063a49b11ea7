package redisio

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phpsession/phpsession/internal/testenv"
)

func TestWriteIfUnlocked(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{TTL: 1000 * time.Second})
	ctx := context.Background()
	big := strings.Repeat("x", casStageOver+10)
	bigOther := big[:len(big)-1] + "y"
	bigLonger := big + "x"
	bigData := strings.Repeat("d", casStageOver+1)
	const lockHolder = "php|holder"

	for i, tc := range []struct {
		name    string
		stored  string // "" = missing, unless emptied
		emptied bool   // stored is the empty string
		locked  bool
		expect  Data
		mode    WriteMode
		data    string
		want    string // Applied, Held or Changed
		after   string // stored value afterwards ("" = missing)
		current Data   // for Changed
		existed bool
	}{
		{name: "new session", expect: Data{}, mode: WriteData, data: "n|i:1;", want: "Applied", after: "n|i:1;"},
		{name: "unchanged", stored: "n|i:1;", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: "n|i:2;", want: "Applied", after: "n|i:2;"},
		{name: "changed under us", stored: "n|i:5;", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: "n|i:2;", want: "Changed", after: "n|i:5;", current: Data{Bytes: []byte("n|i:5;"), Found: true}},
		{name: "created under us", stored: "n|i:5;", expect: Data{}, mode: WriteData, data: "n|i:1;", want: "Changed", after: "n|i:5;", current: Data{Bytes: []byte("n|i:5;"), Found: true}},
		{name: "deleted under us", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: "n|i:2;", want: "Changed", current: Data{}},
		{name: "empty value is not missing", stored: "", emptied: true, expect: Data{}, mode: WriteData, data: "x", want: "Applied", after: "x"},
		{name: "lock held", stored: "n|i:1;", locked: true, expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: "n|i:2;", want: "Held", after: "n|i:1;"},
		{name: "check only while held", stored: "n|i:1;", locked: true, expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteNone, want: "Applied", after: "n|i:1;"},
		{name: "check only, changed", stored: "n|i:3;", locked: true, expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteNone, want: "Changed", after: "n|i:3;", current: Data{Bytes: []byte("n|i:3;"), Found: true}},
		{name: "large, staged expectation", stored: big, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: "n|i:9;", want: "Applied", after: "n|i:9;"},
		{name: "large, one byte differs", stored: bigOther, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: "n|i:9;", want: "Changed", after: bigOther, current: Data{Bytes: []byte(bigOther), Found: true}},
		{name: "large, one byte longer", stored: bigLonger, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: bigData, want: "Changed", after: bigLonger, current: Data{Bytes: []byte(bigLonger), Found: true}},
		{name: "large, prefix of the expectation", stored: big[:len(big)-1], expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: bigData, want: "Changed", after: big[:len(big)-1], current: Data{Bytes: []byte(big[:len(big)-1]), Found: true}},
		{name: "large, deleted under us", expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: bigData, want: "Changed", current: Data{}},
		{name: "large, emptied under us", stored: "", emptied: true, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: bigData, want: "Changed", after: "", current: Data{Bytes: []byte{}, Found: true}},
		{name: "large data, staged", stored: "n|i:1;", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: bigData, want: "Applied", after: bigData},
		{name: "large both, staged", stored: big, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: bigData, want: "Applied", after: bigData},
		{name: "large new session", expect: Data{}, mode: WriteData, data: bigData, want: "Applied", after: bigData},
		{name: "large created under us", stored: bigOther, expect: Data{}, mode: WriteData, data: bigData, want: "Changed", after: bigOther, current: Data{Bytes: []byte(bigOther), Found: true}},
		{name: "small expected, grown large under us", stored: bigOther, expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: "n|i:2;", want: "Changed", after: bigOther, current: Data{Bytes: []byte(bigOther), Found: true}},
		{name: "large, lock held", stored: big, locked: true, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteData, data: bigData, want: "Held", after: big},
		{name: "large, check only", stored: big, locked: true, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteNone, want: "Applied", after: big},
		{name: "large, touch", stored: big, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteTouch, want: "Applied", after: big, existed: true},
		{name: "large, delete", stored: big, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteDelete, want: "Applied", existed: true},
		{name: "large, delete, changed", stored: bigOther, expect: Data{Bytes: []byte(big), Found: true}, mode: WriteDelete, want: "Changed", after: bigOther, current: Data{Bytes: []byte(bigOther), Found: true}},
		{name: "emptied under us", stored: "", emptied: true, expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteData, data: "n|i:2;", want: "Changed", current: Data{Bytes: []byte{}, Found: true}},
		{name: "created empty under us", stored: "", emptied: true, expect: Data{}, mode: WriteData, data: "n|i:1;", want: "Changed", current: Data{Bytes: []byte{}, Found: true}},
		{name: "touch, missing", expect: Data{}, mode: WriteTouch, want: "Applied"},
		{name: "delete, missing", expect: Data{}, mode: WriteDelete, want: "Applied"},
		{name: "touch, lock held", stored: "n|i:1;", locked: true, expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteTouch, want: "Held", after: "n|i:1;"},
		{name: "delete, changed", stored: "n|i:3;", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteDelete, want: "Changed", after: "n|i:3;", current: Data{Bytes: []byte("n|i:3;"), Found: true}},
		{name: "touch", stored: "n|i:1;", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteTouch, want: "Applied", after: "n|i:1;", existed: true},
		{name: "delete", stored: "n|i:1;", expect: Data{Bytes: []byte("n|i:1;"), Found: true}, mode: WriteDelete, want: "Applied", existed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "cas" + strconv.Itoa(i)
			key := s.Key(id)
			if tc.stored != "" || tc.emptied {
				r.MustDo("SET", key, tc.stored)
				if tc.name == "empty value is not missing" {
					tc.expect = Data{Bytes: []byte{}, Found: true}
				}
			}
			if tc.locked {
				r.MustDo("SET", s.LockKey(id), lockHolder, "PX", "60000")
			}
			res, err := s.WriteIfUnlocked(ctx, id, tc.expect, tc.mode, []byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			got := map[bool]string{true: "Applied"}[res.Applied] + map[bool]string{true: "Held"}[res.Held] + map[bool]string{true: "Changed"}[res.Changed]
			if got != tc.want {
				t.Fatalf("result %+v, want %s", res, tc.want)
			}
			if tc.want == "Changed" && (res.Current.Found != tc.current.Found || string(res.Current.Bytes) != string(tc.current.Bytes)) {
				t.Fatalf("Current = %+v, want %+v", res.Current, tc.current)
			}
			if res.Existed != tc.existed {
				t.Fatalf("Existed = %v, want %v", res.Existed, tc.existed)
			}
			// Staged keys never outlive the call.
			if left := r.MustDo("KEYS", MarkerPrefix+"*"); left != "" && left != "(empty array)" {
				t.Fatalf("keys left behind: %q", left)
			}
			v := r.MustDo("GET", key)
			if tc.after == "" && !(tc.emptied && tc.want == "Changed") && tc.name != "empty value is not missing" {
				if v != "(nil)" {
					t.Fatalf("stored %q, want missing", v)
				}
			} else if v != tc.after {
				t.Fatalf("stored %q, want %q", v, tc.after)
			}
			if tc.want == "Applied" && (tc.mode == WriteData || tc.mode == WriteTouch && tc.existed) {
				if ttl := r.MustDo("TTL", key); ttl != "1000" && ttl != "999" {
					t.Fatalf("TTL %s, want the session TTL", ttl)
				}
			}
			if tc.locked {
				if h := r.MustDo("GET", s.LockKey(id)); h != lockHolder {
					t.Fatalf("lock %q: the holder's lock must be left alone", h)
				}
			}
		})
	}
}

func TestWaitUnlocked(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{LockTimeout: 300 * time.Millisecond, PollInterval: time.Minute})
	ctx := context.Background()

	t.Run("free", func(t *testing.T) {
		if err := s.WaitUnlocked(ctx, "free"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("woken by release", func(t *testing.T) {
		r.MustDo("SET", s.LockKey("w"), "php|a")
		waiting := make(chan struct{})
		s.waitHook = func(string, string) {
			select {
			case <-waiting:
			default:
				close(waiting)
			}
		}
		defer func() { s.waitHook = nil }()
		done := make(chan error, 1)
		go func() { done <- s.WaitUnlocked(ctx, "w") }()
		<-waiting
		before := s.Stats().WakeInvalidated
		r.MustDo("DEL", s.LockKey("w"))
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if s.Stats().WakeInvalidated <= before {
			t.Fatal("not woken by the invalidation (the poll interval is a minute)")
		}
	})
	t.Run("timeout names the holder", func(t *testing.T) {
		r.MustDo("SET", s.LockKey("t"), "php|stuck")
		err := s.WaitUnlocked(ctx, "t")
		var he *HolderError
		if !errors.Is(err, ErrLockTimeout) || !errors.As(err, &he) || he.Holder != "php|stuck" || he.PTTL >= 0 {
			t.Fatalf("err = %v, want ErrLockTimeout naming php|stuck without TTL", err)
		}
	})
	t.Run("context", func(t *testing.T) {
		r.MustDo("SET", s.LockKey("c"), "php|c", "PX", "60000")
		cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if err := s.WaitUnlocked(cctx, "c"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
	})
}

// incrLockFree increments the counter without the lock: a cached read, then
// WriteIfUnlocked until it applies (waiting out holders, recomputing from
// the data it is shown on a change).
func incrLockFree(ctx context.Context, s *Store, id string) error {
	d, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	for {
		n, err := parseCounter(d)
		if err != nil {
			return err
		}
		res, err := s.WriteIfUnlocked(ctx, id, d, WriteData, counterBytes(n+1))
		switch {
		case err != nil:
			return err
		case res.Applied:
			return nil
		case res.Held:
			if err := s.WaitUnlocked(ctx, id); err != nil {
				return err
			}
		default:
			d = res.Current
		}
	}
}

// PHP processes incrementing under phpredis's lock and Go goroutines
// incrementing lock-free (plus some through the lock) on one session: no
// increment is lost on either side.
func TestWriteIfUnlockedWithPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	const (
		phpProcs = 3
		phpEach  = 30
		goRout   = 8
	)
	id := "casphp"
	cfg := testenv.PHPSession{Addr: r.Addr, Locking: true, LockRetries: 40000, LockWaitTime: 250}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	waitPHP := startPHPIncrs(ctx, t, cfg, phpProcs, phpEach, id)
	var phpDone atomic.Bool
	var goCount atomic.Int64
	goErr := make(chan error, goRout)
	var gwg sync.WaitGroup
	for g := 0; g < goRout; g++ {
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			for i := 0; i < 30 || !phpDone.Load(); i++ {
				f := incrLockFree
				if g == 0 {
					f = incr // a locking Go client beside them
				}
				if err := f(ctx, s, id); err != nil {
					goErr <- err
					return
				}
				goCount.Add(1)
			}
		}()
	}
	total, phpErrs := waitPHP()
	phpDone.Store(true)
	gwg.Wait()
	close(goErr)
	for err := range goErr {
		t.Errorf("go: %v", err)
	}
	for _, err := range phpErrs {
		t.Error(err)
	}
	st := s.Stats()
	want := total + int(goCount.Load())
	if got := counterIn(t, r, s.Key(id)); got != want {
		t.Fatalf("counter %d, want %d (php %d + go %d)", got, want, total, goCount.Load())
	}
	t.Logf("php %d + go %d increments; lock-free writes %d, refused while held %d, refused after a change %d",
		total, goCount.Load(), st.CASApplied, st.CASHeld, st.CASChanged)
	if total != phpProcs*phpEach {
		t.Fatalf("php succeeded %d of %d", total, phpProcs*phpEach)
	}
	if st.CASHeld == 0 && st.CASChanged == 0 {
		t.Log("note: no conflict happened in this run")
	}
}

// The script's reply is lost (the caller's deadline passes during a write
// pause) but the script runs after the pause. With WriteMarkers the marker
// holds our token, so the write is reported applied; without, the data
// (changed, by us or someone) cannot tell, so the outcome is unknown.
func TestWriteIfUnlockedReconcile(t *testing.T) {
	for _, markers := range []bool{true, false} {
		t.Run("markers="+strconv.FormatBool(markers), func(t *testing.T) {
			r := testenv.StartRedis(t)
			s := openTest(t, r, Config{WriteMarkers: markers})
			bg := context.Background()
			if _, err := s.WriteIfUnlocked(bg, "rc", Data{}, WriteData, counterBytes(1)); err != nil {
				t.Fatal(err) // loads the script
			}
			before := s.Stats()
			var res CASResult
			var err error
			underWritePause(t, r, false, nil, func(ctx context.Context) {
				res, err = s.WriteIfUnlocked(ctx, "rc", Data{Bytes: counterBytes(1), Found: true}, WriteData, counterBytes(2))
			})
			after := s.Stats()
			if markers {
				if err != nil || !res.Applied || after.Reconciled != before.Reconciled+1 {
					t.Fatalf("got %+v, %v; want applied (reconciled)", res, err)
				}
				keys := strings.Split(r.MustDo("KEYS", MarkerPrefix+s.Key("rc")+":*"), "\n")
				if len(keys) != 2 {
					t.Fatalf("marker keys %q: want one per write", keys)
				}
				for _, k := range keys {
					if ttl := r.MustDo("PTTL", k); ttl == "-2" || ttl == "-1" {
						t.Fatalf("marker PTTL %s: want a short-lived marker", ttl)
					}
				}
			} else {
				if !errors.Is(err, ErrOutcomeUnknown) || after.Unknown != before.Unknown+1 {
					t.Fatalf("got %+v, %v; want ErrOutcomeUnknown", res, err)
				}
				if v := r.MustDo("KEYS", MarkerPrefix+"*"); v != "" {
					t.Fatal("a marker without WriteMarkers")
				}
			}
			if v := r.MustDo("GET", s.Key("rc")); v != "n|i:2;" {
				t.Fatalf("data %q", v)
			}
		})
	}
}

// The reply is lost before the script could run (the data is unchanged
// when the connection answers again): the caller is told to try again, with
// or without markers.
func TestWriteIfUnlockedReconcileNotApplied(t *testing.T) {
	r := testenv.StartRedis(t)
	s := openTest(t, r, Config{})
	bg := context.Background()
	if _, err := s.WriteIfUnlocked(bg, "na", Data{}, WriteData, counterBytes(1)); err != nil {
		t.Fatal(err)
	}
	// The lock is held during the pause, so the script refuses when it
	// finally runs: what the reconciliation sees is the unchanged data.
	r.MustDo("SET", s.LockKey("na"), "php|x", "PX", "60000")
	var res CASResult
	var err error
	underWritePause(t, r, false, nil, func(ctx context.Context) {
		res, err = s.WriteIfUnlocked(ctx, "na", Data{Bytes: counterBytes(1), Found: true}, WriteData, counterBytes(2))
	})
	if err != nil || !res.Changed || string(res.Current.Bytes) != "n|i:1;" {
		t.Fatalf("got %+v, %v; want Changed with the unchanged data (try again)", res, err)
	}
}
