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

const (
	hexID = "3d4ef09de403e9bae3f4abd929ca7a7c"
	b5ID  = "t4bi4ib531ik3qcnsv2umeh19n" // made by PHP with sid_bits_per_character=5
	b6ID  = "uBOP,Gbl1spRtZI4Gj21m6103i-ItDPUQiGm6cd0SzKqJ3rZ"
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
		{"valid cookie", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: hexID}, hexID, ""},
		{"no cookie", phpsession.MiddlewareOptions{}, nil, "-", ""},
		{"invalid cookie ignored", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: "a.b" + hexID}, "-", ""},
		{"too short ignored", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: "abc123"}, "-", ""},
		{"too long ignored", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: strings.Repeat("a", 257)}, "-", ""},
		{"custom name", phpsession.MiddlewareOptions{CookieName: "SID"}, &http.Cookie{Name: "SID", Value: b6ID}, b6ID, ""},
		{"any alphabet by default", phpsession.MiddlewareOptions{}, &http.Cookie{Name: "PHPSESSID", Value: b6ID}, b6ID, ""},
		{"4 bits: hex only", phpsession.MiddlewareOptions{IDBitsPerChar: 4}, &http.Cookie{Name: "PHPSESSID", Value: b5ID}, "-", ""},
		{"5 bits: 0-9a-v", phpsession.MiddlewareOptions{IDBitsPerChar: 5}, &http.Cookie{Name: "PHPSESSID", Value: b5ID}, b5ID, ""},
		{"5 bits rejects 6-bit", phpsession.MiddlewareOptions{IDBitsPerChar: 5}, &http.Cookie{Name: "PHPSESSID", Value: b6ID}, "-", ""},
		{"start", phpsession.MiddlewareOptions{Start: true}, nil, "", "PHPSESSID="},
		{"start replaces invalid", phpsession.MiddlewareOptions{Start: true}, &http.Cookie{Name: "PHPSESSID", Value: "bad id"}, "", "PHPSESSID="},
		{"start keeps valid", phpsession.MiddlewareOptions{Start: true}, &http.Cookie{Name: "PHPSESSID", Value: b5ID}, b5ID, ""},
		{"safe defaults", phpsession.MiddlewareOptions{Start: true}, nil, "", "; HttpOnly; SameSite=Lax"},
		{"cookie attributes", phpsession.MiddlewareOptions{Start: true, Cookie: phpsession.CookieOptions{
			Path: "/app", Domain: "example.com", Secure: phpsession.SecureAlways, SameSite: http.SameSiteStrictMode, Lifetime: time.Hour,
		}}, nil, "", "Path=/app; Domain=example.com; Expires="},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mw, err := phpsession.Middleware(tc.opts)
			require.NoError(t, err)
			h := mw(echoID())
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
				for _, attr := range []string{"Max-Age=3600", "HttpOnly", "Secure", "SameSite=Strict"} {
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
	mw, err := m.Middleware(phpsession.MiddlewareOptions{Start: true, StrictMode: true})
	require.NoError(t, err)
	srv := httptest.NewServer(mw(mux))
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
	sc, _ = post("PHPSESSID=attackerchosen0123456789abcdef")
	require.NotEmpty(t, sc)
	require.NotContains(t, sc, "attackerchosen")
}

// MiddlewareRunner is the net/http middleware run around a framework's
// chain: next gets the request carrying the ID; when the middleware
// answers itself (strict mode with Redis down), next is not called and
// Run says so.
func TestMiddlewareRunner(t *testing.T) {
	_, err := phpsession.NewMiddlewareRunner(nil, phpsession.MiddlewareOptions{StrictMode: true})
	require.ErrorIs(t, err, phpsession.ErrConfig, "StrictMode needs a Manager")

	r := testenv.StartRedis(t)
	m := openTest(t, r, phpsession.Config{RedisTimeout: 200 * time.Millisecond})
	for _, tc := range []struct {
		name string
		m    *phpsession.Manager
	}{{"package-level", nil}, {"manager", m}} {
		t.Run(tc.name, func(t *testing.T) {
			run, err := phpsession.NewMiddlewareRunner(tc.m, phpsession.MiddlewareOptions{})
			require.NoError(t, err)
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(&http.Cookie{Name: "PHPSESSID", Value: hexID})
			var got string
			passed := run.Run(httptest.NewRecorder(), req, func(r *http.Request) {
				got, _ = phpsession.SessionID(r)
			})
			require.True(t, passed)
			require.Equal(t, hexID, got)
		})
	}

	strict, err := phpsession.NewMiddlewareRunner(m, phpsession.MiddlewareOptions{StrictMode: true})
	require.NoError(t, err)
	r.Stop()
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "PHPSESSID", Value: hexID})
	w := httptest.NewRecorder()
	called := false
	require.False(t, strict.Run(w, req, func(*http.Request) { called = true }))
	require.False(t, called)
	require.GreaterOrEqual(t, w.Code, 500, "the middleware answered the request itself")
}
