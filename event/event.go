// Package event defines the events a phpsession Manager reports and the
// Sink that receives them.
//
// Every event goes through one sink inside the Manager: it feeds
// Manager.Stats, the Config.Metrics callbacks and the Config.Events sink,
// so the three always agree. Operations are reported by the Manager itself
// (including reads served from memory without reaching a session actor);
// batches, lock waits, conflicts, cache lookups, fairness pauses, lost
// locks and Redis errors by the session actors; actor starts and stops by
// the coordinator.
//
// A Sink is called synchronously from the goroutine where the event
// happened — often a session actor, which applies every operation of its
// session — so it must be fast and must not block: update counters or
// histograms, or hand the event to a channel with a non-blocking send.
// Exporters (OpenTelemetry, Prometheus) implement Sink; see contrib/.
package event

import (
	"time"

	"github.com/phpsession/phpsession/redisio"
)

// Kind says what happened; it tells which fields of an Event are set.
type Kind uint8

const (
	// Op: an operation (a Manager call) returned. Op, Outcome, Err,
	// Duration (from the call to its answer, when timing is on: see
	// Event.Duration).
	Op Kind = iota + 1
	// Batch: a batch was committed. Ops, Write, LockFree, Duration (how
	// long the lock was held; 0 for a lock-free batch).
	Batch
	// LockWait: a batch waited for a lock held by PHP or another process.
	// Duration, LockFree (the wait was for a lock-free commit, which waits
	// without taking the lock).
	LockWait
	// Conflict: a lock-free commit was refused: Held (the lock was held),
	// else the data had changed. The batch waits or re-runs.
	Conflict
	// Cache: a read that needs no lock looked for the decoded session in
	// memory: Hit (served without a Redis round trip or a decode).
	Cache
	// LockLostRetry: a batch re-ran after its lock was lost.
	LockLostRetry
	// Gap: a session actor paused Duration to leave PHP a free lock
	// window.
	Gap
	// ActorStarted: a session actor started; Live is the number of live
	// actors after it.
	ActorStarted
	// ActorStopped: a session actor stopped; Passivated (it was idle; else
	// the Manager was closing), Live after it.
	ActorStopped
	// RedisError: a Redis call of a session actor failed: Call names it,
	// Err is the error. The operations of the batch are answered with it
	// (or the batch is re-run, for a lost lock).
	RedisError
)

// String names the kind (snake case, for metric names and labels).
func (k Kind) String() string {
	switch k {
	case Op:
		return "op"
	case Batch:
		return "batch"
	case LockWait:
		return "lock_wait"
	case Conflict:
		return "conflict"
	case Cache:
		return "cache"
	case LockLostRetry:
		return "lock_lost_retry"
	case Gap:
		return "gap"
	case ActorStarted:
		return "actor_started"
	case ActorStopped:
		return "actor_stopped"
	case RedisError:
		return "redis_error"
	}
	return "unknown"
}

// OpKind is the kind of a session operation.
type OpKind uint8

const (
	// Read runs without the lock on the current session (Get, GetValue,
	// GetAs, Load, Unmarshal, Exists).
	Read OpKind = iota
	// Update changes the session atomically with respect to PHP's lock
	// (Update, Set, Save, Delete).
	Update
	// Destroy deletes the whole session under the lock (Destroy).
	Destroy
)

// String names the kind: "read", "update" or "destroy".
func (k OpKind) String() string {
	switch k {
	case Read:
		return "read"
	case Update:
		return "update"
	case Destroy:
		return "destroy"
	}
	return "unknown"
}

// Outcome classifies how an operation ended.
type Outcome uint8

const (
	// OK: the operation succeeded.
	OK Outcome = iota
	// NotFound: the session or variable asked for does not exist.
	NotFound
	// Canceled: the caller's context ended first.
	Canceled
	// Failed: any other error (Err tells which).
	Failed
)

// String names the outcome: "ok", "not_found", "canceled" or "error".
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case NotFound:
		return "not_found"
	case Canceled:
		return "canceled"
	}
	return "error"
}

// Event is one thing that happened. Kind says which of the other fields
// are set; the rest are zero.
type Event struct {
	// Kind is what happened.
	Kind Kind

	// Session is the redacted ID of the session the event concerns (the
	// form errors and logs show: phpsession.RedactID, at most 6
	// characters and "…"; never the ID itself, which is a credential).
	// It is set on the events of session actors and on Op events, when a
	// Config.Events sink is set (Stats and Metrics do not need it); empty
	// on ActorStarted and ActorStopped, and on an Op rejected before it
	// had a session ID (ErrNoSessionID, ErrInvalidID).
	Session string
	// Batch is the sequence number of the batch the event belongs to,
	// shared by the Batch event, the events during it (LockWait,
	// Conflict, LockLostRetry, RedisError) and the Op events of the
	// operations it carried: a sink can tie an operation to the batch
	// (and its span) that applied it. Numbers are unique within the
	// process (never 0); 0 when no batch is involved (a read served from
	// memory or by a plain read, an operation that failed before reaching
	// its session's actor).
	Batch uint64

	// Op is the operation's kind (Op events).
	Op OpKind
	// Outcome classifies Err (Op events).
	Outcome Outcome
	// Err is the operation's error (Op; nil on success) or the failed
	// Redis call's error (RedisError).
	Err error
	// Call names the failed Redis call (RedisError): "get", "lock",
	// "renew", "commit", "release", "write_if_unlocked", "wait_unlocked".
	Call string

	// Duration: Op: from the call to its answer, measured only when a
	// Config.Events sink is set (else 0); Batch: lock hold; LockWait:
	// the wait; Gap: the pause.
	Duration time.Duration

	// Ops is the number of operations a batch carried (Batch).
	Ops int
	// OpsByKind splits Ops by kind, indexed by OpKind (Batch): how many
	// reads, updates and destroys the batch carried.
	OpsByKind [3]int
	// Write is what a batch wrote (Batch).
	Write redisio.WriteMode
	// LockFree: the batch committed, or the wait happened, without taking
	// the lock (Batch, LockWait).
	LockFree bool
	// Held: a lock-free commit was refused because the lock was held,
	// else because the data had changed (Conflict).
	Held bool
	// Hit: served from memory (Cache).
	Hit bool

	// Live is the number of live session actors (ActorStarted,
	// ActorStopped).
	Live int
	// Passivated: the actor stopped because it was idle (ActorStopped).
	Passivated bool
}

// Sink receives events. It is called synchronously, from many goroutines
// at once, and must be fast and must not block.
type Sink interface {
	Event(e Event)
}

// Func adapts a function to Sink.
type Func func(e Event)

// Event calls f(e).
func (f Func) Event(e Event) { f(e) }

// Multi returns a Sink that hands every event to each non-nil sink in
// turn.
func Multi(sinks ...Sink) Sink {
	var out multi
	for _, s := range sinks {
		if s != nil {
			out = append(out, s)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return out
}

type multi []Sink

func (m multi) Event(e Event) {
	for _, s := range m {
		s.Event(e)
	}
}

// Discard is a Sink that drops every event.
var Discard Sink = Func(func(Event) {})
