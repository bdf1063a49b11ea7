package phpsession

import (
	"context"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/event"
)

// call is one Manager call through a session's actor: its actor.Op and
// the arguments and results of its function, kept in one pooled value so
// that a call allocates neither an op, nor a reply channel, nor a closure.
// The function of Update, Set and Delete is a method value bound once per
// call value (fnUpdate, ...) that reads its arguments from the call; other
// calls set their own closure as the op's Fn.
//
// The caller drops its reference with release once it has read the
// results; the call returns to the pool when the actor has dropped its
// own reference too (actor.Op.SetRecycle), so no goroutine can touch a
// call that serves another.
type call struct {
	op actor.Op // first: the actor's per-op fields open the call's first cache line

	// What the actor reads for every Update besides the op: kept next to
	// it, in the call's third cache line.
	update func(*Session) error // Update
	m      *Manager

	// arguments of Set and Delete
	name  string
	value codec.Value // Set
	// results
	existed bool // Delete

	fnUpdate, fnSet, fnDelete actor.Fn
}

// newCall returns a call from the Manager's pool with its op reset for
// ctx and kind; the caller sets the op's Fn and releases the call after
// reading its results.
func (m *Manager) newCall(ctx context.Context, kind event.OpKind) *call {
	c, _ := m.calls.Get().(*call)
	if c == nil {
		c = &call{m: m}
		c.fnUpdate, c.fnSet, c.fnDelete = c.runUpdate, c.runSet, c.runDelete
		c.op.SetRecycle(c.recycle)
	}
	c.op.Reset(ctx, kind, nil)
	return c
}

// release drops the caller's reference.
func (c *call) release() { c.op.Release() }

// recycle returns c to the pool (called by its op once caller and actor
// are done with it).
func (c *call) recycle() {
	c.update, c.name, c.value, c.existed = nil, "", nil, false
	c.m.calls.Put(c)
}

// runUpdate hands the Update function a Session of its own, emptied when
// the function returns: one kept by the caller then refuses every use
// (errSessionGone) instead of reaching the session the next run of this
// pooled call works on, which may be another user's.
func (c *call) runUpdate(cs *codec.Session, found bool) error {
	sess := &Session{s: cs, jf: &c.m.jf, found: found}
	err := c.update(sess)
	if err == nil {
		err = sess.flush()
	}
	sess.s, sess.views = nil, nil
	return err
}

func (c *call) runSet(s *codec.Session, _ bool) error {
	return s.Set(c.name, codec.CopyValue(c.value))
}

func (c *call) runDelete(s *codec.Session, _ bool) error {
	c.existed = s.Delete(c.name)
	return nil
}
