// Package cache holds decoded sessions in memory so that a hot read costs
// neither a Redis round trip nor a decode.
//
// A Memo maps a session ID to the bytes last seen in Redis and the value
// decoded from them. It is bounded by entry count and by bytes (least
// recently used entries go first) and is kept honest by invalidations: when
// Redis reports that a session key changed (rueidis client tracking), the
// entry is marked stale; a stale entry is only reused after the caller has
// re-read the bytes from Redis and found them unchanged, which costs a
// comparison instead of a decode. A nil invalidation (connection lost, server
// flushed) drops everything.
//
// Invalidations can race with a reader that fetched bytes just before the
// key changed. Put therefore takes the sequence number the caller read
// (Seq) before fetching: if the ID was invalidated after that point, the
// entry is stored as stale.
//
// Invalidations alone cannot retire a session that expires: Redis deletes
// an expired key lazily (when touched) or by sampling, and only then sends
// the invalidation, which may be minutes later or never. Each entry
// therefore carries the key's expiry as known from the read (Entry.Expires);
// past it the entry is no longer fresh.
package cache

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Entry is one memoised session. Entries are immutable once stored.
type Entry[V any] struct {
	// Raw holds the bytes stored in Redis that Value was decoded from
	// (nil when the session did not exist).
	Raw []byte
	// Found reports whether the session existed in Redis.
	Found bool
	// Value is the decoded session.
	Value V
	// Label is what the entry's owner tags it with, never changed after
	// (the session actors: the session's redacted ID, which the events of
	// reads served from memory carry); nil: none. It fits the entry's
	// size class.
	Label *string
	// Size is the entry's weight in bytes for the byte budget; when zero,
	// len(Raw) plus a fixed overhead is used.
	Size int64
	// Expires is a lower bound of when Redis drops the key (its TTL as
	// known from the read that produced Raw); from then on the entry is
	// not fresh. Zero: no expiry known (the key has none, or the entry is
	// stored stale and revalidated before use anyway).
	Expires time.Time
}

// live reports whether e has not passed its expiry at now (now is read
// only when e has one).
func (e *Entry[V]) live() bool {
	return e.Expires.IsZero() || time.Now().Before(e.Expires)
}

type slot[V any] struct {
	e     *Entry[V]
	size  int64
	stale bool
	used  bool // a fresh Get returned e (see RemoveUnused)
}

// Memo is a concurrency-safe LRU of decoded sessions. The zero value is not
// usable; call New.
type Memo[V any] struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, *slot[V]]
	bytes    int64
	maxBytes int64

	seq   uint64            // bumped by every invalidation
	floor uint64            // puts that saw a seq below floor are stale
	inv   map[string]uint64 // id → seq of its latest invalidation since floor

	hits, misses, stale atomic.Uint64
}

// entryOverhead approximates the bookkeeping bytes of one entry.
const entryOverhead = 256

// maxInvTracked bounds the per-ID invalidation map; when it is exceeded the
// map is cleared and every put that started before is treated as stale.
const maxInvTracked = 4096

// New returns a Memo holding at most maxEntries entries and about maxBytes
// bytes (0 means no byte bound). maxEntries below 1 is treated as 1.
func New[V any](maxEntries int, maxBytes int64) *Memo[V] {
	if maxEntries < 1 {
		maxEntries = 1
	}
	m := &Memo[V]{maxBytes: maxBytes, inv: make(map[string]uint64)}
	l, _ := simplelru.NewLRU[string, *slot[V]](maxEntries, func(_ string, s *slot[V]) {
		m.bytes -= s.size
	})
	m.lru = l
	return m
}

// Get returns the entry for id and whether it is fresh (no invalidation
// since it was stored, and not past its Expires). A stale entry is returned so that the caller can
// revalidate it by comparing bytes.
func (m *Memo[V]) Get(id string) (e *Entry[V], fresh bool) {
	m.mu.Lock()
	s, ok := m.lru.Get(id)
	if !ok {
		m.mu.Unlock()
		m.misses.Add(1)
		return nil, false
	}
	e, fresh = s.e, !s.stale
	if fresh && !s.used {
		s.used = true
	}
	m.mu.Unlock()
	fresh = fresh && e.live()
	if fresh {
		m.hits.Add(1)
	} else {
		m.stale.Add(1)
	}
	return e, fresh
}

