package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// waitUntil yields until cond holds; it fails the test (instead of
// spinning forever) when cond still does not hold after a generous 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after 30 s: %s", what)
		}
		runtime.Gosched()
	}
}

// openTest opens a Manager on r with cfg, closed when the test ends.
func openTest(t testing.TB, r *testenv.Redis, cfg phpsession.Config) *phpsession.Manager {
	t.Helper()
	m, err := phpsession.OpenURL(r.URL(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return m
}

func TestManagerEndToEnd(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	id := phpsession.NewID()

	_, err := m.Get(ctx, id, "n")
	require.ErrorIs(t, err, phpsession.ErrNotFound)
	require.ErrorIs(t, err, phpsession.ErrSession)
	ok, err := m.Exists(ctx, id)
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, m.Set(ctx, id, "user", "alice"))
	require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error {
		var n int
		if _, err := s.Unmarshal("n", &n); err != nil {
			return err
		}
		return s.Set("n", n+1)
	}))
	raw := r.MustDo("GET", "PHPREDIS_SESSION:"+id)
	require.Equal(t, `user|s:5:"alice";n|i:1;`, raw)
	ttl := r.MustDo("TTL", "PHPREDIS_SESSION:"+id)
	require.Equal(t, "86400", ttl)

	n, err := phpsession.GetAs[int](ctx, m, id, "n")
	require.NoError(t, err)
	require.Equal(t, 1, n)
	v, err := m.Get(ctx, id, "user")
	require.NoError(t, err)
	require.Equal(t, codec.String("alice"), v)

	// JSON field
	require.NoError(t, m.Set(ctx, id, "scart_items", []map[string]any{{"sku": "A1", "qty": 2}}))
	raw = r.MustDo("GET", "PHPREDIS_SESSION:"+id)
	require.Contains(t, raw, `scart_items|s:22:"[{"qty":2,"sku":"A1"}]";`)
	type item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	items, err := phpsession.GetAs[[]item](ctx, m, id, "scart_items")
	require.NoError(t, err)
	require.Equal(t, []item{{"A1", 2}}, items)

	var whole struct {
		User  string `php:"user"`
		N     int    `php:"n"`
		Items []struct {
			SKU string `php:"sku"`
			Qty int    `php:"qty"`
		} `php:"scart_items"`
	}
	require.NoError(t, m.Unmarshal(ctx, id, &whole))
	require.Equal(t, "alice", whole.User)
	require.Equal(t, 1, whole.N)
	require.Len(t, whole.Items, 1)
	require.Equal(t, 2, whole.Items[0].Qty)

	existed, err := m.Delete(ctx, id, "user")
	require.NoError(t, err)
	require.True(t, existed)
	existed, err = m.Delete(ctx, id, "user")
	require.NoError(t, err)
	require.False(t, existed)

	s := m.NewSession()
	require.NoError(t, s.Set("a", 1))
	require.NoError(t, m.Save(ctx, id, s))
	require.Equal(t, `a|i:1;`, r.MustDo("GET", "PHPREDIS_SESSION:"+id))

	snap, err := m.Load(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, snap.Names())

	existed, err = m.Destroy(ctx, id)
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id))
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id+"_LOCK"))
}

func TestErrorsAndIDs(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{LockTimeout: 50 * time.Millisecond})
	ctx := context.Background()

	_, err := m.Get(ctx, "", "x")
	require.ErrorIs(t, err, phpsession.ErrNoSessionID)
	require.ErrorIs(t, err, phpsession.ErrSession)
	for _, bad := range []string{"a b", "x\r\n", "../etc", string(make([]byte, 257)), "é"} {
		err := m.Set(ctx, bad, "x", 1)
		require.ErrorIs(t, err, phpsession.ErrInvalidID, "%q", bad)
	}
	// the ID from the context
	cctx := phpsession.WithSessionID(ctx, "ctxid")
	require.NoError(t, m.Set(cctx, "", "k", "v"))
	v, err := m.Get(cctx, "", "k")
	require.NoError(t, err)
	require.Equal(t, codec.String("v"), v)

	// lock held by "PHP": ErrLockTimeout
	r.MustDo("SET", "PHPREDIS_SESSION:locked_LOCK", "vm|123")
	err = m.Set(ctx, "locked", "k", 1)
	require.ErrorIs(t, err, phpsession.ErrLockTimeout)
	require.ErrorIs(t, err, phpsession.ErrSession)

	// user errors are returned, wrapped
	boom := errors.New("boom")
	err = m.Update(ctx, "ctxid", func(s *phpsession.Session) error { return boom })
	require.ErrorIs(t, err, boom)
	require.ErrorIs(t, err, phpsession.ErrSession)
	err = m.Update(ctx, "ctxid", func(s *phpsession.Session) error { panic("x") })
	require.ErrorIs(t, err, phpsession.ErrPanic)

	// names the serializer cannot hold
	err = m.Set(ctx, "ctxid", "a|b", 1)
	require.ErrorIs(t, err, phpsession.ErrCodec)

	// undecodable data: typed error, data untouched
	r.MustDo("SET", "PHPREDIS_SESSION:bad", "garbage")
	_, err = m.Get(ctx, "bad", "x")
	require.ErrorIs(t, err, phpsession.ErrCodec)
	err = m.Set(ctx, "bad", "x", 1)
	require.ErrorIs(t, err, phpsession.ErrCodec)
	require.Equal(t, "garbage", r.MustDo("GET", "PHPREDIS_SESSION:bad"))
	ok, err := m.Exists(ctx, "bad")
	require.NoError(t, err)
	require.True(t, ok)
	// ...but it can be destroyed
	existed, err := m.Destroy(ctx, "bad")
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:bad"))
}

