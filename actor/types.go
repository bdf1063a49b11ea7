// Package actor runs one session's actor: it queues that session's
// operations, turns what is queued into a batch, takes the Redis lock once
// per batch, applies the batch to one working copy, writes once and answers
// every caller after Redis acknowledged the write.
//
// The package talks to Redis and to the session codec only through the
// small interfaces Store, Codec and Doc, so it can be tested with fakes.
// protoactor-go supplies the mailbox and the scheduling; it stays behind
// this package's own API (System, Handle, Op).
//
// # Batching
//
// An op joins the actor's pending list when it is received; the actor
// flushes when its mailbox is empty (protoactor's user-message count, which
// can be transiently negative: only a positive count promises another
// message) or MaxBatch ops are pending. Reads at the head of the list are
// served at once without the lock, from the memo (cache.Memo) or from
// Store.Get and a decode. Everything else forms one batch, lock-free where
// possible (below), else locked:
// LockAndRead, then each op in arrival order on a clone of the working copy
// (an op whose fn fails or panics leaves no trace), reads inside the batch
// see the ops before them, then one Commit: WriteData when the encoded
// bytes differ from what was read, WriteTouch when they do not (PHP's
// lazy_write), WriteDelete after a destroy, WriteNone when every op failed.
// Ops are answered after Commit returned. While the batch holds the lock,
// ops that arrive queue in the mailbox and form the next batch. When the
// previous batch carried several ops and just ended, the actor lingers a
// few microseconds (Linger) so that the callers it answered can rejoin.
//
// # Lock-free batches
//
// When the store implements CASStore, a batch that contains no Destroy
// skips the lock: it applies its ops to the memo's copy of the session
// (fresh or stale; without one it reads the session with GetUntracked
// first) and commits with WriteIfUnlocked, which writes only while nobody holds the lock and the
// session still holds those bytes. Held: the actor waits (WaitUnlocked)
// and sends the same write again. Changed: the ops run again on the
// current bytes; after maxConflicts changes without a holder in between
// the batch takes the locked path. No lock is held, so no fairness pause
// precedes such a batch. Settings.NoLockFree turns this off.
//
// A batch applies ops for at most MaxHold; the rest goes to the next batch.
// A background renewer extends the lock while slow functions run. If the
// lock was lost (Commit or Renew report ErrLockLost) nothing was written;
// the batch is re-read and re-run, up to LockLostRetries times: an fn may
// run more than once.
//
// # Fairness to PHP
//
// phpredis polls for the lock (lock_retries attempts, lock_wait_time apart)
// and gives up silently. Under continuous Go load the actor leaves the lock
// free for Gap (a little more than lock_wait_time) before the lock has been
// busy for Window-Gap, so at least one PHP attempt lands in every Window.
// Foreign holders count as busy time. When the last batch found foreign
// activity (it waited for a holder, or the session changed since our last
// commit) the actor pauses right after it, and for a second uses the longer
// ContendedGap, since PHP requests are then likely queued.
//
// # Passivation
//
// An idle actor sends itself an idleCheck (a timer that only sends a
// message: protoactor's ReceiveTimeout races). On it, the actor asks its
// Handle to forget it: under the Handle's write lock, with its mailbox
// empty, the Handle is marked dead and the owner removes it from its index;
// then the actor stops. Senders deliver under the Handle's read lock and
// retry the lookup when it is dead, so no op reaches a stopped actor.
package actor

import (
	"context"
	"errors"
	"time"
)

// Doc is a decoded session as the actor sees it.
//
// Clone must be cheap and isolating: changes to the clone never show in the
// original. The actor never mutates a Doc it has published (to the memo or
// to a reader); every update runs on a clone.
type Doc interface {
	Clone() Doc
	// Encode returns the serialized session.
	Encode() ([]byte, error)
	// Modified reports whether the Doc changed since it was decoded or
	// cloned from a Doc that was not modified.
	Modified() bool
	// Len returns the number of top-level entries.
	Len() int
	// Size estimates the memory the Doc holds, in bytes.
	Size() int
}

// Codec decodes stored bytes and makes empty sessions.
type Codec interface {
	Decode(data []byte) (Doc, error)
	New() Doc
}

// WriteMode says what a Commit writes before it releases the lock.
type WriteMode uint8

