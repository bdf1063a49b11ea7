package actor

import (
	"sync"
	"testing"
	"time"

	pa "github.com/asynkron/protoactor-go/actor"
	"github.com/stretchr/testify/require"
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
