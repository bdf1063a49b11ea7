// Package codec reads and writes PHP's serialize() format and the PHP
// session serializers php, php_binary and php_serialize, byte for byte as
// PHP 8.x writes them. It uses the standard library only.
//
// # Value model
//
// A PHP value is a [Value]; its concrete type is one of:
//
//	Null, Bool, Int (int64), Float (float64), String (binary-safe bytes)
//	*Array         ordered map with int or string keys (Key)
//	*Object        O: class name + ordered members, mangled names kept
//	*Serializable  C: class name + opaque payload (Serializable interface)
//	Enum           E: enum case (PHP 8.1+)
//	*Reference     a PHP reference (&), shared by every place that refers to it
//
// Arrays keep insertion order and follow PHP's key rules: [StrKey] turns
// canonical decimal strings ("7", "-3") into int keys exactly as PHP
// arrays do, and decoding applies the same rule to s: keys. Object members
// keep PHP's mangled names ("\x00*\x00prot" for protected, "\x00Class\x00priv"
// for private); [Object.Get] and [Object.Set] work with plain names and
// [Object.Members] reports each member's visibility and declaring class.
//
// Floats are written as PHP does with serialize_precision=-1
// ([FormatFloat]): shortest round-trip digits, "1.0E+25" exponent form
// outside 1e-4..1e17, no trailing ".0", and -0, INF, -INF, NAN.
//
// # References
//
// PHP numbers every serialized value (1, 2, ...) and writes a repeated
// object as r:<n>; and the second and later occurrences of a reference as
// R:<n>;. Decoding resolves these numbers to Go pointers: a repeated object
// is the same *Object, and R: turns both places into the same *Reference.
// Encoding numbers values again the way PHP does, so any graph PHP writes —
// shared objects, self-cycles, references to objects, recursive arrays —
// decodes and re-encodes to identical bytes. An *Array that appears twice
// without a *Reference is written twice (PHP arrays are values).
//
// In sessions, one counter spans the whole blob: the php and php_binary
// serializers do not count the session array (a|i:1;b|R:1;), php_serialize
// does (a:2:{s:1:"a";i:1;s:1:"b";R:2;}). Values inside a Serializable
// payload that is itself serialize() output take numbers from the same
// counter, like PHP's nested serialize() calls, and objects inside it can
// be referred to from outside.
//
// # Sessions and laziness
//
// [DecodeSession] validates the whole blob (so malformed data is an error
// at once, with its byte offset) but builds no values: it records where
// each top-level variable's bytes are. [Session.Get] builds a variable's
// value on first use, so reading one key of a 20-key session costs a
// fraction of a full decode. [Session.Encode] copies variables that were
// not changed from their original bytes, renumbering R:/r: only where an
// earlier change moved the numbering. When a variable refers to another
// one (b|R:1;), the session is decoded as a whole instead, so that shared
// values stay shared.
//
// [Session.Set] rejects names PHP cannot store for the handler (php: '|'
// or numeric names, php_binary: numeric or longer than 127 bytes) with
// [ErrInvalidName] instead of letting PHP silently write an empty session.
// [Session.Clone] gives an isolated copy for transactional updates;
// [Session.Convert] re-encodes the variables for another serializer.
//
// # Errors and limits
//
// Malformed input gives a *[SyntaxError] with the byte offset; it matches
// [ErrSyntax] and, where it applies, [ErrTooLarge] (a declared length or
// count larger than the remaining input, checked before allocating) or
// [ErrDepth] (nesting beyond Options.MaxDepth, default 4096 like PHP).
// The decoder never panics.
//
// # Differences from PHP
//
//   - Class and enum names are not checked against a class table:
//     E:10:"Suit:Clubs"; decodes even where PHP would fail for an unknown
//     case, and unknown classes keep their name (PHP's
//     __PHP_Incomplete_Class re-serializes the same way).
//   - Object members with int keys (O:8:"stdClass":1:{i:0;...}) keep their
//     int key; PHP would turn it into "0" on re-serialization.
//   - A php_serialize session that is not an array (i:5;) is an error; PHP
//     would make $_SESSION that scalar. N; is an empty session; bytes after
//     the array are ignored, as PHP does.
//   - The historic php-handler "!name|" undefined marker is rejected, as
//     PHP 8.2 does.
//   - Serializable (C:) payloads: PHP numbers the values inside a payload
//     only when the class's serialize()/unserialize() call
//     serialize()/unserialize() themselves, which the bytes alone cannot
//     always tell ("N;" may be either). When R:/r: references follow such
//     payloads, codec tries the readings per class (nested first) and keeps
//     the one whose values re-encode to the input exactly, as PHP's own
//     output always does; [Serializable.Opaque] records the choice so that
//     encoding numbers the same way. Custom payload formats (old PHP's
//     ArrayObject "x:i:0;a:0:{};m:a:0:{}") are opaque; PHP's own classes
//     may number values inside them.
package codec
