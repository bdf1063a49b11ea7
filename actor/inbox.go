package actor

import (
	"runtime"
	"sync"
	"sync/atomic"

	pa "github.com/asynkron/protoactor-go/actor"
)

// inbox is a session actor's protoactor mailbox, part of the actor's
// allocation (the System's one Props returns it from its mailbox
// producer). protoactor's default unbounded mailbox costs ~390 bytes per
// actor before its first message (a ring of 10 slots, a lock-free system
// queue with its stub node, the mailbox); an idle session actor holds
// nothing but these fields, since both queues are released once drained.
//
// Like protoactor's, it runs system messages before user messages, stops
// delivering user messages while suspended, yields the goroutine every
// Throughput messages and runs on the dispatcher only while it has work,
// so delivery is FIFO and one goroutine at a time per actor. A user
// message that reaches it after the actor stopped is not handed to
// protoactor (which would drop it): an op is answered ErrClosed. A panic
// that escapes the actor's Receive (its flushes recover their own) is
// dropped and delivery goes on, so the actor is never restarted: the
// System's shared Props could not produce it again.
type inbox struct {
	mu sync.Mutex
	// sys holds the system messages, FIFO: protoactor's Started at spawn
	// and Stop at the end, so a list costs less in a live actor than a
	// slice.
	sys  *sysMsg
	user []any // user messages, FIFO from head
	head int32
	// users counts the user messages queued, updated with the queue.
	users   atomic.Int32
	running atomic.Bool // scheduled on the dispatcher or draining
	// suspended and stopped are read and written by the draining
	// goroutine only; stopped is set by the actor when it stops.
	suspended bool
	stopped   bool

	invoker pa.MessageInvoker // the actor's protoactor context
	disp    *dispatcher
}

// sysMsg is one queued system message.
type sysMsg struct {
	msg  any
	next *sysMsg
}

// userKeep is the largest user queue kept allocated once drained (4 KiB):
// a hot session's queue holds about one batch (MaxBatch, 64 writers) and
// is reused burst after burst; a larger one, left by an unusual burst, is
// released.
const userKeep = 256

// PostUserMessage implements protoactor's Mailbox.
func (m *inbox) PostUserMessage(msg any) {
	m.mu.Lock()
	m.user = append(m.user, msg)
	m.users.Add(1)
	m.mu.Unlock()
	m.schedule()
}

// PostSystemMessage implements protoactor's Mailbox.
func (m *inbox) PostSystemMessage(msg any) {
	m.mu.Lock()
	last := &m.sys
	for *last != nil {
		last = &(*last).next
	}
	*last = &sysMsg{msg: msg}
	m.mu.Unlock()
	m.schedule()
}

// RegisterHandlers implements protoactor's Mailbox. The dispatcher is the
// System's (its Props names it).
func (m *inbox) RegisterHandlers(invoker pa.MessageInvoker, disp pa.Dispatcher) {
	m.invoker, m.disp = invoker, disp.(*dispatcher)
}

// Start implements protoactor's Mailbox.
func (m *inbox) Start() {}

// UserMessageCount implements protoactor's Mailbox: the user messages
// queued and not yet handed to the actor. It is exact (counted under the
// queue's lock), so a positive count means another message will be
// delivered.
func (m *inbox) UserMessageCount() int { return int(m.users.Load()) }

func (m *inbox) schedule() {
	if !m.running.Load() && m.running.CompareAndSwap(false, true) {
		m.disp.Schedule(m.process)
	}
}

func (m *inbox) process() {
	for {
		m.drain()
		m.running.Store(false)
		// a message posted after drain saw the queues empty scheduled
		// nothing (running was still true): take it here
		if !m.hasWork() || !m.running.CompareAndSwap(false, true) {
			return
		}
	}
}

func (m *inbox) hasWork() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sys != nil || (!m.suspended && int(m.head) < len(m.user))
}

// drain delivers messages until the queues are empty (or the mailbox is
// suspended).
func (m *inbox) drain() {
	t := m.disp.Throughput()
	for i := 0; ; i++ {
		if i > t {
			i = 0
			runtime.Gosched()
		}
		msg, sys, ok := m.pop()
		if !ok {
			return
		}
		if sys {
			switch msg.(type) {
			case *pa.SuspendMailbox:
				m.suspended = true
			case *pa.ResumeMailbox:
				m.suspended = false
			default:
				m.invoke(msg, true)
			}
			continue
		}
		m.invoke(msg, false)
	}
}

// pop takes the next message: a system one first, a user one unless
// suspended.
func (m *inbox) pop() (msg any, sys, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sys; s != nil {
		m.sys = s.next
		return s.msg, true, true
	}
	if m.suspended || int(m.head) == len(m.user) {
		return nil, false, false
	}
	msg = m.user[m.head]
	m.user[m.head] = nil
	m.head++
	if int(m.head) == len(m.user) {
		m.head = 0
		if cap(m.user) > userKeep {
			m.user = nil
		} else {
			m.user = m.user[:0]
		}
	}
	m.users.Add(-1)
	return msg, false, true
}

// invoke hands msg to the actor's protoactor context. After the actor
// stopped nothing can be sent to it (its Handle is dead); an op that got
// in all the same is answered ErrClosed rather than dropped.
func (m *inbox) invoke(msg any, sys bool) {
	defer func() { _ = recover() }()
	if sys {
		m.invoker.InvokeSystemMessage(msg)
		return
	}
	if m.stopped {
		if op, ok := msg.(*Op); ok {
			op.answer(ErrClosed)
			op.unref() // the reference Handle.Send took
		}
		return
	}
	m.invoker.InvokeUserMessage(msg)
}
