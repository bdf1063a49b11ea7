package main

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// phpredis6Vectors reads the phpredis 6.1 captures kept by the codec
// package (codec/testdata/compression_phpredis6.json).
type phpredis6Vector struct {
	Serializer, Compression, Session string
	Level                            int
	Stored                           []byte
}

func loadPHPRedis6(t testing.TB) ([]phpredis6Vector, map[string]string) {
	t.Helper()
	b, err := os.ReadFile("../../codec/testdata/compression_phpredis6.json")
	require.NoError(t, err)
	var f struct {
		Values  map[string]string `json:"values"`
		Vectors []struct {
			Serializer  string `json:"serializer"`
			Compression string `json:"compression"`
			Level       int    `json:"level"`
			Session     string `json:"session"`
			StoredHex   string `json:"stored_hex"`
		} `json:"vectors"`
	}
	require.NoError(t, json.Unmarshal(b, &f))
	var out []phpredis6Vector
	for _, v := range f.Vectors {
		s, err := hex.DecodeString(v.StoredHex)
		require.NoError(t, err)
		out = append(out, phpredis6Vector{v.Serializer, v.Compression, v.Session, v.Level, s})
	}
	values := map[string]string{}
	for k, v := range f.Values {
		b, err := hex.DecodeString(v)
		require.NoError(t, err)
		values[k] = string(b)
	}
	return out, values
}

// decode/encode/convert on sessions phpredis 6.1 stored compressed:
// decode --handler auto reads every one; encode --compression writes what
// decode reads back to the same JSON; convert --from auto --to
// php_serialize gives PHP's serialize($_SESSION).
func TestCLICodecCompressedVectors(t *testing.T) {
	vs, values := loadPHPRedis6(t)
	n := 0
	for _, v := range vs {
		if v.Session == "large" || v.Session == "empty" || (v.Level != 3 && v.Level != 0) {
			continue
		}
		name := v.Serializer + "+" + v.Compression + "/" + v.Session
		js, stderr, code := runBin(t, v.Stored, "decode", "--handler", "auto")
		require.Equal(t, 0, code, "%s: %s", name, stderr)
		js2, stderr, code := runBin(t, v.Stored, "decode", "--handler", v.Serializer, "--compression", v.Compression)
		require.Equal(t, 0, code, "%s: %s", name, stderr)
		assert.Equal(t, string(js), string(js2), name)

		enc, stderr, code := runBin(t, js, "encode", "--compression", v.Compression, "--compression-level", "9")
		require.Equal(t, 0, code, "%s: %s", name, stderr)
		if v.Compression != "none" {
			c, _ := codec.ParseCompression(v.Compression)
			_, framed, err := c.Decompress(enc, 0)
			require.NoError(t, err)
			assert.True(t, framed, "%s: encode wrote %s", name, v.Compression)
		}
		back, stderr, code := runBin(t, enc, "decode", "--handler", v.Serializer, "--compression", v.Compression)
		require.Equal(t, 0, code, "%s: %s", name, stderr)
		assert.Equal(t, string(js), string(back), name)

		ser, stderr, code := runBin(t, v.Stored, "convert", "--from", "auto", "--to", "php_serialize")
		require.Equal(t, 0, code, "%s: %s", name, stderr)
		assert.Equal(t, values[v.Session], string(ser), name)
		n++
	}
	require.Greater(t, n, 50)

	// The wrong serializer is an error naming the right one.
	igz := vs[0]
	for _, v := range vs {
		if v.Serializer == "igbinary" && v.Compression == "zstd" && v.Session == "small" {
			igz = v
		}
	}
	_, stderr, code := runBin(t, igz.Stored, "decode", "--handler", "php")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "try --handler igbinary")
	_, stderr, code = runBin(t, []byte("x"), "decode", "--compression", "gzip")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "not a compression")
	_, stderr, code = runBin(t, []byte("x"), "convert", "--from", "php", "--to", "php+gzip")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "session format")
}

