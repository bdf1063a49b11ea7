package phpsession

import (
	"io"
	"log/slog"
	"net/http"
	"time"
)

// DefaultCookieName is PHP's default session.name.
const DefaultCookieName = "PHPSESSID"

// CookieOptions are the attributes of the session cookie, as PHP's
// session.cookie_* settings.
type CookieOptions struct {
	Path     string        // session.cookie_path (default "/")
	Domain   string        // session.cookie_domain
	Secure   bool          // session.cookie_secure
	HttpOnly bool          // session.cookie_httponly
	SameSite http.SameSite // session.cookie_samesite (0: attribute not sent)
	// Lifetime is session.cookie_lifetime: 0 makes a browser-session
	// cookie; otherwise Expires and Max-Age are sent.
	Lifetime time.Duration
}

// MiddlewareOptions configure Middleware.
type MiddlewareOptions struct {
	// CookieName is the session cookie (session.name). Default "PHPSESSID".
	CookieName string
	// Start starts a session for visitors without a valid session cookie:
	// a new ID (IDLength/IDBitsPerChar, PHP's defaults 32 and 4) is put in
	// the context and sent as a cookie with Cookie's attributes. Without
	// Start such requests simply carry no session ID.
	Start         bool
	Cookie        CookieOptions
	IDLength      int
	IDBitsPerChar int
	// StrictMode, like session.use_strict_mode, treats an ID that has no
	// session in Redis as absent (checked through Manager; needs the
	// middleware from Manager.Middleware). Recommended with Start, so an
	// attacker cannot choose a victim's ID.
	StrictMode bool
	// Logger receives debug messages about new and rejected IDs
	// (nil = silent).
	Logger *slog.Logger
}

// Middleware returns net/http middleware that reads the PHP session cookie,
// validates the ID (ValidID; invalid IDs are ignored, as PHP discards them)
// and puts it in the request context, where Manager methods called with an
// empty ID and SessionIDFromContext find it. It works with any router that
// accepts func(http.Handler) http.Handler (net/http's ServeMux, chi,
// gorilla/mux, ...).
func Middleware(opts MiddlewareOptions) func(http.Handler) http.Handler {
	return middleware(nil, opts)
}

// Middleware is the package-level Middleware bound to m (needed for
// StrictMode).
func (m *Manager) Middleware(opts MiddlewareOptions) func(http.Handler) http.Handler {
	return middleware(m, opts)
}

func middleware(m *Manager, o MiddlewareOptions) func(http.Handler) http.Handler {
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	if o.Cookie.Path == "" {
		o.Cookie.Path = "/"
	}
	if o.IDLength == 0 {
		o.IDLength = DefaultIDLength
	}
	if o.IDBitsPerChar == 0 {
		o.IDBitsPerChar = DefaultIDBitsPerChar
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := ""
			if c, err := r.Cookie(o.CookieName); err == nil && c.Value != "" {
				switch {
				case !ValidID(c.Value):
					log.DebugContext(r.Context(), "phpsession: ignoring invalid session ID", "cookie", o.CookieName, "len", len(c.Value))
				case o.StrictMode && m != nil:
					// EXISTS, as PHP's validate_sid; not through a session
					// actor, so probing unknown IDs spawns nothing.
					ok, err := m.store.Exists(r.Context(), c.Value)
					if err != nil {
						log.WarnContext(r.Context(), "phpsession: strict mode check failed", "err", err)
					}
					if ok {
						id = c.Value
					} else {
						log.DebugContext(r.Context(), "phpsession: ignoring unknown session ID (strict mode)")
					}
				default:
					id = c.Value
				}
			}
			if id == "" && o.Start {
				nid, err := GenerateID(o.IDLength, o.IDBitsPerChar)
				if err != nil {
					log.ErrorContext(r.Context(), "phpsession: cannot generate session ID", "err", err)
					http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
					return
				}
				id = nid
				http.SetCookie(w, sessionCookie(o, id))
				log.DebugContext(r.Context(), "phpsession: started session")
			}
			if id != "" {
				r = r.WithContext(WithSessionID(r.Context(), id))
			}
			next.ServeHTTP(w, r)
		})
	}
}

func sessionCookie(o MiddlewareOptions, id string) *http.Cookie {
	c := &http.Cookie{
		Name:     o.CookieName,
		Value:    id,
		Path:     o.Cookie.Path,
		Domain:   o.Cookie.Domain,
		Secure:   o.Cookie.Secure,
		HttpOnly: o.Cookie.HttpOnly,
		SameSite: o.Cookie.SameSite,
	}
	if o.Cookie.Lifetime > 0 {
		c.MaxAge = int(o.Cookie.Lifetime / time.Second)
		c.Expires = time.Now().Add(o.Cookie.Lifetime).UTC()
	}
	return c
}

// SessionID returns the session ID the middleware put in r's context.
func SessionID(r *http.Request) (string, bool) { return SessionIDFromContext(r.Context()) }
