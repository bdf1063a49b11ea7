package phpfiber_test

import (
	"context"
	"log"

	"github.com/gofiber/fiber/v2"

	"github.com/phpsession/phpsession"
	phpfiber "github.com/phpsession/phpsession/contrib/fiber"
)

// The PHPSESSID cookie's ID is in c.UserContext(): Manager methods called
// with an empty ID use it. Immutable makes Fiber's strings safe to keep
// in the session.
func ExampleMiddleware() {
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	app := fiber.New(fiber.Config{Immutable: true})
	app.Use(phpfiber.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true}))
	app.Post("/lang/:code", func(c *fiber.Ctx) error {
		if err := m.Set(c.UserContext(), "", "lang", c.Params("code")); err != nil {
			return err
		}
		id, _ := phpfiber.SessionID(c)
		return c.SendString("session " + id)
	})
}
