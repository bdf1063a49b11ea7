// Package fake provides an in-memory actor.Store for fast, deterministic
// unit tests of the actor and coordinator packages: a per-session lock
// with waiters, the compare-and-set write of the lock-free path, counters
// and fault injection. Real-Redis tests (redisio, the root package) remain
// the proof of the protocol; this fake only exercises the actor's logic.
package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/redisio"
)

var _ actor.Store = (*Store)(nil)

// Store is an in-memory actor.Store with a per-session lock.
//
// mu guards data, locks, waiters, held, intervals and acquired; the
// counters are atomics; the exported configuration fields (CAS, Delay,
// OnInvalidate, Record) must be set before the Store is used.
type Store struct {
	mu      sync.Mutex
	data    map[string][]byte
	locks   map[string]string // id → token
	waiters map[string][]chan struct{}
	tok     atomic.Int64

	// Counters
	LockCalls, Commits, Gets, Renews, Releases, Touches atomic.Int64
	Writes                                              [4]atomic.Int64 // committed under the lock, by redisio.WriteMode
	// CASCalls counts WriteIfUnlocked calls; CASWrites the applied ones
	// by redisio.WriteMode; CASHeld and CASChanged the refusals.
	CASCalls, CASHeld, CASChanged, Waits atomic.Int64
	CASWrites                            [4]atomic.Int64

	// CAS makes CanWriteIfUnlocked report true, so that the actor
	// commits lock-free where it can (default false: every batch locks).
	CAS bool

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
	l, err := s.acquire(ctx, id)
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

func (s *Store) acquire(ctx context.Context, id string) (*redisio.Lock, error) {
	var t0 time.Time
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
			l := &redisio.Lock{ID: id, Token: t, Acquired: time.Now()}
			if !t0.IsZero() {
				l.Waited = max(time.Since(t0), 1)
			}
			return l, nil
		}
		ch := make(chan struct{})
		s.waiters[id] = append(s.waiters[id], ch)
		s.mu.Unlock()
		if t0.IsZero() {
			t0 = time.Now()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("fake: lock wait: %w", ctx.Err())
		}
	}
}

func (s *Store) release(l *redisio.Lock) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.releaseLocked(l)
}

func (s *Store) releaseLocked(l *redisio.Lock) bool {
	if s.locks[l.ID] != l.Token {
		return false
	}
	delete(s.locks, l.ID)
	if s.Record {
		s.intervals = append(s.intervals, Interval{s.acquired[l.ID], time.Now()})
	}
	s.held[l.ID]--
	s.wakeLocked(l.ID)
	return true
}

// wakeLocked wakes everyone waiting for id's lock (s.mu held).
func (s *Store) wakeLocked(id string) {
	for _, ch := range s.waiters[id] {
		close(ch)
	}
	delete(s.waiters, id)
}

// LockAndReadUntracked implements actor.Store.
func (s *Store) LockAndReadUntracked(ctx context.Context, id string) (*redisio.Lock, redisio.Data, error) {
	s.LockCalls.Add(1)
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	l, err := s.acquire(ctx, id)
	if err != nil {
		return nil, redisio.Data{}, err
	}
	s.mu.Lock()
	b, ok := s.data[id]
	s.mu.Unlock()
	return l, redisio.Data{Bytes: b, Found: ok}, nil
}

// Renew implements actor.Store.
func (s *Store) Renew(ctx context.Context, l *redisio.Lock) error {
	s.Renews.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[l.ID] != l.Token {
		return fmt.Errorf("fake: renew: %w", redisio.ErrLockLost)
	}
	return nil
}

// ErrInjected is returned by Commit when FailCommit is set.
var ErrInjected = errors.New("fake: injected failure")

