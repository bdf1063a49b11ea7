// Package coordinator maps session IDs to their actors: it spawns an actor
// on first use, lets idle actors passivate, caps how many are alive, and
// drains them all on Close.
package coordinator

import (
	"context"
	"errors"
	"hash/maphash"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/event"
)

// ErrClosed is returned for operations submitted after Close.
var ErrClosed = actor.ErrClosed

// Config configures a Coordinator.
type Config struct {
	// Env is shared by all actors (store, codec, memo, settings, event
	// sink). The coordinator also reports actor starts and stops to
	// Env.Events.
	Env *actor.Env
	// MaxActors caps the live actors (0 = unlimited). When the cap is
	// reached, new sessions wait until an idle actor passivates.
	MaxActors int
}

const shards = 64

// shard is one part of the session index. Lookups of a live session take
// only the read lock; the shard's most recently looked-up handle (hot)
// needs none.
type shard struct {
	mu   sync.RWMutex
	m    map[string]*actor.Handle
	peak int // len(m) at its largest since m was made
	// hot is a handle of m (or nil), so that the calls on a hot session
	// skip the locks: the read lock of a shard every caller of that
	// session takes is a memory word both cores keep writing. It is set
	// under mu (read or write) from m only, and cleared when its handle
	// leaves m (Forget, Close), so it never holds a handle the index has
	// forgotten for long; a handle it holds may be dead (Handle.Send
	// then refuses the op and Submit looks the session up again).
	hot atomic.Pointer[actor.Handle]
}

// put indexes h. Called with mu held.
func (s *shard) put(id string, h *actor.Handle) {
	s.m[id] = h
	s.peak = max(s.peak, len(s.m))
	s.hot.Store(h)
}

// remove drops id. A Go map keeps the memory of its largest size, so once
// it holds an eighth of its peak it is copied into a map of its current
// size (a burst of sessions leaves no index memory behind once idle).
// Called with mu held.
func (s *shard) remove(id string) {
	if h := s.hot.Load(); h != nil && h.ID == id {
		s.hot.Store(nil)
	}
	delete(s.m, id)
	if s.peak >= minShrink && len(s.m) <= s.peak/8 {
		m := make(map[string]*actor.Handle, len(s.m))
		maps.Copy(m, s.m) // not maps.Clone: it keeps the capacity
		s.m, s.peak = m, len(m)
	}
}

// minShrink is the smallest peak of a shard's map that remove shrinks.
const minShrink = 512

// Coordinator routes operations to per-session actors.
type Coordinator struct {
	sys    *actor.System
	env    *actor.Env
	seed   maphash.Seed
	shards [shards]shard

	max   int
	live  atomic.Int64
	slots chan struct{} // nil when unlimited

	closeMu     sync.RWMutex
	closed      bool
	closing     chan struct{} // closed when Close starts
	stopped     chan struct{} // closed when live drops to 0 after Close
	stoppedOnce sync.Once
	abort       context.CancelFunc
	nudgeMu     sync.Mutex
	waiters     atomic.Int64

	// The idle sweep (sweep) runs while actors are live.
	sweepEvery time.Duration
	sweeping   atomic.Bool
}

// New returns a Coordinator. It owns an actor system until Close.
func New(cfg Config) *Coordinator {
	env := *cfg.Env
	base := env.Ctx
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithCancel(base)
	env.Ctx = ctx
	if env.Events == nil {
		env.Events = event.Discard
	}
	c := &Coordinator{
		sys:     actor.NewSystem(),
		env:     &env,
		seed:    maphash.MakeSeed(),
		max:     cfg.MaxActors,
		abort:   cancel,
		stopped: make(chan struct{}),
		closing: make(chan struct{}),
	}
	c.env.Pressure = c.underPressure
	c.sweepEvery = sweepInterval(env.Settings.IdleTimeout)
	for i := range c.shards {
		c.shards[i].m = make(map[string]*actor.Handle)
	}
	if c.max > 0 {
		c.slots = make(chan struct{}, c.max)
	}
	return c
}

func (c *Coordinator) shard(id string) *shard {
	return &c.shards[maphash.String(c.seed, id)%shards]
}

// Live returns the number of live actors.
func (c *Coordinator) Live() int { return int(c.live.Load()) }

// Submit queues op on the actor of id without waiting for the answer.
func (c *Coordinator) Submit(ctx context.Context, id string, op *actor.Op) error {
	haveSlot := false
	defer func() {
		if haveSlot {
			<-c.slots
		}
	}()
	s := c.shard(id)
	// The shard's hot handle needs neither lock: a live handle takes the
	// op (queued before Close's closeMsg, it is answered by the final
	// flush); a dead one refuses it (passivated, or closed by Close).
	if h := s.hot.Load(); h != nil && h.ID == id && h.Send(op) {
		return nil
	}
	for {
		c.closeMu.RLock()
		if c.closed {
			c.closeMu.RUnlock()
			return ErrClosed
		}
		s.mu.RLock()
		h := s.m[id]
		if h != nil && s.hot.Load() != h {
			s.hot.Store(h)
		}
		s.mu.RUnlock()
		var live int64 // > 0: an actor was spawned
		if h == nil {
			s.mu.Lock()
			if h = s.m[id]; h == nil && (c.slots == nil || haveSlot || c.trySlot()) {
				haveSlot = false
				live = c.live.Add(1)
				h = c.sys.Spawn(id, c.env, c)
				s.put(id, h)
			}
			s.mu.Unlock()
		}
		if live > 0 {
			c.startSweep()
			c.env.Events.Event(event.Event{Kind: event.ActorStarted, Live: int(live)})
		}
		if h != nil {
			ok := h.Send(op)
			c.closeMu.RUnlock()
			if ok {
				return nil
			}
			continue // passivated between lookup and send: look again
		}
		c.closeMu.RUnlock()
		if err := c.waitSlot(ctx); err != nil {
			return err
		}
		haveSlot = true
	}
}

