package phpsession_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestInteropSerializersWithPHP: with Config.Serializer igbinary or
// msgpack, the Manager shares sessions with PHP configured with the same
// session.serialize_handler (phpredis 5.3, locking on): what PHP writes Go
// reads, what Go writes PHP reads, and the bytes in Redis are that
// serializer's.
func TestInteropSerializersWithPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	for _, h := range []codec.Handler{codec.Igbinary, codec.Msgpack} {
		t.Run(string(h), func(t *testing.T) {
			m := openTest(t, r, phpsession.Config{Serializer: h})
			ctx := context.Background()
			cfg := testenv.PHPSession{Addr: r.Addr, Locking: true, Serializer: string(h)}
			id := "ser" + string(h) + phpsession.NewID()[:8]

			_, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start();
$o = new stdClass; $o->n = 5;
$_SESSION['user'] = ['id' => 7, 'name' => 'Zoë', 'roles' => ['admin', 'dev'], 'tags' => [], 'more' => []];
$_SESSION['price'] = 0.1;
$_SESSION['obj'] = $o; $_SESSION['same'] = $o;
session_write_close();
`, id)
			require.NoError(t, err)
			raw, err := r.Do("GET", "PHPREDIS_SESSION:"+id)
			require.NoError(t, err)
			got, ok := codec.DetectHandler([]byte(raw))
			require.True(t, ok)
			require.Equal(t, h, got, "PHP wrote %x", raw)

			type user struct {
				ID    int      `php:"id"`
				Name  string   `php:"name"`
				Roles []string `php:"roles"`
			}
			u, err := phpsession.GetAs[user](ctx, m, id, "user")
			require.NoError(t, err)
			require.Equal(t, user{7, "Zoë", []string{"admin", "dev"}}, u)
			price, err := phpsession.GetAs[float64](ctx, m, id, "price")
			require.NoError(t, err)
			require.Equal(t, 0.1, price)

			require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
				v, _, err := s.Get("obj")
				if err != nil {
					return err
				}
				v.(*codec.Object).Set("n", codec.Int(6))
				if err := s.Set("obj", v); err != nil {
					return err
				}
				return s.Set("from_go", map[string]any{"a": 1, "list": []string{"x", "y"}})
			}))
			raw, err = r.Do("GET", "PHPREDIS_SESSION:"+id)
			require.NoError(t, err)
			got, _ = codec.DetectHandler([]byte(raw))
			require.Equal(t, h, got, "Go wrote %x", raw)

			out, _, err := testenv.RunPHP(ctx, t, cfg, `
session_id($argv[1]); session_start();
$u = $_SESSION['user'];
echo json_encode([$u['id'], $u['name'], $u['roles'], $_SESSION['price'], $_SESSION['obj']->n,
    $_SESSION['obj'] === $_SESSION['same'], $_SESSION['from_go']['a'], $_SESSION['from_go']['list']]);
session_write_close();
`, id)
			require.NoError(t, err)
			require.JSONEq(t, `[7,"Zoë",["admin","dev"],0.1,6,true,1,["x","y"]]`, out)
		})
	}
}

// TestInteropUnderLoadSerializers is TestInteropUnderLoadWithPHP (Go at
// full speed beside PHP requests under phpredis's lock, no lost update
// on either side, no PHP lock failure behind Go) with the igbinary and
// msgpack serializers.
func TestInteropUnderLoadSerializers(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	for _, h := range []codec.Handler{codec.Igbinary, codec.Msgpack} {
		t.Run(string(h), func(t *testing.T) {
			m := openTest(t, r, phpsession.Config{Serializer: h})
			interopUnderLoad(t, r, m, string(h))
		})
	}
}

// TestManagerSerializers: every serializer works end to end through the
// Manager against a real redis-server: Go writes in the configured format
// and reads its own sessions back.
func TestManagerSerializers(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, h := range codec.Handlers() {
		t.Run(string(h), func(t *testing.T) {
			m := openTest(t, r, phpsession.Config{Serializer: h})
			ctx := context.Background()
			id := phpsession.NewID()
			require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
				if err := s.Set("cart", []map[string]any{{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}}); err != nil {
					return err
				}
				if err := s.Set("empty", []int{}); err != nil {
					return err
				}
				return s.Set("n", 1)
			}))
			for i := 0; i < 3; i++ {
				require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
					var n int
					if _, err := s.Unmarshal("n", &n); err != nil {
						return err
					}
					return s.Set("n", n+1)
				}))
			}
			n, err := phpsession.GetAs[int](ctx, m, id, "n")
			require.NoError(t, err)
			require.Equal(t, 4, n)
			type item struct {
				SKU string `php:"sku"`
				Qty int    `php:"qty"`
			}
			cart, err := phpsession.GetAs[[]item](ctx, m, id, "cart")
			require.NoError(t, err)
			require.Equal(t, []item{{"A-1", 2}, {"B-2", 1}}, cart)

			raw, err := r.Do("GET", "PHPREDIS_SESSION:"+id)
			require.NoError(t, err)
			got, ok := codec.DetectHandler([]byte(raw))
			require.True(t, ok, "%x", raw)
			require.Equal(t, h, got, "%x", raw)
			s, err := codec.DecodeSession(h, []byte(raw), nil)
			require.NoError(t, err)
			require.Equal(t, []string{"cart", "empty", "n"}, s.Names())
		})
	}
}
