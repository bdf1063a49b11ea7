package codec

// Arrays PHP shares between copies (copy on write) while they hold PHP
// references, against real PHP (testdata/interop_shared.php; skipped
// without php and redis-server unless PHPSESSION_INTEGRATION=required):
// igbinary and msgpack sessions decode and re-encode to PHP's bytes,
// igbinary values are what PHP reads, Convert gives what PHP writes after
// reading them, and sessions Go changes are read by PHP with the values
// and references Go holds.

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// sharedEdits are the changes Go makes to each igbinary case before PHP
// reads it back.
var sharedEdits = map[string][]struct {
	name string
	edit func(t *testing.T, s *Session)
}{
	"shared_lone_ref": {
		// The copy's element is its own value.
		{"copy", func(t *testing.T, s *Session) { elem(t, s, "b").Set(StrKey("r"), Int(7)) }},
		// So is the original's, through its reference.
		{"original", func(t *testing.T, s *Session) { get(elem(t, s, "a"), "r").(*Reference).V = Int(9) }},
		{"copy elem", func(t *testing.T, s *Session) { elem(t, s, "b").Set(StrKey("x"), Int(3)) }},
	},
	"shared_ref_rc2": {
		// A reference a variable holds too: every copy sees the change.
		{"through c", func(t *testing.T, s *Session) {
			v, _, err := s.Get("c")
			require.NoError(t, err)
			v.(*Reference).V = Int(42)
		}},
		{"copy elem", func(t *testing.T, s *Session) {
			get(elem(t, s, "b"), "n").(*Array).Set(StrKey("x"), Int(3))
		}},
	},
	"self_storage": {
		{"x.k", func(t *testing.T, s *Session) { elem(t, s, "x").Set(StrKey("k"), Int(2)) }},
		{"z.in.k", func(t *testing.T, s *Session) {
			v, _, err := s.Get("z")
			require.NoError(t, err)
			get(v.(*Reference).V.(*Array), "in").(*Array).Set(StrKey("k"), Int(3))
		}},
	},
	"self_array": {
		// The place changed is storage of its own; the copies inside
		// it still hold the array as PHP read it.
		{"x.k", func(t *testing.T, s *Session) { elem(t, s, "x").Set(StrKey("k"), Int(2)) }},
		{"x.r.in.k", func(t *testing.T, s *Session) {
			get(get(elem(t, s, "x"), "r").(*Array), "in").(*Array).Set(StrKey("k"), Int(3))
		}},
		{"y.deep.r", func(t *testing.T, s *Session) {
			get(get(elem(t, s, "y"), "deep").(*Array), "r").(*Array).Set(StrKey("z"), Int(4))
		}},
		// Where the array holds itself: storing there replaces it.
		{"x.r.in.r.in", func(t *testing.T, s *Session) {
			in := get(get(elem(t, s, "x"), "r").(*Array), "in").(*Array)
			get(get(in, "r").(*Array), "in").(*Array).Set(StrKey("z"), Int(5))
		}},
	},
	"self_array_direct": {
		{"x.k", func(t *testing.T, s *Session) { elem(t, s, "x").Set(StrKey("k"), Int(2)) }},
		{"x.r.k", func(t *testing.T, s *Session) { get(elem(t, s, "x"), "r").(*Array).Set(StrKey("k"), Int(3)) }},
	},
	"self_storage_prop": {
		{"o.p.k", func(t *testing.T, s *Session) {
			v, _, err := s.Get("o")
			require.NoError(t, err)
			p, _ := v.(*Object).Get("p")
			p.(*Array).Set(StrKey("k"), Int(2))
		}},
	},
}

// recursiveCases hold an array that holds itself with no PHP reference
// in between. PHP's typed dump unrolls it (64 levels), where Go holds the
// array where it contains itself as an empty array that stands for it: their
// values are compared through serialize($_SESSION), which writes N; there.
var recursiveCases = map[string]bool{"self_array": true, "self_array_direct": true}

func elem(t *testing.T, s *Session, name string) *Array {
	t.Helper()
	v, _, err := s.Get(name)
	require.NoError(t, err)
	a, ok := Deref(v).(*Array)
	require.True(t, ok, "%s is %T", name, v)
	return a
}

func get(a *Array, k string) Value {
	v, _ := a.Get(StrKey(k))
	return v
}

func TestInteropSharedStorage(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "shared.jsonl")
	runPHPScript(t, r.Addr, "interop_shared.php", out)

	type rec struct {
		Case string             `json:"case"`
		H    Handler            `json:"h"`
		ID   string             `json:"id"`
		Enc  string             `json:"enc"`
		Dump json.RawMessage    `json:"dump"`
		Conv map[Handler]string `json:"conv"`
	}
	var recs []rec
	readJSONLines(t, out, func(line []byte) {
		var x rec
		require.NoError(t, json.Unmarshal(line, &x))
		recs = append(recs, x)
	})
	require.Len(t, recs, 2*len(sharedEdits))

	type want struct{ dump, ser string }
	wants := map[string]want{}
	var list strings.Builder
	for _, x := range recs {
		name := x.Case + "/" + string(x.H)
		data := phpStored(t, r, x.ID, x.Enc)
		s, err := DecodeSession(x.H, data, nil)
		require.NoError(t, err, name)
		requireReencodes(t, s, data, name)
		if x.H != Igbinary {
			continue
		}

		var phpDump any
		require.NoError(t, json.Unmarshal(x.Dump, &phpDump))
		if !recursiveCases[x.Case] {
			require.Equal(t, phpDump, normJSON(t, sessionDump(t, s)), "%s values", name)
		}
		for _, to := range []Handler{PHP, PHPSerialize, PHPBinary} {
			c, err := s.Clone().Convert(to)
			require.NoError(t, err)
			got, err := c.Encode()
			require.NoError(t, err)
			require.Equal(t, x.Conv[to], hex.EncodeToString(got), "%s → %s", name, to)
		}

		for i, e := range sharedEdits[x.Case] {
			s, err := DecodeSession(Igbinary, []byte(data), nil)
			require.NoError(t, err)
			e.edit(t, s)
			enc, err := s.Encode()
			require.NoError(t, err, "%s: %s", name, e.name)
			c, err := s.Clone().Convert(PHPSerialize)
			require.NoError(t, err)
			ser, err := c.Encode()
			require.NoError(t, err)
			dump, err := json.Marshal(normJSON(t, sessionDump(t, s)))
			require.NoError(t, err)
			id := fmt.Sprintf("%sedit%d", x.ID, i)
			_, err = r.Do("SET", sessionPrefix+id, string(enc))
			require.NoError(t, err)
			if recursiveCases[x.Case] {
				dump = nil
			}
			wants[id] = want{string(dump), hex.EncodeToString(ser)}
			fmt.Fprintf(&list, "%s %s\n", Igbinary, id)
		}
	}

	n := phpReadBack(t, r.Addr, list.String(), func(rd phpRead) {
		w, ok := wants[rd.ID]
		require.True(t, ok, rd.ID)
		if w.dump != "" {
			require.Equal(t, w.dump, string(rd.Dump), "%s: PHP sees other values", rd.ID)
		}
		require.Equal(t, w.ser, rd.Ser, "%s: serialize($_SESSION)", rd.ID)
	})
	require.Equal(t, len(wants), n)
}
