package main

import (
	"bytes"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

func TestQuotePHP(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", `""`},
		{"bob", `"bob"`},
		{"é ü 日本", `"é ü 日本"`},
		{"a\x00b", `"a\x00b"`},
		{"\xff\xfe", `"\xff\xfe"`},
		{"q\"\\\n\t\r", `"q\"\\\n\t\r"`},
		{"\x7f", `"\x7f"`},
		{"\u200b", `"\u{200b}"`},
		{"ok\xc3", `"ok\xc3"`}, // truncated UTF-8
	} {
		assert.Equal(t, tc.want, quotePHP(tc.in), "%q", tc.in)
	}
}

func TestPrettyValueIdentity(t *testing.T) {
	// an object that holds itself, and a reference shared by two places
	o := codec.NewObject("Node")
	o.Set("self", o)
	r := &codec.Reference{V: codec.Int(1)}
	a := codec.NewArray()
	a.Append(r)
	a.Append(r)
	a.Append(o)
	a.Append(codec.Enum{Class: "Suit", Case: "Hearts"})
	a.Append(&codec.Serializable{Class: "S", Payload: []byte("x\x00")})
	a.Append(codec.Float(math.Copysign(0, -1)))
	got := prettyValue(a)
	want := `array(6) {
  [0] => &1 int(1)
  [1] => &1 (reference, see above)
  [2] => object(Node)#2 (1) {
    public $self => *object(Node)#2 (same object, see above)
  }
  [3] => enum(Suit::Hearts)
  [4] => serializable(S) payload(2) "x\x00"
  [5] => float(-0)
}`
	assert.Equal(t, want, got)
	assert.Equal(t, "array(6)", compactValue(a, 10))
	assert.Equal(t, `"abcde"…`, compactValue(codec.String("abcdefgh"), 5))
	assert.Equal(t, `&int(1)`, compactValue(r, 5))
}

func TestPlainJSONValue(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want: serialize() of the result
	}{
		{`3`, `i:3;`},
		{`-9223372036854775808`, `i:-9223372036854775808;`},
		{`9223372036854775808`, `d:9.223372036854776E+18;`},
		{`2.5`, `d:2.5;`},
		{`1e3`, `d:1000;`},
		{`"x"`, `s:1:"x";`},
		{`null`, `N;`},
		{`true`, `b:1;`},
		{`[1,"a",[]]`, `a:3:{i:0;i:1;i:1;s:1:"a";i:2;a:0:{}}`},
		{`{"b":1,"a":2,"7":3,"07":4}`, `a:4:{s:1:"b";i:1;s:1:"a";i:2;i:7;i:3;s:2:"07";i:4;}`},
		{` {"x": {"y": null}} `, `a:1:{s:1:"x";a:1:{s:1:"y";N;}}`},
	} {
		v, err := plainJSONValue([]byte(tc.in))
		require.NoError(t, err, tc.in)
		b, err := codec.EncodeValue(v)
		require.NoError(t, err)
		assert.Equal(t, tc.want, string(b), tc.in)
	}
	for _, bad := range []string{``, `x`, `1 2`, `{"a":}`, `[1,`, `"unterminated`, `{"a":1}}`} {
		_, err := plainJSONValue([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func FuzzPlainJSONValue(f *testing.F) {
	for _, s := range []string{`1`, `{"a":[1,2.5,"x",null,true]}`, `[[[[]]]]`, `{"7":1,"b":{}}`, `1e400`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := plainJSONValue([]byte(s))
		if err != nil {
			return
		}
		b, err := codec.EncodeValue(v)
		if err != nil {
			t.Fatalf("%q: encode: %v", s, err)
		}
		if _, err := codec.DecodeValue(b, nil); err != nil {
			t.Fatalf("%q: %q does not decode: %v", s, b, err)
		}
		_ = prettyValue(v)
	})
}

func FuzzPretty(f *testing.F) {
	for _, s := range []string{`n|i:1;`, `a|a:1:{i:0;R:2;}`, `o|O:1:"A":1:{s:4:"` + "\x00A\x00x" + `";r:2;}`, `s|s:2:"` + "\xff\x00" + `";`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sess, err := codec.DecodeSession(codec.PHP, []byte(s), nil)
		if err != nil {
			return
		}
		_, _ = prettySession(sess)
		sn := takeSnapshot(codec.Format{Handler: codec.PHP}, false, redisio.Data{Bytes: []byte(s), Found: true})
		_, _ = diff("x", snapshot{}, sn)
	})
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		from, to codec.Handler
		in       string
		out      string
		conv     bool
		err      string
	}{
		{codec.PHP, codec.PHPSerialize, `n|i:1;`, `a:1:{s:1:"n";i:1;}`, true, ""},
		{codec.PHP, codec.PHPSerialize, `a:1:{s:1:"n";i:1;}`, "", false, ""}, // already
		{codec.PHP, codec.PHPSerialize, ``, `a:0:{}`, true, ""},
		{codec.PHPSerialize, codec.PHP, `a:0:{}`, ``, true, ""},
		{codec.PHP, codec.PHPBinary, `n|i:1;`, "\x01ni:1;", true, ""},
		{codec.PHPBinary, codec.PHP, "\x01ni:1;", `n|i:1;`, true, ""},
		{codec.PHP, codec.PHPSerialize, `garbage`, "", false, "offset"},
		{codec.PHPSerialize, codec.PHP, `a:1:{s:3:"a|b";i:1;}`, "", false, "cannot"},
		{codec.PHPSerialize, codec.PHP, `a:1:{i:7;i:1;}`, "", false, "cannot"},
		{codec.PHP, codec.PHPSerialize, `a|a:1:{i:0;i:1;}b|R:2;`, `a:2:{s:1:"a";a:1:{i:0;i:1;}s:1:"b";R:3;}`, true, ""},
	} {
		out, conv, err := classify(codec.Format{Handler: tc.from}, false, codec.Format{Handler: tc.to}, []byte(tc.in))
		if tc.err != "" {
			require.Error(t, err, tc.in)
			assert.Contains(t, err.Error(), tc.err)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.conv, conv, tc.in)
		if conv {
			assert.Equal(t, tc.out, string(out), tc.in)
		}
	}
}

