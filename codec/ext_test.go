package codec

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseHandlerTable(t *testing.T) {
	for _, h := range Handlers() {
		got, err := ParseHandler(string(h))
		require.NoError(t, err)
		assert.Equal(t, h, got)
	}
	assert.Equal(t, []Handler{Igbinary, Msgpack, PHPSerialize, PHPBinary, PHP}, Handlers())
	_, err := ParseHandler("wddx")
	require.ErrorIs(t, err, ErrUnknownHandler)
	assert.Contains(t, err.Error(), "igbinary")
}

func TestDetectHandler(t *testing.T) {
	tests := []struct {
		data string
		want Handler
		ok   bool
	}{
		{"", "", false},
		{"\x00\x00\x00\x02\x14\x00", Igbinary, true},
		{"\x00\x00\x00\x01\x14\x00", Igbinary, true},
		{"\x00\x00\x00\x03\x14\x00", "", false},
		{"\x82\xc0\x01\xa1v\xc0", Msgpack, true},
		{"\x90", Msgpack, true},
		{"a:1:{s:1:\"a\";i:1;}", PHPSerialize, true},
		{"N;", PHPSerialize, true},
		{"\x01ai:1;", PHPBinary, true},
		{"a|i:1;", PHP, true},
		{"name|s:1:\"x\";", PHP, true},
		{"garbage", "", false},
		{"{\"json\":1}", "", false},
	}
	for _, tt := range tests {
		got, ok := DetectHandler([]byte(tt.data))
		assert.Equal(t, tt.want, got, "%q", tt.data)
		assert.Equal(t, tt.ok, ok, "%q", tt.data)
	}
}

// TestDecodeNamesLookalike: data written by another serializer fails
// with an error that names it.
func TestDecodeNamesLookalike(t *testing.T) {
	ig := "\x00\x00\x00\x02\x14\x01\x11\x01v\x06\x01"
	for _, tt := range []struct {
		h    Handler
		data string
		like Handler
	}{
		{PHP, ig, Igbinary},
		{Msgpack, ig, Igbinary},
		{Igbinary, "a|i:1;", PHP},
		{PHP, "\x82\xc0\x01\xa1v\x01", Msgpack},
		{Igbinary, "a:1:{s:1:\"a\";i:1;}", PHPSerialize},
	} {
		_, err := DecodeSession(tt.h, []byte(tt.data), nil)
		require.Error(t, err, "%s %q", tt.h, tt.data)
		require.ErrorIs(t, err, ErrSyntax)
		var se *SyntaxError
		require.True(t, errors.As(err, &se))
		assert.Equal(t, tt.like, se.LooksLike, "%s %q: %v", tt.h, tt.data, err)
		assert.Contains(t, err.Error(), "looks like "+string(tt.like))
	}
}

