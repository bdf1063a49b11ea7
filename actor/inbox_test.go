package actor

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"
	"unsafe"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/event"
)

// recorder is a MessageInvoker that records what it is handed.
type recorder struct {
	mu          sync.Mutex
	got         []any
	mb          *inbox
	seen        []int // UserMessageCount when each message was delivered
	first, done chan struct{}
	want        int
}

func (r *recorder) InvokeSystemMessage(m any) { r.add(m) }
func (r *recorder) InvokeUserMessage(m any) {
	if m == "panic" {
		r.add(m)
		panic("boom")
	}
	r.add(m)
}
func (r *recorder) EscalateFailure(any, any) { panic("inbox escalated a failure") }

func (r *recorder) add(m any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	r.seen = append(r.seen, r.mb.UserMessageCount())
	if len(r.got) == 1 {
		close(r.first)
	}
	if len(r.got) == r.want {
		close(r.done)
	}
}

// TestInbox: system messages go first, user messages in order, the count
// is exact, a panic does not stop delivery, Suspend holds user messages
// until Resume, and drained queues are released.
func TestInbox(t *testing.T) {
	d := newDispatcher(2, time.Minute)
	defer d.shutdown()
	mb := &inbox{}
	r := &recorder{mb: mb, first: make(chan struct{}), done: make(chan struct{}), want: 6}
	mb.RegisterHandlers(r, d)

	// queue everything before the first run: hold the scheduler
	mb.running.Store(true)
	mb.PostUserMessage("u1")
	mb.PostUserMessage("panic")
	mb.PostSystemMessage("s1")
	mb.PostUserMessage("u2")
	mb.PostSystemMessage(&pa.SuspendMailbox{})
	require.Equal(t, 3, mb.UserMessageCount())
	mb.running.Store(false)
	mb.schedule()
	<-r.first // s1; then the mailbox suspends

	mb.PostUserMessage("u3")
	mb.PostSystemMessage(&pa.ResumeMailbox{})
	mb.PostSystemMessage("s2")
	<-r.done
	r.mu.Lock()
	require.Equal(t, []any{"s1", "s2", "u1", "panic", "u2", "u3"}, r.got, "suspended until Resume")
	require.Equal(t, []int{3, 4, 3, 2, 1, 0}, r.seen, "count at delivery: the messages still queued")
	r.mu.Unlock()
	mb.mu.Lock()
	require.Nil(t, mb.sys)
	require.Zero(t, len(mb.user))
	mb.mu.Unlock()
	require.Zero(t, mb.UserMessageCount())
}

// TestInboxQueue: user messages come out in order, up to userBatch at a
// time; the count includes the messages taken until drain hands them over;
// a drained queue is released beyond userKeep.
func TestInboxQueue(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int // messages queued before the actor runs
	}{
		{"one", 1},
		{"a few", 5},
		{"a burst beyond userKeep", 3 * userKeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mb := &inbox{}
			mb.running.Store(true) // as if scheduled: nothing runs
			for i := range tc.n {
				mb.PostUserMessage(i)
			}
			require.Equal(t, tc.n, mb.UserMessageCount())
			var buf [userBatch]any
			for i := 0; i < tc.n; {
				taken := i
				_, n, ok := mb.take(buf[:])
				require.True(t, ok)
				require.Equal(t, min(tc.n-i, userBatch), n, "a full batch, or what is left")
				for j := range n {
					require.Equal(t, i, buf[j])
					i++
				}
				// taken messages stay counted until drain hands them over
				require.Equal(t, tc.n-taken, mb.UserMessageCount())
				mb.users.Add(int32(-n))
			}
			_, _, ok := mb.take(buf[:])
			require.False(t, ok)
			mb.mu.Lock()
			require.Zero(t, len(mb.user))
			require.LessOrEqual(t, cap(mb.user), userKeep)
			mb.mu.Unlock()
		})
	}
}

// TestInboxAfterStop: once the actor stopped, an op that reaches its
// mailbox is answered ErrClosed instead of being handed to protoactor
// (which drops user messages to a stopped actor); other user messages are
// dropped, system messages still reach protoactor.
func TestInboxAfterStop(t *testing.T) {
	d := newDispatcher(2, time.Minute)
	defer d.shutdown()
	mb := &inbox{stopped: true}
	r := &recorder{mb: mb, first: make(chan struct{}), done: make(chan struct{}), want: 1}
	mb.RegisterHandlers(r, d)

	mb.running.Store(true) // as if scheduled: the test drains
	op := NewOp(context.Background(), event.Update, nil)
	op.ref() // as Handle.Send does
	mb.PostUserMessage(op)
	mb.PostUserMessage(idleCheck{})
	mb.PostSystemMessage("s1")
	mb.drain()
	require.ErrorIs(t, op.Wait(context.Background()), ErrClosed)
	require.Zero(t, mb.UserMessageCount())
	r.mu.Lock()
	require.Equal(t, []any{"s1"}, r.got)
	r.mu.Unlock()
}

// TestLiveActorSize guards the bytes a live session costs in this
// package: the actor, with its Handle and its protoactor mailbox, is one
// allocation in the 256-byte size class (protoactor adds its process
// registry entry, PID and actor context). State only writes need belongs
// in writeState (allocated by the first write), state all actors share in
// shared.
func TestLiveActorSize(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(sessionActor{}), uintptr(256))
}

// stopOwner counts the actors stopped.
type stopOwner struct{ stopped sync.WaitGroup }

func (o *stopOwner) Forget(*Handle)        {}
func (o *stopOwner) Stopped(*Handle, bool) { o.stopped.Done() }

// registered counts the processes in s's protoactor registry.
func registered(s *System) int {
	n := 0
	for _, m := range s.as.ProcessRegistry.LocalPIDs.LocalPIDs {
		n += m.Count()
	}
	return n
}

// TestRegistryReleasedOnStop: every actor is a protoactor process while it
// lives; a closed or passivated actor is removed from the registry before
// its owner hears that it stopped, so the registry holds the live actors
// only; a stopped actor's Handle refuses ops.
func TestRegistryReleasedOnStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(h *Handle)
	}{
		{"closed", (*Handle).Close},
		{"passivated", (*Handle).Nudge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSystem()
			defer s.Shutdown()
			base := registered(s)
			env := &Env{Ctx: context.Background()}
			o := &stopOwner{}
			const n = 100
			hs := make([]*Handle, n)
			for i := range hs {
				o.stopped.Add(1)
				hs[i] = s.Spawn("sess"+strconv.Itoa(i), env, o)
			}
			require.Equal(t, base+n, registered(s))
			for _, h := range hs {
				tc.stop(h)
			}
			o.stopped.Wait()
			require.Equal(t, base, registered(s))
			for _, h := range hs {
				require.False(t, h.Send(NewOp(context.Background(), event.Update, nil)))
			}
		})
	}
}