// Commit implements actor.Store.
func (s *Store) Commit(ctx context.Context, l *redisio.Lock, mode redisio.WriteMode, data []byte) (redisio.CommitResult, error) {
	s.Commits.Add(1)
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	s.mu.Lock()
	if n := s.StealNext.Load(); n > 0 && s.StealNext.CompareAndSwap(n, n-1) {
		// someone took the lock: release ours without writing
		s.releaseLocked(l)
		s.mu.Unlock()
		return redisio.CommitResult{}, fmt.Errorf("fake: %w", redisio.ErrLockLost)
	}
	if s.locks[l.ID] != l.Token {
		s.mu.Unlock()
		return redisio.CommitResult{}, fmt.Errorf("fake: %w", redisio.ErrLockLost)
	}
	s.Writes[mode].Add(1)
	existed, changed := s.writeLocked(l.ID, mode, data)
	s.releaseLocked(l)
	s.mu.Unlock()
	if changed {
		s.invalidate(l.ID)
	}
	return redisio.CommitResult{Existed: existed}, nil
}

// writeLocked applies mode to id's data (s.mu held) and reports whether
// the key existed before and whether it changed.
func (s *Store) writeLocked(id string, mode redisio.WriteMode, data []byte) (existed, changed bool) {
	_, existed = s.data[id]
	switch mode {
	case redisio.WriteData:
		s.data[id] = append([]byte(nil), data...)
		changed = true
	case redisio.WriteDelete:
		delete(s.data, id)
		changed = existed
	}
	return existed, changed
}

// Release implements actor.Store.
func (s *Store) Release(ctx context.Context, l *redisio.Lock) error {
	s.Releases.Add(1)
	s.release(l)
	return nil
}

// Get implements actor.Store.
func (s *Store) Get(ctx context.Context, id string) (redisio.Data, error) {
	s.Gets.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.data[id]
	return redisio.Data{Bytes: b, Found: ok}, nil
}

// Touch implements actor.Store: it counts the call and reports whether id
// exists (the fake keeps no TTLs).
func (s *Store) Touch(ctx context.Context, id string) (bool, error) {
	s.Touches.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.data[id]
	return ok, nil
}

// GetUntracked implements actor.Store (the fake has no client-side cache).
func (s *Store) GetUntracked(ctx context.Context, id string) (redisio.Data, error) {
	return s.Get(ctx, id)
}

// CanWriteIfUnlocked implements actor.Store: it reports s.CAS.
func (s *Store) CanWriteIfUnlocked(id string) bool { return s.CAS }

// WriteIfUnlocked implements actor.Store: under one critical section it
// refuses while the lock is held (Held) or the data differs from expect
// (Changed, with the current data), else applies mode.
func (s *Store) WriteIfUnlocked(ctx context.Context, id string, expect redisio.Data, mode redisio.WriteMode, data []byte) (redisio.CASResult, error) {
	s.CASCalls.Add(1)
	if s.Delay > 0 {
		time.Sleep(s.Delay)
	}
	if err := ctx.Err(); err != nil {
		return redisio.CASResult{}, fmt.Errorf("fake: %w", err)
	}
	s.mu.Lock()
	if _, held := s.locks[id]; held {
		s.mu.Unlock()
		s.CASHeld.Add(1)
		return redisio.CASResult{Held: true}, nil
	}
	cur, found := s.data[id]
	if found != expect.Found || !bytes.Equal(cur, expect.Bytes) {
		s.mu.Unlock()
		s.CASChanged.Add(1)
		return redisio.CASResult{Changed: true, Current: redisio.Data{Bytes: cur, Found: found}}, nil
	}
	s.CASWrites[mode].Add(1)
	existed, changed := s.writeLocked(id, mode, data)
	s.mu.Unlock()
	if changed {
		s.invalidate(id)
	}
	return redisio.CASResult{Applied: true, Existed: existed}, nil
}

// WaitUnlocked implements actor.Store: it returns once nobody holds id's
// lock, or with ctx's error.
func (s *Store) WaitUnlocked(ctx context.Context, id string) error {
	s.Waits.Add(1)
	for {
		s.mu.Lock()
		if _, held := s.locks[id]; !held {
			s.mu.Unlock()
			return nil
		}
		ch := make(chan struct{})
		s.waiters[id] = append(s.waiters[id], ch)
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fake: wait unlocked: %w", ctx.Err())
		}
	}
}
