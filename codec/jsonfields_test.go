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
		want any // decoded: ToGo of the result; else the result itself
		dec  bool
	}{
		{"scart_items", String(`[{"sku":"A","qty":2,"price":9.99}]`),
			[]any{map[string]any{"sku": "A", "qty": int64(2), "price": 9.99}}, true},
		// beyond int64: a float, as json_decode() gives
		{"ga_data", String(`{"big":12345678901234567890}`), map[string]any{"big": 12345678901234567890.0}, true},
		{"ga_data", String(`{"n":-9223372036854775808,"f":1.0,"e":1e2}`), map[string]any{"n": int64(-9223372036854775808), "f": 1.0, "e": 100.0}, true},
		{"trace_list_x", String(`"just a string"`), "just a string", true},
		{"trace_list_y", String(`null`), nil, true},
		{"ga_data", String(`not json`), String(`not json`), false}, // invalid JSON stays a PHP string
		{"ga_data", String(`{"a":1} trailing`), String(`{"a":1} trailing`), false},
		{"ga_data", String(``), String(``), false},
		{"ga_data", Int(5), Int(5), false},                    // not a string: unchanged
		{"user", String(`{"a":1}`), String(`{"a":1}`), false}, // not a JSON field
		{"MPIReceive", &Reference{V: String(`[1]`)}, []any{int64(1)}, true},
	}
	for _, tt := range tests {
		got := f.FromPHP(tt.name, tt.in)
		if tt.dec {
			assert.Equal(t, tt.want, ToGo(got), "%s %v", tt.name, tt.in)
		} else {
			assert.Equal(t, tt.want, got, "%s %v", tt.name, tt.in)
		}
	}
	// JSON objects are stdClass objects in document order; ints are Int.
	got := f.FromPHP("ga_data", String(`{"z":1,"a":[2.5,"x"],"e":{}}`))
	o, ok := got.(*Object)
	require.True(t, ok)
	assert.Equal(t, "stdClass", o.Class)
	z, _ := o.Get("z")
	assert.Equal(t, Int(1), z)
	assert.Equal(t, `{"z":1,"a":[2.5,"x"],"e":{}}`, string(NaturalJSON(got)))
}

func TestJSONFieldsToPHP(t *testing.T) {
	f := DefaultJSONFields()
	v, err := f.ToPHP("scart_items", []map[string]any{{"sku": "A<&>", "qty": 2}})
	require.NoError(t, err)
	assert.Equal(t, String(`[{"qty":2,"sku":"A<&>"}]`), v)

	for _, tt := range []struct {
		in   any
		want String
	}{
		{"x", `"x"`},                       // a Go string that is not JSON: its JSON literal
		{`{"a":1}`, `{"a":1}`},             // already-encoded JSON: as is
		{` [1, 2] `, ` [1, 2] `},           // as is, spacing included
		{`"x"`, `"x"`},                     // a JSON string literal: as is
		{String("not json"), `"not json"`}, // a codec String: like a string
		{String(`[1]`), `[1]`},
		{json.RawMessage(`{"b":[true]}`), `{"b":[true]}`},
		{[]byte(`{"c":1}`), `{"c":1}`}, // json.Marshal output: as is
		{[]byte{0xff, 0}, `"/wA="`},    // not JSON: encoding/json's base64
		{NewArrayOf(Int(1), Float(2), String("<&>")), `[1,2.0,"<&>"]`}, // codec values: natural JSON
		{map[string]any{"a": NewArrayOf(Null{})}, `{"a":[null]}`},
		{nil, `null`},
	} {
		v, err := f.ToPHP("ga_data", tt.in)
		require.NoError(t, err, "%#v", tt.in)
		assert.Equal(t, tt.want, v, "%#v", tt.in)
	}
	_, err = f.ToPHP("ga_data", json.RawMessage(`{bad`))
	require.ErrorIs(t, err, ErrJSON)

	// Other names are marshalled normally.
	v, err = f.ToPHP("user", map[string]int{"id": 1})
	require.NoError(t, err)
	assert.Equal(t, []Key{StrKey("id")}, v.(*Array).Keys())

	_, err = f.ToPHP("ga_data", make(chan int))
	require.Error(t, err)
}

func TestJSONFieldsRoundTrip(t *testing.T) {
	f := DefaultJSONFields()
	for _, s := range []string{`[1,2.50,"x",{"k":null}]`, `{"b":1,"a":[true,false]}`, `"s"`, `not json`} {
		in := String(s)
		out, err := f.ToPHP("ga_data", f.FromPHP("ga_data", in))
		require.NoError(t, err)
		// The JSON value survives.
		a, aok := DecodeJSONString(in)
		b, bok := DecodeJSONString(out)
		if !aok { // text that is not JSON is written as a JSON string
			assert.Equal(t, String(`"not json"`), out)
			continue
		}
		assert.True(t, bok, s)
		assert.Equal(t, ToGo(a), ToGo(b), s)
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
	assert.Equal(t, NewArrayOf(Int(1), Int(2)), got)
	got, ok, err = f.Get(s, "n")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, Int(5), got)
	_, ok, err = f.Get(s, "missing")
	require.NoError(t, err)
	assert.False(t, ok)
}
