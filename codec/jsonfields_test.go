package codec

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONFieldsMatch(t *testing.T) {
	f := DefaultJSONFields()
	for name, want := range map[string]bool{
		"scart_items": true, "ga_data": true, "session_view_log": true, "MPIReceive": true,
		"trace_list_": true, "trace_list_42": true,
		"scart_items2": false, "mpireceive": false, "trace_lis": false, "user": false, "": false,
	} {
		assert.Equal(t, want, f.Match(name), name)
	}
	assert.False(t, JSONFields{}.Match("scart_items"))
}

func TestJSONFieldsFromPHP(t *testing.T) {
	f := DefaultJSONFields()
	tests := []struct {
		name string
		in   Value
		want any
	}{
		{"scart_items", String(`[{"sku":"A","qty":2,"price":9.99}]`),
			[]any{map[string]any{"sku": "A", "qty": json.Number("2"), "price": json.Number("9.99")}}},
		{"ga_data", String(`{"big":12345678901234567890}`), map[string]any{"big": json.Number("12345678901234567890")}},
		{"trace_list_x", String(`"just a string"`), "just a string"},
		{"trace_list_y", String(`null`), nil},
		{"ga_data", String(`not json`), String(`not json`)}, // invalid JSON stays a PHP string
		{"ga_data", String(`{"a":1} trailing`), String(`{"a":1} trailing`)},
		{"ga_data", String(``), String(``)},
		{"ga_data", Int(5), Int(5)},                    // not a string: unchanged
		{"user", String(`{"a":1}`), String(`{"a":1}`)}, // not a JSON field
		{"MPIReceive", &Reference{V: String(`[1]`)}, []any{json.Number("1")}},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, f.FromPHP(tt.name, tt.in), "%s %v", tt.name, tt.in)
	}
}

func TestJSONFieldsToPHP(t *testing.T) {
	f := DefaultJSONFields()
	v, err := f.ToPHP("scart_items", []map[string]any{{"sku": "A<&>", "qty": 2}})
	require.NoError(t, err)
	assert.Equal(t, String(`[{"qty":2,"sku":"A<&>"}]`), v)

	// A Go string is JSON-encoded; a codec String is stored verbatim.
	v, err = f.ToPHP("ga_data", "x")
	require.NoError(t, err)
	assert.Equal(t, String(`"x"`), v)
	v, err = f.ToPHP("ga_data", String("not json"))
	require.NoError(t, err)
	assert.Equal(t, String("not json"), v)

	// Other names are marshalled normally.
	v, err = f.ToPHP("user", map[string]int{"id": 1})
	require.NoError(t, err)
	assert.Equal(t, []Key{StrKey("id")}, v.(*Array).Keys())

	_, err = f.ToPHP("ga_data", make(chan int))
	require.Error(t, err)
}

func TestJSONFieldsRoundTrip(t *testing.T) {
	f := DefaultJSONFields()
	for _, s := range []string{`[1,2.50,"x",{"k":null}]`, `{"b":1,"a":[true,false]}`, `not json`, `"s"`} {
		in := String(s)
		out, err := f.ToPHP("ga_data", f.FromPHP("ga_data", in))
		require.NoError(t, err)
		// The JSON value survives (object keys may be reordered).
		a, aok := DecodeJSONString(in)
		b, bok := DecodeJSONString(out)
		assert.Equal(t, aok, bok, s)
		assert.Equal(t, a, b, s)
		if !aok {
			assert.Equal(t, in, out)
		}
	}
}

func TestJSONFieldsSession(t *testing.T) {
	f := DefaultJSONFields()
	s := NewSession(PHP)
	require.NoError(t, f.Set(s, "scart_items", []int{1, 2}))
	require.NoError(t, f.Set(s, "n", 5))
	raw, ok, err := s.Get("scart_items")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, String("[1,2]"), raw)
	got, ok, err := f.Get(s, "scart_items")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []any{json.Number("1"), json.Number("2")}, got)
	got, ok, err = f.Get(s, "n")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, Int(5), got)
	_, ok, err = f.Get(s, "missing")
	require.NoError(t, err)
	assert.False(t, ok)
}
