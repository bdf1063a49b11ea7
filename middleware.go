package phpsession

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// DefaultCookieName is PHP's default session.name.
const DefaultCookieName = "PHPSESSID"

// SecureMode says when the session cookie gets the Secure attribute
// (PHP's session.cookie_secure).
type SecureMode int

const (
	// SecureAuto (the default) marks the cookie Secure when the request
	// came over TLS (http.Request.TLS is set). Behind a proxy that
	// terminates TLS, use SecureAlways.
	SecureAuto SecureMode = iota
	// SecureAlways always marks the cookie Secure (session.cookie_secure=1).
	SecureAlways
	// SecureNever never does (session.cookie_secure=0, PHP's default).
	SecureNever
)

// CookieOptions are the attributes of the session cookie, PHP's
// session.cookie_* settings. The zero value gives the safe defaults:
// HttpOnly, SameSite=Lax, Secure over TLS, path "/", no domain, a
// browser-session cookie. (PHP's own defaults are weaker: httponly off,
// samesite unset, secure off.)
type CookieOptions struct {
	// Path is session.cookie_path (default "/").
	Path string
	// Domain is session.cookie_domain (default none: the cookie goes back
	// only to the host that set it).
	Domain string
	// Secure is session.cookie_secure (default SecureAuto).
	Secure SecureMode
	// NoHttpOnly is session.cookie_httponly=0: it lets page scripts read
	// the session cookie. By default the cookie is HttpOnly.
	NoHttpOnly bool
	// SameSite is session.cookie_samesite. 0 means Lax (the default);
	// http.SameSiteDefaultMode sends no attribute (PHP's default "");
	// http.SameSiteNoneMode needs Secure in browsers.
	SameSite http.SameSite
	// Lifetime is session.cookie_lifetime: 0 makes a browser-session
	// cookie; otherwise Expires and Max-Age are sent.
	Lifetime time.Duration
}

// MiddlewareOptions configure Middleware.
type MiddlewareOptions struct {
	// CookieName is the session cookie (session.name). Default "PHPSESSID".
	CookieName string
	// Start starts a session for visitors without a valid session cookie
	// (session.auto_start / session_start): a new ID is put in the context
	// and sent as a cookie with Cookie's attributes. Without Start such
	// requests carry no session ID. With a Manager (Manager.Middleware), a
	// session started this way and still absent at the end of the request
	// is stored empty, as PHP stores every session it starts.
	Start  bool
	Cookie CookieOptions
	// IDLength and IDBitsPerChar are session.sid_length and
	// session.sid_bits_per_character: the form of new IDs. Zero takes the
	// Manager's Config (Manager.Middleware) or PHP's defaults, 32 and 4.
	// A non-zero IDBitsPerChar (after that fallback) also restricts the
	// IDs accepted from cookies to that alphabet; with 0 every ID of
	// MinIDLength to MaxIDLength characters of PHP's 64 is accepted, so
	// cookies issued by PHP with any setting work.
	IDLength      int
	IDBitsPerChar int
	// StrictMode is session.use_strict_mode: a cookie ID with no session
	// in Redis is replaced by a new ID (and, with Start, that session is
	// stored at the end of the request, so the next request keeps it). It
	// needs a Manager: Middleware (package-level) rejects it. When Redis
	// cannot answer the check within the Manager's LockTimeout, the
	// request gets 503 Service Unavailable: the ID is neither adopted nor
	// replaced (which would log the visitor out).
	StrictMode bool
	// Logger receives debug messages about new and rejected IDs, showing
	// IDs redacted (nil = silent).
	Logger *slog.Logger
}

// Middleware returns net/http middleware that reads the PHP session cookie,
// validates the ID (ValidCookieID; invalid IDs are ignored, as PHP discards
// them) and puts it in the request context, where Manager methods called
// with an empty ID and SessionIDFromContext find it. It works with any
// router that accepts func(http.Handler) http.Handler (net/http's
// ServeMux, chi, gorilla/mux, ...).
//
// Options that need a Manager (StrictMode) are an error here; use
// Manager.Middleware. Invalid ID settings are an error too.
func Middleware(opts MiddlewareOptions) (func(http.Handler) http.Handler, error) {
	return middleware(nil, opts)
}

// Middleware is the package-level Middleware bound to m: it supports
// StrictMode, stores the sessions it starts, and enables
// Manager.RegenerateRequest and Manager.DestroyRequest.
func (m *Manager) Middleware(opts MiddlewareOptions) (func(http.Handler) http.Handler, error) {
	return middleware(m, opts)
}

// mwConfig is one middleware's effective options.
type mwConfig struct {
	m   *Manager
	o   MiddlewareOptions
	log *slog.Logger
}

// reqSession is the session state of one request handled by the
// middleware, carried in its context (SessionIDFromContext reads it), so
// that regeneration and destruction during the request change the ID the
// rest of the request uses.
type reqSession struct {
	mw *mwConfig
	r  *http.Request

	mu      sync.Mutex
	id      string
	started string // ID issued by Start in this request ("" if none)
}

