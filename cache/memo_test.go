package cache

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMemoFreshStaleAndRevalidate(t *testing.T) {
	m := New[string](10, 0)
	seq := m.Seq()
	m.Put("a", &Entry[string]{Raw: []byte("x"), Found: true, Value: "X"}, seq)
	e, fresh := m.Get("a")
	require.True(t, fresh)
	require.Equal(t, "X", e.Value)

	m.Invalidate([]string{"a"})
	e, fresh = m.Get("a")
	require.False(t, fresh, "invalidated entry is stale")
	require.NotNil(t, e, "stale entry kept for byte comparison")

	// revalidation with a seq read after the invalidation: fresh again
	m.Put("a", e, m.Seq())
	_, fresh = m.Get("a")
	require.True(t, fresh)
}

func TestMemoPutRacingInvalidationIsStale(t *testing.T) {
	m := New[string](10, 0)
	seen := m.Seq()             // reader takes seq, then fetches bytes...
	m.Invalidate([]string{"a"}) // ...the key changes meanwhile...
	m.Put("a", &Entry[string]{Raw: []byte("old"), Value: "old"}, seen)
	_, fresh := m.Get("a")
	require.False(t, fresh, "an entry fetched before an invalidation must not be fresh")

	// an invalidation of another id does not affect it
	seen = m.Seq()
	m.Invalidate([]string{"b"})
	m.Put("a", &Entry[string]{Raw: []byte("new"), Value: "new"}, seen)
	_, fresh = m.Get("a")
	require.True(t, fresh)
}

func TestMemoNilInvalidationFlushesAll(t *testing.T) {
	m := New[int](100, 0)
	for i := 0; i < 10; i++ {
		m.Put(fmt.Sprint(i), &Entry[int]{Value: i}, m.Seq())
	}
	seen := m.Seq()
	m.Invalidate(nil)
	require.Zero(t, m.Len())
	require.Zero(t, m.Bytes())
	m.Put("x", &Entry[int]{Value: 1}, seen)
	_, fresh := m.Get("x")
	require.False(t, fresh)
}

func TestMemoBounds(t *testing.T) {
	m := New[int](5, 0)
	for i := 0; i < 20; i++ {
		m.Put(fmt.Sprint(i), &Entry[int]{Value: i}, m.Seq())
	}
	require.Equal(t, 5, m.Len())
	_, fresh := m.Get("19")
	require.True(t, fresh)
	e, _ := m.Get("0")
	require.Nil(t, e)

	b := New[int](1000, 4096)
	for i := 0; i < 100; i++ {
		b.Put(fmt.Sprint(i), &Entry[int]{Raw: make([]byte, 500), Value: i}, b.Seq())
		require.LessOrEqual(t, b.Bytes(), int64(4096))
	}
	require.Greater(t, b.Len(), 0)
	// replacing an entry keeps the accounting exact
	b.Put("99", &Entry[int]{Raw: make([]byte, 10), Value: 1}, b.Seq())
	var sum int64
	b.mu.Lock()
	for _, k := range b.lru.Keys() {
		s, _ := b.lru.Peek(k)
		sum += s.size
	}
	b.mu.Unlock()
	require.Equal(t, sum, b.Bytes())
	// an entry larger than the budget is not kept
	b.Put("huge", &Entry[int]{Raw: make([]byte, 10000)}, b.Seq())
	e, _ = b.Get("huge")
	require.Nil(t, e)
}

func TestMemoConcurrent(t *testing.T) {
	m := New[int](64, 1<<16)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				id := fmt.Sprint(i % 100)
				switch i % 4 {
				case 0:
					m.Put(id, &Entry[int]{Raw: make([]byte, i%300), Value: i}, m.Seq())
				case 1:
					m.Get(id)
				case 2:
					m.Invalidate([]string{id})
				case 3:
					if i%400 == 3 {
						m.Invalidate(nil)
					}
				}
			}
		}()
	}
	wg.Wait()
	h, mi, st := m.Stats()
	require.Equal(t, uint64(8*500), h+mi+st)
}

func TestMemoPutStale(t *testing.T) {
	m := New[string](10, 0)
	m.PutStale("a", &Entry[string]{Raw: []byte("x"), Found: true, Value: "x"})
	e, fresh := m.Get("a")
	if e == nil || fresh || e.Value != "x" {
		t.Fatalf("PutStale: got %v fresh=%v, want the entry, stale", e, fresh)
	}
	// revalidated by a Put with a current sequence number
	m.Put("a", e, m.Seq())
	if _, fresh := m.Get("a"); !fresh {
		t.Fatal("Put after PutStale: want fresh")
	}
}

