package actor

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
)

// System owns the protoactor actor system that runs session actors.
type System struct {
	as   *pa.ActorSystem
	disp *dispatcher
	once sync.Once

	// props is shared by every actor of the System (a Props per actor
	// cost ~270 bytes). Its producers return spawning, set under spawnMu
	// for the duration of one Spawn: protoactor calls them synchronously
	// inside Spawn, and never again since an inbox never lets protoactor
	// restart its actor.
	props    *pa.Props
	spawnMu  sync.Mutex
	spawning *sessionActor
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

// Shutdown stops the actor system and its worker goroutines. Actors should
// have been closed first.
func (s *System) Shutdown() {
	s.once.Do(func() {
		s.as.Shutdown()
		s.disp.shutdown()
	})
}

// Owner is told about an actor's lifecycle by its Handle.
type Owner interface {
	// Forget removes h from the owner's index. It is called with h's send
	// lock held, after h was marked dead, so that no new op can reach the
	// actor.
	Forget(h *Handle)
	// Stopped is called once the actor has stopped; passivated reports
	// that it stopped because it was idle (else it was closed).
	Stopped(h *Handle, passivated bool)
}

// Handle is the owner's reference to one session actor. Every message to
// the actor goes through the Handle under a read lock; passivation takes the
// write lock, checks that the mailbox is empty and marks the Handle dead, so
// an op is either delivered to a live actor or refused (and the sender
// spawns a fresh actor) — never dropped.
type Handle struct {
	ID string

	mu   sync.RWMutex
	dead bool
	pid  *pa.PID
	root *pa.RootContext
	a    *sessionActor

	// flushed is when the actor's last flush ended (UnixNano; 0: none
	// yet), written by the actor, read by CheckIdle and the actor.
	flushed atomic.Int64
	// checkSent: a CheckIdle message is queued and not yet received.
	checkSent atomic.Bool
}

// Spawn starts the actor for session id.
func (s *System) Spawn(id string, env *Env, owner Owner) *Handle {
	h := &Handle{ID: id, root: s.as.Root}
	a := &sessionActor{id: id, env: env, owner: owner, h: h, set: env.Settings}
	a.set.MaxBatch = max(a.set.MaxBatch, 1)
	h.a = a
	s.spawnMu.Lock()
	s.spawning = a
	h.pid = s.as.Root.Spawn(s.props)
	s.spawning = nil
	s.spawnMu.Unlock()
	return h
}

// Send queues op. It returns false when the actor is passivated or closed;
// the caller should then look the session up again.
func (h *Handle) Send(op *Op) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.dead {
		return false
	}
	op.ref() // the actor's, dropped when the op leaves its queue
	h.root.Send(h.pid, op)
	return true
}

func (h *Handle) sendSelf(msg any) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if !h.dead {
		h.root.Send(h.pid, msg)
	}
}

// Close marks the handle dead (no further op is accepted) and tells the
// actor to finish everything queued and stop. The owner's Stopped is called
// when it has.
func (h *Handle) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dead {
		return
	}
	h.dead = true
	h.root.Send(h.pid, closeMsg{})
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

// tryForget marks the handle dead if the actor has nothing queued.
func (h *Handle) tryForget(idle func() bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dead || !idle() {
		return false
	}
	h.dead = true
	h.a.owner.Forget(h)
	return true
}
