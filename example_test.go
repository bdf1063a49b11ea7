package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/phpsession/phpsession"
)

// Open a Manager on the Redis that PHP's phpredis session handler uses,
// with the defaults of phpredis and of the original Python library.
func ExampleOpenURL() {
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{
		TTL:         24 * time.Hour, // session.gc_maxlifetime
		LockTimeout: 5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
}

// Update is the read-modify-write block: its changes are saved when fn
// returns nil, atomically with respect to PHP's session lock (written only
// while PHP holds no lock and the session is unchanged since fn saw it; fn
// re-runs otherwise), and concurrent updates of one session share one write.
func ExampleManager_Update() {
	var m *phpsession.Manager // from OpenURL
	ctx := context.Background()
	err := m.Update(ctx, "3d4ef09de403e9bae3f4abd929ca7a7c", func(s *phpsession.Session) error {
		var visits int
		if _, err := s.Unmarshal("visits", &visits); err != nil {
			return err
		}
		return s.Set("visits", visits+1) // PHP sees $_SESSION['visits']
	})
	if errors.Is(err, phpsession.ErrLockTimeout) {
		log.Print("PHP held the session lock too long")
	}
}

// Metrics and Stats show how batches went: how many were written without
// the lock, and how often PHP's lock or a concurrent change made one wait or
// re-run. Config.NoLockFree makes every batch take the lock instead.
func ExampleMetrics() {
	var held, changed atomic.Int64
	m, err := phpsession.OpenURL("redis://127.0.0.1:6379/0", phpsession.Config{
		Metrics: &phpsession.Metrics{
			Conflict: func(lockHeld bool) {
				if lockHeld {
					held.Add(1) // PHP held the lock: the batch waits for it
				} else {
					changed.Add(1) // the session changed: the batch re-runs
				}
			},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
	// ... serve requests ...
	st := m.Stats()
	log.Printf("%d of %d batches lock-free; waited for PHP %d times, re-ran %d times",
		st.LockFreeBatches, st.Batches, held.Load(), changed.Load())
}

// Get reads without the lock, from the client-side-cached, decoded session:
// a hot read costs neither a round trip nor a decode.
func ExampleManager_Get() {
	var m *phpsession.Manager // from OpenURL
	ctx := context.Background()
	v, err := m.Get(ctx, "3d4ef09de403e9bae3f4abd929ca7a7c", "user_name")
	switch {
	case errors.Is(err, phpsession.ErrNotFound):
		fmt.Println("no such session or variable")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println(v) // a codec.Value, e.g. codec.String("alice")
	}
}

// GetAs decodes a variable into a Go type; JSON fields (here the default
// "scart_items") are decoded from the JSON text PHP stored.
func ExampleGetAs() {
	var m *phpsession.Manager // from OpenURL
	type item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	items, err := phpsession.GetAs[[]item](context.Background(), m, "3d4ef09de403e9bae3f4abd929ca7a7c", "scart_items")
	if err == nil {
		fmt.Println(len(items), "items in the cart")
	}
}

// The middleware puts the PHPSESSID cookie's session ID in the request
// context; Manager methods called with an empty ID use it.
func ExampleMiddleware() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := phpsession.SessionID(r)
		fmt.Fprint(w, id)
		// with a Manager: m.Update(r.Context(), "", fn) updates this session
	})
	mw, err := phpsession.Middleware(phpsession.MiddlewareOptions{})
	if err != nil {
		panic(err)
	}
	h := mw(handler)

	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "PHPSESSID", Value: "3d4ef09de403e9bae3f4abd929ca7a7c"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println(rec.Body.String())
	// Output: 3d4ef09de403e9bae3f4abd929ca7a7c
}

// Start a session for visitors without a cookie, replace unknown IDs
// (session.use_strict_mode), move the session to a new ID at login
// (session_regenerate_id) and destroy it at logout with its cookie. The
// cookie is HttpOnly, SameSite=Lax and Secure over TLS by default.
func ExampleManager_Middleware() {
	var m *phpsession.Manager // from OpenURL
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		_ = m.Set(r.Context(), "", "last_seen", time.Now().Unix())
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// (check the credentials first)
		if _, err := m.RegenerateRequest(w, r, true); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		_ = m.Set(r.Context(), "", "user", "alice") // the new session
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		_, _ = m.DestroyRequest(w, r)
	})
	mw, err := m.Middleware(phpsession.MiddlewareOptions{
		Start:      true,
		StrictMode: true, // unknown IDs are replaced, like session.use_strict_mode
		Cookie:     phpsession.CookieOptions{Lifetime: 30 * 24 * time.Hour},
	})
	if err != nil {
		panic(err)
	}
	_ = http.ListenAndServe(":8080", mw(mux))
}

// The session ID can also travel in a context.Context, as the original
// library's contextvars helpers.
func ExampleWithSessionID() {
	ctx := phpsession.WithSessionID(context.Background(), "3d4ef09de403e9bae3f4abd929ca7a7c")
	id, ok := phpsession.SessionIDFromContext(ctx)
	fmt.Println(id, ok)
	// Output: 3d4ef09de403e9bae3f4abd929ca7a7c true
}

