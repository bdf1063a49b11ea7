// Package fake provides an in-memory actor.Store and a tiny actor.Codec for
// unit tests of the actor and coordinator packages.
package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/actor"
)

// Doc is a session of int counters encoded as "k=v;k=v" (sorted keys).
type Doc struct {
	M        map[string]int
	modified bool
}

// Clone implements actor.Doc.
func (d *Doc) Clone() actor.Doc {
	m := make(map[string]int, len(d.M))
	for k, v := range d.M {
		m[k] = v
	}
	return &Doc{M: m}
}

// Encode implements actor.Doc.
func (d *Doc) Encode() ([]byte, error) {
	keys := make([]string, 0, len(d.M))
	for k := range d.M {
		if strings.ContainsAny(k, "=;") {
			return nil, fmt.Errorf("bad key %q", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, "%s=%d", k, d.M[k])
	}
	return b.Bytes(), nil
}

// Modified implements actor.Doc.
func (d *Doc) Modified() bool { return d.modified }

// Len implements actor.Doc.
func (d *Doc) Len() int { return len(d.M) }

// Size implements actor.Doc.
func (d *Doc) Size() int { return 64 + 32*len(d.M) }

// Set sets k and marks the doc modified.
func (d *Doc) Set(k string, v int) { d.M[k] = v; d.modified = true }

// Add adds delta to k.
func (d *Doc) Add(k string, delta int) { d.Set(k, d.M[k]+delta) }

// Codec implements actor.Codec for Doc.
type Codec struct{ Decodes atomic.Int64 }

// New implements actor.Codec.
func (c *Codec) New() actor.Doc { return &Doc{M: map[string]int{}} }

// Decode implements actor.Codec.
func (c *Codec) Decode(b []byte) (actor.Doc, error) {
	c.Decodes.Add(1)
	d := &Doc{M: map[string]int{}}
	if len(b) == 0 {
		return d, nil
	}
	for _, kv := range strings.Split(string(b), ";") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("decode: bad entry %q", kv)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		d.M[k] = n
	}
	return d, nil
}

// Store is an in-memory actor.Store with a per-session lock.
type Store struct {
	mu      sync.Mutex
	data    map[string][]byte
	locks   map[string]string // id → token
	waiters map[string][]chan struct{}
	tok     atomic.Int64

	// Counters
	LockCalls, Commits, Gets, Renews, Releases atomic.Int64
	Writes                                     [4]atomic.Int64 // by WriteMode

	// StealNext, when > 0, makes the next n commits find their lock stolen.
	StealNext atomic.Int64
	// Delay is added to every LockAndRead and Commit.
	Delay time.Duration
	// OnInvalidate, when set, is called after every change with the id.
	OnInvalidate func(ids []string)
	// Held tracks overlapping holders (must stay ≤ 1 per id).
	held    map[string]int
	Overlap atomic.Int64
	// Record, when set, makes the store record lock hold intervals.
	Record    bool
	intervals []Interval
	acquired  map[string]time.Time
}

// Interval is one lock hold.
type Interval struct{ From, To time.Time }

// Intervals returns the recorded lock holds in order.
func (s *Store) Intervals() []Interval {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Interval(nil), s.intervals...)
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{data: map[string][]byte{}, locks: map[string]string{}, waiters: map[string][]chan struct{}{}, held: map[string]int{}}
}

type lock struct{ id, tok string }

// Put stores raw bytes (like PHP writing without lock).
func (s *Store) Put(id string, b []byte) {
	s.mu.Lock()
	s.data[id] = append([]byte(nil), b...)
	s.mu.Unlock()
	s.invalidate(id)
}

// Raw returns the stored bytes.
func (s *Store) Raw(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.data[id]
	return b, ok
}

// ForeignLock takes the lock as a foreign holder; call the returned func to release.
func (s *Store) ForeignLock(ctx context.Context, id string) (func(), error) {
	l, _, err := s.acquire(ctx, id)
	if err != nil {
		return nil, err
	}
	return func() { s.release(l) }, nil
}

