package phpsession_test

import (
	"context"
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"os"

	"github.com/phpsession/phpsession"
)

// A Session marshals to natural JSON (a PHP list is a JSON array, other
// arrays and objects JSON objects, JSON fields embedded as JSON), so a
// handler can hand it to an encoder as it is.
func ExampleSession_MarshalJSON() {
	var m *phpsession.Manager // from OpenURL
	http.HandleFunc("/debug/session", func(w http.ResponseWriter, r *http.Request) {
		s, err := m.Load(r.Context(), "") // the ID from the middleware
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		_ = json.NewEncoder(w).Encode(s) // {"user":{"id":7,"roles":["admin"]},"scart_items":[...]}
	})
}

// Map gives the variables as plain Go values (int64, float64, string,
// bool, nil, []any, map[string]any) for templates.
func ExampleSession_Map() {
	var m *phpsession.Manager // from OpenURL
	s, err := m.Load(context.Background(), "3d4ef09de403e9bae3f4abd929ca7a7c")
	if err != nil {
		log.Fatal(err)
	}
	vars, err := s.Map()
	if err != nil {
		log.Fatal(err)
	}
	t := template.Must(template.New("").Parse(`Hello {{.user.name}}, {{len .scart_items}} items`))
	_ = t.Execute(os.Stdout, vars)
}

// String prints a session readably (natural JSON), for logs and fmt.
func ExampleSession_String() {
	var s *phpsession.Session // from Load or Update
	log.Printf("session: %v", s)
}