// classify between formats with compression: php -> igbinary+zstd and
// back, already-converted data skipped, data in a third serializer refused
// unless --from auto.
func TestClassifyCompression(t *testing.T) {
	php := codec.Format{Handler: codec.PHP}
	igz := codec.Format{Handler: codec.Igbinary, Compression: codec.Zstd, Level: 3}
	s := codec.NewSession(codec.PHP)
	require.NoError(t, s.Set("n", codec.Int(1)))
	plain, err := php.Encode(s)
	require.NoError(t, err)

	out, conv, err := classify(php, false, igz, plain)
	require.NoError(t, err)
	require.True(t, conv)
	back, found, err := igz.Read(out, nil)
	require.NoError(t, err)
	assert.Equal(t, igz.Handler, found.Handler)
	assert.Equal(t, igz.Compression, found.Compression)
	v, _, _ := back.Get("n")
	assert.Equal(t, codec.Int(1), v)

	_, conv, err = classify(php, false, igz, out) // re-run: already converted
	require.NoError(t, err)
	assert.False(t, conv)

	out2, conv, err := classify(igz, false, php, out) // and back
	require.NoError(t, err)
	require.True(t, conv)
	assert.Equal(t, string(plain), string(out2))

	lz := codec.Format{Handler: codec.PHP, Compression: codec.LZ4}
	phpLZ4, err := lz.Encode(s)
	require.NoError(t, err)
	out3, conv, err := classify(php, false, igz, phpLZ4) // php under another compression is still php
	require.NoError(t, err)
	require.True(t, conv)
	assert.Equal(t, string(out), string(out3))

	msg, err := codec.Format{Handler: codec.Msgpack}.Encode(s)
	require.NoError(t, err)
	_, _, err = classify(php, false, igz, msg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "msgpack")
	_, conv, err = classify(php, true, igz, msg)
	require.NoError(t, err)
	assert.True(t, conv)
}

func TestGlobEscape(t *testing.T) {
	assert.Equal(t, `PHPREDIS_SESSION:`, globEscape("PHPREDIS_SESSION:"))
	assert.Equal(t, `a\*b\?c\[d\]e\\f`, globEscape(`a*b?c[d]e\f`))
}

func TestWatchDiff(t *testing.T) {
	snap := func(s string) snapshot {
		return takeSnapshot(codec.Format{Handler: codec.PHP}, false, redisio.Data{Bytes: []byte(s), Found: true})
	}
	ev, ok := diff("x", snap(`a|i:1;b|i:2;`), snap(`a|i:1;b|i:3;c|s:1:"z";`))
	require.True(t, ok)
	assert.Equal(t, []string{"c"}, ev.Added)
	assert.Equal(t, []string{"b"}, ev.Changed)
	assert.Empty(t, ev.Removed)
	assert.True(t, strings.HasSuffix(ev.text(), `+c="z"  ~b: int(2) → int(3)`), ev.text())
	_, ok = diff("x", snap(`a|i:1;`), snap(`a|i:1;`))
	assert.False(t, ok)
	ev, _ = diff("x", snap(`a|i:1;`), snapshot{})
	assert.Equal(t, "deleted", ev.Event)
	ev, _ = diff("x", snapshot{}, snap(`a|i:1;`))
	assert.Equal(t, "created", ev.Event)
	ev, _ = diff("x", snap(`a|i:1;`), snap(`junk`))
	assert.Equal(t, "undecodable", ev.Event)
}

func TestHolderState(t *testing.T) {
	host, err := os.Hostname()
	require.NoError(t, err)
	me := strconv.Itoa(os.Getpid())
	assert.Equal(t, "running", holderState(host+"|"+me))
	assert.Equal(t, "running", holderState(host+"|"+me+"|go1:abc")) // phpsession's tokens
	assert.Equal(t, "gone", holderState(host+"|2147483646"))
	assert.Equal(t, "", holderState("some-other-host|"+me))
	assert.Equal(t, "", holderState("opaque-token"))
	assert.Equal(t, "", holderState(host+"|x"))
}

// A session that failed after its write (the lock's release or its TTL
// after a converted write, a lost reply) is not reported as left
// untouched: the list said "failed (left untouched):" above
// "converted, but: release lock: ..." after Redis paused mid-migrate.
func TestMigrateSummaryDoesNotClaimUntouched(t *testing.T) {
	var out bytes.Buffer
	writeMigrateText(&out, &migrateState{From: "php", To: "igbinary", Converted: 5, Failed: 2, Complete: true,
		Failures: []migrateFailure{{ID: "a", Reason: "converted, but: release lock: no reply within 3s"},
			{ID: "b", Reason: "write: redisio: outcome of write unknown"}}})
	if strings.Contains(out.String(), "left untouched") || !strings.Contains(out.String(), "unless the reason says converted or outcome unknown") {
		t.Fatalf("summary:\n%s", out.String())
	}
}