func TestConcurrentUpdatesExact(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{IdleTimeout: 5 * time.Millisecond})
	ctx := context.Background()
	const workers, per = 200, 20
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				id := fmt.Sprintf("s%d", (w+i)%7)
				err := m.Update(ctx, id, func(s *phpsession.Session) error {
					var n int
					_, _ = s.Unmarshal("n", &n)
					return s.Set("n", n+1)
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for i := 0; i < 7; i++ {
		n, err := phpsession.GetAs[int](ctx, m, fmt.Sprintf("s%d", i), "n")
		require.NoError(t, err)
		total += n
	}
	require.Equal(t, workers*per, total)
	st := m.Stats()
	t.Logf("stats: %+v ops/batch=%.1f", st, st.OpsPerBatch())
}

func TestManagerWithoutMemo(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{NoMemo: true, Linger: -1, NoFairness: true})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, m.Update(ctx, "nomemo", func(s *phpsession.Session) error {
				var n int
				_, _ = s.Unmarshal("n", &n)
				return s.Set("n", n+1)
			}))
		}()
	}
	wg.Wait()
	n, err := phpsession.GetAs[int](ctx, m, "nomemo", "n")
	require.NoError(t, err)
	require.Equal(t, 100, n)
	r.MustDo("SET", "PHPREDIS_SESSION:nomemo", "n|i:5;")
	require.Eventually(t, func() bool {
		n, err := phpsession.GetAs[int](ctx, m, "nomemo", "n")
		return err == nil && n == 5
	}, 30*time.Second, time.Millisecond)
}

// Variables Go did not change keep PHP's exact bytes; a changed one is
// re-encoded in place; a new one is appended.
func TestFidelityOfUntouchedVariables(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	orig, err := os.ReadFile("codec/testdata/bench_session_php.bin")
	require.NoError(t, err)
	// an object and a non-canonical float (as older PHP wrote it)
	phpBytes := string(orig) + `obj|O:8:"stdClass":2:{s:1:"a";i:1;s:1:"b";a:0:{}}odd|d:0.10000000000000001;`
	r.MustDo("SET", "PHPREDIS_SESSION:fid", phpBytes)

	require.NoError(t, m.Set(ctx, "fid", "locale", "fr_FR"))
	require.NoError(t, m.Set(ctx, "fid", "go_added", 1))
	got := r.MustDo("GET", "PHPREDIS_SESSION:fid")
	want := strings.Replace(phpBytes, `locale|s:5:"de_DE";`, `locale|s:5:"fr_FR";`, 1) + `go_added|i:1;`
	require.Equal(t, want, got)

	// an Update that changes nothing is a TTL refresh, not a rewrite
	st0 := m.Stats()
	require.NoError(t, m.Update(ctx, "fid", func(s *phpsession.Session) error {
		_, _, err := s.Value("obj") // reading decodes, but does not change
		return err
	}))
	st1 := m.Stats()
	require.Equal(t, st0.Writes, st1.Writes)
	require.Equal(t, st0.Touches+1, st1.Touches)
	require.Equal(t, want, r.MustDo("GET", "PHPREDIS_SESSION:fid"))
}

// Changing a container obtained inside Update (without Set) is saved too;
// changing one obtained by a failed fn leaves no trace.
func TestUpdateInPlaceContainer(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	r.MustDo("SET", "PHPREDIS_SESSION:inplace", `cart|a:1:{i:0;s:1:"a";}`)
	require.NoError(t, m.Update(ctx, "inplace", func(s *phpsession.Session) error {
		v, _, err := s.Value("cart")
		if err != nil {
			return err
		}
		v.(*codec.Array).Append(codec.String("b"))
		return nil
	}))
	require.Equal(t, `cart|a:2:{i:0;s:1:"a";i:1;s:1:"b";}`, r.MustDo("GET", "PHPREDIS_SESSION:inplace"))
	err := m.Update(ctx, "inplace", func(s *phpsession.Session) error {
		v, _, _ := s.Value("cart")
		v.(*codec.Array).Append(codec.String("c"))
		return errors.New("changed my mind")
	})
	require.Error(t, err)
	got, err := m.GetValue(ctx, "inplace", "cart")
	require.NoError(t, err)
	require.Equal(t, 2, got.(*codec.Array).Len(), "a failed fn leaves no trace, also in the memo")
	require.Equal(t, `cart|a:2:{i:0;s:1:"a";i:1;s:1:"b";}`, r.MustDo("GET", "PHPREDIS_SESSION:inplace"))
}
