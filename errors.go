package phpsession

import (
	"errors"
	"fmt"
	"strings"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/redact"
	"github.com/phpsession/phpsession/redisio"
)

// ErrSession is wrapped by every error this package returns, so that
//
//	errors.Is(err, phpsession.ErrSession)
//
// catches them all (the base exception of the original Python library).
var ErrSession = errors.New("phpsession")

func sentinel(msg string) error { return fmt.Errorf("%w: %s", ErrSession, msg) }

// Specific errors. Each wraps ErrSession; errors returned by Manager wrap the
// matching one (and the underlying cause, e.g. a redisio or codec error).
var (
	// ErrLockTimeout: the session lock was not acquired in time
	// (Config.LockTimeout); another holder (PHP or Go) kept it.
	ErrLockTimeout = sentinel("timed out waiting for the session lock")
	// ErrNotFound: the session (or the variable asked for) does not exist.
	ErrNotFound = sentinel("session not found")
	// ErrNoSessionID: no session ID was given and none is in the context.
	ErrNoSessionID = sentinel("no session ID in context")
	// ErrInvalidID: the session ID is not 1–256 characters of [A-Za-z0-9,-].
	ErrInvalidID = sentinel("invalid session ID")
	// ErrLockLost: the lock expired or was taken before the write, and
	// re-running the batch did not succeed; nothing was written.
	ErrLockLost = sentinel("session lock lost")
	// ErrClosed: the Manager was closed.
	ErrClosed = sentinel("manager closed")
	// ErrCodec: the session bytes could not be decoded, or a value cannot
	// be stored in PHP's format (e.g. a variable name the serializer
	// cannot hold). The codec error is wrapped as well.
	ErrCodec = sentinel("session data")
	// ErrConfig: an option is invalid or cannot work in the way it was
	// given (e.g. StrictMode on a Middleware without a Manager). Returned
	// at construction, never later.
	ErrConfig = sentinel("invalid configuration")
	// ErrPanic: a function passed to Update panicked; the panic value and
	// stack are in the message. The update was not applied.
	ErrPanic = sentinel("panic in update function")
	// ErrUnavailable: Redis could not be reached, or did not answer within
	// Config.RedisTimeout (down, restarting, paused, stopped, network
	// gone). The cause is wrapped. A write that fails with it was not
	// applied, unless the error also wraps ErrOutcomeUnknown. The Manager
	// recovers by itself once Redis answers again. errors.Is also matches
	// redisio.ErrUnavailable.
	ErrUnavailable = fmt.Errorf("%w: %w", ErrSession, redisio.ErrUnavailable)
	// ErrOutcomeUnknown: the change was sent to Redis but whether it was
	// applied could not be established (its reply was lost and Redis could
	// not be asked in time, or the caller's context ended while it was in
	// flight and its outcome did not come within the bound; see Manager).
	// It may or may not be in Redis: a caller that retries blindly may
	// apply it twice. errors.Is also matches redisio.ErrOutcomeUnknown.
	ErrOutcomeUnknown = fmt.Errorf("%w: %w", ErrSession, redisio.ErrOutcomeUnknown)
)

// Error describes a failed operation. It wraps one of the specific errors
// above (Kind, when one applies), ErrSession and the underlying cause.
//
// Session IDs are bearer credentials, so an Error never holds one: ID is
// the redacted form (RedactID), and no message of the module's errors
// shows a full ID, a lock token or a password.
type Error struct {
	Op   string // the Manager operation the caller ran: "get", "update", ...
	ID   string // the session ID, redacted (RedactID); "" when not known
	Kind error  // ErrLockTimeout, ErrNotFound, ... or nil
	Err  error  // the cause
}

// Error implements error.
func (e *Error) Error() string {
	s := "phpsession: " + e.Op
	if e.ID != "" {
		s += " " + e.ID
	}
	var detail string
	switch {
	case e.Err != nil:
		detail = e.Err.Error()
	case e.Kind != nil:
		detail = e.Kind.Error()
	default:
		return s
	}
	// one prefix per error: the kinds' own "phpsession: " is dropped
	return s + ": " + strings.TrimPrefix(detail, ErrSession.Error()+": ")
}

// Unwrap returns the specific error (or ErrSession) and the cause.
func (e *Error) Unwrap() []error {
	k := e.Kind
	if k == nil {
		k = ErrSession
	}
	if e.Err == nil {
		return []error{k}
	}
	return []error{k, e.Err}
}

func newErr(op, id string, kind, cause error) error {
	return &Error{Op: op, ID: redactIf(id), Kind: kind, Err: cause}
}

func redactIf(id string) string {
	if id == "" {
		return ""
	}
	return redact.ID(id)
}

// RedactID returns the form of a session ID that errors and logs show: its
// first few characters and "…" (at most 6 characters, at most a quarter of
// the ID). Use it when logging IDs yourself.
func RedactID(id string) string { return redact.ID(id) }

// wrap classifies err (from the actor, redisio, codec, context or user
// code) and wraps it so that ErrSession and the matching kind are found by
// errors.Is.
func wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var kind error
	var ute *codec.UnmarshalTypeError
	switch {
	case errors.Is(err, redisio.ErrOutcomeUnknown):
		kind = ErrOutcomeUnknown
	case errors.Is(err, redisio.ErrUnavailable):
		kind = ErrUnavailable
	case errors.Is(err, redisio.ErrLockTimeout):
		kind = ErrLockTimeout
	case errors.Is(err, redisio.ErrLockLost):
		kind = ErrLockLost
	case errors.Is(err, actor.ErrClosed), errors.Is(err, redisio.ErrClosed):
		kind = ErrClosed
	case errors.Is(err, actor.ErrPanic):
		kind = ErrPanic
	case errors.Is(err, codec.ErrSyntax), errors.Is(err, codec.ErrDepth), errors.Is(err, codec.ErrTooLarge),
		errors.Is(err, codec.ErrInvalidName), errors.Is(err, codec.ErrUnsupported),
		errors.Is(err, codec.ErrUnknownHandler), errors.As(err, &ute):
		kind = ErrCodec
	case errors.Is(err, ErrSession):
		return err
	}
	return &Error{Op: op, ID: redactIf(id), Kind: kind, Err: err}
}
