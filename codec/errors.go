package codec

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrCodec is wrapped by every error this package returns (the sentinels
// below, the error types and the errors of the functions), so that
//
//	errors.Is(err, codec.ErrCodec)
//
// tells a codec failure from any other. Errors of user code called by the
// codec (MarshalPHP, UnmarshalPHP) are wrapped as well.
var ErrCodec = errors.New("codec")

// codecErr returns a sentinel that wraps ErrCodec; its text is
// "codec: " + msg.
func codecErr(msg string) error { return fmt.Errorf("%w: %s", ErrCodec, msg) }

// codecUnwrap is the Unwrap of an error type holding a cause: ErrCodec and
// the cause, if any.
func codecUnwrap(cause error) []error {
	if cause == nil {
		return []error{ErrCodec}
	}
	return []error{ErrCodec, cause}
}

// Sentinel errors, each wrapping ErrCodec. Decoding errors are returned as *[SyntaxError], which
// matches ErrSyntax and, where it applies, one of ErrDepth or ErrTooLarge
// with [errors.Is].
var (
	// ErrSyntax: the input is not valid PHP serialize()/session data.
	ErrSyntax = codecErr("syntax error")
	// ErrDepth: arrays/objects nested deeper than Options.MaxDepth (on
	// decode) or than the encoder's limit (a cyclic *Array, on encode).
	ErrDepth = codecErr("maximum nesting depth exceeded")
	// ErrTooLarge: a declared length or element count exceeds the input.
	ErrTooLarge = codecErr("declared length exceeds input")
	// ErrInvalidName: a session variable name the serializer cannot store
	// (php: contains '|'; php_binary: longer than 127 bytes; php and
	// php_binary: a numeric name, which PHP silently drops), or an invalid
	// class name on encode.
	ErrInvalidName = codecErr("invalid name")
	// ErrUnknownHandler: a serialize handler name that is not supported.
	ErrUnknownHandler = codecErr("unknown serialize handler")
	// ErrUnsupported: a Value implementation the encoder does not know.
	ErrUnsupported = codecErr("unsupported value")
	// ErrUnknownCompression: a compression name that is not supported.
	ErrUnknownCompression = codecErr("unknown compression")
	// ErrSessionTooLarge: compressed session data declares more bytes than
	// Options.MaxSessionSize (a decompression bomb, or a limit set too
	// low); returned as a *[CompressionError].
	ErrSessionTooLarge = codecErr("decompressed session too large")
)

// SyntaxError describes malformed input. Offset is the byte offset in the
// decoded input (for sessions: in the whole session blob) where the problem
// was found.
type SyntaxError struct {
	Offset int    // byte offset in the input
	Msg    string // what was wrong
	Err    error  // ErrDepth or ErrTooLarge when it applies, else nil

	// LooksLike names the serializer the data seems to have been written
	// with (see DetectHandler) when that is not the one it was decoded
	// with; empty otherwise.
	LooksLike Handler
}

// Error implements error; the message names the offset.
func (e *SyntaxError) Error() string {
	s := "codec: "
	if e.Err != nil {
		s = e.Err.Error() + ": "
	} else {
		s += "syntax error: "
	}
	s += e.Msg + " at offset " + strconv.Itoa(e.Offset)
	if e.LooksLike != "" {
		s += " (the data looks like " + string(e.LooksLike) + " session data)"
	}
	return s
}

// Unwrap returns ErrSyntax and, if set, Err, so that errors.Is works for both.
func (e *SyntaxError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrSyntax, e.Err}
	}
	return []error{ErrSyntax}
}

// NameError reports a session variable name a serializer cannot hold.
type NameError struct {
	Handler Handler
	Name    string
	Reason  string
}

// Error implements error.
func (e *NameError) Error() string {
	n := e.Name
	if len(n) > 64 {
		n = n[:64] + "..."
	}
	return "codec: invalid name " + strconv.Quote(n) + " for handler " + string(e.Handler) + ": " + e.Reason
}

// Unwrap returns ErrInvalidName.
func (e *NameError) Unwrap() error { return ErrInvalidName }
