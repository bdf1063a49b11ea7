package codec

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Format is how PHP stores a session in Redis: the serializer
// (session.serialize_handler), then phpredis 6's compression
// (redis.session.compression) at a level (redis.session.compression_level).
// It is what the library's Config, its reads and writes, and the phpsess
// CLI all decode and encode through.
//
// The zero value is PHP's default: the php serializer, no compression.
type Format struct {
	Handler     Handler     // serializer; "" means PHP
	Compression Compression // "" means NoCompression
	// Level is redis.session.compression_level exactly as phpredis reads
	// it (0 included: lz4 then uses its fast compressor, zstd level 3).
	// phpredis's own default is DefaultCompressionLevel.
	Level int
}

// ParseFormat parses what [Format.String] returns: a serializer name,
// optionally followed by "+" and a compression name, optionally followed
// by ":" and a level, e.g. "php", "igbinary+zstd", "msgpack+lz4:9". A
// compression without a level takes DefaultCompressionLevel.
func ParseFormat(s string) (Format, error) {
	hs, cs, _ := strings.Cut(s, "+")
	h, err := ParseHandler(hs)
	if err != nil {
		return Format{}, err
	}
	f := Format{Handler: h, Compression: NoCompression}
	if cs == "" {
		return f, nil
	}
	cs, ls, hasLevel := strings.Cut(cs, ":")
	if f.Compression, err = ParseCompression(cs); err != nil {
		return Format{}, err
	}
	if !f.Compression.none() {
		f.Level = DefaultCompressionLevel
	}
	if hasLevel {
		if f.Level, err = strconv.Atoi(ls); err != nil {
			return Format{}, fmt.Errorf("%w: bad compression level %q", ErrUnknownCompression, ls)
		}
	}
	return f, nil
}

// String returns the format as ParseFormat reads it: "php",
// "igbinary+zstd:3".
func (f Format) String() string {
	s := f.handler().String()
	if !f.Compression.none() {
		s += "+" + string(f.Compression) + ":" + strconv.Itoa(f.Level)
	}
	return s
}

// Validate reports an unknown serializer or compression.
func (f Format) Validate() error {
	if _, err := ParseHandler(string(f.handler())); err != nil {
		return err
	}
	if !f.Compression.valid() {
		return fmt.Errorf("%w: %q", ErrUnknownCompression, string(f.Compression))
	}
	return nil
}

func (f Format) handler() Handler {
	if f.Handler == "" {
		return PHP
	}
	return f.Handler
}

// New returns an empty session in f's serializer.
func (f Format) New() *Session { return NewSession(f.handler()) }

// Encode returns s as PHP would store it under f: serialized with f's
// serializer (a session of another serializer is converted first), then
// compressed. Empty sessions are stored as phpredis stores them (an
// empty string under lzf and lz4; a frame under zstd).
func (f Format) Encode(s *Session) ([]byte, error) { return f.AppendEncode(nil, s) }

// plainBufs holds the serializer's output before compression.
var plainBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// AppendEncode is Encode appending to dst.
func (f Format) AppendEncode(dst []byte, s *Session) ([]byte, error) {
	return f.AppendEncodeOpts(dst, s, nil)
}

// AppendEncodeOpts is AppendEncode refusing, with [ErrSessionTooLarge], a
// compressed session whose serialized form exceeds o's MaxSessionSize:
// Decode with the same o would refuse to read it back.
func (f Format) AppendEncodeOpts(dst []byte, s *Session, o *Options) ([]byte, error) {
	if err := f.Validate(); err != nil {
		return dst, err
	}
	if h := f.handler(); s.Handler() != h {
		c, err := s.Convert(h)
		if err != nil {
			return dst, err
		}
		s = c
	}
	if f.Compression.none() {
		return s.AppendEncode(dst)
	}
	bp := plainBufs.Get().(*[]byte)
	plain, err := s.AppendEncode((*bp)[:0])
	if max := o.maxSessionSize(); err == nil && len(plain) > max {
		err = &CompressionError{Compression: f.Compression,
			Msg: fmt.Sprintf("session of %d bytes, over the limit of %d (Options.MaxSessionSize) that reading it back would refuse", len(plain), max),
			Err: ErrSessionTooLarge}
	}
	if err == nil {
		dst, err = f.Compression.AppendCompress(dst, plain, f.Level)
	}
	if cap(plain) <= 1<<20 {
		*bp = plain[:0]
		plainBufs.Put(bp)
	}
	return dst, err
}

// Decode decodes stored session bytes, as phpredis and the serializer of
// a PHP application configured with f read them, and returns the session
// in f's serializer (so that it encodes in f). Empty data is an empty
// session.
//
// Data in another format is read too (a PHP fleet changing its
// serialize_handler or compression writes both for a while): the bytes
// are tried as f's compression, then as zstd or lz4 when they carry that
// frame, then as stored uncompressed (phpredis's fallback: bytes that do
// not decompress are used as they are), then as LZF; each result is
// decoded with f's serializer or the one its header names (see
// DetectHandler).
// Such a session is converted to f's serializer and reports Modified, so
// the next write stores it in f. When nothing works, the error is the one
// for f's own reading, wrapped in a *[FormatError] naming the format the
// data looks like.
func (f Format) Decode(data []byte, opts *Options) (*Session, error) {
	s, found, err := f.Read(data, opts)
	if err != nil {
		return nil, err
	}
	if h := f.handler(); found.Handler != h {
		return s.Convert(h)
	}
	return s, nil
}

