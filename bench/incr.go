package bench

import (
	"context"
	"fmt"
)

// IncrResult is the outcome of Incr.
type IncrResult struct {
	Initial int64 // value before the first increment
	Final   int64 // value read back after the last one
	Acked   int64 // increments that returned nil
	Errors  int64
	First   error // first error seen
}

// Landed reports whether every one of the ops increments was acknowledged
// and the value grew by at least ops (other writers, e.g. PHP, may add
// more).
func (r IncrResult) Landed(ops int64) bool {
	return r.Acked == ops && r.Errors == 0 && r.Final-r.Initial >= ops
}

// Incr increments key of session id ops times in total from writers
// goroutines through t, then reads the value back through t.
func Incr(ctx context.Context, t Target, id, key string, writers int, ops int64) (IncrResult, error) {
	var res IncrResult
	init, err := t.Get(ctx, id, key)
	if err != nil {
		return res, fmt.Errorf("bench: read %s: %w", key, err)
	}
	res.Initial = init
	st := drive(ctx, max(writers, 1), ops, 0, func(ctx context.Context, _, _ int) (int, error) {
		return kindUpdate, t.Incr(ctx, id, key)
	})
	res.Acked, res.Errors, res.First = st.acked[kindUpdate], st.errors, st.firstErr
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Final, err = t.Get(ctx, id, key)
	if err != nil {
		return res, fmt.Errorf("bench: read back %s: %w", key, err)
	}
	return res, nil
}
