// Package adaptertest is the shared test of the framework adapters under
// contrib/ (gin, echo, fiber) and the chi example: each mounts the same
// three routes on its framework, behind its adapter, and Run drives them
// over loopback HTTP against a real redis-server, with a real PHP process
// reading and writing the same session.
package adaptertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// App holds what the routes do; the framework test calls these from its
// handlers with the request's context (the one the adapter filled).
type App struct {
	M *phpsession.Manager
}

// AddToCart is POST /cart?sku=S&qty=N: it adds to $_SESSION['cart'] (a PHP
// array) and to the JSON field scart_items. It returns the HTTP status.
func (a *App) AddToCart(ctx context.Context, sku, qty string) int {
	err := a.M.Update(ctx, "", func(s *phpsession.Session) error {
		var cart map[string]int
		if _, err := s.Unmarshal("cart", &cart); err != nil {
			return err
		}
		if cart == nil {
			cart = map[string]int{}
		}
		var n int
		_, _ = fmt.Sscan(qty, &n)
		cart[sku] += n
		if err := s.Set("cart", cart); err != nil {
			return err
		}
		var items []map[string]any
		if _, err := s.Unmarshal("scart_items", &items); err != nil {
			return err
		}
		items = append(items, map[string]any{"sku": sku, "qty": n})
		return s.Set("scart_items", items)
	})
	switch {
	case errors.Is(err, phpsession.ErrNoSessionID):
		return http.StatusUnauthorized
	case err != nil:
		return http.StatusInternalServerError
	}
	return http.StatusNoContent
}

// ShowCart is GET /cart: the session as natural JSON.
func (a *App) ShowCart(ctx context.Context) (int, []byte) {
	s, err := a.M.Load(ctx, "")
	switch {
	case errors.Is(err, phpsession.ErrNotFound), errors.Is(err, phpsession.ErrNoSessionID):
		return http.StatusNotFound, nil
	case err != nil:
		return http.StatusInternalServerError, []byte(err.Error())
	}
	b, err := json.Marshal(s)
	if err != nil {
		return http.StatusInternalServerError, []byte(err.Error())
	}
	return http.StatusOK, b
}

// Build starts the framework's server with the routes
//
//	POST /cart  → App.AddToCart(ctx, query sku, query qty), status only
//	GET  /cart  → App.ShowCart(ctx), JSON body
//	GET  /id    → the adapter's SessionID helper: the ID, or "-" if none
//	POST /login → Manager.RegenerateRequest (deleteOld) through the
//	              framework's writer and request (or the adapter's
//	              helper), answering the new ID
//
// behind the adapter configured with opts, and returns its base URL
// (http://127.0.0.1:port). It stops the server in t.Cleanup.
type Build func(t *testing.T, app *App, opts phpsession.MiddlewareOptions) string

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Run checks an adapter: a visitor without a cookie gets a session (Start)
// and a PHPSESSID cookie; its updates land in Redis where PHP reads them
// (the PHP array and the JSON field); what PHP writes, the next request
// sees; StrictMode replaces an unknown ID; the cookie name and the logger
// are honoured; without Start a request carries no session.
func Run(t *testing.T, build Build) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	app := &App{M: m}
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	base := build(t, app, phpsession.MiddlewareOptions{Start: true, Cookie: phpsession.CookieOptions{Path: "/shop"}})
	res, _ := do(t, "POST", base+"/cart?sku=a&qty=2", nil)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	c := cookie(res, phpsession.DefaultCookieName)
	require.NotNil(t, c, "a new visitor gets a session cookie")
	assert.True(t, phpsession.ValidID(c.Value))
	assert.True(t, c.HttpOnly)
	assert.Equal(t, "/shop", c.Path)
	id := c.Value
	res, _ = do(t, "POST", base+"/cart?sku=b&qty=1", c)
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Nil(t, cookie(res, phpsession.DefaultCookieName), "a known session keeps its cookie")
	_, body := do(t, "GET", base+"/id", c)
	assert.Equal(t, id, body)

	out, _, err := testenv.RunPHP(ctx, t, php, `
session_id($argv[1]); session_start();
echo json_encode([$_SESSION['cart'], json_decode($_SESSION['scart_items'], true)]);
$_SESSION['php_note'] = 'written by PHP';
session_write_close();
`, id)
	require.NoError(t, err)
	assert.JSONEq(t, `[{"a":2,"b":1},[{"sku":"a","qty":2},{"sku":"b","qty":1}]]`, out)

	res, body = do(t, "GET", base+"/cart", c)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var seen map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &seen), body)
	assert.Equal(t, "written by PHP", seen["php_note"])
	assert.Equal(t, map[string]any{"a": 2.0, "b": 1.0}, seen["cart"])

	// Login: the session moves to a new ID with a new cookie; PHP reads it
	// there, and the old ID is gone.
	res, body = do(t, "POST", base+"/login", c)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	nc := cookie(res, phpsession.DefaultCookieName)
	require.NotNil(t, nc, "regenerating sends the new cookie")
	assert.NotEqual(t, id, nc.Value)
	assert.Equal(t, nc.Value, body)
	out, _, err = testenv.RunPHP(ctx, t, php, `
session_id($argv[1]); session_start(['read_and_close' => true]); echo $_SESSION['php_note'];`, nc.Value)
	require.NoError(t, err)
	assert.Equal(t, "written by PHP", out)
	assert.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id))
	_, body = do(t, "GET", base+"/id", nc)
	assert.Equal(t, nc.Value, body)
	id, c = nc.Value, nc

	// Strict mode, another cookie name, a logger.
	var logs logBuf
	strict := build(t, app, phpsession.MiddlewareOptions{
		Start: true, StrictMode: true, CookieName: "SID",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	unknown := phpsession.NewID()
	res, body = do(t, "GET", strict+"/id", &http.Cookie{Name: "SID", Value: unknown})
	nc = cookie(res, "SID")
	require.NotNil(t, nc, "strict mode replaces an ID with no session")
	assert.NotEqual(t, unknown, nc.Value)
	assert.Equal(t, nc.Value, body)
	assert.NotEmpty(t, logs.String(), "the logger receives the middleware's messages")
	res, body = do(t, "GET", strict+"/id", &http.Cookie{Name: "SID", Value: id})
	assert.Nil(t, cookie(res, "SID"), "an existing session is kept")
	assert.Equal(t, id, body)
	_, body = do(t, "GET", strict+"/id", &http.Cookie{Name: phpsession.DefaultCookieName, Value: id})
	assert.NotEqual(t, id, body, "the cookie name is honoured")

	// Without Start, a visitor without a cookie has no session.
	plain := build(t, app, phpsession.MiddlewareOptions{})
	res, body = do(t, "GET", plain+"/id", nil)
	assert.Equal(t, "-", body)
	assert.Nil(t, cookie(res, phpsession.DefaultCookieName))
	res, _ = do(t, "POST", plain+"/cart?sku=c&qty=1", nil)
	assert.Equal(t, http.StatusUnauthorized, res.StatusCode)
}

func do(t *testing.T, method, url string, c *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	if c != nil {
		req.AddCookie(c)
	}
	client := &http.Client{Timeout: time.Minute}
	res, err := client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, strings.TrimSpace(string(b))
}

func cookie(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}
