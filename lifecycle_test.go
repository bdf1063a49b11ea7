package phpsession_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

// phpReadScript prints session_id() after session_start with the ID in
// argv[1], then the session as JSON.
const phpReadScript = `<?php
session_id($argv[1]); session_start();
echo session_id(), "\n", json_encode($_SESSION), "\n";
session_write_close();
`

// TestMiddlewareRejectsOptionsThatCannotWork: an option that cannot work is
// an error at construction, never a silent no-op.
func TestMiddlewareRejectsOptionsThatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts phpsession.MiddlewareOptions
	}{
		{"strict mode without a Manager", phpsession.MiddlewareOptions{StrictMode: true}},
		{"sid_length too short", phpsession.MiddlewareOptions{IDLength: 8}},
		{"sid_length too long", phpsession.MiddlewareOptions{IDLength: 300}},
		{"sid_bits_per_character 3", phpsession.MiddlewareOptions{IDBitsPerChar: 3}},
		{"bad Secure", phpsession.MiddlewareOptions{Cookie: phpsession.CookieOptions{Secure: 7}}},
		{"bad SameSite", phpsession.MiddlewareOptions{Cookie: phpsession.CookieOptions{SameSite: 9}}},
		{"negative lifetime", phpsession.MiddlewareOptions{Cookie: phpsession.CookieOptions{Lifetime: -time.Second}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := phpsession.Middleware(tc.opts)
			require.ErrorIs(t, err, phpsession.ErrConfig)
			require.ErrorIs(t, err, phpsession.ErrSession)
			require.Nil(t, mw)
		})
	}
}

// browser is an HTTP client with a cookie jar, as a visitor's browser.
type browser struct {
	t    *testing.T
	c    *http.Client
	base *url.URL
}

func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := srv.Client()
	c.Jar = jar
	u, _ := url.Parse(srv.URL)
	return &browser{t: t, c: c, base: u}
}

// do sends a request and returns the body and the Set-Cookie header.
func (b *browser) do(method, path string) (body, setCookie string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base.String()+path, nil)
	require.NoError(b.t, err)
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	require.Equal(b.t, 200, resp.StatusCode, "%s %s: %s", method, path, data)
	return string(data), resp.Header.Get("Set-Cookie")
}

func (b *browser) cookie() string {
	for _, c := range b.c.Jar.Cookies(b.base) {
		if c.Name == phpsession.DefaultCookieName {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(v string) {
	b.c.Jar.SetCookies(b.base, []*http.Cookie{{Name: phpsession.DefaultCookieName, Value: v, Path: "/"}})
}

// lifecycleServer serves /id (read-only: echoes the session ID), /set
// (stores user=alice), /get, /login (RegenerateRequest, keep=1 keeps the
// old session) and /logout (DestroyRequest).
func lifecycleServer(t *testing.T, m *phpsession.Manager, opts phpsession.MiddlewareOptions, tls bool) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /id", func(w http.ResponseWriter, r *http.Request) {
		id, _ := phpsession.SessionID(r)
		io.WriteString(w, id)
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		if err := m.Set(r.Context(), "", "user", "alice"); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		v, err := phpsession.GetAs[string](r.Context(), m, "", "user")
		if err != nil && !errors.Is(err, phpsession.ErrNotFound) {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, v)
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		nid, err := m.RegenerateRequest(w, r, r.URL.Query().Get("keep") == "")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		id, _ := phpsession.SessionID(r) // the rest of the request uses the new ID
		if id != nid {
			http.Error(w, "context still has the old ID", 500)
			return
		}
		if err := m.Set(r.Context(), "", "logged_in", true); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		io.WriteString(w, nid)
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.DestroyRequest(w, r); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if _, ok := phpsession.SessionID(r); ok {
			http.Error(w, "context still has the ID", 500)
		}
	})
	mw, err := m.Middleware(opts)
	require.NoError(t, err)
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(mw(mux))
	} else {
		srv = httptest.NewServer(mw(mux))
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestStrictModeCookieJar: a new visitor's read-only requests keep the ID
// the first one got (the new session is stored at the end of the request,
// as PHP does, and PHP in strict mode accepts it); an unknown ID is
// replaced, never stored, and the replacement persists.
func TestStrictModeCookieJar(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	srv := lifecycleServer(t, m, phpsession.MiddlewareOptions{Start: true, StrictMode: true}, false)
	b := newBrowser(t, srv)

	id, sc := b.do("GET", "/id")
	require.NotEmpty(t, sc, "a new visitor gets a cookie")
	require.Equal(t, id, b.cookie())
	require.Contains(t, sc, "HttpOnly")
	require.Contains(t, sc, "SameSite=Lax")
	require.NotContains(t, sc, "Secure", "not over plain HTTP")
	for i := 0; i < 3; i++ {
		got, sc := b.do("GET", "/id")
		require.Equal(t, id, got, "read-only request %d keeps the ID", i)
		require.Empty(t, sc)
	}
	require.Equal(t, "1", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+id), "the new session is stored")
	ttl := r.MustDo("TTL", "PHPREDIS_SESSION:"+id)
	require.Equal(t, "86400", ttl)

	// PHP in strict mode accepts the ID Go issued (validate_sid finds it)
	php := testenv.PHPSession{Addr: r.Addr, Extra: map[string]string{"session.use_strict_mode": "1"}}
	out, _, err := testenv.RunPHP(context.Background(), t, php, phpReadScript, id)
	require.NoError(t, err)
	require.Equal(t, id+"\n[]\n", out)

	// an ID the client chose is replaced and never stored
	chosen := "attackerchosen0123456789"
	b.setCookie(chosen)
	nid, sc := b.do("GET", "/id")
	require.NotEqual(t, chosen, nid)
	require.NotEmpty(t, sc)
	require.Equal(t, nid, b.cookie())
	require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+chosen))
	got, sc := b.do("GET", "/id")
	require.Equal(t, nid, got, "the replacement persists")
	require.Empty(t, sc)

	// PHP itself in strict mode would also replace the chosen ID
	out, _, err = testenv.RunPHP(context.Background(), t, php, phpReadScript, chosen)
	require.NoError(t, err)
	require.NotContains(t, out, chosen)
}

