package phpsession

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/cache"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/coordinator"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// Manager reads and writes PHP sessions stored in Redis by phpredis. It is
// safe for concurrent use; create one per process and Close it at the end.
//
// Every operation takes a session ID; an empty ID means the ID carried by
// ctx (see WithSessionID and Middleware), and ErrNoSessionID when there is
// none. IDs are validated (ValidID) before anything reaches Redis.
//
// All operations on one session go through that session's actor, in the
// order they were submitted: a read submitted after a write sees it.
// Writes are batched: concurrent Set/Update/Save/Delete calls on one session
// share one write — by default one check-and-write script that needs no
// lock (it refuses while PHP holds the lock or the data changed, and the
// batch then waits or re-runs), else one lock acquisition, one read and one
// write (Destroy, Config.NoLockFree, Cluster sessions whose keys are in
// different slots). Each call returns after Redis acknowledged the write
// that contains its change.
//
// # Contexts and outcomes
//
// A call that changes a session (Set, Update, Save, Delete, Destroy)
// returns a plain context error (ctx.Err(), nothing else wrapped) only when
// its change will never be applied: its context ended before the write
// carrying the change was sent to Redis, and the actor leaves it out.
// Once that write is in flight the call waits for its outcome up to
// Config.RedisTimeout beyond its context; without an outcome by then it
// returns an error wrapping ErrOutcomeUnknown (the change may or may not
// be applied: retrying blindly could apply it twice). Redis calls are
// bounded by Config.RedisTimeout whatever the context: while Redis is
// unreachable calls fail with ErrUnavailable instead of hanging. Reads
// change nothing and return the context error as soon as it ends. After
// Close every call returns ErrClosed. docs/guarantees.md lists what each
// call promises under each fault.
type Manager struct {
	cfg        Config
	store      *redisio.Store
	ownsClient rueidis.Client // closed by Close when we built it (no-cache path)
	memo       *cache.Memo[*actor.Doc]
	coord      *coordinator.Coordinator
	jf         codec.JSONFields
	cancelInv  func()
	stats      stats
	sink       *sink // the one event sink: feeds stats, cfg.Metrics, cfg.Events
	closed     atomic.Bool
	fastReads  bool
	calls      sync.Pool // of *call
}

// Open connects to Redis with a rueidis client option (standalone,
// Sentinel or Cluster; see rueidis.ClientOption) and returns a Manager
// using client-side caching and invalidation wake-ups. With
// cfg.DisableClientCache (or opt.DisableCache) it uses plain reads instead.
func Open(opt rueidis.ClientOption, cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Format().Validate(); err != nil {
		return nil, newErr("open", "", ErrConfig, err)
	}
	if err := checkIDSettings(cfg.IDLength, cfg.IDBitsPerChar); err != nil {
		return nil, newErr("open", "", ErrConfig, err)
	}
	if cfg.DisableClientCache || opt.DisableCache {
		opt.DisableCache = true
		c, err := redisio.NewClient(opt, cfg.RedisTimeout)
		if err != nil {
			return nil, wrap("open", "", err)
		}
		m, err := newManager(c, cfg)
		if err != nil {
			c.Close()
			return nil, err
		}
		m.ownsClient = c
		return m, nil
	}
	s, err := redisio.Open(opt, cfg.redisConfig())
	if err != nil {
		return nil, wrap("open", "", err)
	}
	return build(s, cfg), nil
}

// OpenURL is Open with a redis://, rediss://, unix://, redis-sentinel://
// URL (see redisio.OpenURL).
//
// A server that cannot be reached, or that does not answer as Redis (a
// wrong port: an HTTP server, a listener that closes the connection or
// never answers), gives an error wrapping ErrUnavailable within
// Config.RedisTimeout, saying "ADDR did not answer as a Redis server" and
// showing the URL with its password masked: the address is wrong or Redis
// is down, as for a call that finds Redis unavailable later. An invalid
// URL fails at once with its parse error.
func OpenURL(url string, cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Format().Validate(); err != nil {
		return nil, newErr("open", "", ErrConfig, err)
	}
	if err := checkIDSettings(cfg.IDLength, cfg.IDBitsPerChar); err != nil {
		return nil, newErr("open", "", ErrConfig, err)
	}
	if cfg.DisableClientCache {
		opt, err := redisio.ParseURL(url)
		if err != nil {
			return nil, newErr("open", "", nil, err)
		}
		return Open(opt, cfg)
	}
	s, err := redisio.OpenURL(url, cfg.redisConfig())
	if err != nil {
		return nil, wrap("open", "", err)
	}
	return build(s, cfg), nil
}

