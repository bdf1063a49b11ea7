package codec

// Randomized interop proof for the igbinary and msgpack serializers
// against real PHP (php CLI with the igbinary and msgpack extensions,
// phpredis session handler, redis-server; skipped when missing unless
// PHPSESSION_INTEGRATION=required). See interop_random_test.go for the
// php-family version and the seed/count variables.

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

var allHandlers = []Handler{PHP, PHPSerialize, PHPBinary, Igbinary, Msgpack}

// msgpackLossless reports whether the msgpack extension stores v as PHP
// holds it: no references to scalars, empty arrays or objects, no enums,
// no __serialize or nested-serialize() objects.
func msgpackLossless(s *Session) bool {
	seen := map[any]bool{}
	var walk func(v Value, inRef bool) bool
	walk = func(v Value, inRef bool) bool {
		switch x := v.(type) {
		case *Reference:
			if seen[x] {
				return true
			}
			seen[x] = true
			switch y := x.V.(type) {
			case *Array:
				if y.Len() == 0 {
					return false
				}
				return walk(y, true)
			case *Object, *Serializable:
				// msgpack keeps the object but not always which places
				// are the reference (an object property holding it is
				// written as the object itself).
				return false
			}
			return false
		case Enum:
			return false
		case *Array:
			for _, e := range x.m.e {
				if !walk(e.v, false) {
					return false
				}
			}
		case *Object:
			if seen[x] {
				return true
			}
			seen[x] = true
			if x.Class == "Modern" {
				// __serialize objects: msgpack numbers their data array.
				return false
			}
			for _, e := range x.m.e {
				if !walk(e.v, false) {
					return false
				}
			}
		case *Serializable:
			return x.Class != "Nested"
		}
		return true
	}
	for _, k := range s.Keys() {
		v, _, _ := s.GetKey(k)
		if !walk(v, false) {
			return false
		}
	}
	return true
}

// interopExtRegressSeeds are seeds of the random PHP-written sessions
// that once found igbinary bugs (6: an array holding its own storage
// through a PHP reference; 8: a reference only an array PHP shared between
// copies holds).
var interopExtRegressSeeds = []int64{6, 8}

func TestInteropPHPWrittenExt(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	seeds, count := interopSeeds(t, interopExtRegressSeeds...)
	count = max(count/2, 1)
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) { interopPHPWrittenExt(t, r, seed, count) })
	}
}

