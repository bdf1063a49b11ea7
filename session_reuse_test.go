package phpsession_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// An Update function's Session is valid only during the call. One kept
// past it must neither crash (it was a nil dereference) nor reach another
// session: the Session lived in a pooled call, so the kept pointer read
// and wrote the session the call's next Update worked on, another user's.
// Now every method refuses (an error wrapping ErrSession, or nothing), and
// so does a zero Session.
func TestSessionKeptAfterUpdateHoldsNothing(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "victim", "secret", "s3cr3t"))

	checkGone := func(t *testing.T, s *phpsession.Session) {
		t.Helper()
		for name, err := range map[string]error{
			"Set":         s.Set("leak", 1),
			"Get":         func() error { _, _, err := s.Get("secret"); return err }(),
			"Value":       func() error { _, _, err := s.Value("secret"); return err }(),
			"Unmarshal":   func() error { var v string; _, err := s.Unmarshal("secret", &v); return err }(),
			"Decode":      func() error { var v map[string]any; return s.Decode(&v) }(),
			"Encode":      func() error { _, err := s.Encode(); return err }(),
			"Map":         func() error { _, err := s.Map(); return err }(),
			"MarshalJSON": func() error { _, err := s.MarshalJSON(); return err }(),
		} {
			require.ErrorIs(t, err, phpsession.ErrSession, name)
		}
		require.False(t, s.Delete("secret"))
		require.False(t, s.Has("secret"))
		require.False(t, s.Exists())
		require.Zero(t, s.Len())
		require.Empty(t, s.Names())
		require.Nil(t, s.Codec())
		s.Clear()
		require.Contains(t, s.String(), "valid only during")
	}

	t.Run("zero", func(t *testing.T) {
		checkGone(t, &phpsession.Session{})
		require.ErrorIs(t, m.Save(ctx, "victim", &phpsession.Session{}), phpsession.ErrSession)
	})
	for i := 0; i < 20; i++ {
		t.Run(fmt.Sprint("kept-", i), func(t *testing.T) {
			var kept *phpsession.Session
			require.NoError(t, m.Update(ctx, fmt.Sprint("attacker", i), func(s *phpsession.Session) error {
				kept = s
				return s.Set("n", i)
			}))
			checkGone(t, kept)
			// while another session's Update runs (on the actor's
			// goroutine: no require there), the kept Session still
			// reaches nothing
			var setErr, getErr error
			var got any
			require.NoError(t, m.Update(ctx, "victim", func(s *phpsession.Session) error {
				setErr = kept.Set("leak", i)
				got, _, getErr = kept.Get("secret")
				return s.Set("n", i)
			}))
			require.ErrorIs(t, setErr, phpsession.ErrSession)
			require.ErrorIs(t, getErr, phpsession.ErrSession)
			require.Nil(t, got)
		})
	}
	require.Equal(t, "secret|s:6:\"s3cr3t\";n|i:19;", r.MustDo("GET", "PHPREDIS_SESSION:victim"))
}

// A JSON field whose JSON does not fit the Go value asked for is a codec
// error like any other variable that does not fit (ErrCodec); it was
// encoding/json's error with no kind of this package.
func TestJSONFieldMismatchIsCodecError(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	ctx := context.Background()
	require.NoError(t, m.Set(ctx, "jsonmis", "scart_items", `[{"sku":"a"}]`))
	require.NoError(t, m.Set(ctx, "jsonmis", "n", 5))
	for name, err := range map[string]error{
		"GetAs json": func() error { _, err := phpsession.GetAs[map[string]int](ctx, m, "jsonmis", "scart_items"); return err }(),
		"GetAs php":  func() error { _, err := phpsession.GetAs[map[string]int](ctx, m, "jsonmis", "n"); return err }(),
		"Update": m.Update(ctx, "jsonmis", func(s *phpsession.Session) error {
			var v int
			_, err := s.Unmarshal("scart_items", &v)
			return err
		}),
	} {
		require.ErrorIs(t, err, phpsession.ErrCodec, name)
		require.ErrorIs(t, err, codec.ErrCodec, name)
	}
}

// Session.Unmarshal and Session.Decode classify their errors like every
// other method: a value that does not fit the Go target wraps ErrCodec
// (and ErrSession), for a plain variable and for a JSON field alike.
func TestSessionUnmarshalErrorsWrapSentinels(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{JSONFields: &codec.JSONFields{Names: []string{"j"}}})
	s := m.NewSession()
	require.NoError(t, s.Set("plain", "text"))
	require.NoError(t, s.Set("j", map[string]any{"a": "b"}))
	for name, err := range map[string]error{
		"Unmarshal plain": func() error { var v int; _, err := s.Unmarshal("plain", &v); return err }(),
		"Unmarshal json":  func() error { var v int; _, err := s.Unmarshal("j", &v); return err }(),
		"Decode":          func() error { var v struct{ Plain int }; return s.Decode(&v) }(),
	} {
		require.Error(t, err, name)
		require.ErrorIs(t, err, phpsession.ErrCodec, name)
		require.ErrorIs(t, err, phpsession.ErrSession, name)
	}
}