func (s *reqSession) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

func (s *reqSession) set(id string) {
	s.mu.Lock()
	s.id = id
	s.mu.Unlock()
}

func middleware(m *Manager, o MiddlewareOptions) (func(http.Handler) http.Handler, error) {
	if o.CookieName == "" {
		o.CookieName = DefaultCookieName
	}
	if o.Cookie.Path == "" {
		o.Cookie.Path = "/"
	}
	if o.IDLength == 0 {
		o.IDLength = DefaultIDLength
		if m != nil {
			o.IDLength = m.cfg.IDLength
		}
	}
	if o.IDBitsPerChar == 0 && m != nil {
		o.IDBitsPerChar = m.cfg.IDBitsPerChar
	}
	if o.StrictMode && m == nil {
		return nil, newErr("middleware", "", ErrConfig, fmt.Errorf("StrictMode needs a Manager: use Manager.Middleware"))
	}
	if o.Cookie.Secure < SecureAuto || o.Cookie.Secure > SecureNever {
		return nil, newErr("middleware", "", ErrConfig, fmt.Errorf("invalid Cookie.Secure %d", o.Cookie.Secure))
	}
	if o.Cookie.SameSite < 0 || o.Cookie.SameSite > http.SameSiteNoneMode {
		return nil, newErr("middleware", "", ErrConfig, fmt.Errorf("invalid Cookie.SameSite %d", o.Cookie.SameSite))
	}
	if o.Cookie.Lifetime < 0 {
		return nil, newErr("middleware", "", ErrConfig, fmt.Errorf("negative Cookie.Lifetime"))
	}
	if err := checkIDSettings(o.IDLength, o.IDBitsPerChar); err != nil {
		return nil, newErr("middleware", "", ErrConfig, err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	mw := &mwConfig{m: m, o: o, log: log}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mw.serve(next, w, r)
		})
	}, nil
}

func (mw *mwConfig) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	o, log, ctx := &mw.o, mw.log, r.Context()
	id := ""
	if c, err := r.Cookie(o.CookieName); err == nil && c.Value != "" {
		switch {
		case !ValidCookieID(c.Value, o.IDBitsPerChar):
			log.DebugContext(ctx, "phpsession: ignoring invalid session ID", "cookie", o.CookieName, "len", len(c.Value), "bits", o.IDBitsPerChar)
		case o.StrictMode:
			cctx, cancel := context.WithTimeout(ctx, mw.m.cfg.LockTimeout)
			ok, err := mw.m.exists(cctx, c.Value)
			cancel()
			if err != nil {
				// Unknown: replacing the ID would log the visitor out
				// for good, adopting it would defeat strict mode.
				log.WarnContext(ctx, "phpsession: strict mode check failed", "id", RedactID(c.Value), "err", err)
				http.Error(w, http.StatusText(http.StatusServiceUnavailable), http.StatusServiceUnavailable)
				return
			}
			if ok {
				id = c.Value
			} else {
				log.DebugContext(ctx, "phpsession: ignoring unknown session ID (strict mode)", "id", RedactID(c.Value))
			}
		default:
			id = c.Value
		}
	}
	rs := &reqSession{mw: mw, id: id}
	if id == "" && o.Start {
		nid, err := GenerateID(o.IDLength, genBits(o.IDBitsPerChar))
		if err != nil {
			log.ErrorContext(ctx, "phpsession: cannot generate session ID", "err", err)
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		rs.id, rs.started = nid, nid
		http.SetCookie(w, mw.cookie(r, nid))
		log.DebugContext(ctx, "phpsession: started session", "id", RedactID(nid))
	}
	r = r.WithContext(context.WithValue(ctx, ctxKey{}, rs))
	rs.r = r
	next.ServeHTTP(w, r)
	if mw.m != nil && rs.started != "" && rs.get() == rs.started {
		// PHP writes every session it started at the end of the request,
		// even an empty one; without that, strict mode would hand a
		// visitor a new ID on every request that stores nothing.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mw.m.cfg.LockTimeout)
		defer cancel()
		if err := mw.m.create(cctx, rs.started); err != nil {
			log.WarnContext(ctx, "phpsession: could not store the new session", "err", err)
		}
	}
}

