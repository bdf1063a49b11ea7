package phpsession_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// leakCheck collects every error and log line a test produces and fails
// the test if one shows a secret (a full session ID, a lock token, a
// password) it registered.
type leakCheck struct {
	t       *testing.T
	mu      sync.Mutex
	logs    bytes.Buffer
	errs    []error
	secrets []string
}

func newLeakCheck(t *testing.T) *leakCheck {
	lc := &leakCheck{t: t}
	t.Cleanup(lc.verify)
	return lc
}

func (lc *leakCheck) Write(p []byte) (int, error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.logs.Write(p)
}

// logger logs everything (debug included) into the check.
func (lc *leakCheck) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(lc, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// secret registers s and returns it.
func (lc *leakCheck) secret(s string) string {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.secrets = append(lc.secrets, s)
	return s
}

// id registers and returns a new session ID.
func (lc *leakCheck) id() string { return lc.secret(phpsession.NewID()) }

// err records err (nil is ignored) and returns it.
func (lc *leakCheck) err(err error) error {
	if err != nil {
		lc.mu.Lock()
		lc.errs = append(lc.errs, err)
		lc.mu.Unlock()
	}
	return err
}

func (lc *leakCheck) verify() {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	var texts []string
	for _, e := range lc.errs {
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%v", e))
	}
	texts = append(texts, strings.Split(lc.logs.String(), "\n")...)
	for _, txt := range texts {
		for _, s := range lc.secrets {
			if strings.Contains(txt, s) {
				lc.t.Errorf("a secret (%s) appears in: %s", phpsession.RedactID(s), txt)
			}
		}
	}
	lc.t.Logf("checked %d errors and %d log bytes for %d secrets", len(lc.errs), lc.logs.Len(), len(lc.secrets))
}

// TestNoSecretsInErrorsOrLogs runs the failure paths a caller can meet and
// checks that no error message and no log line shows a full session ID or
// a lock token, and that each error names the operation once.
func TestNoSecretsInErrorsOrLogs(t *testing.T) {
	lc := newLeakCheck(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{Logger: lc.logger(), LockTimeout: 300 * time.Millisecond})
	ctx := context.Background()
	expect := func(err error, kind error, op string) {
		t.Helper()
		lc.err(err)
		require.ErrorIs(t, err, kind)
		msg := err.Error()
		require.True(t, strings.HasPrefix(msg, "phpsession: "+op+" ") || strings.HasPrefix(msg, "phpsession: "+op+":"), "%q should start with the operation", msg)
		require.Equal(t, 1, strings.Count(err.Error(), "phpsession:"), "one prefix: %q", err.Error())
	}

	// not found
	id := lc.id()
	_, err := m.Get(ctx, id, "x")
	expect(err, phpsession.ErrNotFound, "get")
	_, err = m.Load(ctx, id)
	expect(err, phpsession.ErrNotFound, "load")
	// invalid IDs: the text of the ID is not shown either
	bad := lc.secret("bad " + phpsession.NewID())
	_, err = m.Get(ctx, bad, "x")
	expect(err, phpsession.ErrInvalidID, "get")
	lc.err(phpsession.ValidateID(bad))
	// lock held by PHP: timeouts name neither the ID nor the token
	id = lc.id()
	tok := lc.secret("webhost-7|31337")
	r.MustDo("SET", "PHPREDIS_SESSION:"+id+"_LOCK", tok, "PX", "60000")
	expect(m.Set(ctx, id, "a", 1), phpsession.ErrLockTimeout, "set")
	expect(m.Update(ctx, id, func(s *phpsession.Session) error { return s.Set("b", 2) }), phpsession.ErrLockTimeout, "update")
	_, err = m.Destroy(ctx, id)
	expect(err, phpsession.ErrLockTimeout, "destroy")
	_, err = m.RegenerateID(ctx, id, true)
	expect(err, phpsession.ErrLockTimeout, "regenerate")
	require.Contains(t, err.Error(), "held by PHP")
	// undecodable bytes
	id = lc.id()
	r.MustDo("SET", "PHPREDIS_SESSION:"+id, "user|s:99:\"short\";")
	_, err = m.Get(ctx, id, "user")
	expect(err, phpsession.ErrCodec, "get")
	expect(m.Set(ctx, id, "a", 1), phpsession.ErrCodec, "set")
	// a panicking update, a cancelled context
	id = lc.id()
	expect(m.Update(ctx, id, func(*phpsession.Session) error { panic("boom") }), phpsession.ErrPanic, "update")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	expect(m.Set(cctx, lc.id(), "a", 1), context.Canceled, "set")
	// a name the serializer cannot hold, directly and inside Update
	expect(m.Set(ctx, lc.id(), "a|b", 1), phpsession.ErrCodec, "set")
	expect(m.Update(ctx, lc.id(), func(s *phpsession.Session) error { return s.Set("a|b", 1) }), phpsession.ErrCodec, "update")

	// middleware logs (debug level): invalid, unknown and new IDs
	mw, err := m.Middleware(phpsession.MiddlewareOptions{Start: true, StrictMode: true, Logger: lc.logger()})
	require.NoError(t, err)
	h := mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, v := range []string{lc.id(), lc.secret("x" + phpsession.NewID() + "*"), lc.secret(strings.Repeat("A", 300))} {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(&http.Cookie{Name: "PHPSESSID", Value: v})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		lc.secret(strings.TrimPrefix(strings.SplitN(rec.Header().Get("Set-Cookie"), ";", 2)[0], "PHPSESSID="))
	}

	// Redis gone: connection errors
	r.Stop()
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	defer scancel()
	id = lc.id()
	lc.err(m.Set(sctx, id, "a", 1))
	_, err = m.Get(sctx, id, "a")
	lc.err(err)
	_, err = m.RegenerateID(sctx, id, false)
	lc.err(err)
	// closed (the Close of a Manager whose Redis is gone is bounded by ctx)
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	lc.err(m.Close(cctx))
	expect(m.Set(ctx, id, "a", 1), phpsession.ErrClosed, "set")
	_, err = m.RegenerateID(ctx, id, true)
	expect(err, phpsession.ErrClosed, "regenerate")

	var pe *phpsession.Error
	require.True(t, errors.As(err, &pe))
	require.Equal(t, phpsession.RedactID(id), pe.ID, "Error.ID is redacted")
}
