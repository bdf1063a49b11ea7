package actor

import (
	"context"
	"errors"
	"sync/atomic"

	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/internal/redact"
	"github.com/phpsession/phpsession/redisio"
)

// Store is what the actor needs from the Redis layer, in redisio's types.
// *redisio.Store implements it; internal/fake implements it in memory for
// unit tests.
type Store interface {
	// LockAndReadUntracked takes the session lock (waiting for foreign
	// holders until ctx ends) and reads the session under it, without
	// arming client-side caching: the actor always commits (a write or a
	// release) right after, and stores what it committed as a stale memo
	// entry. Lock.Waited is how long it waited for another holder.
	LockAndReadUntracked(ctx context.Context, id string) (*redisio.Lock, redisio.Data, error)
	// Renew extends a held lock; an error wrapping redisio.ErrLockLost
	// means it is gone.
	Renew(ctx context.Context, l *redisio.Lock) error
	// Commit writes (per mode) only if the lock is still held, then
	// releases it. An error wrapping redisio.ErrLockLost means nothing was
	// written.
	Commit(ctx context.Context, l *redisio.Lock, mode redisio.WriteMode, data []byte) (redisio.CommitResult, error)
	// Release gives the lock up without writing.
	Release(ctx context.Context, l *redisio.Lock) error
	// Get reads the session without a lock (client-side cached).
	Get(ctx context.Context, id string) (redisio.Data, error)

	// CanWriteIfUnlocked reports whether WriteIfUnlocked works for id
	// (false, e.g., on a Redis Cluster where the data and lock keys are in
	// different slots). The answer depends only on id.
	CanWriteIfUnlocked(id string) bool
	// WriteIfUnlocked writes (per mode) only if the lock is free and the
	// session holds expect; WriteNone only confirms expect. It is one
	// atomic check-and-write: to PHP it is indistinguishable from a lock
	// held for an instant. An error may mean the write was applied only if
	// it wraps redisio.ErrOutcomeUnknown.
	WriteIfUnlocked(ctx context.Context, id string, expect redisio.Data, mode redisio.WriteMode, data []byte) (redisio.CASResult, error)
	// WaitUnlocked waits until nobody holds the lock (without taking it),
	// until ctx ends or the store's lock timeout.
	WaitUnlocked(ctx context.Context, id string) error
	// GetUntracked reads the session without the lock and without arming
	// any client-side cache (the batch is about to write it).
	GetUntracked(ctx context.Context, id string) (redisio.Data, error)
	// Touch refreshes the session's TTL without the lock (EXPIRE, as
	// phpredis's update_timestamp); a missing session is not recreated.
	Touch(ctx context.Context, id string) (bool, error)
}

// TrackedStore is implemented by a Store that can write a long session
// under the lock without reading it when the memo's copy is tracked
// (*redisio.Store; see tracked.go). A Store without it writes long
// sessions like short ones.
type TrackedStore interface {
	// CanCommitTracked reports whether LockWatched, ReadWatched and
	// CommitTracked keep their tracking guarantee for id (a store that
	// delivers invalidations, both keys on one server).
	CanCommitTracked(id string) bool
	// LockWatched takes the lock (waiting like LockAndReadUntracked)
	// without reading, with a Watch of the data key made before the lock
	// was asked for; data (nil: none yet) is uploaded for CommitTracked
	// before the lock is taken: see redisio.Store.LockWatched.
	LockWatched(ctx context.Context, id string, data []byte) (*redisio.Lock, *redisio.Watch, error)
	// ReadWatched reads the session under the lock, arming client
	// tracking, with a Watch made before the read.
	ReadWatched(ctx context.Context, id string) (redisio.Data, *redisio.Watch, error)
	// CommitTracked writes data while the lock is ours, re-arms tracking
	// of the data key and releases the lock (one script; long data
	// staged, never through Lua): see redisio.Store.CommitTracked for
	// when the written copy may be stored as fresh.
	CommitTracked(ctx context.Context, l *redisio.Lock, data []byte) (redisio.CommitResult, error)
}

// Env is what all actors of one coordinator share. It is set up before the
// first actor spawns and read-only afterwards.
type Env struct {
	Store    Store
	Codec    Codec
	Memo     *cache.Memo[*Doc]
	Settings Settings
	// Events receives what the actors report (batches, lock waits,
	// conflicts, cache lookups, pauses, lost locks, Redis errors); nil
	// drops them. Called synchronously from actor goroutines.
	Events event.Sink
	// Ctx bounds every Redis call; cancel it to abort in-flight work.
	Ctx context.Context
	// Revalidate makes every unlocked read check the memo against the
	// store (for stores that deliver no invalidations): a read then costs
	// a store read but still no decode when the bytes are unchanged.
	Revalidate bool
	// Pressure, when set and true, makes idle actors passivate at once
	// (the owner is at its live-actor cap).
	Pressure func() bool
	// SessionIDs makes the actors' events, their ops and the entries they
	// store in Memo (Entry.Label) carry the session's redacted ID (redact.ID,
	// computed once per actor): set it when someone reads Event.Session.
	SessionIDs bool
}

// batchSeq is the last batch sequence number given out (Event.Batch):
// one counter for the process, so numbers are unique across Managers.
var batchSeq atomic.Uint64

// Errors reported by the actor. A lost lock is reported as the store's
// redisio.ErrLockLost.
var (
	// ErrClosed: the actor system was closed.
	ErrClosed = errors.New("session coordinator closed")
	// ErrPanic wraps a panic raised by a user function.
	ErrPanic = errors.New("panic in session function")
)

// emit hands e to the Env's sink.
func (e *Env) emit(ev event.Event) {
	if e.Events != nil {
		e.Events.Event(ev)
	}
}

// emit hands e to the Env's sink, with the identity of the session and
// of the batch in progress (0: none).
func (a *sessionActor) emit(e event.Event) {
	if sid := a.sessionRef(); sid != nil {
		e.Session = *sid
	}
	e.Batch = a.batch
	a.env.emit(e)
}

// sessionRef returns the session's redacted ID when Env.SessionIDs is
// set, else nil: computed once per actor, so that events allocate
// nothing, and shared (never changed) by its ops and memo entries
// (Entry.Label, for the events of reads served from memory), which hold
// it by pointer to stay small.
func (a *sessionActor) sessionRef() *string {
	if a.sid == nil && a.env.SessionIDs {
		sid := redact.ID(a.id)
		a.sid = &sid
	}
	return a.sid
}

// stamp records on ops the identity their Op events carry: the session's
// redacted ID and the batch carrying them (0: read without a batch). An
// op left for a later batch is stamped again by it.
func (a *sessionActor) stamp(ops []*Op, batch uint64) {
	sid := a.sessionRef()
	for _, op := range ops {
		op.sid, op.batch = sid, batch
	}
}

// redisErr reports a failed Redis call and returns err.
func (a *sessionActor) redisErr(call string, err error) error {
	if err != nil {
		a.emit(event.Event{Kind: event.RedisError, Call: call, Err: err})
	}
	return err
}
