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
// Like protoactor's, it runs system messages before the user messages it
// has not yet taken (drain takes up to userBatch at a time), stops
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
	// users counts the user messages queued or taken and not yet handed
	// to the actor: raised with the queue, lowered by drain.
	users   atomic.Int32
	running atomic.Bool // scheduled on the dispatcher or draining
	// suspended and stopped are read and written by the draining
	// goroutine only; stopped is set by the actor when it stops.
	suspended bool
	stopped   bool
	// dead: the Handle accepts no message any more (guarded by mu: set
	// by Handle.Close and passivation, read by post).
	dead bool

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

// PostUserMessage implements protoactor's Mailbox. The Handle posts
// without protoactor (post).
func (m *inbox) PostUserMessage(msg any) {
	m.mu.Lock()
	m.enqueue(msg)
	m.mu.Unlock()
	m.schedule()
}

// post queues msg unless the Handle is dead (false). op, when msg is one,
// gets the actor's reference first (dropped when it leaves the actor's
// queue).
func (m *inbox) post(msg any, op *Op) bool {
	m.mu.Lock()
	if m.dead {
		m.mu.Unlock()
		return false
	}
	if op != nil {
		op.ref()
	}
	m.enqueue(msg)
	m.mu.Unlock()
	m.schedule()
	return true
}

// enqueue appends a user message; the caller holds mu.
func (m *inbox) enqueue(msg any) {
	m.user = append(m.user, msg)
	m.users.Add(1)
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
// queued and not yet handed to the actor. It is exact (raised under the
// queue's lock, lowered by drain as it hands each over), so a positive
// count means another message will be delivered.
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

// userBatch is how many user messages drain takes from the queue under one
// lock: a hot session's ops arrive one per caller, and a lock per message
// was most of the mailbox's cost, contended by the callers posting.
const userBatch = 32

// drain delivers messages until the queues are empty (or the mailbox is
// suspended). It takes up to userBatch user messages at a time and hands
// them to the actor one by one; a system message posted meanwhile is
// delivered after them (in this package the only ones posted while the
// actor runs are its own Stop, after which the rest are answered
// ErrClosed by invoke either way, and protoactor's Suspend/Resume, which
// an inbox never triggers: it escalates no failure).
func (m *inbox) drain() {
	t := m.disp.Throughput()
	var buf [userBatch]any
	for i := 0; ; {
		msg, n, ok := m.take(buf[:])
		if !ok {
			return
		}
		if n == 0 {
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
		for j := range n {
			if i++; i > t {
				i = 0
				runtime.Gosched()
			}
			msg := buf[j]
			buf[j] = nil
			// the count drops as each is handed over: a positive count
			// still means another message will be delivered
			m.users.Add(-1)
			m.invoke(msg, false)
		}
	}
}

// take takes the next messages: a system one first (msg, n == 0), else up
// to len(buf) user ones into buf (n of them) unless suspended; ok is false
// when there is nothing to deliver. The user messages taken stay counted
// by UserMessageCount until drain hands each over.
func (m *inbox) take(buf []any) (msg any, n int, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sys; s != nil {
		m.sys = s.next
		return s.msg, 0, true
	}
	if m.suspended || int(m.head) == len(m.user) {
		return nil, 0, false
	}
	n = copy(buf, m.user[m.head:])
	clear(m.user[m.head : int(m.head)+n])
	m.head += int32(n)
	if int(m.head) == len(m.user) {
		m.head = 0
		if cap(m.user) > userKeep {
			m.user = nil
		} else {
			m.user = m.user[:0]
		}
	}
	return nil, n, true
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
