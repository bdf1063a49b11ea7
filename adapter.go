package phpsession

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

// doc adapts *codec.Session to actor.Doc. A codec.Session is not safe for
// concurrent use (reading a variable decodes it lazily), and a published
// doc (the memo's) is read both by its actor and by the read fast path, so
// every access holds mu. Docs being updated are private clones.
type doc struct {
	mu sync.Mutex
	s  *codec.Session
}

func newDoc(s *codec.Session) *doc { return &doc{s: s} }

func (d *doc) Clone() actor.Doc {
	d.mu.Lock()
	defer d.mu.Unlock()
	return newDoc(d.s.Clone())
}

func (d *doc) Encode() ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Encode()
}

func (d *doc) Modified() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Modified()
}

func (d *doc) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Len()
}

func (d *doc) Size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Size()
}

// with runs fn on the session under the doc's lock.
func (d *doc) with(fn func(s *codec.Session) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fn(d.s)
}

// codecAdapter adapts the codec package to actor.Codec.
type codecAdapter struct {
	h    codec.Handler
	opts *codec.Options
}

func (c codecAdapter) New() actor.Doc { return newDoc(codec.NewSession(c.h)) }

func (c codecAdapter) Decode(b []byte) (actor.Doc, error) {
	s, err := codec.DecodeSession(c.h, b, c.opts)
	if err != nil {
		return nil, err
	}
	return newDoc(s), nil
}

// storeAdapter adapts *redisio.Store to actor.Store.
type storeAdapter struct{ s *redisio.Store }

func (a storeAdapter) LockAndRead(ctx context.Context, id string) (actor.Locked, error) {
	// The actor always commits (a write or a release) after the locked
	// read and stores its memo entry stale: tracking from the read would
	// be disarmed by the write anyway.
	l, d, err := a.s.LockAndReadUntracked(ctx, id)
	if err != nil {
		return actor.Locked{}, err
	}
	return actor.Locked{
		Lock:     l,
		Data:     actor.Data{Bytes: d.Bytes, Found: d.Found},
		Waited:   l.Waited > 0,
		WaitTime: l.Waited,
	}, nil
}

func lockLost(err error) error {
	if err != nil && errors.Is(err, redisio.ErrLockLost) {
		return fmt.Errorf("%w: %w", actor.ErrLockLost, err)
	}
	return err
}

func (a storeAdapter) Renew(ctx context.Context, l any) error {
	return lockLost(a.s.Renew(ctx, l.(*redisio.Lock)))
}

func (a storeAdapter) Commit(ctx context.Context, l any, mode actor.WriteMode, data []byte) error {
	_, err := a.s.Commit(ctx, l.(*redisio.Lock), toRedisioMode(mode), data)
	return lockLost(err)
}

func toRedisioMode(mode actor.WriteMode) redisio.WriteMode {
	switch mode {
	case actor.WriteData:
		return redisio.WriteData
	case actor.WriteTouch:
		return redisio.WriteTouch
	case actor.WriteDelete:
		return redisio.WriteDelete
	}
	return redisio.WriteNone
}

func (a storeAdapter) CanWriteIfUnlocked(id string) bool { return a.s.CanWriteIfUnlocked(id) }

func (a storeAdapter) WriteIfUnlocked(ctx context.Context, id string, expect actor.Data, mode actor.WriteMode, data []byte) (actor.CASResult, error) {
	r, err := a.s.WriteIfUnlocked(ctx, id, redisio.Data{Bytes: expect.Bytes, Found: expect.Found}, toRedisioMode(mode), data)
	if err != nil {
		return actor.CASResult{}, err
	}
	return actor.CASResult{Applied: r.Applied, Held: r.Held, Changed: r.Changed,
		Current: actor.Data{Bytes: r.Current.Bytes, Found: r.Current.Found}}, nil
}

func (a storeAdapter) GetUntracked(ctx context.Context, id string) (actor.Data, error) {
	d, err := a.s.GetUntracked(ctx, id)
	return actor.Data{Bytes: d.Bytes, Found: d.Found}, err
}

func (a storeAdapter) WaitUnlocked(ctx context.Context, id string) error {
	return a.s.WaitUnlocked(ctx, id)
}

func (a storeAdapter) Release(ctx context.Context, l any) error {
	return lockLost(a.s.Release(ctx, l.(*redisio.Lock)))
}

func (a storeAdapter) Get(ctx context.Context, id string) (actor.Data, error) {
	d, err := a.s.Get(ctx, id)
	return actor.Data{Bytes: d.Bytes, Found: d.Found}, err
}
