package codec

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// phpredis6Vectors is codec/testdata/compression_phpredis6.json, captured
// by scripts/capture-phpredis6-vectors.sh from phpredis 6.1 built from
// source (every serializer × every compression × several levels × six
// session sizes).
type phpredis6Vectors struct {
	GeneratedWith string            `json:"generated_with"`
	Plain         map[string]string `json:"plain"`  // "ser/session" → session_encode() hex
	Values        map[string]string `json:"values"` // session → serialize($_SESSION) hex
	Vectors       []struct {
		Serializer  string  `json:"serializer"`
		Compression string  `json:"compression"`
		Level       int     `json:"level"`
		Session     string  `json:"session"`
		StoredHex   *string `json:"stored_hex"`
		ReadBack    bool    `json:"read_back"`
	} `json:"vectors"`
}

func loadPHPRedis6Vectors(t testing.TB) phpredis6Vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "compression_phpredis6.json"))
	require.NoError(t, err)
	var v phpredis6Vectors
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v.Vectors)
	return v
}

// handlerSupported reports whether this build of codec has the serializer.
func handlerSupported(name string) bool {
	_, err := ParseHandler(name)
	return err == nil
}

// Every captured phpredis 6.1 session decompresses to the bytes PHP's
// serializer wrote, and decodes (through Format) to the values PHP had.
func TestCompressionPHPRedis6Vectors(t *testing.T) {
	vs := loadPHPRedis6Vectors(t)
	seen := map[string]bool{}
	for _, v := range vs.Vectors {
		name := v.Serializer + "/" + v.Compression + "/" + v.Session
		require.NotNil(t, v.StoredHex, name)
		require.True(t, v.ReadBack, "%s: PHP did not read its own session back", name)
		stored := mustHex(t, *v.StoredHex)
		plain := mustHex(t, vs.Plain[v.Serializer+"/"+v.Session])
		c, err := ParseCompression(v.Compression)
		require.NoError(t, err)
		seen[v.Serializer+"/"+v.Compression] = true

		got, framed, err := c.Decompress(stored, 0)
		require.NoError(t, err, name)
		assert.Equal(t, plain, got, name)
		// phpredis stores empty data as it is under lzf and lz4 (zstd
		// writes an empty frame).
		wantFramed := !c.none() && (len(plain) > 0 || c == Zstd)
		assert.Equal(t, wantFramed, framed, name)

		if !handlerSupported(v.Serializer) {
			continue
		}
		f := Format{Handler: Handler(v.Serializer), Compression: c, Level: v.Level}
		s, err := f.Decode(stored, nil)
		require.NoError(t, err, name)
		ser, err := s.Convert(PHPSerialize)
		require.NoError(t, err, name)
		enc, err := ser.Encode()
		require.NoError(t, err, name)
		if v.Session == "empty" {
			assert.Equal(t, "a:0:{}", string(enc), name)
		} else {
			assert.Equal(t, vs.Values[v.Session], hex.EncodeToString(enc), name)
		}
		// Go's encoding under the same format reads back to the same
		// values, and under lz4's fast level it is PHP's exact bytes.
		out, err := f.Encode(s)
		require.NoError(t, err, name)
		_, framed, err = c.Decompress(out, 0)
		require.NoError(t, err, name)
		assert.Equal(t, wantFramed, framed, "%s: Go's output is in the compression's form", name)
		back, got2, err := f.Read(out, nil)
		require.NoError(t, err, name)
		assert.Equal(t, f.Handler, got2.Handler, name)
		assert.Equal(t, f.Compression.String(), got2.Compression.String(), name)
		b1, _ := back.Encode()
		b2, _ := s.Encode()
		assert.Equal(t, b2, b1, name)
		if c == LZ4 && (v.Level <= 0 || v.Level > 12) || c.none() {
			assert.Equal(t, hex.EncodeToString(stored), hex.EncodeToString(out), "%s level %d: Go's bytes", name, v.Level)
		}
	}
	for _, ser := range []string{"php", "php_serialize", "php_binary", "igbinary", "msgpack"} {
		for _, c := range Compressions() {
			assert.True(t, seen[ser+"/"+string(c)], "no vector for %s/%s", ser, c)
		}
	}
}

// The vectors in testdata/compression_phpredis61 (captured earlier with
// phpredis 6.1, php serializer) decompress to their plain bytes.
func TestCompressionSharedVectors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "compression_phpredis61", "index.json"))
	require.NoError(t, err)
	var vs []struct {
		Case, Compression   string
		Level               int
		PlainHex, StoredHex string `json:"-"`
		Plain               string `json:"plain_hex"`
		Stored              string `json:"stored_hex"`
	}
	require.NoError(t, json.Unmarshal(b, &vs))
	require.NotEmpty(t, vs)
	for _, v := range vs {
		c, err := ParseCompression(v.Compression)
		require.NoError(t, err)
		got, _, err := c.Decompress(mustHex(t, v.Stored), 0)
		require.NoError(t, err, v.Case)
		assert.Equal(t, v.Plain, hex.EncodeToString(got), v.Case)
		s, err := Format{Handler: PHP, Compression: c, Level: v.Level}.Decode(mustHex(t, v.Stored), nil)
		require.NoError(t, err, v.Case)
		enc, err := s.Encode()
		require.NoError(t, err)
		assert.Equal(t, v.Plain, hex.EncodeToString(enc), v.Case)
	}
}

