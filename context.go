package phpsession

import "context"

type ctxKey struct{}

// WithSessionID returns a copy of ctx carrying the session ID. Manager
// methods called with an empty ID use it (the contextvars helpers of the
// original Python library).
func WithSessionID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// SessionIDFromContext returns the session ID carried by ctx: the one
// given to WithSessionID, or the one Middleware put in a request's context
// (as changed since by Manager.RegenerateRequest or DestroyRequest).
func SessionIDFromContext(ctx context.Context) (string, bool) {
	var id string
	switch v := ctx.Value(ctxKey{}).(type) {
	case string:
		id = v
	case *reqSession:
		id = v.get()
	}
	return id, id != ""
}

// resolveID returns id, or the ID in ctx when id is empty, validated.
func resolveID(ctx context.Context, op, id string) (string, error) {
	if id == "" {
		var ok bool
		if id, ok = SessionIDFromContext(ctx); !ok {
			return "", newErr(op, "", ErrNoSessionID, nil)
		}
	}
	if !ValidID(id) {
		err := ValidateID(id).(*Error)
		err.Op = op
		return "", err
	}
	return id, nil
}
