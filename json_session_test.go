package phpsession_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestJSONFieldsWithPHP: JSON fields that Go writes are what PHP's
// json_decode() reads (an already-encoded JSON string and a
// json.RawMessage are stored as they are, not as a JSON string of a
// string), in-place edits of a decoded JSON field inside Update are saved,
// and a JSON field read but not changed keeps PHP's bytes.
func TestJSONFieldsWithPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	cfg := testenv.PHPSession{Addr: r.Addr}
	id := phpsession.NewID()
	key := "PHPREDIS_SESSION:" + id

	_, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start();
$_SESSION['scart_items'] = json_encode([['sku' => 'A/1', 'qty' => 1], ['sku' => 'B', 'qty' => 2]]);
$_SESSION['session_view_log'] = json_encode(['v' => [1, 2]]);
$_SESSION['n'] = 41;
session_write_close();
`, id)
	require.NoError(t, err)

	// Read but not changed: PHP's bytes (escaped slash included) are kept.
	require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
		_, _, err := s.Get("scart_items")
		if err != nil {
			return err
		}
		return s.Set("n", 42)
	}))
	assert.Contains(t, r.MustDo("GET", key), `"sku":"A\/1"`)

	// One number type: a PHP int and a JSON-field int are both codec.Int.
	n, err := m.Get(ctx, id, "n")
	require.NoError(t, err)
	assert.Equal(t, codec.Int(42), n)
	items, err := m.Get(ctx, id, "scart_items")
	require.NoError(t, err)
	_, first := items.(*codec.Array).At(0)
	qty, _ := first.(*codec.Object).Get("qty")
	assert.Equal(t, codec.Int(1), qty)

	require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
		// in-place edits of decoded JSON fields
		v, _, err := s.Get("scart_items")
		if err != nil {
			return err
		}
		_, second := v.(*codec.Array).At(1)
		second.(*codec.Object).Set("qty", codec.Int(3))
		v.(*codec.Array).Append(codec.NewArrayOf(codec.String("new")))
		// already-encoded JSON and raw JSON are stored as they are
		if err := s.Set("ga_data", `{"a":1}`); err != nil {
			return err
		}
		if err := s.Set("trace_list_1", json.RawMessage(`[true]`)); err != nil {
			return err
		}
		return s.Set("trace_list_2", "plain text")
	}))
	raw := r.MustDo("GET", key)
	assert.Contains(t, raw, `ga_data|s:7:"{"a":1}";`)
	assert.Contains(t, raw, `trace_list_1|s:6:"[true]";`)
	assert.Contains(t, raw, `trace_list_2|s:12:""plain text"";`)
	assert.Contains(t, raw, `session_view_log|s:11:"{"v":[1,2]}";`, "untouched field keeps PHP's bytes")

	out, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start(['read_and_close' => true]);
echo json_encode([json_decode($_SESSION['scart_items'], true), json_decode($_SESSION['ga_data'], true),
  json_decode($_SESSION['trace_list_1']), json_decode($_SESSION['trace_list_2'])], JSON_UNESCAPED_SLASHES);
`, id)
	require.NoError(t, err)
	assert.JSONEq(t, `[[{"sku":"A/1","qty":1},{"sku":"B","qty":3},["new"]],{"a":1},[true],"plain text"]`, out)

	// A whole session marshals naturally, as PHP's json_encode($_SESSION)
	// with the JSON fields decoded.
	s, err := m.Load(ctx, id)
	require.NoError(t, err)
	b, err := json.Marshal(s)
	require.NoError(t, err)
	phpJSON, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start(['read_and_close' => true]);
$o = $_SESSION;
foreach (['scart_items', 'ga_data', 'session_view_log', 'trace_list_1', 'trace_list_2'] as $k) { $o[$k] = json_decode($o[$k]); }
echo json_encode($o);
`, id)
	require.NoError(t, err)
	assert.JSONEq(t, phpJSON, string(b))
	mp, err := s.Map()
	require.NoError(t, err)
	assert.Equal(t, int64(42), mp["n"])
	assert.Equal(t, map[string]any{"a": int64(1)}, mp["ga_data"])
	assert.Equal(t, string(b), fmt.Sprint(s))
}
