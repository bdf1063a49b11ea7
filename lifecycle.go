package phpsession

import (
	"context"
	"fmt"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/event"
	"github.com/phpsession/phpsession/redisio"
)

// regenerateAttempts bounds the new IDs RegenerateID tries: with 128 bits
// of randomness a collision means a broken random source, not bad luck.
const regenerateAttempts = 3

// RegenerateID moves session id to a new ID, like PHP's
// session_regenerate_id($deleteOld), and returns the new ID. Call it when a
// user logs in or changes privileges, so that an ID an attacker planted
// (session fixation) or saw stops mattering.
//
// Under the old session's lock (waiting for PHP or Go holders as every
// locked write does, up to Config.LockTimeout), its bytes are copied
// unchanged to a fresh ID (Config.IDLength, IDBitsPerChar) created with
// SET NX, so the new ID can never overwrite an existing session; then the
// old session is deleted (deleteOld) or kept with its bytes unchanged and
// its TTL refreshed (PHP writes it again when $delete_old_session is
// false), and the lock is released. A session that
// does not exist moves to a new, empty session. On error the old session
// is unchanged and no new session is left behind (best effort).
//
// The caller sends the new ID to the client (Manager.RegenerateRequest does
// both for requests through Manager.Middleware).
func (m *Manager) RegenerateID(ctx context.Context, id string, deleteOld bool) (string, error) {
	const op = "regenerate"
	id, err := resolveID(ctx, op, id)
	if err != nil {
		return "", err
	}
	if m.closed.Load() {
		return "", newErr(op, id, ErrClosed, nil)
	}
	l, data, err := m.store.LockAndRead(ctx, id)
	if err != nil {
		return "", wrap(op, id, err)
	}
	nid, err := m.createFresh(ctx, data.Bytes)
	if err != nil {
		m.releaseQuiet(ctx, l)
		return "", wrap(op, id, err)
	}
	switch {
	case deleteOld:
		_, err = m.store.Commit(ctx, l, redisio.WriteDelete, nil)
	case data.Found:
		// PHP writes the old session again before it moves, so the old
		// ID lives a full TTL from now: the same bytes, the TTL refreshed
		_, err = m.store.Commit(ctx, l, redisio.WriteTouch, nil)
	default:
		err = m.store.Release(ctx, l)
	}
	if err != nil {
		// The old session may still be there (and someone else may hold
		// its lock): undo the copy rather than leave two live sessions.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.LockTimeout)
		_, _ = m.store.Destroy(cctx, nid)
		cancel()
		return "", wrap(op, id, err)
	}
	if m.memo != nil {
		m.memo.Invalidate([]string{id})
	}
	return nid, nil
}

// createFresh stores data under a new ID that no session has.
func (m *Manager) createFresh(ctx context.Context, data []byte) (string, error) {
	if data == nil {
		data = []byte{}
	}
	for i := 0; i < regenerateAttempts; i++ {
		nid, err := m.newSessionID()
		if err != nil {
			return "", err
		}
		ok, err := m.store.CreateNX(ctx, nid, data)
		if err != nil {
			return "", err
		}
		if ok {
			return nid, nil
		}
	}
	return "", fmt.Errorf("%d new session IDs in a row were taken: is the random source broken?", regenerateAttempts)
}

func (m *Manager) releaseQuiet(ctx context.Context, l *redisio.Lock) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.cfg.LockTimeout)
	defer cancel()
	_ = m.store.Release(cctx, l)
}

// newSessionID generates an ID with the configured sid_length and
// sid_bits_per_character.
func (m *Manager) newSessionID() (string, error) {
	return GenerateID(m.cfg.IDLength, genBits(m.cfg.IDBitsPerChar))
}

// exists reports whether session id exists (PHP's validate_sid in strict
// mode): from a fresh memo entry when there is one, else with EXISTS, not
// through a session actor, so probing unknown IDs spawns nothing.
func (m *Manager) exists(ctx context.Context, id string) (bool, error) {
	if !ValidID(id) {
		return false, nil
	}
	if m.fastReads {
		if e, fresh := m.memo.Peek(id); fresh {
			return e.Found, nil
		}
	}
	ok, err := m.store.Exists(ctx, id)
	return ok, wrap("exists", id, err)
}

// create stores session id, empty, unless it exists (PHP writes the
// session it started at the end of the request, even when empty).
func (m *Manager) create(ctx context.Context, id string) error {
	return m.doFn(ctx, "create", id, event.Update, func(s *codec.Session, found bool) error {
		if found {
			return nil
		}
		// an unchanged session is not written: mark it changed
		if err := s.Set("_", codec.Null{}); err != nil {
			return err
		}
		s.Delete("_")
		return nil
	})
}
