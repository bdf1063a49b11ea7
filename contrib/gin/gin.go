// Package phpgin is the gin middleware of phpsession: it reads PHP's
// session cookie (PHPSESSID) and puts the session ID in the request's
// context, where phpsession.Manager methods called with an empty ID find
// it, exactly as phpsession's net/http middleware does (it is that
// middleware, run inside gin), with the same options: cookie name and
// attributes, Start, StrictMode, Logger.
//
//	r := gin.New()
//	r.Use(phpgin.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true}))
//	r.POST("/cart", func(c *gin.Context) {
//		err := m.Update(c.Request.Context(), "", func(s *phpsession.Session) error { ... })
//	})
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
// When the middleware answers the request itself (it could not generate
// an ID), the chain is aborted.
func Middleware(m *phpsession.Manager, opts phpsession.MiddlewareOptions) gin.HandlerFunc {
	mw := phpsession.Middleware(opts)
	if m != nil {
		mw = m.Middleware(opts)
	}
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

// SessionID returns the session ID the middleware put in the request's
// context.
func SessionID(c *gin.Context) (string, bool) {
	return phpsession.SessionIDFromContext(c.Request.Context())
}