// TestStrictModeRedisDown: when strict mode cannot check an ID, the
// request fails (503) rather than adopting the ID or replacing it.
func TestStrictModeRedisDown(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{LockTimeout: time.Second})
	srv := lifecycleServer(t, m, phpsession.MiddlewareOptions{Start: true, StrictMode: true}, false)
	r.Stop()
	req, _ := http.NewRequest("GET", srv.URL+"/id", nil)
	req.AddCookie(&http.Cookie{Name: "PHPSESSID", Value: hexID})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := srv.Client().Do(req.WithContext(ctx))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Empty(t, resp.Header.Get("Set-Cookie"))
}

// TestCookieSecureOverTLS: the default cookie is Secure when the request
// came over TLS.
func TestCookieSecureOverTLS(t *testing.T) {
	mw, err := phpsession.Middleware(phpsession.MiddlewareOptions{Start: true})
	require.NoError(t, err)
	srv := httptest.NewTLSServer(mw(echoID()))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	sc := resp.Header.Get("Set-Cookie")
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
		require.Contains(t, sc, attr)
	}
	require.NotContains(t, sc, "Max-Age", "a browser-session cookie by default")

	mw, err = phpsession.Middleware(phpsession.MiddlewareOptions{Start: true, Cookie: phpsession.CookieOptions{Secure: phpsession.SecureNever, NoHttpOnly: true, SameSite: http.SameSiteDefaultMode}})
	require.NoError(t, err)
	srv2 := httptest.NewTLSServer(mw(echoID()))
	defer srv2.Close()
	resp, err = srv2.Client().Get(srv2.URL)
	require.NoError(t, err)
	resp.Body.Close()
	sc = resp.Header.Get("Set-Cookie")
	require.NotContains(t, sc, "Secure")
	require.NotContains(t, sc, "HttpOnly")
	require.NotContains(t, sc, "SameSite")
}

// TestRegenerateAndDestroyRequests: login moves the session to a new ID
// (the browser gets the new cookie, PHP reads the data under it, the old
// ID is gone or kept as asked); logout deletes it and expires the cookie.
func TestRegenerateAndDestroyRequests(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	php := testenv.PHPSession{Addr: r.Addr, Locking: true, Extra: map[string]string{"session.use_strict_mode": "1"}}
	for _, keep := range []bool{false, true} {
		srv := lifecycleServer(t, m, phpsession.MiddlewareOptions{Start: true, StrictMode: true}, true)
		b := newBrowser(t, srv)
		b.do("POST", "/set")
		old := b.cookie()
		path := "/login"
		if keep {
			path += "?keep=1"
		}
		nid, sc := b.do("POST", path)
		require.NotEqual(t, old, nid)
		require.Equal(t, nid, b.cookie(), "the browser has the new cookie")
		require.Contains(t, sc, "Secure")
		got, _ := b.do("GET", "/get")
		require.Equal(t, "alice", got)

		out, _, err := testenv.RunPHP(context.Background(), t, php, phpReadScript, nid)
		require.NoError(t, err)
		require.Equal(t, nid+"\n"+`{"user":"alice","logged_in":true}`+"\n", out)
		oldExists := r.MustDo("EXISTS", "PHPREDIS_SESSION:"+old)
		if keep {
			require.Equal(t, "1", oldExists)
			v, err := phpsession.GetAs[string](context.Background(), m, old, "user")
			require.NoError(t, err)
			require.Equal(t, "alice", v)
			_, err = m.Get(context.Background(), old, "logged_in")
			require.ErrorIs(t, err, phpsession.ErrNotFound, "the kept old session is as it was")
		} else {
			require.Equal(t, "0", oldExists)
		}

		_, sc = b.do("POST", "/logout")
		require.Contains(t, sc, "PHPSESSID=;")
		require.Contains(t, sc, "Max-Age=0")
		require.Empty(t, b.cookie(), "the browser dropped the cookie")
		require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+nid))
	}
}

