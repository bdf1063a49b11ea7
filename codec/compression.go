package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Compression is phpredis 6's redis.session.compression: how the bytes the
// session serializer wrote are compressed before they are stored in Redis.
// The zero value is [NoCompression].
//
// The stored forms are exactly phpredis 6.1's (library.c, redis_compress):
//
//   - lzf: liblzf's output, no header.
//   - zstd: one zstd frame that declares its content size (ZSTD_compress).
//   - lz4: a 5-byte header (a CRC-8 of the next four bytes, then the
//     uncompressed length as a little-endian int32) and one raw LZ4 block.
//     Empty data is stored as it is.
//
// When the stored bytes are not in the configured compression's form (a
// session written before compression was turned on, or data that does not
// decompress), phpredis uses the bytes as they are; [Compression.Decompress]
// and [Format] do the same.
type Compression string

// The compressions phpredis 6.1 supports.
const (
	NoCompression Compression = "none"
	LZF           Compression = "lzf"
	Zstd          Compression = "zstd"
	LZ4           Compression = "lz4"
)

// DefaultCompressionLevel is phpredis's default
// redis.session.compression_level. zstd uses level 3 for any level below
// 1 and at most 22; lz4 uses LZ4_compress_default for levels ≤ 0 or above
// 12 and LZ4_compress_HC at that level otherwise (so the default 3 means
// LZ4HC level 3); lzf has no levels.
const DefaultCompressionLevel = 3

// DefaultMaxSessionSize is the largest decompressed session accepted when
// [Options].MaxSessionSize is 0: 64 MiB. A compressed frame that declares
// more fails with [ErrSessionTooLarge] before anything that size is
// allocated.
const DefaultMaxSessionSize = 64 << 20

// maxPHPSize is phpredis's own limit on decompressed data (INT_MAX).
const maxPHPSize = math.MaxInt32

// Compressions lists the supported compressions, NoCompression first.
func Compressions() []Compression { return []Compression{NoCompression, LZF, Zstd, LZ4} }

// ParseCompression returns the Compression for a redis.session.compression
// value ("none", "lzf", "zstd" or "lz4", any case); "" is NoCompression.
func ParseCompression(name string) (Compression, error) {
	switch c := Compression(strings.ToLower(name)); c {
	case "", NoCompression:
		return NoCompression, nil
	case LZF, Zstd, LZ4:
		return c, nil
	}
	return "", fmt.Errorf("%w: %q (want none, lzf, zstd or lz4)", ErrUnknownCompression, name)
}

// String returns the phpredis name ("none" for the zero value).
func (c Compression) String() string {
	if c == "" {
		return string(NoCompression)
	}
	return string(c)
}

// valid reports whether c is a known compression ("" counts as none).
func (c Compression) valid() bool {
	switch c {
	case "", NoCompression, LZF, Zstd, LZ4:
		return true
	}
	return false
}

// none reports whether c stores data as it is.
func (c Compression) none() bool { return c == "" || c == NoCompression }

// AppendCompress appends src in c's stored form at the given
// redis.session.compression_level to dst, as phpredis 6.1 writes it (PHP
// reads it back; the bytes need not be identical to PHP's). Where phpredis
// stores the data as it is (NoCompression, empty data under lzf and lz4),
// src is appended unchanged.
func (c Compression) AppendCompress(dst, src []byte, level int) ([]byte, error) {
	switch c {
	case "", NoCompression:
		return append(dst, src...), nil
	case LZF:
		return lzfEncode(dst, src), nil
	case Zstd:
		return zstdEncoder(level).EncodeAll(src, dst), nil
	case LZ4:
		return lz4Encode(dst, src, level), nil
	}
	return dst, fmt.Errorf("%w: %q", ErrUnknownCompression, string(c))
}

// Decompress returns what phpredis 6.1 reads from the stored bytes src
// under compression c. framed reports whether src was in c's form; when it
// is false, plain is src itself (phpredis's fallback: data that does not
// decompress is used as it is). maxSize caps the decompressed length (0:
// DefaultMaxSessionSize); a frame declaring more fails with
// [ErrSessionTooLarge] before the output is allocated.
func (c Compression) Decompress(src []byte, maxSize int) (plain []byte, framed bool, err error) {
	if !c.valid() {
		return nil, false, fmt.Errorf("%w: %q", ErrUnknownCompression, string(c))
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxSessionSize
	}
	plain, st, err := c.decompress(src, maxSize)
	if err != nil {
		return nil, false, err
	}
	if st != frameOK {
		return src, false, nil
	}
	return plain, true, nil
}

