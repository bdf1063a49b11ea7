package phpsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
)

func echoID() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := phpsession.SessionID(r)
		if !ok {
			id = "-"
		}
		_, _ = w.Write([]byte(id))
	})
}

func TestMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		opts       phpsession.MiddlewareOptions
		cookie     *http.Cookie
		wantID     string // "" = any new ID, "-" = none
		wantCookie string // substring of Set-Cookie ("" = no cookie)
	}{
		{"valid cookie", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: "abc123"}, "abc123", ""},
		{"no cookie", phpsession.MiddlewareOptions{}, nil, "-", ""},
		{"invalid cookie ignored", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: "a.b"}, "-", ""},
		{"custom name", phpsession.MiddlewareOptions{CookieName: "SID"}, &http.Cookie{Name: "SID", Value: "x-1,2"}, "x-1,2", ""},
		{"start", phpsession.MiddlewareOptions{Start: true}, nil, "", "PHPSESSID="},
		{"start replaces invalid", phpsession.MiddlewareOptions{Start: true}, &http.Cookie{Name: "PHPSESSID", Value: "bad id"}, "", "PHPSESSID="},
		{"start keeps valid", phpsession.MiddlewareOptions{Start: true}, &http.Cookie{Name: "PHPSESSID", Value: "keepme"}, "keepme", ""},
		{"cookie attributes", phpsession.MiddlewareOptions{Start: true, Cookie: phpsession.CookieOptions{
			Path: "/app", Domain: "example.com", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode, Lifetime: time.Hour,
		}}, nil, "", "Path=/app; Domain=example.com; Expires="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := phpsession.Middleware(tc.opts)(echoID())
			req := httptest.NewRequest("GET", "/", nil)
			if tc.cookie != nil {
				req.AddCookie(tc.cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			body := rec.Body.String()
			sc := rec.Header().Get("Set-Cookie")
			if tc.wantID == "" {
				require.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), body)
				require.Contains(t, sc, "PHPSESSID="+body)
			} else {
				require.Equal(t, tc.wantID, body)
			}
			if tc.wantCookie == "" {
				require.Empty(t, sc)
			} else {
				require.Contains(t, sc, tc.wantCookie)
			}
			if tc.name == "cookie attributes" {
				for _, attr := range []string{"Max-Age=3600", "HttpOnly", "Secure", "SameSite=Lax"} {
					require.Contains(t, sc, attr)
				}
			}
		})
	}
}

func TestMiddlewareWithServeMuxAndManager(t *testing.T) {
	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /visit", func(w http.ResponseWriter, req *http.Request) {
		err := m.Update(req.Context(), "", func(s *phpsession.Session) error {
			var n int
			_, _ = s.Unmarshal("visits", &n)
			return s.Set("visits", n+1)
		})
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	srv := httptest.NewServer(m.Middleware(phpsession.MiddlewareOptions{Start: true, StrictMode: true, Cookie: phpsession.CookieOptions{HttpOnly: true}})(mux))
	defer srv.Close()

	post := func(cookie string) (string, int) {
		req, _ := http.NewRequest("POST", srv.URL+"/visit", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.Header.Get("Set-Cookie"), resp.StatusCode
	}
	sc, code := post("")
	require.Equal(t, 200, code)
	cookie := strings.SplitN(sc, ";", 2)[0]
	id := strings.TrimPrefix(cookie, "PHPSESSID=")
	for i := 0; i < 3; i++ {
		sc, code = post(cookie)
		require.Equal(t, 200, code)
		require.Empty(t, sc, "known session keeps its ID")
	}
	n, err := phpsession.GetAs[int](context.Background(), m, id, "visits")
	require.NoError(t, err)
	require.Equal(t, 4, n)
	// strict mode: an unknown ID chosen by the client is replaced
	sc, _ = post("PHPSESSID=attackerchosen")
	require.NotEmpty(t, sc)
	require.NotContains(t, sc, "attackerchosen")
}
