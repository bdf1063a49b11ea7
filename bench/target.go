package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// Target is one implementation under test. Every target reads and writes
// the same Redis keys in the same bytes as phpredis (`php` serialize
// handler), so results can be checked against Redis directly and PHP can
// run beside any of them.
type Target interface {
	// Name is the row label (e.g. "phpsession", "B1 per-request lock").
	Name() string
	// Incr adds 1 to the integer key of session id (read-modify-write),
	// creating session and key when absent. It returns nil only once
	// Redis acknowledged the write.
	Incr(ctx context.Context, id, key string) error
	// Get reads the integer key of session id (0 when absent).
	Get(ctx context.Context, id, key string) (int64, error)
	// Close releases the target's clients.
	Close() error
}

// CacheStater is implemented by targets that serve reads from a cache.
type CacheStater interface {
	CacheStats() (hits, misses uint64)
}

// LiveCounter is implemented by targets that keep per-session state (the
// coordinator's actors).
type LiveCounter interface {
	Live() int
}

// Noter is implemented by targets with internal counters worth showing in
// a row's notes (the coordinator's batches and pauses). Notes returns the
// text for what happened since the previous call.
type Noter interface {
	Notes() string
}

// Key layout and lifetimes shared by all baselines (phpredis defaults; TTL
// as the library's default).
const (
	KeyPrefix  = "PHPREDIS_SESSION:"
	LockSuffix = "_LOCK"
	SessionTTL = 86400 * time.Second
	LockTTL    = 30 * time.Second
	// LockRetry is the baselines' polling interval while the lock is held
	// elsewhere: phpredis 5.3's lock_wait_time.
	LockRetry = 2 * time.Millisecond
)

// ErrLockTimeout is returned by the baselines when the lock was not
// obtained within LockTTL.
var ErrLockTimeout = errors.New("bench: lock not acquired in time")

// phpReleaseScript is phpredis's compare-and-delete lock release, byte for
// byte (so its SHA is the one PHP uses).
const phpReleaseScript = `if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end`

// SessionCodec is the decode/modify/encode step a baseline runs on the
// stored bytes.
type SessionCodec interface {
	Name() string
	// Incr returns blob with key incremented (created as 1 when absent).
	Incr(blob []byte, key string) ([]byte, error)
	// Int returns the integer value of key (0 when absent).
	Int(blob []byte, key string) (int64, error)
}

// StandInCodec splits the session into entries without decoding the
// untouched values. It is the harness's own minimal codec; the project's
// codec replaces it in the baselines once available (see codec.go).
type StandInCodec struct{}

// Name implements SessionCodec.
func (StandInCodec) Name() string { return "stand-in" }

// Incr implements SessionCodec.
func (StandInCodec) Incr(blob []byte, key string) ([]byte, error) { return incrBlob(blob, key) }

// Int implements SessionCodec.
func (StandInCodec) Int(blob []byte, key string) (int64, error) { return IntKey(blob, key) }

var tokenSeq atomic.Uint64

var tokenPrefix = func() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// newToken returns a lock value unique to this process and call.
func newToken(tag string) string {
	return tag + "|" + tokenPrefix + "|" + strconv.FormatUint(tokenSeq.Add(1), 10)
}

// NewRueidisClient returns a rueidis client for url with client-side
// caching off (the baselines cache nothing).
func NewRueidisClient(url string, cache bool) (rueidis.Client, error) {
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opt.DisableCache = !cache
	return rueidis.NewClient(opt)
}

// PerRequest is baseline B1: the protocol phpredis and the original Python
// library run for every request, ported straight to Go on rueidis, with no
// actor and no cache. One Incr is `SET L tok NX PX` (retried every 2 ms
// while busy), `GET K`, decode, modify, encode, `SETEX K`, and the
// compare-and-delete release script (EVALSHA).
type PerRequest struct {
	c       rueidis.Client
	codec   SessionCodec
	release *rueidis.Lua
}

// NewPerRequest builds B1 over its own rueidis client.
func NewPerRequest(url string, codec SessionCodec) (*PerRequest, error) {
	c, err := NewRueidisClient(url, false)
	if err != nil {
		return nil, err
	}
	return &PerRequest{c: c, codec: codec, release: rueidis.NewLuaScript(phpReleaseScript)}, nil
}

// Name implements Target.
func (p *PerRequest) Name() string { return "B1 per-request lock" }

// Incr implements Target.
func (p *PerRequest) Incr(ctx context.Context, id, key string) error {
	lk := KeyPrefix + id + LockSuffix
	tok := newToken("b1")
	if err := p.lock(ctx, lk, tok); err != nil {
		return err
	}
	err := p.rmw(ctx, id, key)
	rerr := p.release.Exec(ctx, p.c, []string{lk}, []string{tok}).Error()
	if err != nil {
		return err
	}
	return rerr
}