// What an error of a write says about its change (docs/guarantees.md): a
// plain context error means it was never applied, ErrOutcomeUnknown that
// it may have been, ErrUnavailable that Redis did not answer within
// Config.RedisTimeout (and, without ErrOutcomeUnknown, that nothing was
// applied). Only the first and the last are safe to retry blindly.
func ExampleErrOutcomeUnknown() {
	var m *phpsession.Manager // from OpenURL
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := m.Set(ctx, "3d4ef09de403e9bae3f4abd929ca7a7c", "cart", []string{"apple"})
	switch {
	case err == nil:
		// applied
	case errors.Is(err, phpsession.ErrOutcomeUnknown):
		// maybe applied: read the session before doing it again
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		// not applied, and never will be
	case errors.Is(err, phpsession.ErrUnavailable):
		// Redis is down or silent: not applied; the Manager recovers by itself
	}
}

// Move a session to a new ID at login, as session_regenerate_id(true)
// does: the data follows, the old ID stops working. Behind
// Manager.Middleware, RegenerateRequest also sends the new cookie.
func ExampleManager_RegenerateID() {
	var m *phpsession.Manager // from OpenURL
	ctx := context.Background()
	oldID := "3d4ef09de403e9bae3f4abd929ca7a7c" // from the request's cookie
	newID, err := m.RegenerateID(ctx, oldID, true)
	if err != nil {
		return // the old session is unchanged
	}
	_ = m.Set(ctx, newID, "user", "alice")
	fmt.Println("log in as", phpsession.RedactID(newID)) // never log a full ID
}

// Set and Delete change one variable each, as one-line Updates: under
// PHP's session lock rules, like every write of the Manager.
func ExampleManager_Set() {
	var m *phpsession.Manager // from OpenURL
	ctx := context.Background()
	id := "3d4ef09de403e9bae3f4abd929ca7a7c"
	if err := m.Set(ctx, id, "locale", "de_DE"); err != nil { // $_SESSION['locale'] = 'de_DE'
		log.Fatal(err)
	}
	if existed, err := m.Delete(ctx, id, "flash"); err == nil && existed { // unset($_SESSION['flash'])
		fmt.Println("flash message shown once")
	}
}

// Load takes a private snapshot of the whole session without the lock;
// Save writes a whole session back (under the lock rules, like Update).
func ExampleManager_Load() {
	var m *phpsession.Manager // from OpenURL
	ctx := context.Background()
	s, err := m.Load(ctx, "3d4ef09de403e9bae3f4abd929ca7a7c")
	if errors.Is(err, phpsession.ErrNotFound) {
		return // no such session
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Names()) // the variables PHP stored
	// copy it to a new session: the snapshot is the caller's
	if err := m.Save(ctx, phpsession.NewID(), s); err != nil {
		log.Fatal(err)
	}
}

// Unmarshal decodes the whole session into a struct, without the lock:
// variables map to fields by php tag.
func ExampleManager_Unmarshal() {
	var m *phpsession.Manager // from OpenURL
	var sess struct {
		UserID int    `php:"user_id"`
		Locale string `php:"locale"`
	}
	if err := m.Unmarshal(context.Background(), "3d4ef09de403e9bae3f4abd929ca7a7c", &sess); err == nil {
		fmt.Println(sess.UserID, sess.Locale)
	}
}

// Log out: DestroyRequest deletes the request's session (session_destroy)
// and expires its cookie; Destroy deletes a session by ID, for instance
// from an admin tool.
func ExampleManager_DestroyRequest() {
	var m *phpsession.Manager // from OpenURL
	logout := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.DestroyRequest(w, r); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mw, err := m.Middleware(phpsession.MiddlewareOptions{})
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/logout", mw(logout))

	if existed, err := m.Destroy(context.Background(), "3d4ef09de403e9bae3f4abd929ca7a7c"); err == nil && !existed {
		fmt.Println("no such session")
	}
}

// New wraps a rueidis client the application already has (and keeps
// owning); reads then always go to Redis. Open gives the full behaviour.
func ExampleNew() {
	client, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:6379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	m, err := phpsession.New(client, phpsession.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close(context.Background())
}

// IDs like PHP's with its session.sid_length and
// session.sid_bits_per_character (here php.ini-production's 26 and 5);
// ValidCookieID checks an ID from a cookie against the same alphabet.
func ExampleGenerateID() {
	id, err := phpsession.GenerateID(26, 5)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(id), phpsession.ValidCookieID(id, 5), phpsession.ValidCookieID("../etc/passwd", 5))
	// Output: 26 true false
}

// A session ID is a credential: log its redacted form.
func ExampleRedactID() {
	fmt.Println(phpsession.RedactID("3d4ef09de403e9bae3f4abd929ca7a7c"))
	// Output: 3d4ef0…
}
