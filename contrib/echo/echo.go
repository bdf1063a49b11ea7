// Package phpecho is the Echo middleware of phpsession: it reads PHP's
// session cookie (PHPSESSID) and puts the session ID in the request's
// context, where phpsession.Manager methods called with an empty ID find
// it, exactly as phpsession's net/http middleware does (it is that
// middleware, run inside Echo), with the same options: cookie name and
// attributes, Start, StrictMode, Logger.
//
//	mw, err := phpecho.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
//	e := echo.New()
//	e.Use(mw)
//	e.POST("/cart", func(c echo.Context) error {
//		return m.Update(c.Request().Context(), "", func(s *phpsession.Session) error { ... })
//	})
//
// The request-level helpers of phpsession work on Echo's response and
// request: m.RegenerateRequest(c.Response(), c.Request(), true) at login,
// m.DestroyRequest(c.Response(), c.Request()) at logout.
//
// It is its own Go module, so that the phpsession module does not depend
// on Echo.
package phpecho

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/phpsession/phpsession"
)

// Middleware returns Echo middleware running phpsession's net/http
// middleware with opts: the handlers after it see the session ID in
// c.Request().Context() (and through SessionID). With a nil Manager the
// package-level phpsession.Middleware is used (StrictMode then needs m).
// Invalid options give the middleware's error. When the middleware
// answers the request itself (it could not generate an ID, or Redis did
// not answer the strict-mode check), the next handler is not called.
func Middleware(m *phpsession.Manager, opts phpsession.MiddlewareOptions) (echo.MiddlewareFunc, error) {
	run, err := phpsession.NewMiddlewareRunner(m, opts)
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			run.Run(c.Response(), c.Request(), func(r *http.Request) {
				c.SetRequest(r)
				err = next(c)
			})
			return err
		}
	}, nil
}

// SessionID returns the session ID the middleware put in the request's
// context.
func SessionID(c echo.Context) (string, bool) {
	return phpsession.SessionIDFromContext(c.Request().Context())
}
