// Package actor runs one session's actor: it queues that session's
// operations, turns what is queued into a batch, applies the batch to one
// working copy of the decoded session and commits it with one write,
// answering every caller after Redis acknowledged the write.
//
// The actor speaks redisio's and codec's types directly: it reads and
// writes through Store (implemented by *redisio.Store, and by
// internal/fake for unit tests), holds sessions as *codec.Session wrapped
// in Doc, keeps decoded sessions in a cache.Memo, and reports what it does
// as event.Events to Env.Events. protoactor-go runs the actors: each is
// spawned through one Props shared by the System, receives its messages
// through its PID and is stopped through protoactor, which removes it
// from its process registry. Its mailbox (inbox.go) is part of the
// actor's allocation and runs on a shared pool of goroutines
// (dispatcher.go) only while it holds messages. protoactor stays behind
// this package's own API (System, Handle, Op); the actor uses its core
// only (spawn, mailbox, send, stop), no receive timeout and no futures.
//
// # Files
//
//	doc.go        this overview
//	store.go      Store, Env, errors: what the actor needs and reports
//	settings.go   Settings and their defaults, FairnessFromPHP
//	op.go         Op, Kind, Fn: one queued operation and its answer
//	document.go   Doc (a decoded session) and Codec
//	system.go     System (the protoactor system, one shared Props) and
//	              Handle: spawning, sending, passivation handshake
//	inbox.go      the actor's protoactor mailbox and its delivery loop
//	dispatcher.go the goroutine pool the mailboxes run on
//	mailbox.go    sessionActor: receiving, flushing, lingering, idling
//	fairness.go   the pauses that leave PHP a free lock window
//	reads.go      reads served without the lock (memo, revalidation, decode)
//	batch.go      a batch: dropping abandoned ops, applying, committing, answering
//	locked.go     the locked path: LockAndRead, renewer, Commit
//	lockfree.go   the lock-free path: WriteIfUnlocked, waiting, re-runs
//
// # Batching
//
// An op joins the actor's pending list when it is received; the actor
// flushes when its mailbox is empty (the inbox's exact count of queued
// user messages: a positive count promises another delivery) or MaxBatch
// ops are pending. Reads at the head of the list are
// served at once without the lock, from the memo (cache.Memo) or from
// Store.Get and a decode. Everything else forms one batch, lock-free where
// possible (below), else locked: LockAndReadUntracked, then each op in
// arrival order on a clone of the working copy (an op whose fn fails or
// panics leaves no trace), reads inside the batch see the ops before them,
// then one Commit: WriteData when the encoded bytes differ from what was
// read, WriteTouch when they do not (PHP's lazy_write), WriteDelete after a
// destroy, WriteNone when every op failed. Ops are answered after Commit
// returned. While the batch holds the lock, ops that arrive queue in the
// mailbox and form the next batch. When the previous batch carried several
// ops and just ended, the actor lingers a few microseconds (Linger) so that
// the callers it answered can rejoin.
//
// # Lock-free batches
//
// When Store.CanWriteIfUnlocked allows it, a batch that contains no
// Destroy skips the lock: it applies its ops to the memo's copy of the
// session (fresh or stale; without one it reads the session with
// GetUntracked first) and commits with WriteIfUnlocked, which writes only
// while nobody holds the lock and the session still holds those bytes.
// Held: the actor waits (WaitUnlocked) and sends the same write again.
// Changed: the ops run again on the current bytes; after maxConflicts
// changes without a holder in between the batch takes the locked path. No
// lock is held, so no fairness pause precedes such a batch.
// Settings.NoLockFree turns this off.
//
// A locked batch applies ops for at most MaxHold; the rest goes to the
// next batch. A background renewer extends the lock while slow functions
// run. If the lock was lost (Commit or Renew report redisio.ErrLockLost)
// nothing was written; the batch is re-read and re-run, up to
// LockLostRetries times: an fn may run more than once.
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
// The owner sweeps its live actors every so often (the coordinator: a
// quarter of IdleTimeout, at most a second) and sends an idleCheck to
// those whose last flush ended IdleTimeout ago (Handle.CheckIdle; no timer
// per actor). On it, the actor asks its Handle to forget it: under its
// mailbox's lock, with the mailbox empty, the Handle is marked dead
// and the owner removes it from its index; then the actor drops its memo
// entry unless reads are served from it and asks protoactor to stop it.
// protoactor's Stop is a system message, run before any user message: it
// removes the actor from the process registry and hands the actor
// *Stopped, on which the actor tells its owner. Senders queue under the
// same lock and retry the lookup when the Handle is dead, so no op
// reaches a stopped actor; one that would is answered ErrClosed by the
// inbox.
package actor