// TestRegenerateIDWithPHP: RegenerateID waits for PHP's lock, copies the
// bytes PHP wrote to a new ID PHP can read, and deletes or keeps the old
// session.
func TestRegenerateIDWithPHP(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{IDLength: 26, IDBitsPerChar: 5})
	ctx := context.Background()
	php := testenv.PHPSession{Addr: r.Addr, Locking: true}
	for _, deleteOld := range []bool{true, false} {
		old := phpsession.NewID()
		_, _, err := testenv.RunPHP(ctx, t, php, `session_id($argv[1]); session_start(); $_SESSION['cart'] = [1, 2, 'three']; session_write_close();`, old)
		require.NoError(t, err)
		raw := r.MustDo("GET", "PHPREDIS_SESSION:"+old)

		// PHP holds the lock for a while: RegenerateID waits for it
		var wg sync.WaitGroup
		wg.Add(1)
		var phpErr error
		flag := t.TempDir() + "/locked"
		go func() {
			defer wg.Done()
			_, _, phpErr = testenv.RunPHP(ctx, t, php, `session_id($argv[1]); session_start(); touch($argv[2]); usleep(500000); $_SESSION['late'] = 1; session_write_close();`, old, flag)
		}()
		waitFile(t, flag)
		nid, err := m.RegenerateID(ctx, old, deleteOld)
		require.NoError(t, err)
		wg.Wait()
		require.NoError(t, phpErr)
		require.Len(t, nid, 26)
		require.True(t, phpsession.ValidCookieID(nid, 5))
		require.NotEqual(t, raw, r.MustDo("GET", "PHPREDIS_SESSION:"+nid), "the copy includes PHP's last write")

		out, _, err := testenv.RunPHP(ctx, t, php, phpReadScript, nid)
		require.NoError(t, err)
		require.Equal(t, nid+"\n"+`{"cart":[1,2,"three"],"late":1}`+"\n", out)
		if deleteOld {
			require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+old))
			ok, err := m.Exists(ctx, old)
			require.NoError(t, err)
			require.False(t, ok)
		} else {
			require.Equal(t, r.MustDo("GET", "PHPREDIS_SESSION:"+nid), r.MustDo("GET", "PHPREDIS_SESSION:"+old))
		}
		require.Equal(t, "0", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+old+"_LOCK"), "lock released")
	}

	// a session that does not exist moves to a new, empty one
	nid, err := m.RegenerateID(ctx, phpsession.NewID(), true)
	require.NoError(t, err)
	require.Equal(t, "1", r.MustDo("EXISTS", "PHPREDIS_SESSION:"+nid))
	// invalid IDs never reach Redis
	_, err = m.RegenerateID(ctx, "bad id", true)
	require.ErrorIs(t, err, phpsession.ErrInvalidID)
	_, err = m.RegenerateID(ctx, "", true)
	require.ErrorIs(t, err, phpsession.ErrNoSessionID)
}

// waitFile waits until a PHP script created path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("PHP never got there")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRegenerateIDLockTimeout: a lock held elsewhere makes RegenerateID
// fail with ErrLockTimeout, leaving no new session and naming neither the
// ID nor the holder's token.
func TestRegenerateIDLockTimeout(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{LockTimeout: 200 * time.Millisecond})
	ctx := context.Background()
	id := phpsession.NewID()
	require.NoError(t, m.Set(ctx, id, "a", 1))
	r.MustDo("SET", "PHPREDIS_SESSION:"+id+"_LOCK", "otherhost|42", "PX", "60000")
	_, err := m.RegenerateID(ctx, id, true)
	require.ErrorIs(t, err, phpsession.ErrLockTimeout)
	require.NotContains(t, err.Error(), id)
	require.NotContains(t, err.Error(), "otherhost|42")
	keys := r.MustDo("KEYS", "PHPREDIS_SESSION:*")
	require.Equal(t, 2, len(strings.Fields(keys)), "no new session left behind: %s", keys)
}

// TestOpenRejectsBadIDSettings: ID settings that cannot work are an error
// at Open, not at the first RegenerateID.
func TestOpenRejectsBadIDSettings(t *testing.T) {
	for _, cfg := range []phpsession.Config{{IDLength: 10}, {IDLength: 300}, {IDBitsPerChar: 7}} {
		_, err := phpsession.OpenURL("redis://127.0.0.1:1", cfg)
		require.ErrorIs(t, err, phpsession.ErrConfig)
	}
}