// Read is Decode without the conversion: it returns the session in the
// serializer the data was written with, and the Format the data was found
// in (the level is f's: it cannot be read from the data).
func (f Format) Read(data []byte, opts *Options) (*Session, Format, error) {
	if err := f.Validate(); err != nil {
		return nil, Format{}, err
	}
	f.Handler = f.handler()
	if f.Compression == "" {
		f.Compression = NoCompression
	}
	if len(data) == 0 {
		return f.New(), f, nil
	}
	maxSize := opts.maxSessionSize()
	var firstErr, tooBig error
	note := func(err error) {
		if firstErr == nil {
			firstErr = err
		}
	}
	try := func(c Compression, plain []byte) (*Session, Format, bool) {
		s, h, err := f.decodePlain(plain, c != NoCompression, opts)
		if err != nil {
			note(err)
			return nil, Format{}, false
		}
		return s, Format{Handler: h, Compression: c, Level: f.Level}, true
	}
	// attempt reads data as compressed with c. A frame over the size
	// limit is not decompressed; its error is returned at the end unless
	// another reading works (bytes stored uncompressed may by chance
	// carry an lz4 header checksum).
	attempt := func(c Compression) (*Session, Format, bool) {
		plain, st, err := c.decompress(data, maxSize)
		switch {
		case err != nil:
			if tooBig == nil {
				tooBig = err
			}
		case st == frameOK:
			return try(c, plain)
		case st == frameCorrupt && c == f.Compression:
			note(&CompressionError{Compression: c, Msg: "the data has a " + c.String() + " header but does not decompress", Err: ErrSyntax})
		}
		return nil, Format{}, false
	}

	// 1. f's own compression, as phpredis reads it.
	if !f.Compression.none() {
		if s, got, ok := attempt(f.Compression); ok {
			return s, got, nil
		}
	}
	// 2. Another compression whose frame is recognisable (zstd's magic
	// number, lz4's header checksum), then 3. the bytes as they are
	// (phpredis's fallback, or no compression), then 4. LZF, which has no
	// header: any bytes starting with a literal run (0x00-0x1f) may pass.
	for _, c := range []Compression{Zstd, LZ4} {
		if c != f.Compression {
			if s, got, ok := attempt(c); ok {
				return s, got, nil
			}
		}
	}
	rawS, rawF, rawOK := try(NoCompression, data)
	// A php session whose first name starts with a control byte is what
	// LZF data looks like to the php serializer; prefer LZF when it reads.
	if rawOK && !(rawF.Handler == PHP && data[0] < 0x20) {
		return rawS, rawF, nil
	}
	if f.Compression != LZF {
		if s, got, ok := attempt(LZF); ok {
			return s, got, nil
		}
	}
	if rawOK {
		return rawS, rawF, nil
	}
	if tooBig != nil {
		return nil, Format{}, tooBig
	}
	return nil, Format{}, &FormatError{Format: f, LooksLike: looksLikeFormat(data, maxSize), Err: firstErr}
}

// decodePlain decodes uncompressed session bytes with f's serializer;
// when that fails, with the one the data's header names, then with each
// other serializer (a header is a guess; a complete decode is not).
// Decompressed bytes (owned) are not copied again: the session keeps
// them.
func (f Format) decodePlain(plain []byte, owned bool, opts *Options) (*Session, Handler, error) {
	var str string
	switch {
	case owned && len(plain) > 0:
		str = unsafe.String(&plain[0], len(plain))
	default:
		str = string(plain)
	}
	s, err := DecodeSessionString(f.Handler, str, opts)
	if err == nil {
		return s, f.Handler, nil
	}
	detected, _ := DetectHandler(plain)
	if detected != "" && detected != f.Handler {
		if s, err2 := DecodeSessionString(detected, str, opts); err2 == nil {
			return s, detected, nil
		}
	}
	for _, h := range Handlers() {
		if h == f.Handler || h == detected {
			continue
		}
		if s, err2 := DecodeSessionString(h, str, opts); err2 == nil {
			return s, h, nil
		}
	}
	return nil, "", err
}

// looksLikeFormat guesses the format of data that could not be read, for
// the error message: the compression whose frame it carries, and the
// serializer its (decompressed) header names. The zero Format means no
// guess.
func looksLikeFormat(data []byte, maxSize int) Format {
	var g Format
	plain := data
	for _, c := range Compressions()[1:] {
		p, st, err := c.decompress(data, maxSize)
		if st == frameNone || c == LZF { // any bytes may pass as LZF
			continue
		}
		g.Compression = c
		if st == frameOK && err == nil {
			plain = p
		}
		break
	}
	if h, ok := DetectHandler(plain); ok {
		g.Handler = h
	}
	return g
}

// FormatError reports stored data that f cannot read. Err is the error of
// reading it as f (a *SyntaxError or *CompressionError); LooksLike is the
// format the data seems to be in, when that can be told (fields left
// empty are unknown).
type FormatError struct {
	Format    Format
	LooksLike Format
	Err       error
}

// Error implements error.
func (e *FormatError) Error() string {
	s := "codec: cannot read the data as " + e.Format.String()
	var like []string
	if e.LooksLike.Handler != "" {
		like = append(like, string(e.LooksLike.Handler)+" session data")
	}
	if !e.LooksLike.Compression.none() {
		like = append(like, string(e.LooksLike.Compression)+"-compressed")
	}
	if len(like) > 0 {
		s += " (it looks like " + strings.Join(like, ", ") + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Err, so errors.Is(err, ErrSyntax) holds for data that is
// not valid session data.
func (e *FormatError) Unwrap() []error { return codecUnwrap(e.Err) }
