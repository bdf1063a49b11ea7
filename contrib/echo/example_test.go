package phpecho_test

import (
	"context"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/phpsession/phpsession"
	phpecho "github.com/phpsession/phpsession/contrib/echo"
)

// The PHPSESSID cookie's ID is in c.Request().Context(): Manager methods
// called with an empty ID use it.
func ExampleMiddleware() {
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	e := echo.New()
	mw, err := phpecho.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
	if err != nil {
		log.Fatal(err)
	}
	e.Use(mw)
	e.GET("/me", func(c echo.Context) error {
		name, err := phpsession.GetAs[string](c.Request().Context(), m, "", "user_name")
		if err != nil {
			return echo.NewHTTPError(http.StatusUnauthorized)
		}
		id, _ := phpecho.SessionID(c)
		return c.JSON(http.StatusOK, map[string]string{"name": name, "session": id})
	})
}

// SessionID reads the ID the middleware resolved.
func ExampleSessionID() {
	e := echo.New()
	e.GET("/whoami", func(c echo.Context) error {
		id, ok := phpecho.SessionID(c)
		if !ok {
			return echo.NewHTTPError(http.StatusUnauthorized)
		}
		return c.String(http.StatusOK, id)
	})
}