func (p *PerRequest) lock(ctx context.Context, lk, tok string) error {
	cmd := p.c.B().Set().Key(lk).Value(tok).Nx().PxMilliseconds(LockTTL.Milliseconds()).Build().Pin()
	var deadline time.Time
	var t *time.Timer
	for {
		err := p.c.Do(ctx, cmd).Error()
		if err == nil {
			return nil
		}
		if !rueidis.IsRedisNil(err) {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(LockTTL)
			t = time.NewTimer(LockRetry)
			defer t.Stop()
		} else if time.Now().After(deadline) {
			return ErrLockTimeout
		} else {
			t.Reset(LockRetry)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (p *PerRequest) rmw(ctx context.Context, id, key string) error {
	k := KeyPrefix + id
	blob, err := p.c.Do(ctx, p.c.B().Get().Key(k).Build()).AsBytes()
	if err != nil && !rueidis.IsRedisNil(err) {
		return err
	}
	out, err := p.codec.Incr(blob, key)
	if err != nil {
		return err
	}
	return p.c.Do(ctx, p.c.B().Setex().Key(k).Seconds(int64(SessionTTL/time.Second)).Value(rueidis.BinaryString(out)).Build()).Error()
}

// Get implements Target: a plain GET and decode, no lock (what a
// read-only request of the original library costs).
func (p *PerRequest) Get(ctx context.Context, id, key string) (int64, error) {
	return getInt(ctx, p.c, p.codec, id, key)
}

// Close implements Target.
func (p *PerRequest) Close() error { p.c.Close(); return nil }

func getInt(ctx context.Context, c rueidis.Client, codec SessionCodec, id, key string) (int64, error) {
	blob, err := c.Do(ctx, c.B().Get().Key(KeyPrefix+id).Build()).AsBytes()
	if err != nil && !rueidis.IsRedisNil(err) {
		return 0, err
	}
	return codec.Int(blob, key)
}

// NoLock is baseline B3: read-modify-write with no lock at all (`GET`,
// decode, modify, encode, `SETEX`), the way scs/redisstore, gorilla
// redistore and the other Go session stores behave. Concurrent updates of
// one session overwrite each other: the benchmark reports how many were
// lost.
type NoLock struct {
	c     rueidis.Client
	codec SessionCodec
}

// NewNoLock builds B3 over its own rueidis client.
func NewNoLock(url string, codec SessionCodec) (*NoLock, error) {
	c, err := NewRueidisClient(url, false)
	if err != nil {
		return nil, err
	}
	return &NoLock{c: c, codec: codec}, nil
}

// Name implements Target.
func (n *NoLock) Name() string { return "B3 no lock" }

// Incr implements Target.
func (n *NoLock) Incr(ctx context.Context, id, key string) error {
	k := KeyPrefix + id
	blob, err := n.c.Do(ctx, n.c.B().Get().Key(k).Build()).AsBytes()
	if err != nil && !rueidis.IsRedisNil(err) {
		return err
	}
	out, err := n.codec.Incr(blob, key)
	if err != nil {
		return err
	}
	return n.c.Do(ctx, n.c.B().Setex().Key(k).Seconds(int64(SessionTTL/time.Second)).Value(rueidis.BinaryString(out)).Build()).Error()
}

// Get implements Target.
func (n *NoLock) Get(ctx context.Context, id, key string) (int64, error) {
	return getInt(ctx, n.c, n.codec, id, key)
}

// Close implements Target.
func (n *NoLock) Close() error { n.c.Close(); return nil }

// Verify reads the integer key of every session id straight from Redis
// with the harness's own parser and returns the values.
func Verify(ctx context.Context, c rueidis.Client, ids []string, key string) ([]int64, error) {
	out := make([]int64, len(ids))
	const chunk = 1000
	for start := 0; start < len(ids); start += chunk {
		end := min(start+chunk, len(ids))
		cmds := make(rueidis.Commands, 0, end-start)
		for _, id := range ids[start:end] {
			cmds = append(cmds, c.B().Get().Key(KeyPrefix+id).Build())
		}
		for i, r := range c.DoMulti(ctx, cmds...) {
			blob, err := r.AsBytes()
			if err != nil && !rueidis.IsRedisNil(err) {
				return nil, err
			}
			v, err := IntKey(blob, key)
			if err != nil {
				return nil, fmt.Errorf("session %s: %w", ids[start+i], err)
			}
			out[start+i] = v
		}
	}
	return out, nil
}