// sweepInterval is how often the idle sweep looks at the live actors: a
// quarter of the idle timeout, between 1 ms and 1 s, so that an actor
// passivates at most that long after its IdleTimeout.
func sweepInterval(idle time.Duration) time.Duration {
	return min(max(idle/4, time.Millisecond), time.Second)
}

// startSweep starts the idle sweep unless it runs.
func (c *Coordinator) startSweep() {
	if !c.sweeping.Load() && c.sweeping.CompareAndSwap(false, true) {
		go c.sweep()
	}
}

// sweep asks every live actor to passivate if it has been idle for its
// IdleTimeout (actor.Handle.CheckIdle), every sweepEvery: one goroutine
// and one pass over the index instead of a timer per actor. It ends when
// no actor is live (Submit starts it again) or on Close.
func (c *Coordinator) sweep() {
	t := time.NewTicker(c.sweepEvery)
	defer t.Stop()
	var hs []*actor.Handle
	for {
		select {
		case <-c.closing:
			c.sweeping.Store(false)
			return
		case now := <-t.C:
			for i := range c.shards {
				s := &c.shards[i]
				s.mu.Lock()
				for _, h := range s.m {
					hs = append(hs, h)
				}
				s.mu.Unlock()
				// outside the shard's lock: a check may make the
				// actor forget itself (Forget takes it)
				for _, h := range hs {
					h.CheckIdle(now)
				}
				clear(hs)
				hs = hs[:0]
			}
		}
		if c.live.Load() == 0 {
			c.sweeping.Store(false)
			// an actor spawned after the load sees sweeping false
			// and starts a sweep, unless this one goes on
			if c.live.Load() == 0 || !c.sweeping.CompareAndSwap(false, true) {
				return
			}
		}
	}
}

func (c *Coordinator) trySlot() bool {
	select {
	case c.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// waitSlot waits for room under the live-actor cap, asking idle actors to
// passivate.
func (c *Coordinator) waitSlot(ctx context.Context) error {
	c.waiters.Add(1)
	defer c.waiters.Add(-1)
	c.nudgeIdle()
	select {
	case c.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closing:
		return ErrClosed
	}
}

// underPressure reports whether callers wait for a free actor slot; actors
// then passivate as soon as they are idle.
func (c *Coordinator) underPressure() bool { return c.waiters.Load() > 0 }

// nudgeIdle asks a few actors to passivate if they are idle.
func (c *Coordinator) nudgeIdle() {
	if !c.nudgeMu.TryLock() {
		return
	}
	defer c.nudgeMu.Unlock()
	var hs []*actor.Handle
	want := c.max/16 + 1
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for _, h := range s.m {
			hs = append(hs, h)
			if len(hs) >= want {
				break
			}
		}
		s.mu.Unlock()
		if len(hs) >= want {
			break
		}
	}
	for _, h := range hs {
		h.Nudge()
	}
}

// Forget implements actor.Owner.
func (c *Coordinator) Forget(h *actor.Handle) {
	s := c.shard(h.ID)
	s.mu.Lock()
	if s.m[h.ID] == h {
		s.remove(h.ID)
	}
	s.mu.Unlock()
}

// Stopped implements actor.Owner.
func (c *Coordinator) Stopped(h *actor.Handle, passivated bool) {
	if c.slots != nil {
		<-c.slots
	}
	live := c.live.Add(-1)
	c.env.Events.Event(event.Event{Kind: event.ActorStopped, Live: int(live), Passivated: passivated})
	if live == 0 {
		c.closeMu.RLock()
		closed := c.closed
		c.closeMu.RUnlock()
		if closed {
			c.signalStopped()
		}
	}
}

func (c *Coordinator) signalStopped() {
	c.stoppedOnce.Do(func() { close(c.stopped) })
}

// Close stops accepting operations, lets every actor finish what is queued
// (each queued op is answered) and stops them. If ctx ends first, in-flight
// Redis calls are aborted and Close returns ctx's error once the actors have
// stopped.
func (c *Coordinator) Close(ctx context.Context) error {
	c.closeMu.Lock()
	if c.closed {
		c.closeMu.Unlock()
		select {
		case <-c.stopped:
			return nil
		case <-ctx.Done():
			return errors.Join(ErrClosed, ctx.Err())
		}
	}
	c.closed = true
	close(c.closing)
	c.closeMu.Unlock()

	var hs []*actor.Handle
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		for id, h := range s.m {
			hs = append(hs, h)
			delete(s.m, id)
		}
		s.hot.Store(nil)
		s.mu.Unlock()
	}
	for _, h := range hs {
		h.Close()
	}
	if c.live.Load() == 0 {
		c.signalStopped()
	}
	select {
	case <-c.stopped:
		c.abort()
		c.sys.Shutdown()
		return nil
	case <-ctx.Done():
	}
	// Out of time: abort in-flight Redis calls; actors then answer their
	// ops with errors and stop. Do not wait for them beyond this point (a
	// user function that never returns would block Close forever); the
	// actor system shuts down once they have stopped.
	c.abort()
	go func() {
		<-c.stopped
		c.sys.Shutdown()
	}()
	return errors.Join(ErrClosed, ctx.Err())
}
