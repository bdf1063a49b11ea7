// Package phpfiber is the Fiber (fasthttp) middleware of phpsession: it
// reads PHP's session cookie (PHPSESSID) and puts the session ID in the
// request's user context (c.UserContext()), where phpsession.Manager
// methods called with an empty ID find it. It runs phpsession's net/http
// middleware around the rest of the Fiber chain, so the options and their
// meaning are the same (cookie name and attributes, Start, StrictMode,
// Logger, the session stored at the end of a request that started it);
// the cookies it sets are copied to the Fiber response. RegenerateID and
// Destroy are the request-level helpers (login, logout).
//
//	mw, err := phpfiber.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
//	app := fiber.New(fiber.Config{Immutable: true})
//	app.Use(mw)
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
	"errors"
	"net/http"
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/phpsession/phpsession"
)

// localsKey holds the request's *state in c.Locals.
type localsKey struct{}

// state is the net/http view of one Fiber request, for the helpers.
type state struct {
	w *recorder
	r *http.Request
}

// Middleware returns Fiber middleware that resolves the session ID as
// phpsession's net/http middleware does with opts and stores it in
// c.UserContext() (and for SessionID). With a nil Manager the
// package-level phpsession.Middleware is used (StrictMode then needs m).
// Invalid options give the middleware's error. When the middleware
// answers the request itself (it could not generate an ID, or Redis did
// not answer the strict-mode check), that answer is sent and the next
// handler is not called.
func Middleware(m *phpsession.Manager, opts phpsession.MiddlewareOptions) (fiber.Handler, error) {
	run, err := phpsession.NewMiddlewareRunner(m, opts)
	if err != nil {
		return nil, err
	}
	return func(c *fiber.Ctx) error {
		// The middleware needs the request's cookies, TLS state (for
		// Secure cookies) and context.
		r := &http.Request{
			Method: c.Method(),
			URL:    &url.URL{Path: c.Path()},
			Header: http.Header{},
			Host:   c.Hostname(),
		}
		c.Request().Header.VisitAllCookie(func(k, v []byte) {
			r.AddCookie(&http.Cookie{Name: string(k), Value: string(v)})
		})
		if c.Protocol() == "https" {
			r.TLS = c.Context().TLSConnectionState()
		}
		r = r.WithContext(c.UserContext())
		w := &recorder{h: http.Header{}}
		var chainErr error
		passed := run.Run(w, r, func(nr *http.Request) {
			c.SetUserContext(nr.Context())
			c.Locals(localsKey{}, &state{w: w, r: nr})
			chainErr = c.Next()
		})
		w.flushCookies(c)
		if !passed {
			code := w.code
			if code == 0 {
				code = fiber.StatusInternalServerError
			}
			return c.Status(code).Send(w.body.Bytes())
		}
		return chainErr
	}, nil
}

// SessionID returns the session ID of the request (after RegenerateID or
// Destroy, the new one or none).
func SessionID(c *fiber.Ctx) (string, bool) {
	return phpsession.SessionIDFromContext(c.UserContext())
}

// errNoMiddleware is returned by the helpers on a request that did not
// pass through Middleware.
var errNoMiddleware = errors.New("phpfiber: the request did not pass through phpfiber.Middleware")

// RegenerateID is Manager.RegenerateRequest for a Fiber request: it moves
// the session to a new ID (session_regenerate_id), sends the new cookie
// and makes the rest of the request use the new ID. Call it at login.
func RegenerateID(c *fiber.Ctx, m *phpsession.Manager, deleteOld bool) (string, error) {
	st, ok := c.Locals(localsKey{}).(*state)
	if !ok {
		return "", errNoMiddleware
	}
	id, err := m.RegenerateRequest(st.w, st.r, deleteOld)
	st.w.flushCookies(c)
	return id, err
}

// Destroy is Manager.DestroyRequest for a Fiber request: it destroys the
// session and expires its cookie (logout). It reports whether the session
// existed.
func Destroy(c *fiber.Ctx, m *phpsession.Manager) (bool, error) {
	st, ok := c.Locals(localsKey{}).(*state)
	if !ok {
		return false, errNoMiddleware
	}
	existed, err := m.DestroyRequest(st.w, st.r)
	st.w.flushCookies(c)
	return existed, err
}

// recorder is the http.ResponseWriter the net/http middleware writes its
// cookies (and, on failure, its answer) to.
type recorder struct {
	h      http.Header
	code   int
	body   bytes.Buffer
	copied int // Set-Cookie values already copied to the Fiber response
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

// flushCookies copies the Set-Cookie headers not yet copied.
func (w *recorder) flushCookies(c *fiber.Ctx) {
	vs := w.h.Values("Set-Cookie")
	for _, v := range vs[w.copied:] {
		c.Response().Header.Add(fiber.HeaderSetCookie, v)
	}
	w.copied = len(vs)
}
