package actor

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
)

// System owns the protoactor actor system that runs session actors: each
// actor is spawned through it (a process registry entry under a generated
// name, removed when the actor stops), receives its messages through its
// PID and is stopped through it. Its mailbox (inbox.go) runs on a pool of
// goroutines (dispatcher.go) only while it holds messages, one message at
// a time, so an idle actor owns no goroutine.
type System struct {
	as   *pa.ActorSystem
	disp *dispatcher
	once sync.Once

	// mu serialises Spawn. props is shared by every actor of the System
	// (a Props per actor cost ~270 bytes); its producers return spawning,
	// set under mu for the duration of one Spawn: protoactor calls them
	// synchronously inside Spawn, and never again since an inbox never
	// lets protoactor restart its actor.
	mu       sync.Mutex
	props    *pa.Props
	spawning *sessionActor
	// shared: the actors' shared part for the Env and Owner of the last
	// Spawn (guarded by mu; a coordinator has one of each).
	shared *shared
}

// NewSystem starts an actor system whose own logging is discarded.
func NewSystem() *System {
	as := pa.NewActorSystem(
		pa.WithLoggerFactory(func(*pa.ActorSystem) *slog.Logger {
			return slog.New(slog.NewTextHandler(io.Discard, nil))
		}),
		pa.WithDeadLetterRequestLogging(false),
	)
	s := &System{as: as, disp: newDispatcher(64, time.Second)}
	s.props = pa.PropsFromProducer(func() pa.Actor { return s.spawning },
		pa.WithDispatcher(s.disp),
		pa.WithMailbox(func() pa.Mailbox { return &s.spawning.mb }),
	)
	return s
}

// Shutdown stops the actor system and its worker goroutines once they
// are idle. Actors should have been closed first.
func (s *System) Shutdown() {
	s.once.Do(func() {
		s.as.Shutdown()
		s.disp.shutdown()
	})
}

// Owner is told about an actor's lifecycle by its Handle.
type Owner interface {
	// Forget removes h from the owner's index. It is called with the
	// lock of h's mailbox held, after h was marked dead, so that no new op
	// can reach the actor.
	Forget(h *Handle)
	// Stopped is called once the actor has stopped; passivated reports
	// that it stopped because it was idle (else it was closed).
	Stopped(h *Handle, passivated bool)
}

// Handle is the owner's reference to one session actor. Every message to
// the actor is queued in its mailbox under the mailbox's lock, refused
// once the Handle is dead; passivation takes the same lock, checks that
// the mailbox is empty and marks the Handle dead, so an op is either
// delivered to a live actor or refused (and the sender spawns a fresh
// actor) — never dropped.
type Handle struct {
	ID string

	a   *sessionActor // the actor this Handle is part of
	pid *pa.PID       // the actor's protoactor process

	// flushed is when the actor's last flush ended (UnixNano; 0: none
	// yet), written by the actor, read by CheckIdle and the actor.
	flushed atomic.Int64
	// checkSent: a CheckIdle message is queued and not yet received.
	checkSent atomic.Bool
}

// Spawn starts the actor for session id.
func (s *System) Spawn(id string, env *Env, owner Owner) *Handle {
	a := &sessionActor{id: id}
	h := &a.h
	h.ID, h.a = id, a
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh := s.shared; sh == nil || sh.env != env || sh.owner != owner {
		sh = &shared{env: env, set: env.Settings, owner: owner}
		sh.set.MaxBatch = max(sh.set.MaxBatch, 1)
		s.shared = sh
	}
	a.shared = s.shared
	s.spawning = a
	h.pid = s.as.Root.Spawn(s.props)
	s.spawning = nil
	return h
}

// Send queues op. It returns false when the actor is passivated or closed;
// the caller should then look the session up again.
func (h *Handle) Send(op *Op) bool { return h.a.mb.post(op, op) }

func (h *Handle) sendSelf(msg any) { h.a.mb.post(msg, nil) }

// Close marks the handle dead (no further op is accepted) and tells the
// actor to finish everything queued and stop. The owner's Stopped is called
// when it has.
func (h *Handle) Close() {
	m := &h.a.mb
	m.mu.Lock()
	if m.dead {
		m.mu.Unlock()
		return
	}
	m.enqueue(closeMsg{})
	m.dead = true
	m.mu.Unlock()
	m.schedule()
}

// CheckIdle asks the actor to passivate if it has been idle for its
// IdleTimeout at now (the owner's periodic idle sweep calls it for every
// live actor; one sweep replaces a timer per actor). At most one check is
// queued at a time.
func (h *Handle) CheckIdle(now time.Time) {
	last := h.flushed.Load()
	if last == 0 || now.Sub(time.Unix(0, last)) < h.a.set.IdleTimeout || h.checkSent.Load() || !h.checkSent.CompareAndSwap(false, true) {
		return
	}
	h.sendSelf(idleCheck{})
}

// lastFlush returns when the actor's last flush ended.
func (h *Handle) lastFlush() time.Time { return time.Unix(0, h.flushed.Load()) }

// Nudge asks the actor to passivate as soon as it is idle (used when the
// owner is at its live-actor cap).
func (h *Handle) Nudge() { h.sendSelf(idleCheck{force: true}) }

// tryForget marks the handle dead if the actor has nothing queued (no
// user message waiting in its mailbox, none taken and not yet handed to
// it).
func (h *Handle) tryForget() bool {
	m := &h.a.mb
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dead || m.users.Load() != 0 {
		return false
	}
	m.dead = true
	h.a.owner.Forget(h)
	return true
}
