package actor

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

// Doc is one decoded session as the actor holds it.
//
// A Doc that was published (stored in the memo, or handed to a read) is
// never modified: every update runs on a clone. Published Docs are read
// concurrently by their actor and by the Manager's fast read path, and a
// codec.Session is not safe for concurrent use even for reads (variables
// are decoded lazily on first access), so every access to s holds mu.
type Doc struct {
	mu sync.Mutex // guards s
	s  *codec.Session
	// refreshed is when the session's TTL was last known refreshed
	// (UnixNano; 0: not known), shared by the actor and the fast path.
	refreshed atomic.Int64
}

// ClaimRefresh reports whether a read of this session should refresh its
// TTL at now: when the last known refresh is at least every old. A true
// answer claims the refresh (records now), so that of concurrent readers
// one only submits it.
func (d *Doc) ClaimRefresh(now time.Time, every time.Duration) bool {
	last := d.refreshed.Load()
	n := now.UnixNano()
	if last != 0 && n-last < int64(every) {
		return false
	}
	return d.refreshed.CompareAndSwap(last, n)
}

// markRefreshed records that the session's TTL was refreshed at t.
func (d *Doc) markRefreshed(t time.Time) {
	n := t.UnixNano()
	for {
		last := d.refreshed.Load()
		if last >= n || d.refreshed.CompareAndSwap(last, n) {
			return
		}
	}
}

// NewDoc wraps s; the Doc owns it from then on.
func NewDoc(s *codec.Session) *Doc { return &Doc{s: s} }

// Run calls fn with the session under the Doc's lock and turns a panic in
// fn into an error wrapping ErrPanic. found is passed through to fn. For a
// published Doc, fn must treat the session as read-only and not retain it.
func (d *Doc) Run(fn Fn, found bool) error {
	if fn == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.runLocked(fn, found)
}

// runLocked is Run for a caller that holds d.mu (apply holds its working
// copy's lock across the updates of a batch).
func (d *Doc) runLocked(fn Fn, found bool) (err error) {
	if fn == nil {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v\n%s", ErrPanic, r, debug.Stack())
		}
	}()
	return fn(d.s, found)
}

// Value returns a private copy (codec.CopyValue) of variable name, under
// the Doc's lock: a read without a closure.
func (d *Doc) Value(name string) (codec.Value, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok, err := d.s.Get(name)
	if err != nil || !ok {
		return nil, false, err
	}
	return codec.CopyValue(v), true, nil
}

func (d *Doc) clone() *Doc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return &Doc{s: d.s.Clone()}
}

// modifiedLocked reports whether the session changed since it was
// decoded or cloned from an unmodified one. The caller holds d.mu.
func (d *Doc) modifiedLocked() bool { return d.s.Modified() }

// size estimates the memory the Doc holds, in bytes (for the memo's
// budget).
func (d *Doc) size() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int64(d.s.Size())
}

// Codec says how stored bytes become a session and back.
type Codec struct {
	// Format is how sessions are stored: PHP's session.serialize_handler
	// and phpredis's compression. Data in another format is read too and
	// written back in this one.
	Format codec.Format
	// Options bound decoding (nil: codec's defaults).
	Options *codec.Options
}

// empty returns a new session with no variables.
func (c Codec) empty() *Doc { return NewDoc(c.Format.New()) }

// decode returns the session stored as d: an empty one when the key is
// missing or empty (as PHP treats it).
func (c Codec) decode(d redisio.Data) (*Doc, error) {
	if !d.Found || len(d.Bytes) == 0 {
		return c.empty(), nil
	}
	s, err := c.Format.Decode(d.Bytes, c.Options)
	if err != nil {
		return nil, err
	}
	return NewDoc(s), nil
}

// encode returns the bytes to store for d, in a buffer of at least hint
// bytes (the length of the bytes d was made from: an update rarely changes
// it much, and growing from nothing copied a 1 KiB session 4 times).
func (c Codec) encode(d *Doc, hint int) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return c.Format.AppendEncodeOpts(make([]byte, 0, hint+hint/8+16), d.s, c.Options)
}
