// Command chi shows phpsession with the chi router: chi takes net/http
// middleware as it is, so phpsession's Middleware needs no adapter.
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go run .
//	curl -c jar -b jar -X POST 'localhost:8080/cart?sku=a&qty=2'
//	curl -b jar localhost:8080/cart
//
// It is its own Go module (examples/chi/go.mod), so that the phpsession
// module does not depend on chi.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"os"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/phpsession/phpsession"
)

func main() {
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	m, err := phpsession.OpenURL(url, phpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	r, err := Router(m, phpsession.MiddlewareOptions{Start: true, StrictMode: true})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", r))
}

// Router mounts the cart routes behind phpsession's middleware.
func Router(m *phpsession.Manager, opts phpsession.MiddlewareOptions) (chi.Router, error) {
	mw, err := m.Middleware(opts)
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(mw) // the PHPSESSID cookie's ID goes in the request context
	r.Post("/login", func(w http.ResponseWriter, req *http.Request) {
		// ... check the credentials, then move the session to a new ID
		if _, err := m.RegenerateRequest(w, req, true); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r.Post("/cart", func(w http.ResponseWriter, req *http.Request) {
		sku := req.URL.Query().Get("sku")
		qty, _ := strconv.Atoi(req.URL.Query().Get("qty"))
		err := m.Update(req.Context(), "", func(s *phpsession.Session) error {
			var cart map[string]int
			if _, err := s.Unmarshal("cart", &cart); err != nil {
				return err
			}
			if cart == nil {
				cart = map[string]int{}
			}
			cart[sku] += qty
			return s.Set("cart", cart) // PHP sees $_SESSION['cart'][$sku]
		})
		if errors.Is(err, phpsession.ErrNoSessionID) {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	r.Get("/cart", func(w http.ResponseWriter, req *http.Request) {
		s, err := m.Load(req.Context(), "")
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s) // natural JSON of $_SESSION
	})
	return r, nil
}
