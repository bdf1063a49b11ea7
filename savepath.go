package phpsession

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// SavePath is a phpredis session.save_path of the standalone handler
// (session.save_handler = redis), read as phpredis 5.3 and 6.1 read it:
// where the sessions live (the endpoint, the database) and what they are
// called (the key prefix). ParseSavePath makes one; OpenSavePath opens a
// Manager on it.
type SavePath struct {
	// Network is "tcp", "tls" (phpredis's tls:// and ssl://) or "unix".
	Network string
	// Addr is host:port (port 6379 when the save_path has none), or the
	// socket's path for "unix".
	Addr string
	// Prefix is the key prefix; HasPrefix reports whether the save_path
	// sets one (an empty `prefix=` means bare IDs as keys). Without it
	// phpredis uses "PHPREDIS_SESSION:".
	Prefix    string
	HasPrefix bool
	// Database is the `database` parameter: phpredis SELECTs it when it
	// is 0 or more; -1 when the save_path has none or a negative one.
	Database int
	// Username and Password are the `auth` parameter: `auth=PASS`,
	// `auth[]=PASS`, `auth[]=USER&auth[]=PASS` or
	// `auth[user]=USER&auth[pass]=PASS`.
	Username, Password string
	// TLS holds the stream context options (`stream[NAME]=VALUE`) of a
	// tls:// save_path that ParseSavePath maps to the Redis URL: cafile,
	// local_cert, local_pk, peer_name, verify_peer. (phpredis reads them
	// from 6.0 on; 5.3's standalone handler ignores them.)
	TLS map[string]string
}

// ErrSavePath is wrapped by ParseSavePath's errors (and matches ErrConfig).
var ErrSavePath = fmt.Errorf("%w: session.save_path", ErrConfig)

// ParseSavePath reads a phpredis session.save_path (standalone handler):
//
//	tcp://host:port?prefix=P&database=N&auth=PASS
//	tls://host:port?auth[]=USER&auth[]=PASS&stream[cafile]=/ca.pem
//	unix:///path/to/redis.sock?prefix=P
//	host:port
//
// The query is read as PHP's parse_str reads it (values URL-decoded, '+'
// a space, the last of repeated names wins, a #fragment part of the last
// value), `database` as PHP reads an integer (leading digits: "2abc" is
// 2, "x" is 0). The parameters that only tune phpredis's own connection
// (timeout, read_timeout, persistent, persistent_id, retry_interval,
// weight) are checked as phpredis checks them and otherwise ignored: the
// Manager's Config.RedisTimeout bounds its calls.
//
// Refused (the error wraps ErrSavePath), where phpredis fails or does
// something else than the string seems to say:
//   - several endpoints: phpredis spreads sessions over them by a hash of
//     the ID; a Manager reads one Redis;
//   - a bare host:port followed by ?query: phpredis's URL parser misreads
//     it and connects to another port (write tcp://host:port?query);
//   - weight or timeout of 0 or less, an empty auth (phpredis fails to
//     open or to connect);
//   - user:password@ in the URL (phpredis ignores it; use auth), a prefix
//     or database given as an array, other stream options, schemes other
//     than tcp, tls, ssl and unix.
func ParseSavePath(s string) (SavePath, error) {
	fail := func(format string, args ...any) (SavePath, error) {
		return SavePath{}, fmt.Errorf("%w: %s", ErrSavePath, fmt.Sprintf(format, args...))
	}
	entries := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	})
	switch len(entries) {
	case 0:
		return fail("empty")
	case 1:
	default:
		return fail("%d endpoints: phpredis spreads sessions over them by a hash of the ID; a Manager reads one Redis", len(entries))
	}
	e := entries[0]
	p := SavePath{Database: -1}
	var query string
	switch {
	case strings.HasPrefix(e, "unix:"):
		// phpredis rewrites unix: to file: and takes the URL's path
		rest := strings.TrimPrefix(e, "unix:")
		rest, query, _ = strings.Cut(rest, "?")
		if strings.HasPrefix(rest, "//") {
			host, path, _ := strings.Cut(rest[2:], "/")
			if host != "" {
				// host not repeated: it may be user:password@
				return fail("unix socket URL with a host (write unix:///path)")
			}
			rest = "/" + path
		}
		if !strings.HasPrefix(rest, "/") || rest == "/" {
			return fail("unix socket path %q is not absolute", rest)
		}
		p.Network, p.Addr = "unix", rest
	case strings.Contains(e, "://"):
		scheme, rest, _ := strings.Cut(e, "://")
		switch strings.ToLower(scheme) {
		case "tcp":
			p.Network = "tcp"
		case "tls", "ssl":
			p.Network = "tls"
		default:
			return fail("scheme %q (phpredis reads tcp, tls, ssl and unix)", scheme)
		}
		rest, query, _ = strings.Cut(rest, "?")
		if i := strings.IndexByte(rest, '#'); i >= 0 {
			return fail("a #fragment before the query")
		}
		hostport, _, _ := strings.Cut(rest, "/")
		if strings.Contains(hostport, "@") {
			return fail("user:password@ in the URL, which phpredis ignores (use auth=)")
		}
		addr, err := hostPort(hostport)
		if err != nil {
			return fail("%v", err)
		}
		p.Addr = addr
	default:
		head, i := e, strings.IndexAny(e, "?#/")
		if i >= 0 {
			head = e[:i]
		}
		if strings.Contains(head, "@") {
			// not repeated: it may be user:password@host
			return fail("user:password@ in the address, which phpredis does not read (use auth=)")
		}
		if i >= 0 {
			// the rest is not repeated: it may hold auth=PASSWORD
			return fail("%q followed by %q...: phpredis misreads a host:port with a query or path but no scheme (write tcp://%s%c...)", head, e[i], head, e[i])
		}
		addr, err := hostPort(e)
		if err != nil {
			return fail("%v", err)
		}
		p.Network, p.Addr = "tcp", addr
	}
	if err := p.parseQuery(query); err != nil {
		return fail("%v", err)
	}
	if p.Network != "tls" && len(p.TLS) > 0 {
		return fail("stream options need a tls:// save_path")
	}
	return p, nil
}

