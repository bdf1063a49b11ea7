package phpgin_test

import (
	"context"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/phpsession/phpsession"
	phpgin "github.com/phpsession/phpsession/contrib/gin"
)

// The PHPSESSID cookie's ID is in c.Request.Context(): Manager methods
// called with an empty ID use it.
func ExampleMiddleware() {
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	r := gin.New()
	mw, err := phpgin.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
	if err != nil {
		log.Fatal(err)
	}
	r.Use(mw)
	r.POST("/visit", func(c *gin.Context) {
		err := m.Update(c.Request.Context(), "", func(s *phpsession.Session) error {
			var n int
			if _, err := s.Unmarshal("visits", &n); err != nil {
				return err
			}
			return s.Set("visits", n+1) // PHP sees $_SESSION['visits']
		})
		if err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		id, _ := phpgin.SessionID(c)
		c.String(http.StatusOK, "session %s", id)
	})
}

// SessionID reads the ID the middleware resolved.
func ExampleSessionID() {
	r := gin.New()
	r.GET("/whoami", func(c *gin.Context) {
		id, ok := phpgin.SessionID(c)
		if !ok {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.String(http.StatusOK, id)
	})
}
