package bench

import (
	"context"
	"errors"
	"fmt"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
	phpsd "github.com/yvasiyarov/php_session_decoder"
)

// Assembled is baseline B2: what a Go user puts together today to share a
// phpredis session with locking — go-redis v9, bsm/redislock on the
// phpredis lock key (polling every 2 ms, like phpredis 5.3), and
// yvasiyarov/php_session_decoder, the only peer that reads and writes the
// `php` session-handler format (the faster stlong5 and trim21
// codecs only handle single serialize() values). Per Incr: obtain (Lua
// MSETNX+PEXPIRE), GET, decode, modify, encode, SET with TTL, release (Lua).
type Assembled struct {
	rdb    *redis.Client
	locker *redislock.Client
	opts   *redislock.Options
}

// NewAssembled builds B2 over its own go-redis client.
func NewAssembled(url string) (*Assembled, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(opt)
	return &Assembled{
		rdb:    rdb,
		locker: redislock.New(rdb),
		opts:   &redislock.Options{RetryStrategy: redislock.LinearBackoff(LockRetry)},
	}, nil
}

// Name implements Target.
func (a *Assembled) Name() string { return "B2 go-redis+redislock" }

// Incr implements Target.
func (a *Assembled) Incr(ctx context.Context, id, key string) error {
	lock, err := a.locker.Obtain(ctx, KeyPrefix+id+LockSuffix, LockTTL, a.opts)
	if err != nil {
		return err
	}
	err = a.rmw(ctx, id, key)
	rerr := lock.Release(ctx)
	if err != nil {
		return err
	}
	return rerr
}

func (a *Assembled) rmw(ctx context.Context, id, key string) error {
	k := KeyPrefix + id
	data, err := a.rdb.Get(ctx, k).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	sess, err := phpsd.NewPhpDecoder(data).Decode()
	if err != nil {
		return err
	}
	n, err := asInt(sess[key])
	if err != nil {
		return err
	}
	sess[key] = n + 1
	out, err := phpsd.NewPhpEncoder(sess).Encode()
	if err != nil {
		return err
	}
	return a.rdb.Set(ctx, k, out, SessionTTL).Err()
}

func asInt(v any) (int, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int:
		return x, nil
	}
	return 0, fmt.Errorf("bench: %T is not an int", v)
}

// Get implements Target: GET and decode, no lock.
func (a *Assembled) Get(ctx context.Context, id, key string) (int64, error) {
	data, err := a.rdb.Get(ctx, KeyPrefix+id).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	sess, err := phpsd.NewPhpDecoder(data).Decode()
	if err != nil {
		return 0, err
	}
	n, err := asInt(sess[key])
	return int64(n), err
}

// Close implements Target.
func (a *Assembled) Close() error { return a.rdb.Close() }
