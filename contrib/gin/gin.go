// Package phpgin is the gin middleware of phpsession: it reads PHP's
// session cookie (PHPSESSID) and puts the session ID in the request's
// context, where phpsession.Manager methods called with an empty ID find
// it, exactly as phpsession's net/http middleware does (it is that
// middleware, run inside gin), with the same options: cookie name and
// attributes, Start, StrictMode, Logger.
//
//	mw, err := phpgin.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
//	r := gin.New()
//	r.Use(mw)
//	r.POST("/cart", func(c *gin.Context) {
//		err := m.Update(c.Request.Context(), "", func(s *phpsession.Session) error { ... })
//	})
//
// The request-level helpers of phpsession work on gin's writer and request:
// m.RegenerateRequest(c.Writer, c.Request, true) at login,
// m.DestroyRequest(c.Writer, c.Request) at logout.
//
// It is its own Go module, so that the phpsession module does not depend
// on gin.
package phpgin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/phpsession/phpsession"
)

// Middleware returns gin middleware running phpsession's net/http
// middleware with opts: the handlers after it see the session ID in
// c.Request.Context() (and through SessionID). With a nil Manager the
// package-level phpsession.Middleware is used (StrictMode then needs m).
// Invalid options give the middleware's error. When the middleware
// answers the request itself (it could not generate an ID, or Redis did
// not answer the strict-mode check), the chain is aborted.
func Middleware(m *phpsession.Manager, opts phpsession.MiddlewareOptions) (gin.HandlerFunc, error) {
	run, err := phpsession.NewMiddlewareRunner(m, opts)
	if err != nil {
		return nil, err
	}
	return func(c *gin.Context) {
		if !run.Run(c.Writer, c.Request, func(r *http.Request) {
			c.Request = r
			c.Next()
		}) {
			c.Abort()
		}
	}, nil
}

// SessionID returns the session ID the middleware put in the request's
// context.
func SessionID(c *gin.Context) (string, bool) {
	return phpsession.SessionIDFromContext(c.Request.Context())
}