const (
	// WriteNone writes nothing; only the lock is released.
	WriteNone WriteMode = iota
	// WriteData stores the bytes with the session TTL (SETEX).
	WriteData
	// WriteTouch only refreshes the TTL (EXPIRE), like PHP's lazy_write.
	WriteTouch
	// WriteDelete deletes the session (DEL).
	WriteDelete
)

// String names the mode.
func (m WriteMode) String() string {
	switch m {
	case WriteData:
		return "data"
	case WriteTouch:
		return "touch"
	case WriteDelete:
		return "delete"
	}
	return "none"
}

// Data is what a read returned.
type Data struct {
	Bytes []byte
	Found bool
}

// Locked is the result of a successful LockAndRead.
type Locked struct {
	// Lock is the store's opaque lock handle.
	Lock any
	// Data is the session as read right after the lock was taken.
	Data Data
	// Waited reports whether the lock was held by someone else first.
	Waited bool
	// WaitTime is how long the wait for the other holder lasted (when the
	// store knows; else the actor uses the call's duration).
	WaitTime time.Duration
}

// Store is what the actor needs from the Redis layer.
type Store interface {
	// LockAndRead takes the session lock (waiting for foreign holders until
	// ctx ends) and reads the session under it.
	LockAndRead(ctx context.Context, id string) (Locked, error)
	// Renew extends a held lock; errors wrapping ErrLockLost mean it is gone.
	Renew(ctx context.Context, lock any) error
	// Commit writes (per mode) only if the lock is still held, then
	// releases it. An error wrapping ErrLockLost means nothing was written.
	Commit(ctx context.Context, lock any, mode WriteMode, data []byte) error
	// Release gives the lock up without writing.
	Release(ctx context.Context, lock any) error
	// Get reads the session without a lock (client-side cached).
	Get(ctx context.Context, id string) (Data, error)
}

// CASResult is the outcome of CASStore.WriteIfUnlocked: exactly one of
// Applied, Held and Changed is true.
type CASResult struct {
	// Applied: written (or, for WriteNone, confirmed unchanged).
	Applied bool
	// Held: someone holds the lock; nothing was written.
	Held bool
	// Changed: the data differed from the expectation; nothing was
	// written. Current is what the session holds now.
	Changed bool
	Current Data
}

// CASStore is implemented by stores that can commit a batch without taking
// the lock: one atomic check-and-write that succeeds only while nobody
// holds the lock and the data is still what the batch started from. To PHP
// this is indistinguishable from a lock held for an instant, so it keeps
// every guarantee of the locked path while costing one round trip instead
// of two and never making a PHP request wait.
type CASStore interface {
	// CanWriteIfUnlocked reports whether WriteIfUnlocked works for id
	// (false, e.g., on a Redis Cluster where the two keys are in
	// different slots).
	CanWriteIfUnlocked(id string) bool
	// WriteIfUnlocked writes (per mode) only if the lock is free and the
	// session holds expect; WriteNone only confirms expect. Errors are
	// transport or server errors; the write may have been applied only
	// if the error says so (ErrOutcomeUnknown in the redisio adapter).
	WriteIfUnlocked(ctx context.Context, id string, expect Data, mode WriteMode, data []byte) (CASResult, error)
	// WaitUnlocked waits until nobody holds the lock (without taking it),
	// until ctx ends or the store's lock timeout.
	WaitUnlocked(ctx context.Context, id string) error
	// GetUntracked reads the session without the lock and without arming
	// any client-side cache (the batch is about to write it).
	GetUntracked(ctx context.Context, id string) (Data, error)
}

// Errors reported by the actor. Store adapters wrap their own lost-lock
// error with ErrLockLost so that the actor can recognise it.
var (
	// ErrLockLost: the lock expired or was taken before the write.
	ErrLockLost = errors.New("session lock lost")
	// ErrClosed: the actor system was closed.
	ErrClosed = errors.New("session coordinator closed")
	// ErrPanic wraps a panic raised by a user function.
	ErrPanic = errors.New("panic in session function")
)

