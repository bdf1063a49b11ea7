package actor

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// inbox is a session actor's mailbox, part of the actor's allocation. It
// holds the messages sent to the actor (ops, idle checks, close) in
// arrival order; while it has any, the actor runs on one of the
// dispatcher's goroutines (sessionActor.run), one message at a time, and
// an actor with an empty inbox owns no goroutine. It keeps no queue once
// drained beyond a small one, so an idle actor costs its fields only.
type inbox struct {
	mu      sync.Mutex
	q       []any // messages from head on, FIFO
	head    int32
	n       atomic.Int32 // messages queued, counted with the queue
	running atomic.Bool  // scheduled on the dispatcher or draining
}

// qKeep is the largest queue kept allocated once drained (4 KiB): a hot
// session's queue holds about one batch (MaxBatch, 64 writers) and is
// reused burst after burst; a larger one, left by an unusual burst, is
// released.
const qKeep = 256

// UserMessageCount returns the messages queued and not yet handed to the
// actor. It is exact (counted under the queue's lock): a positive count
// means another message will be delivered.
func (m *inbox) UserMessageCount() int { return int(m.n.Load()) }

// put queues msg and reports whether the caller must schedule the actor.
func (m *inbox) put(msg any) bool {
	m.mu.Lock()
	m.q = append(m.q, msg)
	m.n.Add(1)
	m.mu.Unlock()
	return m.claim()
}

// claim reports whether the caller takes the right to run the actor.
func (m *inbox) claim() bool {
	return !m.running.Load() && m.running.CompareAndSwap(false, true)
}

// take removes the next message; ok is false when there is none.
func (m *inbox) take() (msg any, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if int(m.head) == len(m.q) {
		return nil, false
	}
	msg = m.q[m.head]
	m.q[m.head] = nil
	m.head++
	if int(m.head) == len(m.q) {
		m.head = 0
		if cap(m.q) > qKeep {
			m.q = nil
		} else {
			m.q = m.q[:0]
		}
	}
	m.n.Add(-1)
	return msg, true
}

// send queues msg for the actor and schedules it unless it runs.
func (a *sessionActor) send(msg any) {
	if a.mb.put(msg) {
		a.disp.Schedule(a.run)
	}
}

// run delivers the inbox's messages to receive until it is empty, yielding
// the goroutine every Throughput messages.
func (a *sessionActor) run() {
	t := a.disp.Throughput()
	for {
		for i := 0; ; i++ {
			if i > t {
				i = 0
				runtime.Gosched()
			}
			msg, ok := a.mb.take()
			if !ok {
				break
			}
			a.deliver(msg)
		}
		a.mb.running.Store(false)
		// a message queued after take found the inbox empty scheduled
		// nothing (running was still true): deliver it here
		if a.mb.UserMessageCount() == 0 || !a.mb.claim() {
			return
		}
	}
}

// deliver hands msg to receive. After the actor stopped nothing can be
// sent to it (its Handle is dead); an op that got in all the same is
// answered ErrClosed. A panic that escapes receive (its flushes recover
// their own) is dropped and delivery goes on.
func (a *sessionActor) deliver(msg any) {
	defer func() { _ = recover() }()
	if a.stopped {
		if op, ok := msg.(*Op); ok {
			op.answer(ErrClosed)
			op.unref() // the reference Handle.Send took
		}
		return
	}
	a.receive(msg)
}