// hostPort returns host:port with phpredis's default port 6379.
func hostPort(s string) (string, error) {
	if s == "" {
		return "", errors.New("no host")
	}
	if strings.Contains(s, "@") {
		// s not repeated: it may be user:password@host
		return "", errors.New("user:password@ in the address, which phpredis does not read (use auth=)")
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", fmt.Errorf("bad host %q", s)
		}
		host, port = s[1:end], strings.TrimPrefix(s[end+1:], ":")
		if s[end+1:] != "" && !strings.HasPrefix(s[end+1:], ":") {
			return "", fmt.Errorf("bad host %q", s)
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if strings.Contains(host, ":") {
			return "", fmt.Errorf("IPv6 address %q without brackets", s)
		}
	}
	if host == "" {
		return "", errors.New("no host")
	}
	if strings.HasPrefix(s, "[") {
		if net.ParseIP(host) == nil {
			return "", fmt.Errorf("bad IPv6 address %q", host)
		}
	} else if strings.IndexFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_')
	}) >= 0 {
		return "", fmt.Errorf("bad host name %q", host)
	}
	if port == "" {
		port = "6379"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}

// parseQuery reads the query as PHP's parse_str does (the fragment, if
// any, stays part of the last value, as phpredis re-attaches it).
func (p *SavePath) parseQuery(q string) error {
	// auth as parse_str builds it: a string, or an array whose [] entries
	// take the next integer index
	var authStr *string
	var authArr map[string]string
	nextIndex := 0
	for _, pair := range strings.Split(q, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return fmt.Errorf("bad name %q", k)
		}
		v, err = url.QueryUnescape(v)
		if err != nil {
			return fmt.Errorf("bad value of %s", k)
		}
		name, sub, isArray := strings.Cut(k, "[")
		if isArray {
			var ok bool
			sub, _, ok = strings.Cut(sub, "]")
			if !ok {
				// parse_str turns an unclosed '[' into '_': not a name phpredis reads
				continue
			}
		}
		switch name {
		case "prefix", "database", "weight", "timeout", "read_timeout", "persistent", "persistent_id", "retry_interval":
			if isArray {
				return fmt.Errorf("%s given as an array", name)
			}
		}
		switch name {
		case "prefix":
			p.Prefix, p.HasPrefix = v, true
		case "database":
			p.Database = phpInt(v)
			if p.Database < 0 {
				p.Database = -1
			}
		case "weight":
			if phpInt(v) <= 0 {
				return fmt.Errorf("weight %q: phpredis refuses a weight of 0 or less", v)
			}
		case "timeout":
			if f, _ := strconv.ParseFloat(leadingFloat(v), 64); f <= 0 {
				return fmt.Errorf("timeout %q: phpredis refuses a timeout of 0 or less", v)
			}
		case "auth":
			if !isArray {
				authStr, authArr = &v, nil
				break
			}
			if authArr == nil {
				authStr, authArr, nextIndex = nil, map[string]string{}, 0
			}
			if sub == "" {
				sub = strconv.Itoa(nextIndex)
			}
			if n, err := strconv.Atoi(sub); err == nil && n >= nextIndex {
				nextIndex = n + 1
			}
			authArr[sub] = v
		case "stream":
			if !isArray || sub == "" {
				return errors.New("stream must be stream[OPTION]=VALUE")
			}
			switch sub {
			case "cafile", "local_cert", "local_pk", "peer_name", "verify_peer":
			default:
				return fmt.Errorf("stream option %q (supported: cafile, local_cert, local_pk, peer_name, verify_peer)", sub)
			}
			if p.TLS == nil {
				p.TLS = map[string]string{}
			}
			p.TLS[sub] = v
		}
	}
	return p.setAuth(authStr, authArr)
}

