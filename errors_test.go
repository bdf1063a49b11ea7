package phpsession_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/actor"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// Every exported Err* of the package wraps ErrSession, and each kind also
// matches the lower-level errors it stands for. The table must name every
// sentinel: a new one fails this test until it is added.
func TestEverySentinelWrapsErrSession(t *testing.T) {
	causes := map[string][]error{
		"ErrSession":        nil,
		"ErrOutcomeUnknown": {redisio.ErrOutcomeUnknown},
		"ErrUnavailable":    {redisio.ErrUnavailable},
		"ErrLockTimeout":    {redisio.ErrLockTimeout},
		"ErrLockLost":       {redisio.ErrLockLost},
		"ErrClosed":         {actor.ErrClosed, redisio.ErrClosed},
		"ErrPanic":          {actor.ErrPanic},
		"ErrCodec":          {codec.ErrCodec},
		"ErrNotFound":       nil,
		"ErrNoSessionID":    nil,
		"ErrInvalidID":      nil,
		"ErrConfig":         nil,
		"ErrSavePath":       {phpsession.ErrConfig},
	}
	values := map[string]error{
		"ErrSession": phpsession.ErrSession, "ErrOutcomeUnknown": phpsession.ErrOutcomeUnknown,
		"ErrUnavailable": phpsession.ErrUnavailable, "ErrLockTimeout": phpsession.ErrLockTimeout,
		"ErrLockLost": phpsession.ErrLockLost, "ErrClosed": phpsession.ErrClosed, "ErrPanic": phpsession.ErrPanic,
		"ErrCodec": phpsession.ErrCodec, "ErrNotFound": phpsession.ErrNotFound,
		"ErrNoSessionID": phpsession.ErrNoSessionID, "ErrInvalidID": phpsession.ErrInvalidID, "ErrConfig": phpsession.ErrConfig,
		"ErrSavePath": phpsession.ErrSavePath,
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	require.NoError(t, err)
	seen := 0
	for _, f := range pkgs["phpsession"].Files {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for _, id := range vs.Names {
				if id.IsExported() && strings.HasPrefix(id.Name, "Err") {
					seen++
					v, ok := values[id.Name]
					require.True(t, ok, "%s is not in this test's table", id.Name)
					require.ErrorIs(t, v, phpsession.ErrSession, id.Name)
					for _, c := range causes[id.Name] {
						require.ErrorIs(t, v, c, id.Name)
					}
				}
			}
			return true
		})
	}
	require.Equal(t, len(values), seen)
}

// Errors the Manager returns are classified: the right kind, ErrSession,
// and the cause all match errors.Is.
func TestErrorsAreClassified(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{LockTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	boom := errors.New("boom")
	r.MustDo("SET", "PHPREDIS_SESSION:garbage", "garbage")
	r.MustDo("SET", "PHPREDIS_SESSION:held_LOCK", "php", "PX", "60000")
	for _, tc := range []struct {
		name  string
		err   error
		kinds []error
	}{
		{"Go value with no PHP equivalent", m.Set(ctx, "c1", "k", make(chan int)), []error{phpsession.ErrCodec, codec.ErrCodec}},
		{"Go value inside Update", m.Update(ctx, "c1", func(s *phpsession.Session) error { return s.Set("k", func() {}) }), []error{phpsession.ErrCodec, codec.ErrUnsupported}},
		{"name the serializer cannot hold", m.Set(ctx, "c1", "a|b", 1), []error{phpsession.ErrCodec, codec.ErrInvalidName}},
		{"undecodable data", func() error { _, err := m.Get(ctx, "garbage", "k"); return err }(), []error{phpsession.ErrCodec, codec.ErrSyntax}},
		{"unmarshal type", func() error {
			require.NoError(t, m.Set(ctx, "c2", "k", "text"))
			_, err := phpsession.GetAs[int](ctx, m, "c2", "k")
			return err
		}(), []error{phpsession.ErrCodec}},
		{"invalid ID", m.Set(ctx, "bad id", "k", 1), []error{phpsession.ErrInvalidID}},
		{"no ID", m.Set(ctx, "", "k", 1), []error{phpsession.ErrNoSessionID}},
		{"missing variable", func() error { _, err := m.Get(ctx, "c1", "nope"); return err }(), []error{phpsession.ErrNotFound}},
		{"lock timeout", func() error { _, err := m.Destroy(ctx, "held"); return err }(), []error{phpsession.ErrLockTimeout, redisio.ErrLockTimeout}},
		{"panic", m.Update(ctx, "c1", func(*phpsession.Session) error { panic("x") }), []error{phpsession.ErrPanic}},
		{"user error", m.Update(ctx, "c1", func(*phpsession.Session) error { return boom }), []error{boom}},
		{"canceled", m.Set(canceled, "c1", "k", 1), []error{context.Canceled}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Error(t, tc.err)
			require.ErrorIs(t, tc.err, phpsession.ErrSession)
			var e *phpsession.Error
			require.ErrorAs(t, tc.err, &e)
			for _, k := range tc.kinds {
				require.ErrorIs(t, tc.err, k)
			}
		})
	}
}