func interopPHPWrittenExt(t *testing.T, r *testenv.Redis, seed int64, count int) {
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	hs := ""
	for i, h := range allHandlers {
		if i > 0 {
			hs += ","
		}
		hs += string(h)
	}
	runPHPScript(t, r.Addr, "interop_gen.php", strconv.FormatInt(seed, 10), strconv.Itoa(count), out, hs)

	stored := map[int]map[Handler][]byte{}
	dumps := map[int]map[Handler]any{}
	conv := map[int]map[Handler]map[Handler]string{}
	var recs []phpRecord
	readJSONLines(t, out, func(line []byte) {
		var rec struct {
			phpRecord
			Conv map[Handler]string `json:"conv"`
		}
		require.NoError(t, json.Unmarshal(line, &rec))
		recs = append(recs, rec.phpRecord)
		if conv[rec.I] == nil {
			conv[rec.I] = map[Handler]map[Handler]string{}
		}
		conv[rec.I][Handler(rec.H)] = rec.Conv
	})
	require.Len(t, recs, len(allHandlers)*count)
	for _, rec := range recs {
		data := phpStored(t, r, rec.ID, rec.Enc)
		if stored[rec.I] == nil {
			stored[rec.I] = map[Handler][]byte{}
			dumps[rec.I] = map[Handler]any{}
		}
		stored[rec.I][Handler(rec.H)] = data
		var d any
		require.NoError(t, json.Unmarshal(rec.Dump, &d))
		dumps[rec.I][Handler(rec.H)] = d
	}

	stats := map[string]int{}
	for _, rec := range recs {
		h := Handler(rec.H)
		if h != Igbinary && h != Msgpack {
			continue
		}
		data := stored[rec.I][h]
		name := fmt.Sprintf("%s#%d", h, rec.I)

		// 1. Decode → encode.
		got, ok := DetectHandler(data)
		require.True(t, ok && got == h, "%s: DetectHandler = %q", name, got)
		s, err := DecodeSession(h, data, nil)
		require.NoError(t, err, "%s: %x", name, data)
		require.False(t, s.Modified(), name)
		// 2. Every value Set back (through Clone), encoded.
		requireReencodes(t, s, data, name)

		// 3. The values are what a PHP request reads (msgpack, which
		// PHP does not read back reliably: what PHP reads from the same
		// session written by php_serialize, where msgpack holds it all).
		phpDump := dumps[rec.I][h]
		// Whether msgpack holds the session as PHP had it: judged on
		// the same session written by php_serialize.
		ps, err := DecodeSession(PHPSerialize, stored[rec.I][PHPSerialize], nil)
		require.NoError(t, err)
		lossless := msgpackLossless(ps)
		if h == Msgpack {
			phpDump = dumps[rec.I][PHPSerialize]
		}
		if (h == Igbinary || lossless) && !refInsideModern(s) {
			wantJ, _ := json.Marshal(phpDump)
			gotJ, _ := json.Marshal(normJSON(t, sessionDump(t, s)))
			require.Equal(t, string(wantJ), string(gotJ), "%s values", name)
			stats[string(h)+" values"]++
		}

		// 4. Convert to and from every other serializer gives the bytes
		// PHP writes after reading the session (msgpack, which PHP does
		// not read back reliably: what it writes after reading the
		// php_serialize session, where msgpack holds it all).
		for _, other := range allHandlers {
			if other == h {
				continue
			}
			for _, dir := range [][2]Handler{{other, h}, {h, other}} {
				src, dst := dir[0], dir[1]
				want, ok := conv[rec.I][src][dst]
				if src == Msgpack {
					if !lossless {
						continue // the msgpack bytes hold less than PHP wrote
					}
					want, ok = conv[rec.I][PHPSerialize][dst], true
					if dst == PHPSerialize {
						want = hex.EncodeToString(stored[rec.I][PHPSerialize])
					}
				}
				require.True(t, ok, "%s#%d: no PHP conversion to %s", src, rec.I, dst)
				in, err := DecodeSession(src, stored[rec.I][src], nil)
				require.NoError(t, err)
				c, err := in.Convert(dst)
				require.NoError(t, err)
				enc, err := c.Encode()
				if dst == Msgpack && !lossless {
					// Values msgpack cannot hold are refused; objects
					// whose class has __serialize() PHP writes in a form
					// the other serializers' bytes do not tell apart.
					if errors.Is(err, ErrUnsupported) {
						stats["msgpack refused"]++
					}
					continue
				}
				require.NoError(t, err, "%s → %s", src, dst)
				if src == Msgpack && dst == Igbinary {
					// PHP reading msgpack makes an array of its own for
					// each empty array (igbinary writes each out); the
					// php_serialize reading shares PHP's empty array.
					// Compare the values.
					w, err := hex.DecodeString(want)
					require.NoError(t, err)
					want, enc = hex.EncodeToString(igAsPHPSerialize(t, w)), igAsPHPSerialize(t, enc)
				}
				require.Equal(t, want, hex.EncodeToString(enc), "%s#%d: %s → %s", src, rec.I, src, dst)
				stats["convert"]++
			}
		}
		stats[string(h)]++
		stats["bytes"] += len(data)
	}
	t.Logf("checked %v", stats)
}

// refInsideModern reports whether a PHP reference sits inside the data of
// a Modern (__serialize) object: PHP hands that data to __unserialize()
// after reading everything, and what it reads there depends on PHP's
// deferred calls (not on the bytes).
func refInsideModern(s *Session) bool {
	seen := map[any]bool{}
	var walk func(v Value, in bool) bool
	walk = func(v Value, in bool) bool {
		switch x := v.(type) {
		case *Reference:
			if in {
				return true
			}
			if seen[x] {
				return false
			}
			seen[x] = true
			return walk(x.V, in)
		case *Array:
			for _, e := range x.m.e {
				if walk(e.v, in) {
					return true
				}
			}
		case *Object:
			if seen[x] {
				return false
			}
			seen[x] = true
			for _, e := range x.m.e {
				if walk(e.v, in || x.Class == "Modern") {
					return true
				}
			}
		}
		return false
	}
	for _, k := range s.Keys() {
		v, _, _ := s.GetKey(k)
		if walk(v, false) {
			return true
		}
	}
	return false
}

func igAsPHPSerialize(t *testing.T, b []byte) []byte {
	s, err := DecodeSession(Igbinary, b, nil)
	require.NoError(t, err)
	c, err := s.Convert(PHPSerialize)
	require.NoError(t, err)
	out, err := c.Encode()
	require.NoError(t, err)
	return out
}
