// Package phpfiber is the Fiber (fasthttp) middleware of phpsession: it
// reads PHP's session cookie (PHPSESSID) and puts the session ID in the
// request's user context (c.UserContext()), where phpsession.Manager
// methods called with an empty ID find it. It runs phpsession's net/http
// middleware on the request's cookies, so the options and their meaning
// are the same: cookie name and attributes, Start, StrictMode, Logger; the
// cookie it sets is copied to the Fiber response.
//
//	app := fiber.New()
//	app.Use(phpfiber.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true}))
//	app.Post("/cart", func(c *fiber.Ctx) error {
//		return m.Update(c.UserContext(), "", func(s *phpsession.Session) error { ... })
//	})
//
// Fiber's strings (c.Query, c.Params, c.Cookies, ...) point into buffers
// that fasthttp reuses after the request: the Manager keeps what is
// stored in a session (its cache outlives the request), so store copies
// (strings.Clone, utils.CopyString) or run Fiber with
// fiber.Config{Immutable: true}.
//
// It is its own Go module, so that the phpsession module does not depend
// on Fiber or fasthttp.
package phpfiber

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/phpsession/phpsession"
)

// Middleware returns Fiber middleware that resolves the session ID as
// phpsession's net/http middleware does with opts and stores it in
// c.UserContext() (and for SessionID). With a nil Manager the
// package-level phpsession.Middleware is used (StrictMode then needs m).
// When the middleware answers the request itself (it could not generate
// an ID), that answer is sent and the next handler is not called.
func Middleware(m *phpsession.Manager, opts phpsession.MiddlewareOptions) fiber.Handler {
	mw := phpsession.Middleware(opts)
	if m != nil {
		mw = m.Middleware(opts)
	}
	return func(c *fiber.Ctx) error {
		// The middleware only needs the request's cookies and context.
		r := &http.Request{
			Method: c.Method(),
			URL:    &url.URL{Path: c.Path()},
			Header: http.Header{},
			Host:   c.Hostname(),
		}
		c.Request().Header.VisitAllCookie(func(k, v []byte) {
			r.AddCookie(&http.Cookie{Name: string(k), Value: string(v)})
		})
		r = r.WithContext(c.UserContext())
		w := &recorder{h: http.Header{}}
		var next *http.Request
		mw(http.HandlerFunc(func(_ http.ResponseWriter, nr *http.Request) { next = nr })).ServeHTTP(w, r)
		for _, sc := range w.h.Values("Set-Cookie") {
			c.Response().Header.Add(fiber.HeaderSetCookie, sc)
		}
		if next == nil {
			code := w.code
			if code == 0 {
				code = fiber.StatusInternalServerError
			}
			return c.Status(code).Send(w.body.Bytes())
		}
		c.SetUserContext(next.Context())
		return c.Next()
	}
}

// SessionID returns the session ID the middleware put in the user
// context.
func SessionID(c *fiber.Ctx) (string, bool) {
	return phpsession.SessionIDFromContext(c.UserContext())
}

// recorder is the http.ResponseWriter the net/http middleware writes its
// cookie (and, on failure, its answer) to.
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.h }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.body.Write(b)
}
