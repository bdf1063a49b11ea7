package redisio

import (
	"context"
	"testing"
	"time"
)

// TestBoundShared: calls under one long-lived parent share one bounded
// context, whose deadline is never more than Timeout away and at least
// Timeout − boundSlack; other parents get their own, cancelled by the
// caller; the parent's cancellation reaches the shared context.
func TestBoundShared(t *testing.T) {
	s := &Store{}
	s.initConfig(Config{Timeout: 2 * time.Second})
	parent, cancelParent := context.WithCancel(context.Background())
	defer cancelParent()

	within := func(t *testing.T, ctx context.Context) {
		t.Helper()
		d, ok := ctx.Deadline()
		if !ok {
			t.Fatal("bounded context has no deadline")
		}
		if left := time.Until(d); left > s.cfg.Timeout || left < s.cfg.Timeout-s.boundSlack-time.Second {
			t.Fatalf("deadline %v away, want within [%v, %v]", left, s.cfg.Timeout-s.boundSlack, s.cfg.Timeout)
		}
	}

	a, cancelA := s.bound(parent)
	within(t, a)
	b, cancelB := s.bound(parent)
	within(t, b)
	if a != b {
		t.Fatal("two calls under one parent did not share the bounded context")
	}
	cancelA()
	cancelB()
	if a.Err() != nil {
		t.Fatal("a caller's cancel ended the shared context")
	}

	tests := []struct {
		name string
		ctx  context.Context
	}{
		{"other parent", context.WithValue(parent, struct{}{}, 1)},
		{"not a pointer", context.WithoutCancel(parent)},
		{"background", context.Background()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, cancel := s.bound(tt.ctx)
			within(t, c)
			if c == a {
				t.Fatal("another parent got the shared context")
			}
			cancel()
			if c.Err() == nil {
				t.Fatal("a context of its own was not cancelled by its caller")
			}
		})
	}

	// A caller's deadline shorter than Timeout is kept as it is.
	short, cancelShort := context.WithTimeout(parent, time.Second)
	defer cancelShort()
	if c, _ := s.bound(short); c != short {
		t.Fatal("a caller's shorter deadline was replaced")
	}

	if n := testing.AllocsPerRun(100, func() {
		_, cancel := s.bound(parent)
		cancel()
	}); n != 0 {
		t.Fatalf("bound under a shared parent allocates %v times", n)
	}

	cancelParent()
	if a.Err() == nil {
		t.Fatal("the parent's cancellation did not reach the shared context")
	}
}