// Hooks receive metrics events. Every field is optional. Hooks are called
// from actor goroutines and must not block.
type Hooks struct {
	// Op is called when an operation is answered.
	Op func(kind Kind, err error)
	// Batch is called after each locked batch with the number of
	// operations it carried and how long the lock was held.
	Batch func(ops int, hold time.Duration, mode WriteMode)
	// LockWait is called when a batch had to wait for a foreign lock.
	LockWait func(wait time.Duration)
	// Cache is called on every unlocked read: hit means no decode and no
	// Redis round trip were needed.
	Cache func(hit bool)
	// LockLostRetry is called when a batch is re-run after a lost lock.
	LockLostRetry func()
	// Passivated is called when an idle actor stops.
	Passivated func()
	// Gap is called when the actor paused to leave PHP a free lock window.
	Gap func(d time.Duration)
	// Conflict is called when a lock-free commit was refused: held
	// reports a lock holder, else the data had changed.
	Conflict func(held bool)
	// LockFree is called after each batch committed without the lock
	// (Batch is called for it too, with hold 0).
	LockFree func()
}

// Settings tune one actor. Zero values take the defaults noted.
type Settings struct {
	// MaxBatch caps the operations in one locked batch (default 512).
	MaxBatch int
	// MaxHold caps how long one batch applies operations while holding
	// the lock; what does not fit runs in the next batch (default 4 ms).
	MaxHold time.Duration
	// RenewAfter renews the lock when a batch has held it this long
	// (default 5 s; should be well below the lock expiry).
	RenewAfter time.Duration
	// LockTimeout bounds the wait for the lock (default 30 s).
	LockTimeout time.Duration
	// ReadTimeout bounds an unlocked read (default LockTimeout).
	ReadTimeout time.Duration
	// LockLostRetries is how often a batch is re-run after a lost lock
	// before its callers get ErrLockLost (default 3; negative = none).
	LockLostRetries int
	// IdleTimeout passivates an actor idle this long (default 30 s).
	IdleTimeout time.Duration
	// Gap and Window implement fairness to PHP: while the actor keeps
	// the lock busy, it leaves the lock free for at least Gap in every
	// Window. Gap 0 disables this.
	Gap, Window time.Duration
	// Linger is how long a hot session's actor yields before a batch so
	// that callers answered by the previous batch can join (default 0:
	// off; the Manager sets 100 µs).
	Linger time.Duration
	// ContendedGap replaces Gap for a while after a foreign holder (PHP)
	// was seen on the session (0: Gap).
	ContendedGap time.Duration
	// NoLockFree makes every batch take the lock, even where the store
	// implements CASStore and the actor knows the session's bytes.
	NoLockFree bool
}

func (s Settings) withDefaults() Settings {
	if s.MaxBatch <= 0 {
		s.MaxBatch = 512
	}
	if s.MaxHold <= 0 {
		s.MaxHold = 4 * time.Millisecond
	}
	if s.RenewAfter <= 0 {
		s.RenewAfter = 5 * time.Second
	}
	if s.LockTimeout <= 0 {
		s.LockTimeout = 30 * time.Second
	}
	if s.ReadTimeout <= 0 {
		s.ReadTimeout = s.LockTimeout
	}
	if s.LockLostRetries == 0 {
		s.LockLostRetries = 3
	} else if s.LockLostRetries < 0 {
		s.LockLostRetries = 0
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 30 * time.Second
	}
	if s.Gap > 0 && s.Window <= s.Gap {
		s.Window = 4 * s.Gap
	}
	return s
}

// FairnessFromPHP derives Gap and Window from phpredis's lock_wait_time and
// lock_retries: PHP tries every wait for retries+1 attempts, so a free gap a
// little longer than wait in every window of half retries×wait lets one of
// its attempts land. While PHP is seen active on a session the gap grows to
// twice wait (contendedGap), since a loaded host stretches PHP's sleeps.
// retries < 0 (PHP waits forever) returns zeros.
func FairnessFromPHP(wait time.Duration, retries int) (gap, window, contendedGap time.Duration) {
	if retries < 0 || wait <= 0 {
		return 0, 0, 0
	}
	if retries == 0 {
		retries = 1
	}
	gap = wait + wait/4 + 200*time.Microsecond
	window = time.Duration(retries) * wait / 2
	contendedGap = 2*wait + 200*time.Microsecond
	if window < 2*contendedGap {
		window = 2 * contendedGap
	}
	return gap, window, contendedGap
}
