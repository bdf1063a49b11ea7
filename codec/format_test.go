package codec

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A PHP fleet changing its serialize_handler or compression has sessions
// in several formats at once: every captured phpredis 6.1 session is read
// under every configured format with the values PHP had, Read names the
// format it was in, and Encode writes it in the configured one.
func TestFormatReadsEveryFormat(t *testing.T) {
	vs := loadPHPRedis6Vectors(t)
	var configs []Format
	for _, h := range Handlers() {
		for _, c := range Compressions() {
			configs = append(configs, Format{Handler: h, Compression: c, Level: 1})
		}
	}
	n := 0
	for _, v := range vs.Vectors {
		if v.Session == "empty" || v.Session == "large" || (v.Level != 3 && v.Level != 0) {
			continue
		}
		stored := mustHex(t, *v.StoredHex)
		src := Format{Handler: Handler(v.Serializer), Compression: Compression(v.Compression)}
		for _, cfg := range configs {
			name := src.String() + " read as " + cfg.String() + " (" + v.Session + ")"
			s, found, err := cfg.Read(stored, nil)
			require.NoError(t, err, name)
			assert.Equal(t, src.Handler, found.Handler, name)
			assert.Equal(t, src.Compression, found.Compression, name)
			assert.Equal(t, src.Handler, s.Handler(), name)

			d, err := cfg.Decode(stored, nil)
			require.NoError(t, err, name)
			assert.Equal(t, cfg.Handler, d.Handler(), name)
			assert.Equal(t, found.Handler != cfg.Handler, d.Modified(), "%s: a converted session is written back", name)
			ser, err := d.Convert(PHPSerialize)
			require.NoError(t, err, name)
			enc, err := ser.Encode()
			require.NoError(t, err, name)
			assert.Equal(t, vs.Values[v.Session], hex.EncodeToString(enc), name)

			out, err := cfg.Encode(d)
			require.NoError(t, err, name)
			_, again, err := cfg.Read(out, nil)
			require.NoError(t, err, name)
			assert.Equal(t, cfg.Handler, again.Handler, name)
			assert.Equal(t, cfg.Compression, again.Compression, name)
			n++
		}
	}
	t.Logf("%d (stored format, configured format) pairs", n)
}

// Data no format reads fails with a FormatError that names what the data
// looks like and wraps the configured format's own error.
func TestFormatErrorNamesLookalike(t *testing.T) {
	igb, err := Format{Handler: Igbinary, Compression: Zstd}.Encode(mkSession(t, Igbinary, "a", String("x")))
	require.NoError(t, err)
	corrupt := igb[:len(igb)-1] // the zstd frame fails
	for _, tc := range []struct {
		name string
		data []byte
		like string
	}{
		{"corrupt zstd", corrupt, "zstd-compressed"},
		{"garbage", []byte("\x07\x07\x07not a session"), ""},
	} {
		_, err := Format{Handler: PHP}.Decode(tc.data, nil)
		require.Error(t, err, tc.name)
		var fe *FormatError
		require.ErrorAs(t, err, &fe, tc.name)
		assert.Equal(t, PHP, fe.Format.Handler)
		assert.Contains(t, err.Error(), "cannot read the data as php", tc.name)
		if tc.like != "" {
			assert.Contains(t, err.Error(), tc.like, tc.name)
		}
		assert.True(t, errors.Is(err, ErrSyntax), "%s: %v", tc.name, err)
	}
}

func mkSession(t *testing.T, h Handler, kv ...any) *Session {
	t.Helper()
	s := NewSession(h)
	for i := 0; i < len(kv); i += 2 {
		require.NoError(t, s.Set(kv[i].(string), kv[i+1].(Value)))
	}
	return s
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{
		"php":                  {Handler: PHP, Compression: NoCompression},
		"igbinary+zstd":        {Handler: Igbinary, Compression: Zstd, Level: DefaultCompressionLevel},
		"msgpack+lz4:9":        {Handler: Msgpack, Compression: LZ4, Level: 9},
		"php_binary+none":      {Handler: PHPBinary, Compression: NoCompression},
		"php_serialize+lzf:-1": {Handler: PHPSerialize, Compression: LZF, Level: -1},
	} {
		f, err := ParseFormat(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, f, in)
		g, err := ParseFormat(f.String())
		require.NoError(t, err)
		assert.Equal(t, f, g, in)
	}
	for _, in := range []string{"", "json", "php+gzip", "php+zstd:x"} {
		_, err := ParseFormat(in)
		assert.Error(t, err, in)
	}
	assert.Equal(t, "php", Format{}.String())
	assert.Equal(t, PHP, Format{}.New().Handler())
	_, err := Format{Compression: "gzip"}.Encode(NewSession(PHP))
	assert.ErrorIs(t, err, ErrUnknownCompression)
}

// Bytes stored uncompressed that happen to start with a valid lz4 header
// checksum declaring more than the size limit are still read as they are
// (the limit error is only returned when no reading works).
func TestFormatOverLimitHeaderFallsBack(t *testing.T) {
	hdr := []byte{0, 200, 0, 0, 0} // declares 200 bytes
	hdr[0] = crc8(hdr[1:5])
	data := append(hdr, `x|s:300:"`+strings.Repeat("y", 300)+`";`...)
	opts := &Options{MaxSessionSize: 100}
	_, _, err := LZ4.Decompress(data, 100)
	require.ErrorIs(t, err, ErrSessionTooLarge, "the header alone is over the limit")
	s, found, err := Format{Handler: PHP, Compression: LZ4}.Read(data, opts)
	require.NoError(t, err)
	assert.Equal(t, NoCompression, found.Compression)
	assert.Equal(t, 1, s.Len())
}