// frameState is what decompress made of its input.
type frameState uint8

const (
	frameNone    frameState = iota // not in the compression's form at all
	frameCorrupt                   // looks like it (a header matched) but does not decompress
	frameOK
)

// decompress is Decompress with the reason for a fallback kept (for error
// messages). err is only set for data over maxSize.
func (c Compression) decompress(src []byte, maxSize int) ([]byte, frameState, error) {
	switch c {
	case LZF:
		// phpredis skips empty data; anything else is tried.
		if len(src) == 0 {
			return nil, frameNone, nil
		}
		n, ok := lzfDecodedLen(src)
		if !ok {
			return nil, frameNone, nil
		}
		if n > maxSize {
			return nil, frameOK, tooLarge(c, n, maxSize)
		}
		return lzfDecode(make([]byte, 0, n), src, n), frameOK, nil
	case Zstd:
		return zstdDecode(src, maxSize)
	case LZ4:
		return lz4Decode(src, maxSize)
	}
	return nil, frameNone, nil
}

func tooLarge[N int | uint64](c Compression, n N, maxSize int) error {
	return &CompressionError{Compression: c,
		Msg: fmt.Sprintf("frame declares %d bytes of session data, over the limit of %d (Options.MaxSessionSize)", n, maxSize),
		Err: ErrSessionTooLarge}
}

// CompressionError describes stored bytes that are in a compression's form
// but cannot be used.
type CompressionError struct {
	Compression Compression
	Msg         string
	Err         error // ErrSessionTooLarge, or ErrSyntax for a frame that does not decompress
}

// Error implements error.
func (e *CompressionError) Error() string {
	return "codec: " + e.Compression.String() + ": " + e.Msg
}

// Unwrap returns ErrCodec and Err.
func (e *CompressionError) Unwrap() []error { return codecUnwrap(e.Err) }

// zstd

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

var zstdDec = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		// DecodeAll never writes beyond the capacity it is given (the
		// declared content size, checked against the limit first).
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxMemory(maxPHPSize))
	if err != nil {
		panic(err) // only invalid options fail
	}
	return d
})

func zstdDecode(src []byte, maxSize int) ([]byte, frameState, error) {
	// phpredis: ZSTD_getFrameContentSize must give a size (an unknown
	// size or a non-frame means "not compressed"), then ZSTD_decompress
	// must produce exactly that many bytes.
	var h zstd.Header
	if err := h.Decode(src); err != nil {
		if len(src) >= 4 && string(src[:4]) == string(zstdMagic) {
			return nil, frameCorrupt, nil
		}
		return nil, frameNone, nil
	}
	var size uint64
	if !h.Skippable {
		if !h.HasFCS {
			return nil, frameCorrupt, nil
		}
		size = h.FrameContentSize
	}
	// Every block has a 3-byte header and yields at most 128 KiB, so a
	// frame declaring more cannot be valid: phpredis would fail to
	// decompress it (or refuse it above INT_MAX) and keep the bytes as
	// they are. A possible frame declaring more than the limit is refused.
	// Either way nothing of the declared size is allocated.
	if size > maxPHPSize || size > (uint64(len(src))/3+1)<<17 {
		return nil, frameCorrupt, nil
	}
	if size > uint64(maxSize) {
		return nil, frameOK, tooLarge(Zstd, size, maxSize)
	}
	out, err := zstdDec().DecodeAll(src, make([]byte, 0, size))
	if err != nil || uint64(len(out)) != size {
		return nil, frameCorrupt, nil
	}
	return out, frameOK, nil
}

// zstdEncoders holds one encoder per klauspost level (EncodeAll is safe
// for concurrent use).
var zstdEncoders [zstd.SpeedBestCompression + 1]struct {
	once sync.Once
	e    *zstd.Encoder
}