func compressionInputs() map[string][]byte {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	text := strings.Repeat("user|a:2:{s:4:\"name\";s:3:\"Ada\";s:2:\"id\";i:42;}", 300)
	return map[string][]byte{
		"empty":     {},
		"one":       {'x'},
		"two":       []byte("ab"),
		"three":     []byte("abc"),
		"tiny":      []byte("n|i:1;"),
		"run":       bytes.Repeat([]byte{'a'}, 10000),
		"text":      []byte(text),
		"random31":  rnd(31),
		"random32":  rnd(32),
		"random33":  rnd(33),
		"random4k":  rnd(4096),
		"random70k": rnd(70000),
		"mixed":     append(append(rnd(9000), text...), rnd(100)...),
		"far":       append(append([]byte("0123456789abcdef"), rnd(8200)...), "0123456789abcdef"...),
	}
}

// Go's compression round-trips at every level, and LZF output stays within
// the buffer phpredis gives liblzf (len + max(128, len/25)).
func TestCompressionRoundTrip(t *testing.T) {
	for name, in := range compressionInputs() {
		for _, c := range Compressions() {
			for _, level := range []int{-1, 0, 1, 3, 9, 12, 13, 19, 22, 99} {
				out, err := c.AppendCompress([]byte("prefix"), in, level)
				require.NoError(t, err)
				require.Equal(t, "prefix", string(out[:6]))
				out = out[6:]
				got, framed, err := c.Decompress(out, 0)
				require.NoError(t, err, "%s %s %d", name, c, level)
				require.Equal(t, in, got, "%s %s %d", name, c, level)
				empty := len(in) == 0 && (c == LZF || c == LZ4)
				require.Equal(t, !c.none() && !empty, framed, "%s %s %d", name, c, level)
				if c == LZF {
					require.LessOrEqual(t, len(out), len(in)+max(128, len(in)/25), name)
				}
			}
		}
	}
}

// Bytes that are not in the compression's form are used as they are
// (phpredis's fallback), so sessions stored before compression was turned
// on stay readable.
func TestCompressionFallback(t *testing.T) {
	vs := loadPHPRedis6Vectors(t)
	for key, h := range vs.Plain {
		plain := mustHex(t, h)
		ser, _, _ := strings.Cut(key, "/")
		for _, c := range Compressions()[1:] {
			got, framed, err := c.Decompress(plain, 0)
			require.NoError(t, err, key)
			assert.False(t, framed, "%s under %s", key, c)
			assert.Equal(t, plain, got, key)
			if !handlerSupported(ser) {
				continue
			}
			s, err := Format{Handler: Handler(ser), Compression: c}.Decode(plain, nil)
			require.NoError(t, err, "%s under %s", key, c)
			enc, _ := s.Encode()
			assert.Equal(t, plain, enc, key)
		}
	}
	// Corrupt frames too.
	for _, c := range Compressions()[1:] {
		good, err := c.AppendCompress(nil, []byte(strings.Repeat("abc", 100)), 3)
		require.NoError(t, err)
		bad := append([]byte(nil), good[:len(good)-1]...)
		got, framed, err := c.Decompress(bad, 0)
		require.NoError(t, err, c)
		assert.False(t, framed, c)
		assert.Equal(t, bad, got, c)
	}
}

