package codec

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJSONRenderVectors: every PHP-written vector survives
// decode → JSON → encode byte for byte.
func TestJSONRenderVectors(t *testing.T) {
	n := 0
	for _, v := range loadVectors(t) {
		if v.StoredHex == nil {
			continue
		}
		h, err := ParseHandler(v.Handler)
		if err != nil {
			continue // igbinary, msgpack
		}
		data := mustHex(t, *v.StoredHex)
		s, err := DecodeSession(h, data, nil)
		if err != nil {
			continue // vectors PHP itself cannot read back
		}
		orig, err := s.Encode()
		require.NoError(t, err)
		if string(orig) != string(data) {
			continue
		}
		j, err := SessionToJSON(s)
		require.NoError(t, err, v.Case)
		s2, err := SessionFromJSON(j, "")
		require.NoError(t, err, "%s/%s: %s", v.Handler, v.Case, j)
		got, err := s2.Encode()
		require.NoError(t, err, v.Case)
		assert.Equal(t, string(data), string(got), "%s/%s: %s", v.Handler, v.Case, j)
		n++
	}
	t.Logf("%d vectors round-tripped through JSON", n)
	assert.Greater(t, n, 100)
}

func TestJSONRenderExamples(t *testing.T) {
	tests := []struct {
		name string
		h    Handler
		in   string
		want string
	}{
		{"scalars", PHP, `n|N;b|b:1;i|i:-5;d|d:0.1;e|d:1.0E+25;z|d:-0;inf|d:-INF;nan|d:NAN;s|s:3:"a"b";`,
			`{"handler":"php","vars":[["n",null],["b",true],["i",-5],["d",{"float":"0.1"}],["e",{"float":"1.0E+25"}],["z",{"float":"-0"}],["inf",{"float":"-INF"}],["nan",{"float":"NAN"}],["s","a\"b"]]}`},
		{"binary", PHP, "bin|s:3:\"\x00\xff\n\";\xffname|i:1;",
			`{"handler":"php","vars":[["bin",{"bytes":"AP8K"}],[{"bytes":"/25hbWU="},1]]}`},
		{"arrays", PHPSerialize, `a:2:{i:7;a:2:{i:0;s:1:"x";i:1;i:2;}s:1:"m";a:2:{i:5;b:0;s:2:"07";N;}}`,
			`{"handler":"php_serialize","vars":[[7,{"list":["x",2]}],["m",{"array":[[5,false],["07",null]]}]]}`},
		{"object", PHP, "o|O:2:\"Pt\":3:{s:1:\"x\";i:1;s:4:\"\x00*\x00y\";i:2;s:5:\"\x00Pt\x00z\";i:3;}",
			`{"handler":"php","vars":[["o",{"object":"Pt","members":[{"name":"x","value":1},{"name":"y","visibility":"protected","value":2},{"name":"z","visibility":"private","class":"Pt","value":3}]}]]}`},
		{"serialize object", PHP, `m|O:6:"Modern":2:{i:0;i:1;s:1:"k";N;}`,
			`{"handler":"php","vars":[["m",{"object":"Modern","members":[{"key":0,"value":1},{"name":"k","value":null}]}]]}`},
		{"C and E", PHP, `c|C:6:"Legacy":3:{abc}e|E:11:"Suit:Hearts";f|r:2;`,
			`{"handler":"php","vars":[["c",{"serializable":"Legacy","payload":"abc"}],["e",{"enum":"Suit","case":"Hearts"}],["f",{"enum":"Suit","case":"Hearts"}]]}`},
		{"shared object", PHP, `a|O:8:"stdClass":1:{s:1:"n";i:1;}b|r:1;c|a:1:{i:0;r:1;}`,
			`{"handler":"php","vars":[["a",{"object":"stdClass","id":1,"members":[{"name":"n","value":1}]}],["b",{"same":1}],["c",{"list":[{"same":1}]}]]}`},
		{"reference across vars", PHP, `a|i:1;b|R:1;`,
			`{"handler":"php","vars":[["a",{"ref":1,"value":1}],["b",{"ref":1}]]}`},
		{"self cycle", PHP, `v|O:8:"stdClass":1:{s:4:"self";r:1;}`,
			`{"handler":"php","vars":[["v",{"object":"stdClass","id":1,"members":[{"name":"self","value":{"same":1}}]}]]}`},
		{"recursive array", PHP, `v|a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}`, ""},
		{"php_serialize refs", PHPSerialize, `a:2:{s:1:"a";i:1;s:1:"b";R:2;}`,
			`{"handler":"php_serialize","vars":[["a",{"ref":1,"value":1}],["b",{"ref":1}]]}`},
		{"empty", PHP, ``, `{"handler":"php","vars":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSession(tt.h, []byte(tt.in), nil)
			require.NoError(t, err)
			j, err := SessionToJSON(s)
			require.NoError(t, err)
			if tt.want != "" {
				assert.Equal(t, tt.want, string(j))
			}
			s2, err := SessionFromJSON(j, "")
			require.NoError(t, err)
			out, err := s2.Encode()
			require.NoError(t, err)
			assert.Equal(t, tt.in, string(out), "%s", j)
		})
	}
}

func TestJSONRenderValue(t *testing.T) {
	a := NewArray()
	a.Set(StrKey("f"), Float(math.Copysign(0, -1)))
	a.Set(IntKey(-3), String("\x00\x1f\x7f\u2028é"))
	j, err := ValueToJSON(a)
	require.NoError(t, err)
	assert.Equal(t, `{"array":[["f",{"float":"-0"}],[-3,"\u0000\u001f\u007f`+"\u2028"+`é"]]}`, string(j))
	v, err := ValueFromJSON(j)
	require.NoError(t, err)
	b1, _ := EncodeValue(a)
	b2, _ := EncodeValue(v)
	assert.Equal(t, string(b1), string(b2))
	f, _ := v.(*Array).Get(StrKey("f"))
	assert.True(t, math.Signbit(float64(f.(Float))))
}

func TestJSONRenderErrors(t *testing.T) {
	for _, in := range []string{
		``, `{`, `[1]`, `1.5`, `1e3`, `99999999999999999999`, `{"float":1}`, `{"float":"x"}`,
		`{"list":[1],"x":2}`, `{"array":[[1]]}`, `{"array":[["5",1]]}`, `{"array":[[1,1],[1,2]]}`,
		`{"bytes":"!!"}`, `{"object":"X","members":[{"name":"a"}]}`,
		`{"object":"X","members":[{"name":"a","visibility":"secret","value":1}]}`,
		`{"object":"X","members":[{"name":"a","class":"C","value":1}]}`,
		`{"same":1}`, `{"ref":1}`, `{"object":"X","id":1,"members":[{"name":"a","value":{"ref":1}}]}`,
		`{"wat":1}`, `null null`,
	} {
		_, err := ValueFromJSON([]byte(in))
		require.Error(t, err, in)
		assert.True(t, errors.Is(err, ErrJSON), "%s: %v", in, err)
	}
	_, err := SessionFromJSON([]byte(`{"handler":"php","vars":[["a|b",1]]}`), "")
	assert.ErrorIs(t, err, ErrInvalidName)
	_, err = SessionFromJSON([]byte(`{"handler":"nope","vars":[]}`), "")
	assert.ErrorIs(t, err, ErrUnknownHandler)
	_, err = SessionFromJSON([]byte(`{"handler":"php","vars":[[1,1]]}`), "")
	assert.ErrorIs(t, err, ErrInvalidName)
	_, err = SessionFromJSON([]byte(`{"handler":"php","vars":[["a",1]],"x":1}`), "")
	assert.ErrorIs(t, err, ErrJSON)
	// The handler argument overrides the document's.
	s, err := SessionFromJSON([]byte(`{"handler":"php","vars":[["7",1]]}`), PHPSerialize)
	require.NoError(t, err)
	b, err := s.Encode()
	require.NoError(t, err)
	assert.Equal(t, `a:1:{i:7;i:1;}`, string(b))
	assert.True(t, strings.HasPrefix(ErrJSON.Error(), "codec:"))
}