// cookie builds the session cookie for id.
func (mw *mwConfig) cookie(r *http.Request, id string) *http.Cookie {
	o := mw.o.Cookie
	c := &http.Cookie{
		Name:     mw.o.CookieName,
		Value:    id,
		Path:     o.Path,
		Domain:   o.Domain,
		Secure:   o.Secure == SecureAlways || (o.Secure == SecureAuto && r.TLS != nil),
		HttpOnly: !o.NoHttpOnly,
		SameSite: o.SameSite,
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if o.Lifetime > 0 {
		c.MaxAge = int(o.Lifetime / time.Second)
		c.Expires = time.Now().Add(o.Lifetime).UTC()
	}
	return c
}

// expiredCookie is the cookie that makes a browser drop the session
// cookie (what PHP applications send with setcookie(session_name(), ”,
// time() - 42000, ...)): same name, path and domain, empty, expired.
func (mw *mwConfig) expiredCookie(r *http.Request) *http.Cookie {
	c := mw.cookie(r, "")
	c.MaxAge = -1
	c.Expires = time.Unix(1, 0).UTC()
	return c
}

// requestSession returns the middleware state of r, or an error wrapping
// ErrNoSessionID when r did not pass through Middleware.
func requestSession(op string, r *http.Request) (*reqSession, error) {
	if rs, ok := r.Context().Value(ctxKey{}).(*reqSession); ok {
		return rs, nil
	}
	return nil, newErr(op, "", ErrNoSessionID, fmt.Errorf("the request did not pass through the session middleware"))
}

// ExpireCookie tells the browser to drop the session cookie (an expired,
// empty cookie with the middleware's name, path and domain) and clears the
// session ID of the rest of the request. It does not touch Redis: use
// Manager.DestroyRequest to delete the session and expire its cookie. r
// must have passed through Middleware.
func ExpireCookie(w http.ResponseWriter, r *http.Request) error {
	rs, err := requestSession("expire cookie", r)
	if err != nil {
		return err
	}
	http.SetCookie(w, rs.mw.expiredCookie(r))
	rs.set("")
	return nil
}

// DestroyRequest destroys the request's session (Destroy, like PHP's
// session_destroy) and expires its cookie, as PHP applications do on
// logout. The rest of the request carries no session ID. It reports
// whether the session existed. r must have passed through m.Middleware or
// Middleware.
func (m *Manager) DestroyRequest(w http.ResponseWriter, r *http.Request) (bool, error) {
	rs, err := requestSession("destroy", r)
	if err != nil {
		return false, err
	}
	id := rs.get()
	existed := false
	if id != "" {
		if existed, err = m.Destroy(r.Context(), id); err != nil {
			return false, err
		}
	}
	http.SetCookie(w, rs.mw.expiredCookie(r))
	rs.set("")
	return existed, nil
}

// RegenerateRequest is RegenerateID for the request's session, plus the
// cookie: it moves the session to a new ID (session_regenerate_id), sends
// the new cookie, and makes the rest of the request use the new ID. Call
// it when a user logs in (against session fixation). A request without a
// session (no cookie, no Start) gets a new, empty session. r must have
// passed through m.Middleware or Middleware.
func (m *Manager) RegenerateRequest(w http.ResponseWriter, r *http.Request, deleteOld bool) (string, error) {
	rs, err := requestSession("regenerate", r)
	if err != nil {
		return "", err
	}
	old := rs.get()
	var nid string
	if old == "" {
		nid, err = m.newSessionID()
		if err == nil {
			err = m.create(r.Context(), nid)
		}
		err = wrap("regenerate", "", err)
	} else {
		nid, err = m.RegenerateID(r.Context(), old, deleteOld)
	}
	if err != nil {
		return "", err
	}
	http.SetCookie(w, rs.mw.cookie(r, nid))
	rs.set(nid)
	return nid, nil
}

// SessionID returns the session ID the middleware put in r's context.
func SessionID(r *http.Request) (string, bool) { return SessionIDFromContext(r.Context()) }

// MiddlewareRunner runs the session middleware inside another web
// framework's handler chain: it is what the framework adapters of
// contrib/ (gin, echo, fiber) share, so that each is only the glue
// between its framework's request and net/http's.
type MiddlewareRunner struct {
	mw func(http.Handler) http.Handler
}

// NewMiddlewareRunner builds the net/http middleware with opts: m's
// (Manager.Middleware), or with a nil m the package-level Middleware
// (StrictMode then needs m). Invalid options give the middleware's error.
func NewMiddlewareRunner(m *Manager, opts MiddlewareOptions) (*MiddlewareRunner, error) {
	var mw func(http.Handler) http.Handler
	var err error
	if m != nil {
		mw, err = m.Middleware(opts)
	} else {
		mw, err = Middleware(opts)
	}
	if err != nil {
		return nil, err
	}
	return &MiddlewareRunner{mw: mw}, nil
}

// Run runs the middleware on the request r answered through w, calling
// next with the request that carries the session ID in its context (the
// framework hands it to the rest of its chain). It reports whether next
// was called: false when the middleware answered the request itself (it
// could not generate an ID, or Redis did not answer the strict-mode
// check), and the framework's chain must stop.
func (x *MiddlewareRunner) Run(w http.ResponseWriter, r *http.Request, next func(r *http.Request)) bool {
	passed := false
	x.mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		passed = true
		next(r)
	})).ServeHTTP(w, r)
	return passed
}