// TestExtBadInput: truncated data, wrong headers and declared lengths or
// counts larger than the input are errors, found before allocating.
func TestExtBadInput(t *testing.T) {
	tests := []struct {
		name string
		h    Handler
		data string
		is   error
		msg  string
	}{
		{"ig short", Igbinary, "\x00\x00\x00\x02", ErrSyntax, "at least 5 bytes"},
		{"ig header", Igbinary, "\x00\x00\x00\x07\x14\x00", ErrSyntax, "unsupported header"},
		{"ig not array", Igbinary, "\x00\x00\x00\x02\x06\x01", ErrSyntax, "not an array"},
		{"ig truncated", Igbinary, "\x00\x00\x00\x02\x14\x02\x11\x01a\x06", ErrSyntax, "end of data"},
		{"ig huge count", Igbinary, "\x00\x00\x00\x02\x16\xff\xff\xff\xff", ErrTooLarge, "element count"},
		{"ig huge string", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x13\xff\xff\xff\xff", ErrTooLarge, "string length"},
		{"ig huge string64", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x26\xff\xff\xff\xff\xff\xff\xff\xff", ErrTooLarge, "string length"},
		{"ig huge payload", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x17\x01C\x1f\xff\xff\xff\xff", ErrTooLarge, "payload length"},
		{"ig bad string id", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x0e\x07", ErrSyntax, "string id 7"},
		{"ig bad backref", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x01\x09", ErrSyntax, "back-reference 9"},
		{"ig unknown type", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x30", ErrSyntax, "unknown type"},
		{"ig int range", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x20\xff\xff\xff\xff\xff\xff\xff\xff", ErrSyntax, "int out of range"},
		{"ig deep", Igbinary, "\x00\x00\x00\x02" + strings.Repeat("\x14\x01\x06\x00", 300) + "\x00", ErrDepth, "too deep"},
		{"mp not map", Msgpack, "\x01", ErrSyntax, "not a map"},
		{"mp no marker", Msgpack, "\x81\xa1v\x01", ErrSyntax, "reference marker"},
		{"mp truncated", Msgpack, "\x82\xc0\x01\xa1v", ErrSyntax, "end of data"},
		{"mp huge map", Msgpack, "\xdf\xff\xff\xff\xff", ErrTooLarge, "exceeds the remaining input"},
		{"mp huge array", Msgpack, "\x82\xc0\x01\xa1v\xdd\xff\xff\xff\xff", ErrTooLarge, "exceeds the remaining input"},
		{"mp huge str", Msgpack, "\x82\xc0\x01\xa1v\xdb\xff\xff\xff\xff", ErrTooLarge, "exceeds the remaining input"},
		{"mp bad backref", Msgpack, "\x82\xc0\x01\xa1v\x82\xc0\x04\x00\x09", ErrSyntax, "does not exist"},
		{"mp bad type", Msgpack, "\x82\xc0\x01\xa1v\xc1", ErrSyntax, "unknown type"},
		{"mp deep", Msgpack, "\x82\xc0\x01\xa1v" + strings.Repeat("\x91", 300) + "\xc0", ErrDepth, "too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			_, err := DecodeSession(tt.h, []byte(tt.data), &Options{MaxDepth: 200})
			runtime.ReadMemStats(&ms1)
			require.Error(t, err)
			assert.ErrorIs(t, err, tt.is)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Less(t, ms1.TotalAlloc-ms0.TotalAlloc, uint64(1<<20), "allocated before failing")
		})
	}
}

// TestExtRefused: values the extension cannot express are errors that
// say so, not silent losses.
func TestExtRefused(t *testing.T) {
	s := NewSession(Msgpack)
	require.NoError(t, s.Set("e", Enum{Class: "Suit", Case: "Hearts"}))
	_, err := s.Encode()
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "enum")

	s = NewSession(Msgpack)
	r := &Reference{V: Int(1)}
	require.NoError(t, s.Set("a", r))
	require.NoError(t, s.Set("b", r))
	_, err = s.Encode()
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Contains(t, err.Error(), "reference")

	// One place holding a reference: the value, as PHP writes it.
	s = NewSession(Msgpack)
	require.NoError(t, s.Set("a", &Reference{V: Int(1)}))
	b, err := s.Encode()
	require.NoError(t, err)
	assert.Equal(t, "\x82\xc0\x01\xa1a\x01", string(b))

	for _, h := range []Handler{Igbinary, Msgpack} {
		s = NewSession(h)
		err = s.Set("7", Int(1))
		require.ErrorIs(t, err, ErrInvalidName, h)
		a := NewArray()
		a.Set(StrKey("x"), a) // a Go cycle without a *Reference
		require.NoError(t, s.Set("c", a))
		_, err = s.Encode()
		require.ErrorIs(t, err, ErrDepth, h)
	}
}

// TestIgbinarySharedArrays: copies PHP shares (copy on write) are separate
// Go values; while equal they re-encode as igbinary's back-reference.
func TestIgbinarySharedArrays(t *testing.T) {
	// Captured from PHP 8.2 + igbinary 3.2.13 (the session serializer
	// writes the header and the array as igbinary_serialize does):
	// php -r '$a = ["x" => 1]; echo bin2hex(igbinary_serialize(["a" => $a, "b" => $a, "e" => [], "f" => []]));'
	data := "\x00\x00\x00\x02\x14\x04\x11\x01a\x14\x01\x11\x01x\x06\x01\x11\x01b\x01\x01\x11\x01e\x14\x00\x11\x01f\x01\x02"
	s, err := DecodeSession(Igbinary, []byte(data), nil)
	require.NoError(t, err)
	enc, err := s.Encode()
	require.NoError(t, err)
	require.Equal(t, data, string(enc))
	a, _, _ := s.Get("a")
	b, _, _ := s.Get("b")
	require.NotSame(t, a, b)
	b.(*Array).Set(StrKey("y"), Int(2))
	va, _ := a.(*Array).Get(StrKey("y"))
	assert.Nil(t, va, "changing b changed a")
	// PHP, after $b["y"] = 2 on a copy: the same bytes (captured likewise).
	enc, err = s.Encode()
	require.NoError(t, err)
	assert.Equal(t, "\x00\x00\x00\x02\x14\x04\x11\x01a\x14\x01\x11\x01x\x06\x01\x11\x01b\x14\x02\x0e\x01\x06\x01\x11\x01y\x06\x02\x11\x01e\x14\x00\x11\x01f\x01\x03", string(enc))

	// Go values: empty arrays are PHP's one shared empty array.
	g := NewSession(Igbinary)
	require.NoError(t, g.Set("e", NewArray()))
	require.NoError(t, g.Set("f", NewArray()))
	enc, err = g.Encode()
	require.NoError(t, err)
	assert.Equal(t, "\x00\x00\x00\x02\x14\x02\x11\x01e\x14\x00\x11\x01f\x01\x01", string(enc))
}

// TestWholeSessionClone: igbinary and msgpack sessions share their decoded
// values with clones until one is handed out; a clone's changes never
// reach the original or other clones, concurrently too.
func TestWholeSessionClone(t *testing.T) {
	for _, h := range []Handler{Igbinary, Msgpack} {
		t.Run(string(h), func(t *testing.T) {
			data := benchDataT(t, h)
			s, err := DecodeSession(h, data, nil)
			require.NoError(t, err)
			require.False(t, s.Modified())
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := s.Clone()
					v, _, err := c.Get("cart")
					if err != nil {
						errs <- err
						return
					}
					v.(*Array).Append(String("added"))
					if !c.Modified() {
						errs <- errors.New("clone not modified after a change")
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			enc, err := s.Encode()
			require.NoError(t, err)
			require.Equal(t, data, enc, "the original changed")
			require.False(t, s.Modified())
			cart, _, err := s.Get("cart")
			require.NoError(t, err)
			require.Equal(t, 20, cart.(*Array).Len())
		})
	}
}

func benchDataT(t *testing.T, h Handler) []byte {
	b, err := os.ReadFile("testdata/bench_session_" + string(h) + ".bin")
	require.NoError(t, err)
	return b
}