// Peek is Get without marking the entry recently used and without
// counting a hit or a miss (for a caller that stores the entry again right
// after, which marks it).
func (m *Memo[V]) Peek(id string) (e *Entry[V], fresh bool) {
	m.mu.Lock()
	s, ok := m.lru.Peek(id)
	if !ok {
		m.mu.Unlock()
		return nil, false
	}
	// stale is written by Invalidate under mu: read it before unlocking
	e, fresh = s.e, !s.stale
	m.mu.Unlock()
	return e, fresh && e.live()
}

// Seq returns the current invalidation sequence number; pass it to Put.
func (m *Memo[V]) Seq() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// Put stores e for id. seen is the Seq the caller read before fetching the
// bytes; if id was invalidated since then, the entry is stored as stale.
func (m *Memo[V]) Put(id string, e *Entry[V], seen uint64) {
	m.put(id, e, seen, false)
}

// PutStale stores e for id as stale: it is reused only after the caller
// re-read the bytes and found them equal to e.Raw. For a value nobody
// tracks (no invalidation would report a later change).
func (m *Memo[V]) PutStale(id string, e *Entry[V]) {
	m.put(id, e, 0, true)
}

func (m *Memo[V]) put(id string, e *Entry[V], seen uint64, stale bool) {
	size := e.Size
	if size <= 0 {
		size = int64(len(e.Raw))
	}
	size += int64(len(id)) + entryOverhead
	m.mu.Lock()
	defer m.mu.Unlock()
	stale = stale || seen < m.floor
	if s, ok := m.inv[id]; ok && s > seen {
		stale = true
	}
	if m.maxBytes > 0 && size > m.maxBytes {
		m.lru.Remove(id)
		return
	}
	if old, ok := m.lru.Peek(id); ok {
		m.bytes -= old.size
		old.size = 0
	}
	m.lru.Add(id, &slot[V]{e: e, size: size, stale: stale})
	m.bytes += size
	for m.maxBytes > 0 && m.bytes > m.maxBytes {
		if _, _, ok := m.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// Remove drops id.
func (m *Memo[V]) Remove(id string) {
	m.mu.Lock()
	m.lru.Remove(id)
	m.mu.Unlock()
}

// RemoveUnused drops id's entry unless a Get found it fresh since it was
// stored: for the owner of a session that goes idle (its actor
// passivates), so that the memo does not keep what nobody reads, while a
// session still read from the memo stays in it.
func (m *Memo[V]) RemoveUnused(id string) {
	m.mu.Lock()
	if s, ok := m.lru.Peek(id); ok && !s.used {
		m.lru.Remove(id)
	}
	m.mu.Unlock()
}

// Invalidate marks the entries of ids stale. A nil slice drops every entry
// (the connection was lost or the server flushed its data).
func (m *Memo[V]) Invalidate(ids []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	if ids == nil {
		m.lru.Purge()
		m.bytes = 0
		m.floor = m.seq
		clear(m.inv)
		return
	}
	if len(m.inv)+len(ids) > maxInvTracked {
		m.floor = m.seq
		clear(m.inv)
	}
	for _, id := range ids {
		m.inv[id] = m.seq
		if s, ok := m.lru.Peek(id); ok {
			s.stale = true
		}
	}
}

// Len returns the number of entries.
func (m *Memo[V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lru.Len()
}

// Bytes returns the accounted size of all entries.
func (m *Memo[V]) Bytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}

// Stats reports lookups that found a fresh entry, found none, or found a
// stale one.
func (m *Memo[V]) Stats() (hits, misses, stale uint64) {
	return m.hits.Load(), m.misses.Load(), m.stale.Load()
}
