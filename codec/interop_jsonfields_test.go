package codec

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestInteropJSONFields: JSON that PHP's json_encode() stored in session
// variables reads as Go values through JSONFields (escaped slashes,
// \uXXXX escapes, big ints kept exact), text that is not JSON stays a PHP
// string, and JSON that Go writes is what PHP's json_decode() reads back
// (compared through serialize(): PHP's serialize(json_decode($v, true))
// equals Marshal of the Go value).
func TestInteropJSONFields(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	script := testdataPath(t, "interop_jsonfields.php")
	run := func(args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, _, err := testenv.RunPHP(ctx, t, testenv.PHPSession{Addr: r.Addr}, fmt.Sprintf("<?php require %q;", script), args...)
		require.NoError(t, err)
		return out
	}
	const id = "jsonfields1"
	run("write", id)
	data, err := r.Do("GET", sessionPrefix+id)
	require.NoError(t, err)
	s, err := DecodeSession(PHP, []byte(data), nil)
	require.NoError(t, err)

	f := DefaultJSONFields()
	items, ok, err := f.Get(s, "scart_items")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, []any{
		map[string]any{"sku": "A/1", "name": "café \"q\" 😀", "qty": int64(2), "price": 9.5,
			"big": int64(9223372036854775807), "tags": []any{}},
		map[string]any{"sku": "B-2", "name": "line\nbreak", "qty": int64(1), "price": 0.1,
			"big": int64(-1), "tags": map[string]any{"x": true, "y": nil}},
	}, ToGo(items))
	ga, _, err := f.Get(s, "ga_data")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"cid": "123.456", "events": []any{int64(1), 2.5, "three"}}, ToGo(ga))
	tr, _, err := f.Get(s, "trace_list_7")
	require.NoError(t, err)
	assert.Equal(t, String("not json {"), tr) // not JSON: stays a PHP string
	sv, _, err := f.Get(s, "session_view_log")
	require.NoError(t, err)
	assert.Equal(t, String("just a string"), sv)
	other, _, err := f.Get(s, "other")
	require.NoError(t, err)
	assert.Equal(t, String("[1,2]"), other) // not a JSON field

	// What Get returned, written back (FromPHP → ToPHP), reads the same
	// (the JSON text is Go's natural JSON now: PHP's reading of it is
	// checked below for new values).
	for _, name := range s.Names() {
		v, _, err := f.Get(s, name)
		require.NoError(t, err)
		require.NoError(t, f.Set(s, name, v))
		again, _, err := f.Get(s, name)
		require.NoError(t, err)
		assert.Equal(t, ToGo(v), ToGo(again), name)
	}

	// Go writes JSON fields; PHP json_decode()s them.
	newItems := []map[string]any{{"sku": "C/3", "name": "ü & <b>", "qty": 3, "price": 1.25, "big": int64(1) << 62}}
	newGA := map[string]any{"cid": "9", "n": []any{nil, false, 0.5}}
	require.NoError(t, f.Set(s, "scart_items", newItems))
	require.NoError(t, f.Set(s, "ga_data", newGA))
	require.NoError(t, f.Set(s, "trace_list_9", []string{"a", "b"}))
	b, err := s.Encode()
	require.NoError(t, err)
	_, err = r.Do("SET", sessionPrefix+id, string(b))
	require.NoError(t, err)
	var got map[string]struct {
		Raw string `json:"raw"`
		OK  bool   `json:"ok"`
		Ser string `json:"ser"`
	}
	require.NoError(t, json.Unmarshal([]byte(run("read", id)), &got))
	for name, want := range map[string]any{"scart_items": newItems, "ga_data": newGA, "trace_list_9": []string{"a", "b"}} {
		w, err := Marshal(want)
		require.NoError(t, err)
		require.True(t, got[name].OK, name)
		ser, _ := hex.DecodeString(got[name].Ser)
		assert.Equal(t, string(w), string(ser), name)
	}
}
