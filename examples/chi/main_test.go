package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/adaptertest"
	"github.com/phpsession/phpsession/internal/testenv"
)

// TestChi: requests through chi with phpsession's net/http middleware,
// against a real redis-server, with PHP reading and writing the session.
func TestChi(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, app *adaptertest.App, opts phpsession.MiddlewareOptions) string {
		mw, err := app.M.Middleware(opts)
		require.NoError(t, err)
		r := chi.NewRouter()
		r.Use(mw)
		r.Post("/login", func(w http.ResponseWriter, req *http.Request) {
			id, err := app.M.RegenerateRequest(w, req, true)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			_, _ = w.Write([]byte(id))
		})
		r.Post("/cart", func(w http.ResponseWriter, req *http.Request) {
			q := req.URL.Query()
			w.WriteHeader(app.AddToCart(req.Context(), q.Get("sku"), q.Get("qty")))
		})
		r.Get("/cart", func(w http.ResponseWriter, req *http.Request) {
			code, body := app.ShowCart(req.Context())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_, _ = w.Write(body)
		})
		r.Get("/id", func(w http.ResponseWriter, req *http.Request) {
			id, ok := phpsession.SessionID(req)
			if !ok {
				id = "-"
			}
			_, _ = w.Write([]byte(id))
		})
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv.URL
	})
}

// TestRouter: the example's own router keeps a cart that PHP reads.
func TestRouter(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	m, err := phpsession.OpenURL(r.URL(), phpsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	router, err := Router(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
	require.NoError(t, err)
	srv := httptest.NewServer(router)
	defer srv.Close()

	res, err := http.Post(srv.URL+"/cart?sku=a&qty=2", "", nil)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusNoContent, res.StatusCode)
	var c *http.Cookie
	for _, x := range res.Cookies() {
		if x.Name == phpsession.DefaultCookieName {
			c = x
		}
	}
	require.NotNil(t, c)
	req, _ := http.NewRequest("GET", srv.URL+"/cart", nil)
	req.AddCookie(c)
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	assert.JSONEq(t, `{"cart":{"a":2}}`, string(body))
	out, _, err := testenv.RunPHP(context.Background(), t, testenv.PHPSession{Addr: r.Addr},
		`session_id($argv[1]); session_start(['read_and_close' => true]); echo $_SESSION['cart']['a'];`, c.Value)
	require.NoError(t, err)
	assert.Equal(t, "2", out)
}