// zstdEncoder returns the encoder for a phpredis level: below 1 means 3,
// above 22 means 22; klauspost/compress maps zstd levels onto its four
// speeds.
func zstdEncoder(level int) *zstd.Encoder {
	if level < 1 {
		level = 3
	}
	lv := zstd.EncoderLevelFromZstd(min(level, 22))
	z := &zstdEncoders[lv]
	z.once.Do(func() {
		e, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(lv),
			// EncodeAll waits for a free encoder: one per CPU (up to 8;
			// each holds its match tables, ~1-4 MB).
			zstd.WithEncoderConcurrency(min(runtime.GOMAXPROCS(0), 8)),
			// Like ZSTD_compress: a frame even for empty data, the
			// content size in the header (phpredis needs it: klauspost
			// omits it for inputs under 256 bytes unless the frame is a
			// single segment), no checksum.
			zstd.WithZeroFrames(true),
			zstd.WithSingleSegment(true),
			zstd.WithEncoderCRC(false))
		if err != nil {
			panic(err) // only invalid options fail
		}
		z.e = e
	})
	return z.e
}

// lz4

const lz4HeaderLen = 5 // CRC-8 of the length, then the int32 length

// crc8 is phpredis's CRC-8 (polynomial 0x31, initial value 0xFF) of the
// four length bytes of its lz4 header.
func crc8(b []byte) byte {
	crc := byte(0xff)
	for _, c := range b {
		crc ^= c
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x31
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func lz4Decode(src []byte, maxSize int) ([]byte, frameState, error) {
	if len(src) < lz4HeaderLen || crc8(src[1:5]) != src[0] {
		return nil, frameNone, nil
	}
	n := int(int32(binary.LittleEndian.Uint32(src[1:5])))
	// An LZ4 block expands at most 255:1 (one length byte adds up to 255
	// bytes of match), so a larger declared size cannot be valid; phpredis
	// would fail on it and keep the bytes as they are.
	if n <= 0 || n > 255*(len(src)-lz4HeaderLen)+16 {
		return nil, frameCorrupt, nil
	}
	if n > maxSize {
		return nil, frameOK, tooLarge(LZ4, n, maxSize)
	}
	out := make([]byte, n)
	m, err := lz4.UncompressBlock(src[lz4HeaderLen:], out)
	// phpredis accepts a block that decodes to fewer bytes than declared
	// (and returns the rest of its buffer uninitialised); here that is
	// data that does not decompress.
	if err != nil || m != n {
		return nil, frameCorrupt, nil
	}
	return out, frameOK, nil
}

var (
	lz4Fast = sync.Pool{New: func() any { return new(lz4.CompressorCCompat) }}
	lz4HC   = sync.Pool{New: func() any { return new(lz4.CompressorHC) }}
)

// lz4Encode appends phpredis's lz4 form of src: levels ≤ 0 or > 12 use the
// reference fast compressor (pierrec/lz4's CompressorCCompat produces
// LZ4_compress_default's bytes), 1..12 the HC compressor with a search
// depth of 2^level.
func lz4Encode(dst, src []byte, level int) []byte {
	if len(src) == 0 || len(src) > maxPHPSize {
		// phpredis stores empty data (and data over INT_MAX) as it is.
		return append(dst, src...)
	}
	var hdr [lz4HeaderLen]byte
	binary.LittleEndian.PutUint32(hdr[1:], uint32(len(src)))
	hdr[0] = crc8(hdr[1:])
	dst = append(dst, hdr[:]...)
	base := len(dst)
	bound := lz4.CompressBlockBound(len(src))
	dst = append(dst, make([]byte, bound)...)
	var n int
	var err error
	if level <= 0 || level > 12 {
		c := lz4Fast.Get().(*lz4.CompressorCCompat)
		n, err = c.CompressBlock(src, dst[base:])
		lz4Fast.Put(c)
	} else {
		c := lz4HC.Get().(*lz4.CompressorHC)
		c.Level = lz4.CompressionLevel(1 << level)
		n, err = c.CompressBlock(src, dst[base:])
		lz4HC.Put(c)
	}
	if err != nil || n <= 0 {
		// Cannot happen with a CompressBlockBound buffer; an all-literal
		// block is always valid.
		n = lz4Literals(dst[base:base], src)
	}
	return dst[:base+n]
}

// lz4Literals writes src as one literal-only LZ4 sequence into dst[:0]
// (which has CompressBlockBound capacity) and returns its length.
func lz4Literals(dst, src []byte) int {
	l := len(src)
	if l < 15 {
		dst = append(dst, byte(l<<4))
	} else {
		dst = append(dst, 0xf0)
		for r := l - 15; ; r -= 255 {
			if r < 255 {
				dst = append(dst, byte(r))
				break
			}
			dst = append(dst, 255)
		}
	}
	dst = append(dst, src...)
	return len(dst)
}