// allocDuring returns the bytes allocated by fn.
func allocDuring(fn func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// A tiny frame declaring gigabytes fails with ErrSessionTooLarge (or, for
// frames that cannot be that large, is not taken as a frame) without
// allocating anything near the declared size (a few times the input at
// most: the input is also tried as uncompressed session data).
func TestCompressionBombs(t *testing.T) {
	// zstd: a frame header declaring size, then blocks RLE blocks of 128 KiB.
	zframe := func(size uint64, blocks int) []byte {
		b := append([]byte{}, zstdMagic...)
		b = append(b, 0xe0) // single segment, 8-byte content size
		b = binary.LittleEndian.AppendUint64(b, size)
		for i := range blocks {
			hdr := uint32(1)<<1 | (128<<10)<<3 // RLE, 128 KiB
			if i == blocks-1 {
				hdr |= 1 // last
			}
			b = append(b, byte(hdr), byte(hdr>>8), byte(hdr>>16), 'x')
		}
		return b
	}
	// The frame builder makes valid frames.
	mib, framed, err := Zstd.Decompress(zframe(1<<20, 8), 0)
	require.NoError(t, err)
	require.True(t, framed)
	require.Equal(t, bytes.Repeat([]byte{'x'}, 1<<20), mib)
	// lzf: one literal, then back references of 264 bytes (3 bytes each).
	lzfBomb := append([]byte{0, 'x'}, bytes.Repeat([]byte{0xe0, 0xff, 0x00}, 1<<20)...) // 3 MiB → 264 MiB
	// lz4: a compressed run of 8 MiB zeros (valid), under a 1 MiB limit.
	zeros, err := LZ4.AppendCompress(nil, make([]byte, 8<<20), 0)
	require.NoError(t, err)
	lz4Huge := []byte{0, 0, 0, 0, 0x40, 0x00} // declares 1 GiB, 1 byte of block
	binary.LittleEndian.PutUint32(lz4Huge[1:], 1<<30)
	lz4Huge[0] = crc8(lz4Huge[1:5])

	for _, tc := range []struct {
		name    string
		c       Compression
		data    []byte
		max     int
		tooBig  bool // ErrSessionTooLarge; else not a frame
		decoded bool
	}{
		{"zstd 4GiB from 4 bytes", Zstd, zframe(4<<30, 1), 0, false, false},
		{"zstd 1GiB from 4 bytes", Zstd, zframe(1<<30, 1), -1, false, false},
		{"zstd 80MiB valid", Zstd, zframe(80<<20, 640), 0, true, false},
		{"zstd 80MiB valid unlimited", Zstd, zframe(80<<20, 640), -1, false, true},
		{"lzf 264MiB", LZF, lzfBomb, 0, true, false},
		{"lz4 8MiB over 1MiB", LZ4, zeros, 1 << 20, true, false},
		{"lz4 1GiB from 1 byte", LZ4, lz4Huge, 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &Options{MaxSessionSize: tc.max}
			var err error
			var framed bool
			alloc := allocDuring(func() {
				_, framed, err = tc.c.Decompress(tc.data, opts.maxSessionSize())
			})
			if tc.decoded {
				// Within the limit: a real frame decompresses (and may
				// allocate its size).
				require.NoError(t, err)
				require.True(t, framed)
				return
			}
			if tc.tooBig {
				require.ErrorIs(t, err, ErrSessionTooLarge)
				var ce *CompressionError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.c, ce.Compression)
				assert.Contains(t, err.Error(), "declares")
			} else {
				require.NoError(t, err)
				assert.False(t, framed)
			}
			assert.Less(t, alloc, uint64(4*len(tc.data)+4<<20), "allocated %d bytes", alloc)

			// Through Format: a clear error, no session.
			alloc = allocDuring(func() {
				_, err = Format{Handler: PHP, Compression: tc.c}.Decode(tc.data, opts)
			})
			require.Error(t, err)
			assert.Less(t, alloc, uint64(4*len(tc.data)+4<<20), "allocated %d bytes", alloc)
			if tc.tooBig {
				require.ErrorIs(t, err, ErrSessionTooLarge)
			} else {
				assert.Contains(t, err.Error(), string(tc.c))
			}
		})
	}
}

func TestParseCompression(t *testing.T) {
	for in, want := range map[string]Compression{"": NoCompression, "none": NoCompression, "LZF": LZF, "zstd": Zstd, "Lz4": LZ4} {
		c, err := ParseCompression(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, c)
		assert.Equal(t, string(want), c.String())
	}
	for _, in := range []string{"gzip", "lz", "zstd9"} {
		_, err := ParseCompression(in)
		assert.ErrorIs(t, err, ErrUnknownCompression, in)
	}
	assert.Equal(t, "none", Compression("").String())
	_, err := Compression("gzip").AppendCompress(nil, []byte("x"), 0)
	assert.ErrorIs(t, err, ErrUnknownCompression)
	_, _, err = Compression("gzip").Decompress([]byte("x"), 0)
	assert.ErrorIs(t, err, ErrUnknownCompression)
}

func TestCompressionErrorsIs(t *testing.T) {
	err := error(&CompressionError{Compression: Zstd, Msg: "x", Err: ErrSessionTooLarge})
	assert.True(t, errors.Is(err, ErrSessionTooLarge))
}

// The shared zstd encoders and decoder and the pooled lz4 compressors are
// safe for concurrent use (run with -race).
func TestCompressionConcurrent(t *testing.T) {
	inputs := compressionInputs()
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			defer func() { errs <- err }()
			for i := range 30 {
				for name, in := range inputs {
					c := Compressions()[(g+i)%4]
					level := []int{-1, 3, 9, 19}[i%4]
					out, e := c.AppendCompress(nil, in, level)
					if e != nil {
						err = e
						return
					}
					back, _, e := c.Decompress(out, 0)
					if e != nil || !bytes.Equal(back, in) {
						err = fmt.Errorf("%s %s %d: %v", name, c, level, e)
						return
					}
				}
			}
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}
