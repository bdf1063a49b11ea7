package actor

import (
	"runtime"
	"sync"
	"sync/atomic"

	pa "github.com/asynkron/protoactor-go/actor"
)

// inbox is a session actor's protoactor mailbox, embedded in the actor
// (one allocation less per session). protoactor's default unbounded
// mailbox costs ~390 bytes per actor before its first message (a ring of
// 10 slots, a lock-free system queue with its stub node, the mailbox); an
// idle session actor holds nothing but these fields here, since both
// queues are released once drained.
//
// Like protoactor's, it runs system messages before user messages, stops
// delivering user messages while suspended, yields the goroutine every
// Throughput messages and runs on the dispatcher only while it has work.
// A panic that escapes the actor's Receive (its flush recovers its own) is
// dropped and delivery goes on, so the actor is never restarted: the
// System's shared Props could not produce it again.
type inbox struct {
	mu        sync.Mutex
	sys       []any // system messages, FIFO
	user      []any // user messages, FIFO from head
	head      int
	users     atomic.Int32 // user messages queued, updated with the queue
	running   atomic.Bool  // scheduled on the dispatcher or draining
	suspended bool         // read and written by the draining goroutine only

	invoker pa.MessageInvoker
	disp    pa.Dispatcher
}

// userKeep is the largest user queue kept allocated once drained; a
// larger one (a burst on a hot session) is released.
const userKeep = 64

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
	m.sys = append(m.sys, msg)
	m.mu.Unlock()
	m.schedule()
}

// RegisterHandlers implements protoactor's Mailbox.
func (m *inbox) RegisterHandlers(invoker pa.MessageInvoker, disp pa.Dispatcher) {
	m.invoker, m.disp = invoker, disp
}

// Start implements protoactor's Mailbox.
func (m *inbox) Start() {}

// UserMessageCount implements protoactor's Mailbox: the user messages
// queued and not yet handed to the actor. It is exact (counted under the
// queue's lock), so a positive count means another message will be
// delivered.
func (m *inbox) UserMessageCount() int { return int(m.users.Load()) }

func (m *inbox) schedule() {
	if m.running.CompareAndSwap(false, true) {
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
	return len(m.sys) > 0 || (!m.suspended && m.head < len(m.user))
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
	if len(m.sys) > 0 {
		msg = m.sys[0]
		m.sys[0] = nil
		m.sys = m.sys[1:]
		if len(m.sys) == 0 {
			m.sys = nil
		}
		return msg, true, true
	}
	if m.suspended || m.head == len(m.user) {
		return nil, false, false
	}
	msg = m.user[m.head]
	m.user[m.head] = nil
	m.head++
	if m.head == len(m.user) {
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

func (m *inbox) invoke(msg any, sys bool) {
	defer func() { _ = recover() }()
	if sys {
		m.invoker.InvokeSystemMessage(msg)
	} else {
		m.invoker.InvokeUserMessage(msg)
	}
}