func (s *Store) invalidate(id string) {
	if s.OnInvalidate != nil {
		s.OnInvalidate([]string{id})
	}
}

func (s *Store) acquire(ctx context.Context, id string) (lock, bool, error) {
	waited := false
	for {
		s.mu.Lock()
		if _, held := s.locks[id]; !held {
			t := strconv.FormatInt(s.tok.Add(1), 10)
			s.locks[id] = t
			if s.Record {
				if s.acquired == nil {
					s.acquired = map[string]time.Time{}
				}
				s.acquired[id] = time.Now()
			}
			s.held[id]++
			if s.held[id] > 1 {
				s.Overlap.Add(1)
			}
			s.mu.Unlock()
			return lock{id, t}, waited, nil
		}
		ch := make(chan struct{})
		s.waiters[id] = append(s.waiters[id], ch)
		s.mu.Unlock()
		waited = true
		select {
		case <-ch:
		case <-ctx.Done():
			return lock{}, waited, fmt.Errorf("fake: lock wait: %w", ctx.Err())
		}
	}
}

func (s *Store) release(l lock) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.releaseLocked(l)
}

func (s *Store) releaseLocked(l lock) bool {
	if s.locks[l.id] != l.tok {
		return false
	}
	delete(s.locks, l.id)
	if s.Record {
		s.intervals = append(s.intervals, Interval{s.acquired[l.id], time.Now()})
	}
	s.held[l.id]--
	for _, ch := range s.waiters[l.id] {
		close(ch)
	}
	delete(s.waiters, l.id)
	return true
}

// LockAndRead implements actor.Store.
func (s *Store) LockAndRead(ctx context.Context, id string) (actor.Locked, error) {
	s.LockCalls.Add(1)
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	l, waited, err := s.acquire(ctx, id)
	if err != nil {
		return actor.Locked{}, err
	}
	s.mu.Lock()
	b, ok := s.data[id]
	s.mu.Unlock()
	return actor.Locked{Lock: l, Data: actor.Data{Bytes: b, Found: ok}, Waited: waited}, nil
}

// Renew implements actor.Store.
func (s *Store) Renew(ctx context.Context, l any) error {
	s.Renews.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	lk := l.(lock)
	if s.locks[lk.id] != lk.tok {
		return actor.ErrLockLost
	}
	return nil
}

// ErrInjected is returned by Commit when FailCommit is set.
var ErrInjected = errors.New("fake: injected failure")

// Commit implements actor.Store.
func (s *Store) Commit(ctx context.Context, l any, mode actor.WriteMode, data []byte) error {
	s.Commits.Add(1)
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	lk := l.(lock)
	s.mu.Lock()
	if n := s.StealNext.Load(); n > 0 && s.StealNext.CompareAndSwap(n, n-1) {
		// someone took the lock: release ours without writing
		s.releaseLocked(lk)
		s.mu.Unlock()
		return fmt.Errorf("fake: %w", actor.ErrLockLost)
	}
	if s.locks[lk.id] != lk.tok {
		s.mu.Unlock()
		return fmt.Errorf("fake: %w", actor.ErrLockLost)
	}
	s.Writes[mode].Add(1)
	changed := false
	switch mode {
	case actor.WriteData:
		s.data[lk.id] = append([]byte(nil), data...)
		changed = true
	case actor.WriteDelete:
		_, changed = s.data[lk.id]
		delete(s.data, lk.id)
	}
	s.releaseLocked(lk)
	s.mu.Unlock()
	if changed {
		s.invalidate(lk.id)
	}
	return nil
}

// Release implements actor.Store.
func (s *Store) Release(ctx context.Context, l any) error {
	s.Releases.Add(1)
	s.release(l.(lock))
	return nil
}

// Get implements actor.Store.
func (s *Store) Get(ctx context.Context, id string) (actor.Data, error) {
	s.Gets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.data[id]
	return actor.Data{Bytes: b, Found: ok}, nil
}