func TestPeekDoesNotTouchRecencyOrStats(t *testing.T) {
	m := New[int](2, 0)
	m.Put("a", &Entry[int]{Value: 1, Found: true}, m.Seq())
	m.Put("b", &Entry[int]{Value: 2, Found: true}, m.Seq())
	if e, fresh := m.Peek("a"); e == nil || e.Value != 1 || !fresh {
		t.Fatalf("Peek(a) = %v, %v", e, fresh)
	}
	if e, _ := m.Peek("zz"); e != nil {
		t.Fatal("Peek of a missing id")
	}
	m.Put("c", &Entry[int]{Value: 3, Found: true}, m.Seq()) // evicts the least recently used: a (Peek did not touch it)
	if e, _ := m.Peek("a"); e != nil {
		t.Fatal("a should have been evicted")
	}
	if hits, misses, stale := m.Stats(); hits+misses+stale != 0 {
		t.Fatalf("Peek counted: %d %d %d", hits, misses, stale)
	}
}

// Peek and Invalidate on one entry from different goroutines: Peek reads
// the stale flag that Invalidate writes, so it must do so under the lock
// (go test -race reported the read after the unlock).
func TestPeekRacesInvalidate(t *testing.T) {
	m := New[int](10, 0)
	m.Put("a", &Entry[int]{Raw: []byte("x"), Found: true, Value: 1}, m.Seq())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			m.Invalidate([]string{"a"})
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			if e, _ := m.Peek("a"); e == nil {
				t.Error("entry vanished")
				return
			}
		}
	}()
	wg.Wait()
	_, fresh := m.Peek("a")
	require.False(t, fresh)
}

// An entry past its Expires is not fresh (Get and Peek), while one whose
// expiry lies ahead, or that has none, is.
func TestMemoEntryExpiry(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Time
		fresh   bool
	}{
		{"no expiry", time.Time{}, true},
		{"ahead", time.Now().Add(time.Hour), true},
		{"passed", time.Now().Add(-time.Millisecond), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New[string](10, 0)
			m.Put("a", &Entry[string]{Raw: []byte("x"), Found: true, Value: "X", Expires: tc.expires}, m.Seq())
			e, fresh := m.Get("a")
			require.NotNil(t, e, "an expired entry is kept for byte comparison")
			require.Equal(t, tc.fresh, fresh)
			_, fresh = m.Peek("a")
			require.Equal(t, tc.fresh, fresh)
		})
	}
	// an entry turns stale when its expiry passes
	m := New[string](10, 0)
	exp := time.Now().Add(20 * time.Millisecond)
	m.Put("a", &Entry[string]{Raw: []byte("x"), Found: true, Expires: exp}, m.Seq())
	for time.Now().Before(exp) {
		time.Sleep(time.Until(exp))
	}
	_, fresh := m.Get("a")
	require.False(t, fresh, "fresh after its key expired")
}

// TestMemoRemoveUnused: an entry no fresh Get returned since it was
// stored goes; one that served a fresh read stays.
func TestMemoRemoveUnused(t *testing.T) {
	for _, tc := range []struct {
		name string
		use  func(m *Memo[string])
		kept bool
	}{
		{"never read", func(*Memo[string]) {}, false},
		{"read fresh", func(m *Memo[string]) { m.Get("a") }, true},
		{"read stale only", func(m *Memo[string]) { m.Invalidate([]string{"a"}); m.Get("a") }, false},
		{"peeked only", func(m *Memo[string]) { m.Peek("a") }, false},
		{"read, then stored again", func(m *Memo[string]) {
			e, _ := m.Get("a")
			m.Put("a", e, m.Seq())
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New[string](10, 0)
			m.Put("a", &Entry[string]{Raw: []byte("x"), Found: true, Value: "X"}, m.Seq())
			tc.use(m)
			m.RemoveUnused("a")
			m.RemoveUnused("missing")
			e, _ := m.Peek("a")
			require.Equal(t, tc.kept, e != nil)
			if !tc.kept {
				require.Zero(t, m.Bytes(), "its bytes are released")
			}
		})
	}
}