// migrate converts a live keyspace written by PHP (php serializer) to
// igbinary+zstd, resumably and under each session's lock; get --handler
// auto reads the result, get --handler php names the new format, set
// --handler auto keeps it, and migrate back restores PHP's bytes.
func TestMigrateToCompressedFormat(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, GCMaxLifetime: 3600}
	const n = 24
	written := parseIDLines(phpRun(t, php, migrateWriterPHP, "0", strconv.Itoa(n)))
	require.Len(t, written, n)
	c := rawClient(t, r.Addr)
	before := map[string]string{}
	for i := range n {
		id := "mig" + strconv.Itoa(i)
		b, ok := rawGet(t, c, "PHPREDIS_SESSION:"+id)
		require.True(t, ok)
		before[id] = b
	}
	u := "--redis=" + r.URL()
	state := filepath.Join(t.TempDir(), "state.json")
	args := []string{u, "--json", "migrate", "--from", "php", "--to", "igbinary+zstd:9", "--state", state, "--scan-count", "5"}

	res := cli(t, "", append(args, "--limit", "10")...)
	first := jsonLines(t, res.Out)
	require.Len(t, first, 1, res.Err)
	assert.Equal(t, false, first[0]["complete"])
	res = cli(t, "", args...)
	require.Equal(t, 0, res.Code, res.Err)
	fin := jsonLines(t, res.Out)
	require.Len(t, fin, 1, res.Err)
	assert.Equal(t, true, fin[0]["complete"])
	assert.EqualValues(t, n, fin[0]["converted"], "every session converted once (counts are kept across runs)")
	assert.EqualValues(t, 0, fin[0]["failed"])

	igz := codec.Format{Handler: codec.Igbinary, Compression: codec.Zstd}
	for id, old := range before {
		raw, _ := rawGet(t, c, "PHPREDIS_SESSION:"+id)
		s, found, err := igz.Read([]byte(raw), nil)
		require.NoError(t, err, id)
		assert.Equal(t, codec.Igbinary, found.Handler, id)
		assert.Equal(t, codec.Zstd, found.Compression, id)
		// Same values as PHP wrote: converting back gives PHP's bytes.
		back, err := s.Convert(codec.PHP)
		require.NoError(t, err)
		enc, err := back.Encode()
		require.NoError(t, err)
		assert.Equal(t, old, string(enc), id)
		ttl := testenvDo(t, r.Addr, "TTL", "PHPREDIS_SESSION:"+id)
		assert.NotEqual(t, "-1", ttl, "%s keeps a TTL", id)
	}

	// A re-run skips everything.
	res = cli(t, "", u, "--json", "migrate", "--from", "php", "--to", "igbinary+zstd")
	again := jsonLines(t, res.Out)
	require.Len(t, again, 1, res.Err)
	assert.EqualValues(t, 0, again[0]["converted"])
	assert.EqualValues(t, n, again[0]["skipped"])

	// get reads it with auto, and names the format when told php.
	out := mustCLI(t, u, "--handler", "auto", "get", "mig1")
	assert.Contains(t, out, "igbinary+zstd")
	res = cli(t, "", u, "get", "mig1")
	assert.Equal(t, 1, res.Code)
	assert.Contains(t, res.Err, "try --handler igbinary")
	mustCLI(t, u, "--handler", "igbinary", "--compression", "zstd", "get", "mig1", "i")

	// set with auto writes the session back in its own format.
	mustCLI(t, u, "--handler", "auto", "set", "mig1", "extra", "5")
	raw, _ := rawGet(t, c, "PHPREDIS_SESSION:mig1")
	_, found, err := igz.Read([]byte(raw), nil)
	require.NoError(t, err)
	assert.Equal(t, codec.Igbinary, found.Handler)
	assert.Equal(t, codec.Zstd, found.Compression)
	mustCLI(t, u, "del", "--handler", "auto", "mig1", "extra")

	// And back to php: PHP's own bytes again, readable by PHP 5.3.
	res = cli(t, "", u, "--json", "migrate", "--from", "auto", "--to", "php")
	require.Equal(t, 0, res.Code, res.Err)
	for id, old := range before {
		raw, _ := rawGet(t, c, "PHPREDIS_SESSION:"+id)
		assert.Equal(t, old, raw, id)
	}
	got := phpRun(t, php, `session_id("mig3"); session_start(); echo $_SESSION["i"]; session_write_close();`)
	assert.Equal(t, "3", strings.TrimSpace(got))
}
