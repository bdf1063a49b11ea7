package actor

import (
	"context"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/event"
)

// TestInboxQueue: messages come out in order; the count seen after each
// take is what is still queued; only the first put claims the run; a
// drained queue is released beyond qKeep.
func TestInboxQueue(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int // messages queued before the actor runs
	}{
		{"one", 1},
		{"a few", 5},
		{"a burst beyond qKeep", 3 * qKeep},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &sessionActor{}
			claims := 0
			for i := range tc.n {
				if a.mb.put(i) {
					claims++
				}
			}
			require.Equal(t, 1, claims, "the first put schedules the actor")
			require.Equal(t, tc.n, a.mb.UserMessageCount())
			for i := range tc.n {
				msg, ok := a.mb.take()
				require.True(t, ok)
				require.Equal(t, i, msg)
				require.Equal(t, tc.n-1-i, a.mb.UserMessageCount())
			}
			_, ok := a.mb.take()
			require.False(t, ok)
			a.mb.mu.Lock()
			require.Zero(t, len(a.mb.q))
			require.LessOrEqual(t, cap(a.mb.q), qKeep)
			a.mb.mu.Unlock()
		})
	}
}

// TestDeliverAfterStop: an op that reaches a stopped actor is answered
// ErrClosed, not dropped.
func TestDeliverAfterStop(t *testing.T) {
	a := &sessionActor{stopped: true}
	op := NewOp(context.Background(), event.Update, nil)
	op.ref() // as Handle.Send does
	a.deliver(op)
	require.ErrorIs(t, op.Wait(context.Background()), ErrClosed)
	a.deliver(idleCheck{}) // anything else is dropped
}

// TestLiveActorSize guards the bytes a live session costs: the actor,
// with its Handle and mailbox, is one allocation in the 224-byte size
// class. State only writes need belongs in writeState (allocated by the
// first write), state all actors share in shared.
func TestLiveActorSize(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(sessionActor{}), uintptr(224))
}
