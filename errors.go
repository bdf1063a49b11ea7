package phpsession

import (
	"errors"
	"strings"

	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/redact"
	"github.com/phpsession/phpsession/redisio"
	"github.com/redis/rueidis"
)

// ErrSession is wrapped by every error this package returns, so that
//
//	errors.Is(err, phpsession.ErrSession)
//
// catches them all (the base exception of the original Python library).
var ErrSession = errors.New("phpsession")

// kindError is a specific error: it wraps ErrSession and the lower-level
// errors it stands for (causes), so that errors.Is(ErrUnavailable,
// redisio.ErrUnavailable) holds too.
type kindError struct {
	msg    string
	causes []error
}

func (k *kindError) Error() string { return "phpsession: " + k.msg }

func (k *kindError) Unwrap() []error { return append([]error{ErrSession}, k.causes...) }

// kinds lists every specific error in declaration order; kind registers
// them, so classification (wrap) needs no list of its own.
var kinds []*kindError

// kind declares a specific error. An error from a lower layer (actor,
// redisio, codec) that wraps one of causes is classified as this kind by
// wrap; when several kinds match, the one declared first wins.
func kind(msg string, causes ...error) error {
	k := &kindError{msg: msg, causes: causes}
	kinds = append(kinds, k)
	return k
}

// Specific errors. Each wraps ErrSession; errors returned by Manager wrap the
// matching one (and the underlying cause, e.g. a redisio or codec error).
// Declaration order is classification priority (see kind).
var (
	// ErrOutcomeUnknown: the change was sent to Redis but whether it was
	// applied could not be established (its reply was lost and Redis could
	// not be asked in time, or the caller's context ended while it was in
	// flight and its outcome did not come within the bound; see Manager).
	// It may or may not be in Redis: a caller that retries blindly may
	// apply it twice. errors.Is also matches redisio.ErrOutcomeUnknown.
	ErrOutcomeUnknown = kind("outcome of the write unknown", redisio.ErrOutcomeUnknown)
	// ErrUnavailable: Redis could not be reached, or did not answer within
	// Config.RedisTimeout (down, restarting, paused, stopped, network
	// gone). The cause is wrapped. A write that fails with it was not
	// applied, unless the error also wraps ErrOutcomeUnknown. The Manager
	// recovers by itself once Redis answers again. errors.Is also matches
	// redisio.ErrUnavailable.
	ErrUnavailable = kind("Redis unavailable", redisio.ErrUnavailable)
	// ErrLockTimeout: the session lock was not acquired in time
	// (Config.LockTimeout); another holder (PHP or Go) kept it.
	ErrLockTimeout = kind("timed out waiting for the session lock", redisio.ErrLockTimeout)
	// ErrLockLost: the lock expired or was taken before the write, and
	// re-running the batch did not succeed; nothing was written.
	ErrLockLost = kind("session lock lost", redisio.ErrLockLost)
	// ErrClosed: the Manager was closed.
	ErrClosed = kind("manager closed", actor.ErrClosed, redisio.ErrClosed)
	// ErrPanic: a function passed to Update panicked; the panic value and
	// stack are in the message. The update was not applied.
	ErrPanic = kind("panic in update function", actor.ErrPanic)
	// ErrCodec: the session bytes could not be decoded, or a value cannot
	// be stored in PHP's format (e.g. a variable name the serializer
	// cannot hold, a Go value with no PHP equivalent). The codec error is
	// wrapped as well (every codec error wraps codec.ErrCodec).
	ErrCodec = kind("session data", codec.ErrCodec)
	// ErrNotFound: the session (or the variable asked for) does not exist.
	ErrNotFound = kind("session not found")
	// ErrNoSessionID: no session ID was given and none is in the context.
	ErrNoSessionID = kind("no session ID in context")
	// ErrInvalidID: the session ID is not 1–256 characters of [A-Za-z0-9,-].
	ErrInvalidID = kind("invalid session ID")
	// ErrConfig: an option is invalid or cannot work in the way it was
	// given (e.g. StrictMode on a Middleware without a Manager; a server or
	// ACL user refusing the CLIENT TRACKING that the client-side cache
	// needs: set DisableClientCache). Returned at construction, never later.
	ErrConfig = kind("invalid configuration", rueidis.ErrNoCache)
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
// code) by the causes each kind declares, and wraps it so that ErrSession
// and the matching kind are found by errors.Is. Errors of no kind (a
// context's, a user function's) are wrapped with ErrSession only.
func wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if top, ok := err.(*Error); ok && top.ID == "" && id != "" {
			// an error of a Session method inside Update: it names the
			// operation and session the caller ran
			return &Error{Op: op, ID: redactIf(id), Kind: top.Kind, Err: top.Err}
		}
		return err
	}
	if errors.Is(err, ErrSession) {
		return err // a specific error of this package, returned as is
	}
	for _, k := range kinds {
		for _, c := range k.causes {
			if errors.Is(err, c) {
				return &Error{Op: op, ID: redactIf(id), Kind: k, Err: err}
			}
		}
	}
	return &Error{Op: op, ID: redactIf(id), Err: err}
}
