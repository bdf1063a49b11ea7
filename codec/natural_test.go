package codec

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNaturalJSON(t *testing.T) {
	cyc := NewArray()
	cyc.Set(StrKey("me"), cyc)
	obj := NewObject("User")
	obj.SetKey(MangledKey("priv", Private, "User"), Int(1))
	obj.SetKey(MangledKey("prot", Protected, ""), Int(2))
	obj.Set("pub", String("p"))
	dup := NewObject("Child")
	dup.SetKey(MangledKey("x", Private, "Child"), Int(1))
	dup.SetKey(MangledKey("x", Private, "Parent"), Int(2))
	self := NewObject("Node")
	self.Set("self", self)
	shared := NewObject("stdClass")
	shared.Set("n", Int(1))
	ref := &Reference{V: Int(5)}
	m := NewArray()
	m.Set(StrKey("b"), Int(1))
	m.Set(IntKey(5), Bool(true))
	tests := []struct {
		name string
		v    Value
		json string
		str  string // String(); "" = same as json
		goV  any
	}{
		{"null", Null{}, `null`, "null", nil},
		{"nil", nil, `null`, "", nil},
		{"bool", Bool(true), `true`, "", true},
		{"int", Int(-42), `-42`, "", int64(-42)},
		{"float", Float(0.5), `0.5`, "", 0.5},
		{"integral float", Float(2), `2.0`, "", 2.0},
		{"big float", Float(1e25), `1.0E+25`, "", 1e25},
		{"nan", Float(math.NaN()), `null`, "", math.NaN()},
		{"inf", Float(math.Inf(-1)), `null`, "", math.Inf(-1)},
		{"string", String("a\"<é>\n"), `"a\"<é>\n"`, "", "a\"<é>\n"},
		{"bad utf8", String("a\xffb"), "\"a\uFFFDb\"", "", "a\xffb"},
		{"empty array", NewArray(), `[]`, "", []any{}},
		{"list", NewArrayOf(Int(1), String("x"), NewArrayOf()), `[1,"x",[]]`, "", []any{int64(1), "x", []any{}}},
		{"map", m, `{"b":1,"5":true}`, "", map[string]any{"b": int64(1), "5": true}},
		{"object", obj, `{"priv":1,"prot":2,"pub":"p"}`, `User{"priv":1,"prot":2,"pub":"p"}`,
			map[string]any{"priv": int64(1), "prot": int64(2), "pub": "p"}},
		{"duplicate member names", dup, `{"x":1}`, `Child{"x":1}`, map[string]any{"x": int64(1)}},
		{"cycle", cyc, `{"me":null}`, "", map[string]any{"me": nil}},
		{"self object", self, `{"self":null}`, `Node{"self":null}`, map[string]any{"self": nil}},
		{"shared object twice", NewArrayOf(shared, shared), `[{"n":1},{"n":1}]`, "",
			[]any{map[string]any{"n": int64(1)}, map[string]any{"n": int64(1)}}},
		{"reference", NewArrayOf(ref, ref), `[5,5]`, "", []any{int64(5), int64(5)}},
		{"serializable", &Serializable{Class: "Legacy", Payload: []byte(`a:0:{}`)}, `"a:0:{}"`, `Legacy("a:0:{}")`, "a:0:{}"},
		{"enum", Enum{Class: "Suit", Case: "Hearts"}, `"Suit::Hearts"`, "Suit::Hearts", "Suit::Hearts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.json, string(NaturalJSON(tt.v)))
			if tt.v != nil {
				b, err := json.Marshal(tt.v)
				require.NoError(t, err)
				var want bytes.Buffer
				require.NoError(t, json.Compact(&want, []byte(tt.json)))
				assert.JSONEq(t, tt.json, string(b))
			}
			g := ToGo(tt.v)
			if f, ok := tt.goV.(float64); ok && math.IsNaN(f) {
				assert.True(t, math.IsNaN(g.(float64)))
			} else {
				assert.Equal(t, tt.goV, g)
			}
			if tt.str != "" && tt.v != nil {
				assert.Equal(t, tt.str, fmt.Sprint(tt.v))
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	for _, doc := range []string{`{"a":1,"b":[1.5,"x",null,true],"c":{},"d":[]}`, `"s"`, `-0`, `[{"0":"z","1":"o"}]`} {
		v, err := ParseJSON([]byte(doc))
		require.NoError(t, err, doc)
		assert.JSONEq(t, doc, string(NaturalJSON(v)), doc)
	}
	v, err := ParseJSON([]byte(`{"z":1,"a":2}`))
	require.NoError(t, err)
	assert.Equal(t, `{"z":1,"a":2}`, string(NaturalJSON(v)), "document order kept")
	for _, bad := range []string{``, `{`, `1 2`, `nul`} {
		_, err := ParseJSON([]byte(bad))
		assert.ErrorIs(t, err, ErrJSON, bad)
	}
}

// TestNaturalJSONMatchesPHP: for sessions PHP wrote, the natural JSON of
// the decoded session is the document PHP's json_encode($_SESSION) writes
// (same tokens in the same order; numbers compared by value and by
// int/float), under the php and php_serialize handlers.
func TestNaturalJSONMatchesPHP(t *testing.T) {
	out := runPHPSessions(t, "testdata/natural_json.php")
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.SplitN(line, "\t", 4)
		require.Len(t, f, 4, line)
		data, err := hex.DecodeString(f[2])
		require.NoError(t, err)
		h, err := ParseHandler(f[1])
		require.NoError(t, err)
		s, err := DecodeSession(h, data, nil)
		require.NoError(t, err, f[0])
		got, err := json.Marshal(s)
		require.NoError(t, err)
		sameJSONTokens(t, f[3], string(got), f[0]+"/"+f[1])
		// ToGo agrees with the JSON (encoding/json view of both).
		m, err := s.Map()
		require.NoError(t, err)
		var a, b any
		require.NoError(t, json.Unmarshal([]byte(f[3]), &a))
		mj, err := json.Marshal(m)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(mj, &b))
		assert.Equal(t, a, b, f[0])
		n++
	}
	require.Greater(t, n, 5)
}

func sameJSONTokens(t *testing.T, want, got, name string) {
	t.Helper()
	dw := json.NewDecoder(strings.NewReader(want))
	dg := json.NewDecoder(strings.NewReader(got))
	dw.UseNumber()
	dg.UseNumber()
	for {
		tw, errw := dw.Token()
		tg, errg := dg.Token()
		if errw != nil || errg != nil {
			require.Equal(t, errw, errg, "%s: %s\nvs %s", name, want, got)
			return
		}
		nw, okw := tw.(json.Number)
		ng, okg := tg.(json.Number)
		if okw && okg {
			fw, _ := nw.Float64()
			fg, _ := ng.Float64()
			isFloat := func(n json.Number) bool { return strings.ContainsAny(string(n), ".eE") }
			require.True(t, fw == fg && isFloat(nw) == isFloat(ng), "%s: number %s vs %s\n%s\nvs %s", name, nw, ng, want, got)
			continue
		}
		require.Equal(t, tw, tg, "%s:\n%s\nvs %s", name, want, got)
	}
}
