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
	mw, err := phpfiber.Middleware(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
	if err != nil {
		log.Fatal(err)
	}
	app.Use(mw)
	app.Post("/lang/:code", func(c *fiber.Ctx) error {
		if err := m.Set(c.UserContext(), "", "lang", c.Params("code")); err != nil {
			return err
		}
		id, _ := phpfiber.SessionID(c)
		return c.SendString("session " + id)
	})
}

// At login, move the session to a new ID (against session fixation).
func ExampleRegenerateID() {
	var m *phpsession.Manager // from OpenURL
	app := fiber.New()
	app.Post("/login", func(c *fiber.Ctx) error {
		// ... check the credentials, then:
		if _, err := phpfiber.RegenerateID(c, m, true); err != nil {
			return err
		}
		return m.Set(c.UserContext(), "", "user_id", 7)
	})
}

// At logout, destroy the session and expire its cookie.
func ExampleDestroy() {
	var m *phpsession.Manager // from OpenURL
	app := fiber.New()
	app.Post("/logout", func(c *fiber.Ctx) error {
		_, err := phpfiber.Destroy(c, m)
		return err
	})
}

// SessionID reads the ID the middleware resolved.
func ExampleSessionID() {
	app := fiber.New()
	app.Get("/whoami", func(c *fiber.Ctx) error {
		id, ok := phpfiber.SessionID(c)
		if !ok {
			return c.SendStatus(fiber.StatusUnauthorized)
		}
		return c.SendString(id)
	})
}