// New wraps a rueidis client the caller built and keeps owning (Close does
// not close it). Such a Manager cannot install its invalidation hook, so
// reads always fetch from Redis (without decoding again when the bytes are
// unchanged) and lock waits poll. Prefer Open for the full behaviour.
func New(client rueidis.Client, cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Format().Validate(); err != nil {
		return nil, newErr("open", "", ErrConfig, err)
	}
	if err := checkIDSettings(cfg.IDLength, cfg.IDBitsPerChar); err != nil {
		return nil, newErr("open", "", ErrConfig, err)
	}
	return newManager(client, cfg)
}

func newManager(client rueidis.Client, cfg Config) (*Manager, error) {
	s, err := redisio.NewStore(client, cfg.redisConfig())
	if err != nil {
		return nil, newErr("open", "", nil, err)
	}
	return build(s, cfg), nil
}

func build(s *redisio.Store, cfg Config) *Manager {
	m := &Manager{cfg: cfg, store: s, jf: *cfg.JSONFields}
	m.sink = &sink{s: &m.stats, u: cfg.Metrics, ext: cfg.Events}
	if m.sink.u == nil {
		m.sink.u = &Metrics{}
	}
	cd := actor.Codec{Format: cfg.Format(), Options: cfg.codecOptions()}
	if !cfg.NoMemo {
		m.memo = cache.New[*actor.Doc](cfg.CacheEntries, cfg.CacheBytes)
		if s.Tracking() {
			m.cancelInv = s.OnInvalidate(m.memo.Invalidate)
		}
	}
	env := &actor.Env{
		Store:      s,
		Codec:      cd,
		Settings:   cfg.actorSettings(),
		Events:     m.sink,
		Ctx:        context.Background(),
		Revalidate: !s.Tracking(),
		SessionIDs: cfg.Events != nil,
	}
	if m.memo != nil {
		env.Memo = m.memo
		m.fastReads = !cfg.NoFastReads && s.Tracking()
	}
	m.coord = coordinator.New(coordinator.Config{Env: env, MaxActors: cfg.MaxActors})
	return m
}

