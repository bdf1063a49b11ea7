package redisio

import (
	"context"
	"fmt"

	"github.com/redis/rueidis"
)

// CreateNX stores data as the session id with the configured TTL only if
// no session id exists (SET key data NX EX ttl) and reports whether it did.
// A new ID made by regeneration is created this way, so that it can never
// overwrite an existing session, whoever made it.
func (s *Store) CreateNX(ctx context.Context, id string, data []byte) (bool, error) {
	if s.closed.Load() {
		return false, ErrClosed
	}
	err := s.c.Do(ctx, s.c.B().Set().Key(s.Key(id)).Value(rueidis.BinaryString(data)).Nx().ExSeconds(s.ttlSec).Build()).Error()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redisio: SET NX: %w", err)
	}
	return true, nil
}
