// Package codec reads and writes PHP's serialize() format and the PHP
// session serializers php, php_binary and php_serialize, byte for byte as
// PHP 8.x writes them, and igbinary and msgpack as PHP's igbinary 3.2
// (igbinary.compact_strings=On) and msgpack 2.2 (msgpack.php_only=On)
// extensions write them, compressed or not by phpredis 6
// (redis.session.compression: lzf, zstd, lz4). Besides the standard library
// it uses klauspost/compress (zstd) and pierrec/lz4; LZF is implemented
// here.
//
// # Formats and compression
//
// A [Format] is how a session is stored: a serializer ([Handler]), a
// [Compression] and its level. [Format.Decode] and [Format.Encode] are what
// the library's Config, its session actors and the phpsess CLI go through.
// Compressed data is framed exactly as phpredis 6.1 frames it (see
// [Compression]), and bytes that do not decompress are used as they are,
// as phpredis does. Data in another format than the configured one is
// read too — another compression recognised by its frame, another
// serializer by its header ([DetectHandler]) or by decoding — and
// [Format.Read] reports the format it was found in; [Format.Decode] returns
// it converted to the configured serializer, so that it is written back in
// the configured format. Data nothing reads is a *[FormatError] naming what
// it looks like. A frame declaring more than [Options].MaxSessionSize
// (default [DefaultMaxSessionSize], 64 MiB) fails with [ErrSessionTooLarge]
// before the output is allocated.
//
// # Serializers
//
// A [Handler] names a session.serialize_handler; [ParseHandler] and
// [Handlers] list them. Each serializer is one row of codec's table (one
// file each): its name rules ([Handler.ValidName]), how it frames the
// variables, how it decodes and encodes, and how to recognise its data.
// [DetectHandler] guesses the serializer from the first bytes (igbinary's
// "\x00\x00\x00\x02" header, a msgpack map, php_serialize's "a:", php's
// "name|", php_binary's length byte), for data written in another format
// than configured; a *[SyntaxError] from decoding data that looks like
// another serializer's names it in LooksLike.
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
// # JSON and plain Go values
//
// Every value type and [Session] has MarshalJSON and a readable String:
// json.Marshal writes the natural JSON PHP's json_encode() would write (a
// list is a JSON array, other arrays and objects JSON objects), and
// [ToGo] gives the same view as plain Go values (int64, float64, string,
// bool, nil, []any, map[string]any). The rules for what JSON cannot hold
// (NAN/INF, cycles, references, Serializable payloads, enums) are at
// [ToGo]. Numbers have one type per PHP type on each side: [Int] and
// [Float] wherever a Value is returned, int64 and float64 wherever plain
// Go values are. [ParseJSON] reads JSON into Values as json_decode() does;
// [JSONFields] stores and reads session variables that hold JSON text.
// The lossless JSON form, which round-trips to the same bytes, is
// [SessionToJSON].
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
// igbinary and msgpack sessions are decoded whole: igbinary's string and
// reference tables span the blob (a variable's bytes cannot be read without
// everything before them), and msgpack numbers values across it too.
// Decoding validates and builds every value; Encode writes every value.
//
// [Session.Set] rejects names PHP cannot store for the handler (php: '|'
// or numeric names, php_binary: numeric or longer than 127 bytes,
// igbinary and msgpack: numeric names, which PHP writes as int keys and
// drops when reading) with [ErrInvalidName] instead of letting PHP
// silently write an empty session or lose the variable.
// [Session.Clone] gives an isolated copy for transactional updates;
// [Session.Convert] re-encodes the variables for another serializer, as
// PHP writes them under it after reading them (a reference only one place
// holds in igbinary or msgpack data becomes a plain value; the values
// inside Serializable payloads that are serialize() text are renumbered
// between the php family, where they share the session's numbering, and
// igbinary/msgpack, where the payload stands alone).
//
// # igbinary
//
// Every distinct string (values, keys, property and class names) is
// written once and then referred to by id; arrays, objects and PHP
// references are numbered from the session array (#0), and a repeated
// object, reference, or array storage PHP shared between copies is a
// back-reference. Decoding gives each copy of a shared array its own
// *Array (changing one does not change the other), and encoding writes the
// back-reference again while the copies are equal. A PHP reference the
// shared storage holds is shared by the copies when something else holds
// it too; when only the storage holds it (refcount 1 once PHP reads it
// back) each copy gets its value, as PHP separates them on change. An
// array that holds its own storage through a PHP reference (written back
// as a back-reference to the array still being read) decodes to a copy of
// it; converted to the php family, such a copy inside its own array is
// written N;, as php_var_serialize does for an array it is already
// writing. An array can also hold its own storage with no PHP reference
// in between: PHP writes that when the reference that made the cycle has
// refcount 1 (only the array holds it), and reading it back builds an
// array that contains itself (var_dump shows *RECURSION*). Go values
// have no such cycle: where the array holds itself there is an empty
// *Array that stands for the array as read. The encoders write it as PHP
// does (a back-reference; N; in the php family), also after other places
// of the array are changed (a changed place is storage of its own, as PHP
// separates it on change); storing into the stand-in makes it an
// ordinary array. PHP's msgpack extension recurses without end on such an
// array, and Convert to msgpack refuses it with [ErrUnsupported].
//
// PHP's empty arrays are one shared array, written once and then referred
// to; an empty array PHP allocated itself (after removing elements, or
// read by msgpack) is written each time, and decoding keeps that
// distinction. Uninitialized typed properties (a lone null) are kept for
// re-encoding.
//
// # msgpack
//
// $_SESSION is a map whose first pair is nil → 1 (an empty session is the
// empty array); lists are msgpack arrays, other arrays maps; objects,
// Serializable objects, __serialize() data and back-references are maps
// with nil keys (see msgpack.go). The extension loses some PHP values, and
// codec refuses to write them with [ErrUnsupported] instead: enums (PHP
// writes them as objects it cannot read back) and a reference to a scalar
// that two places share (PHP reads back two independent values). Objects
// whose class has __serialize() are written by PHP as {nil: class, nil:
// data}; decoding keeps that form for re-encoding, but converting from
// another serializer writes properties (the bytes of the others do not
// tell the two apart).
//
// # Errors and limits
//
// Malformed input gives a *[SyntaxError] with the byte offset; it matches
// [ErrSyntax] and, where it applies, [ErrTooLarge] (a declared length or
// count larger than the remaining input, checked before allocating, in
// every serializer) or [ErrDepth] (nesting beyond Options.MaxDepth,
// default 4096 like PHP).
// The decoder never panics. The encoder refuses, with [ErrDepth], values
// nested deeper than PHP's default limit (PHP could not read them back and
// would destroy the session), and names or class names PHP cannot store
// with [ErrInvalidName].
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
//   - igbinary: a PHP reference that only shared storage holds and whose
//     value holds that storage again (a cycle) stays shared by the Go
//     copies, so Get and the JSON forms show one reference where PHP
//     holds a reference of refcount 1 (the bytes written are PHP's:
//     Convert to the php family writes its value, and N; where that value
//     holds the array again, as PHP does). Where an array holds its own storage
//     with no PHP reference in between, Get, Range, the JSON forms and
//     ToGo show the empty stand-in (see igbinary above) where PHP sees the
//     array again, endlessly; the bytes written are PHP's.
//   - igbinary: PHP's serializers look at refcounts that the bytes of
//     shared storage leave to PHP's reading. An object that only an
//     array shared between copies holds has refcount 1, and the php and
//     php_binary serializers (which hand each variable to serialize() as
//     the root) do not remember such an object inside a top-level
//     variable: they write it in full at each copy, where Convert writes
//     r:n. And PHP's msgpack writes a PHP reference of refcount 1 to an
//     object as {nil: 5} where Convert, whose copies got the value,
//     writes the object ({nil: 4} when repeated), and one to an array it
//     wrote before (it knows arrays by their storage) as {nil: 2} where
//     Convert writes the array.
//   - msgpack data read differently by PHP: a back-reference {nil: 2} to
//     an array whose first place carries no reference marker (a list or
//     an empty array, which msgpack cannot mark) is a copy of that array
//     to PHP, and {nil: 4} to an object whose first place is a marked
//     reference shares that reference; Go keeps such places as the
//     reference the bytes re-encode from, so Convert writes R: where PHP
//     writes the copy (or r:). ({nil: 5} to an unmarked object is, as in
//     PHP, the object in a reference only that place holds; but PHP's
//     reader leaves some such places, depending on where they are in the
//     data, sharing one reference, which it then writes R:n where Convert
//     writes r:n. And after an object that is a marked reference
//     ({nil: 1, nil: "Class", ...}), PHP's reader can number values
//     differently from its writer and resolve a later back-reference
//     ({nil: 4} or {nil: 5}) to another value than the one written, even
//     an array; Go follows the writer's numbering.)
//   - PHP's msgpack extension hands a Serializable class's unserialize()
//     the payload with a NUL byte appended; a class that keeps its payload
//     verbatim writes it back one byte longer each time. Go keeps the
//     payload as stored. Likewise PHP's msgpack writes a PHP reference to
//     an object of a class with __sleep() without the reference marker,
//     which Convert cannot know (class methods are not in the bytes).
//   - The JSON form (SessionToJSON) keeps values, not igbinary/msgpack
//     layout details: which copies shared storage, which empty arrays
//     were PHP's shared one, uninitialized typed properties, and which
//     objects msgpack wrote through __serialize().
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
