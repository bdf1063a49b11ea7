package phpfiber_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	phpfiber "github.com/phpsession/phpsession/contrib/fiber"
	"github.com/phpsession/phpsession/internal/adaptertest"
)

// TestFiber: requests through Fiber (fasthttp) on a loopback listener,
// behind phpfiber.Middleware, against a real redis-server, with PHP
// reading and writing the same session.
func TestFiber(t *testing.T) {
	adaptertest.Run(t, func(t *testing.T, app *adaptertest.App, opts phpsession.MiddlewareOptions) string {
		f := fiber.New(fiber.Config{DisableStartupMessage: true})
		mw, err := phpfiber.Middleware(app.M, opts)
		require.NoError(t, err)
		f.Use(mw)
		f.Post("/login", func(c *fiber.Ctx) error {
			id, err := phpfiber.RegenerateID(c, app.M, true)
			if err != nil {
				return c.Status(http.StatusInternalServerError).SendString(err.Error())
			}
			return c.SendString(id)
		})
		f.Post("/cart", func(c *fiber.Ctx) error {
			// Fiber's strings are valid only during the request: the
			// session keeps what is stored, so store copies.
			return c.SendStatus(app.AddToCart(c.UserContext(), strings.Clone(c.Query("sku")), strings.Clone(c.Query("qty"))))
		})
		f.Get("/cart", func(c *fiber.Ctx) error {
			code, body := app.ShowCart(c.UserContext())
			c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
			return c.Status(code).Send(body)
		})
		f.Get("/id", func(c *fiber.Ctx) error {
			id, ok := phpfiber.SessionID(c)
			if !ok {
				id = "-"
			}
			return c.Status(http.StatusOK).SendString(id)
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- f.Listener(ln) }()
		t.Cleanup(func() {
			_ = f.Shutdown()
			<-done
		})
		return "http://" + ln.Addr().String()
	})
}