// setAuth picks the login as phpredis's redis_extract_auth_info does: a
// string is the password; an array of one element its "pass" or [0]; of
// two, user "user" or [0] and password "pass" or [1].
func (p *SavePath) setAuth(str *string, arr map[string]string) error {
	var pass string
	hasPass := false
	switch {
	case str != nil:
		pass, hasPass = *str, true
	case arr == nil:
		return nil
	case len(arr) == 1:
		if pass, hasPass = arr["pass"]; !hasPass {
			pass, hasPass = arr["0"]
		}
	case len(arr) == 2:
		user, ok := arr["user"]
		if !ok {
			user = arr["0"]
		}
		if pass, hasPass = arr["pass"]; !hasPass {
			pass, hasPass = arr["1"]
		}
		p.Username = user
	default:
		return fmt.Errorf("auth array of %d elements: phpredis sends no AUTH", len(arr))
	}
	if !hasPass || pass == "" {
		return errors.New("auth without a password: phpredis fails to connect")
	}
	p.Password = pass
	return nil
}

// phpInt reads an integer as PHP converts a numeric-leading string:
// optional whitespace and sign, then the leading digits ("2abc" is 2,
// "x" is 0).
func phpInt(s string) int {
	s = strings.TrimLeft(s, " \t\n\r\v\f")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n > (1<<31-1)/10 {
			n = 1<<31 - 1
			break
		}
		n = n*10 + int(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// leadingFloat is the numeric start of s ("2.5s" is "2.5").
func leadingFloat(s string) string {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && strings.IndexByte("+-0123456789.eE", s[end]) >= 0 {
		end++
	}
	return s[:end]
}

// URL is the Redis URL of the save_path's endpoint, database and login
// for OpenURL (redis://, rediss:// or unix://; see redisio.ParseURL).
func (p SavePath) URL() string {
	u := url.URL{}
	if p.Username != "" || p.Password != "" {
		u.User = url.UserPassword(p.Username, p.Password)
	}
	q := url.Values{}
	switch p.Network {
	case "unix":
		u.Scheme, u.Path = "unix", p.Addr
		if p.Database > 0 {
			q.Set("db", strconv.Itoa(p.Database))
		}
	default:
		u.Scheme, u.Host = "redis", p.Addr
		if p.Network == "tls" {
			u.Scheme = "rediss"
		}
		if p.Database > 0 {
			u.Path = "/" + strconv.Itoa(p.Database)
		}
	}
	for k, v := range p.TLS {
		switch k {
		case "cafile":
			q.Set("tls_ca_file", v)
		case "local_cert":
			q.Set("tls_cert_file", v)
		case "local_pk":
			q.Set("tls_key_file", v)
		case "peer_name":
			q.Set("tls_server_name", v)
		case "verify_peer":
			if b := strings.ToLower(v); b == "0" || b == "" || b == "false" || b == "off" || b == "no" {
				q.Set("skip_verify", "true")
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Apply returns cfg with the save_path's key prefix (Prefix, or NoPrefix
// for an empty one); without a prefix in the save_path, phpredis's
// default. A cfg that names another prefix is refused (ErrSavePath): the
// Manager would not see PHP's sessions.
func (p SavePath) Apply(cfg Config) (Config, error) {
	want := DefaultPrefix
	if p.HasPrefix {
		want = p.Prefix
	}
	if cfg.Prefix != "" || cfg.NoPrefix {
		have := cfg.Prefix
		if cfg.NoPrefix {
			have = ""
		}
		if have != want {
			return cfg, fmt.Errorf("%w: its prefix %q differs from Config's %q", ErrSavePath, want, have)
		}
	}
	cfg.Prefix, cfg.NoPrefix = want, want == ""
	return cfg, nil
}

// OpenSavePath opens a Manager on the Redis, database and key prefix a
// PHP application's phpredis session.save_path names (see ParseSavePath),
// logging in with its auth. cfg's other settings apply as in OpenURL.
func OpenSavePath(savePath string, cfg Config) (*Manager, error) {
	p, err := ParseSavePath(savePath)
	if err != nil {
		return nil, newErr("open", "", nil, err)
	}
	cfg, err = p.Apply(cfg)
	if err != nil {
		return nil, newErr("open", "", nil, err)
	}
	return OpenURL(p.URL(), cfg)
}