// Close stops accepting operations, finishes everything queued (each queued
// operation is answered), stops the session actors and closes the Redis
// connection if the Manager opened it. If ctx ends first, in-flight work is
// aborted and an error wrapping ctx's error is returned; Close returns by
// then even if Redis hangs (the connection is closed in the background).
// From the moment Close is called every call, reads included, returns
// ErrClosed: the memo no longer receives invalidations, so it is not
// served any more.
func (m *Manager) Close(ctx context.Context) error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := m.coord.Close(ctx)
	if m.cancelInv != nil {
		m.cancelInv()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.store.Close()
		if m.ownsClient != nil {
			m.ownsClient.Close()
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil {
		return newErr("close", "", ErrClosed, err)
	}
	return nil
}

// errClosed is the error of a call made after Close.
func (m *Manager) errClosed(op, id string) error {
	return newErr(op, id, ErrClosed, nil)
}

// Config returns the effective configuration (defaults filled in).
func (m *Manager) Config() Config { return m.cfg }

// Store returns the underlying Redis protocol layer, for tools that need
// raw access (lock inspection, scans). Writing through it bypasses the
// session actors.
func (m *Manager) Store() *redisio.Store { return m.store }

// NewSession returns an empty session for Save, using the configured
// serializer and JSON fields.
func (m *Manager) NewSession() *Session {
	return &Session{s: m.cfg.Format().New(), jf: &m.jf}
}

// do submits c's op and waits for it.
// Every call reports one event.Op, whatever path it takes.
func (m *Manager) do(ctx context.Context, op string, id string, c *call) error {
	kind := c.op.Kind
	t0 := m.opStart()
	id, err := resolveID(ctx, op, id)
	if err != nil {
		return m.opDone(kind, t0, err)
	}
	if m.closed.Load() {
		return m.errClosed(op, id)
	}
	if err := m.coord.Submit(ctx, id, &c.op); err != nil {
		return m.opDoneIn(kind, t0, wrap(op, id, err), id, &c.op)
	}
	m.stats.submitted.Add(1)
	err = c.op.WaitOutcome(ctx, m.cfg.RedisTimeout)
	return m.opDoneIn(kind, t0, wrap(op, id, err), id, &c.op)
}

// doFn is do for a call whose function is fn.
func (m *Manager) doFn(ctx context.Context, op, id string, kind event.OpKind, fn actor.Fn) error {
	c := m.newCall(ctx, kind)
	c.op.Fn = fn
	err := m.do(ctx, op, id, c)
	c.release()
	return err
}

// read runs fn on the current session without the lock.
//
// Fast path: when the memo holds a fresh decoded copy (no invalidation since
// it was stored; every write this Manager acknowledged is in it, since the
// memo is updated before a write is answered), fn runs on it directly in
// the caller's goroutine, skipping the actor hop. Otherwise the read queues
// on the session's actor behind any queued writes.
func (m *Manager) read(ctx context.Context, op, id string, fn actor.Fn) error {
	if m.fastReads {
		e, rid, t0, done, err := m.freshEntry(ctx, op, id)
		if done {
			return err
		}
		if e != nil {
			return m.servedFast(ctx, op, rid, e, t0, e.Value.Run(fn, e.Found))
		}
		id = rid
	}
	return m.doFn(ctx, op, id, event.Read, fn)
}

// freshEntry is the fast read path's lookup: done when the call is settled
// (invalid id, closed Manager: err), else the fresh memo entry of the
// resolved id rid (nil: none, the actor serves the read). A caller that
// got an entry reads it and finishes with servedFast.
func (m *Manager) freshEntry(ctx context.Context, op, id string) (e *cache.Entry[*actor.Doc], rid string, t0 time.Time, done bool, err error) {
	t0 = m.opStart()
	rid, err = resolveID(ctx, op, id)
	if err != nil {
		return nil, "", t0, true, m.opDone(event.Read, t0, err)
	}
	if m.closed.Load() {
		return nil, "", t0, true, m.errClosed(op, rid)
	}
	if e, fresh := m.memo.Get(rid); fresh {
		return e, rid, t0, false, nil
	}
	return nil, rid, t0, false, nil
}

// servedFast records a read served from the fresh memo entry e (err: the
// read's own error) and returns the call's error.
func (m *Manager) servedFast(ctx context.Context, op, rid string, e *cache.Entry[*actor.Doc], t0 time.Time, err error) error {
	sid := m.sessionRef(rid, e.Label)
	m.sink.Event(event.Event{Kind: event.Cache, Hit: true, Session: sid})
	if e.Found && m.cfg.ReadRefresh > 0 && e.Value.ClaimRefresh(time.Now(), m.cfg.ReadRefresh) {
		// the session's actor sends the EXPIRE; nobody waits for it
		_ = m.coord.Submit(ctx, rid, actor.NewRefreshOp())
	}
	return m.opDoneAs(event.Read, t0, wrap(op, rid, err), sid, 0)
}

// Get returns the value of one session variable as a codec.Value (a
// private copy), without taking the lock: codec.Int for a PHP int,
// codec.Float for a float, codec.String, *codec.Array, *codec.Object, ...
// JSON fields (Config.JSONFields) holding valid JSON come back decoded by
// codec.ParseJSON into the same types (JSON objects as stdClass objects).
// json.Marshal of the result writes natural JSON; codec.ToGo gives plain
// Go values. A missing session or variable gives ErrNotFound.
func (m *Manager) Get(ctx context.Context, id, name string) (any, error) {
	var out any
	err := m.read(ctx, "get", id, func(s *codec.Session, _ bool) error {
		v, ok, err := s.Get(name)
		if err != nil {
			return err
		}
		if !ok {
			return m.notFound(ctx, "get", id, name)
		}
		if m.jf.Match(name) {
			if j, isJSON := codec.DecodeJSONString(v); isJSON {
				out = j // freshly decoded: private already
				return nil
			}
		}
		out = codec.CopyValue(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// notFound is the error of a read whose session or variable is missing.
// The read's function returns it, so that the operation's event
// (opDone) reports it as event.NotFound.
func (m *Manager) notFound(ctx context.Context, op, id, name string) error {
	if id == "" {
		id, _ = SessionIDFromContext(ctx)
	}
	if name == "" {
		return newErr(op, id, ErrNotFound, nil)
	}
	return newErr(op, id, ErrNotFound, fmt.Errorf("no variable %q", name))
}

// GetValue returns one session variable as a PHP value (a private copy),
// without JSON-field decoding. ErrNotFound when missing.
func (m *Manager) GetValue(ctx context.Context, id, name string) (codec.Value, error) {
	if m.fastReads {
		// The fast path without a closure: a cached GetValue allocates
		// nothing (BenchmarkCachedGet).
		e, rid, t0, done, err := m.freshEntry(ctx, "get", id)
		if done {
			return nil, err
		}
		if e != nil {
			v, ok, err := e.Value.Value(name)
			if err == nil && !ok {
				err = m.notFound(ctx, "get", id, name)
			}
			if err := m.servedFast(ctx, "get", rid, e, t0, err); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
	var out codec.Value
	err := m.read(ctx, "get", id, func(s *codec.Session, _ bool) error {
		v, ok, err := s.Get(name)
		if err != nil {
			return err
		}
		if !ok {
			return m.notFound(ctx, "get", id, name)
		}
		out = codec.CopyValue(v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// GetAs reads one session variable into a T without taking the lock: JSON
// fields holding JSON are decoded with encoding/json, other values with
// codec.UnmarshalValue. ErrNotFound when the session or variable is missing.
func GetAs[T any](ctx context.Context, m *Manager, id, name string) (T, error) {
	var out T
	err := m.read(ctx, "get", id, func(s *codec.Session, _ bool) error {
		ok, err := unmarshalVar(s, m.jf, name, &out)
		if err == nil && !ok {
			return m.notFound(ctx, "get", id, name)
		}
		return err
	})
	return out, err
}

// Load returns a snapshot of the whole session without taking the lock.
// The snapshot is private: changing it changes nothing in Redis (use
// Update, or Save it). ErrNotFound when the session does not exist.
func (m *Manager) Load(ctx context.Context, id string) (*Session, error) {
	var out *Session
	err := m.read(ctx, "load", id, func(s *codec.Session, found bool) error {
		if !found {
			return m.notFound(ctx, "load", id, "")
		}
		out = &Session{s: s.Clone(), jf: &m.jf, found: true}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Unmarshal decodes the whole session into v (a pointer to a struct or a
// map), without taking the lock: variables map to fields by `php:"name"`
// tag or name (see codec.UnmarshalValue); JSON fields are decoded from
// their JSON text. ErrNotFound when the session does not exist.
func (m *Manager) Unmarshal(ctx context.Context, id string, v any) error {
	err := m.read(ctx, "unmarshal", id, func(s *codec.Session, ok bool) error {
		if !ok {
			return m.notFound(ctx, "unmarshal", id, "")
		}
		return unmarshalSession(s, m.jf, v)
	})
	return wrap("unmarshal", id, err)
}

// Exists reports whether the session exists in Redis (no lock).
func (m *Manager) Exists(ctx context.Context, id string) (bool, error) {
	var found bool
	err := m.read(ctx, "exists", id, func(_ *codec.Session, ok bool) error {
		found = ok
		return nil
	})
	if errors.Is(err, ErrCodec) {
		return true, nil // stored but undecodable: it exists
	}
	return found, err
}

// Update runs fn on the session and saves what fn changed, atomically
// with respect to PHP's session lock: either as a lock-free batch (written
// only while nobody holds the lock and the session is unchanged since fn
// saw it) or under the lock (see Config.NoLockFree and docs/coordinator.md). fn sees the session as left by the operations before it (a new,
// empty session when it does not exist yet). If fn returns an error or
// panics, none of its changes are applied and the error is returned
// (wrapped; errors.Is finds it). If nothing changed, only the TTL is
// refreshed, as PHP's lazy_write does.
//
// fn may run more than once (when the session changed under a lock-free
// batch, or the lock was lost, the batch is re-run), so it must not have
// side effects outside the session; it never runs after Update returned.
// The *Session is valid only during fn (afterwards its methods return an
// error). The containers fn gets from it (Get's *codec.Array and
// *codec.Object, Codec) are the session's own and become this Manager's
// memory copy of it once committed: keep a copy (codec.CopyValue, or
// Unmarshal into Go values) rather than one of them, since changing one
// after fn returned changes what this Manager's reads return, not Redis.
// fn runs on the session's actor: it must be quick (it delays the other
// calls on the session, and under the lock PHP waits) and must not call the
// Manager for the same session (that would wait for itself until ctx ends).
func (m *Manager) Update(ctx context.Context, id string, fn func(s *Session) error) error {
	c := m.newCall(ctx, event.Update)
	c.update, c.op.Fn = fn, c.fnUpdate
	err := m.do(ctx, "update", id, c)
	c.release()
	return err
}

// Set stores one variable (a one-line Update: atomic with respect to the
// session lock). value is a codec.Value
// or any Go value codec.MarshalValue accepts; for JSON fields a Go value is
// stored as its JSON text.
func (m *Manager) Set(ctx context.Context, id, name string, value any) error {
	// convert once, outside the actor; copy per run (fn may re-run)
	v, err := m.jf.ToPHP(name, value)
	if err != nil {
		return wrap("set", id, err)
	}
	c := m.newCall(ctx, event.Update)
	c.name, c.value, c.op.Fn = name, v, c.fnSet
	err = m.do(ctx, "set", id, c)
	c.release()
	return err
}

// Save replaces the whole session with the variables of s (atomic with
// respect to the session lock, like Update). s is not retained.
func (m *Manager) Save(ctx context.Context, id string, s *Session) error {
	if s == nil {
		s = m.NewSession()
	}
	if err := s.flush(); err != nil {
		return wrap("save", id, err)
	}
	src := s.s.Clone()
	names := src.Names()
	vals := make([]codec.Value, len(names))
	for i, n := range names {
		v, _, err := src.Get(n)
		if err != nil {
			return wrap("save", id, err)
		}
		vals[i] = v
	}
	return m.doFn(ctx, "save", id, event.Update, func(dst *codec.Session, _ bool) error {
		for _, n := range dst.Names() {
			dst.Delete(n)
		}
		for i, n := range names {
			if err := dst.Set(n, codec.CopyValue(vals[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

// Delete removes one variable (atomic with respect to the session lock,
// like Update) and reports whether it existed.
func (m *Manager) Delete(ctx context.Context, id, name string) (bool, error) {
	c := m.newCall(ctx, event.Update)
	c.name, c.op.Fn = name, c.fnDelete
	err := m.do(ctx, "delete", id, c)
	existed := c.existed
	c.release()
	return existed, err
}

// Destroy deletes the whole session under the session lock (like PHP's
// session_destroy) and reports whether it existed.
func (m *Manager) Destroy(ctx context.Context, id string) (bool, error) {
	c := m.newCall(ctx, event.Destroy)
	err := m.do(ctx, "destroy", id, c)
	existed := c.op.Existed
	c.release()
	if err != nil {
		return false, err
	}
	return existed, nil
}

// LiveSessions returns the number of session actors currently alive.
func (m *Manager) LiveSessions() int { return m.coord.Live() }
