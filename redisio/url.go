package redisio

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/redis/rueidis"
)

// Query parameters of a Redis URL that ParseURL handles on top of
// rueidis.ParseURL's (db, dial_timeout, write_timeout, skip_verify,
// protocol, client_cache, max_retries, client_name, addr, master_set).
const (
	// QueryTLSCAFile names a PEM file of CA certificates that the
	// server's certificate must chain to (instead of the system's).
	QueryTLSCAFile = "tls_ca_file"
	// QueryTLSCertFile and QueryTLSKeyFile name the PEM client
	// certificate and key (Redis's tls-auth-clients).
	QueryTLSCertFile = "tls_cert_file"
	QueryTLSKeyFile  = "tls_key_file"
	// QueryTLSServerName overrides the name the server's certificate must
	// carry (default: the URL's host).
	QueryTLSServerName = "tls_server_name"
	// QuerySentinelUsername and QuerySentinelPassword authenticate to the
	// Sentinels (Sentinel's own requirepass / ACL user); the URL's
	// user:password@ authenticates to the master.
	QuerySentinelUsername = "sentinel_username"
	QuerySentinelPassword = "sentinel_password"
)

// ErrURL is wrapped by the errors of ParseURL. Their messages show the URL
// without its password.
var ErrURL = errors.New("redisio: invalid Redis URL")

// ParseURL turns a Redis URL into rueidis options:
//
//	redis://[user:password@]host:port[/db][?options]
//	rediss://...                           TLS
//	unix://[user:password@]/path/to/socket[?db=n]
//	redis-sentinel://[user:password@]host:port[,host:port...]/master-name[?options]
//	rediss-sentinel://...                  TLS to the Sentinels and the master
//
// user:password@ logs in as an ACL user (or, with only a password, with
// requirepass). Options are rueidis.ParseURL's plus tls_ca_file,
// tls_cert_file, tls_key_file, tls_server_name (rediss only) and
// sentinel_username, sentinel_password (Sentinel only): see the Query*
// constants. Errors wrap ErrURL and never show the password.
func ParseURL(u string) (rueidis.ClientOption, error) {
	base, q, err := splitOwnQuery(u)
	if err != nil {
		return rueidis.ClientOption{}, urlError(u, err)
	}
	opt, err := parseURLBase(base)
	if err != nil {
		return rueidis.ClientOption{}, urlError(u, err)
	}
	sentinel := strings.HasPrefix(u, "redis-sentinel://") || strings.HasPrefix(u, "rediss-sentinel://")
	if q.Has(QuerySentinelUsername) || q.Has(QuerySentinelPassword) {
		if !sentinel {
			return rueidis.ClientOption{}, urlError(u, fmt.Errorf("%s and %s need a redis-sentinel:// or rediss-sentinel:// URL", QuerySentinelUsername, QuerySentinelPassword))
		}
		opt.Sentinel.Username = q.Get(QuerySentinelUsername)
		opt.Sentinel.Password = q.Get(QuerySentinelPassword)
	}
	if q.Has(QueryTLSCAFile) || q.Has(QueryTLSCertFile) || q.Has(QueryTLSKeyFile) || q.Has(QueryTLSServerName) {
		if opt.TLSConfig == nil {
			return rueidis.ClientOption{}, urlError(u, fmt.Errorf("TLS options need a rediss:// or rediss-sentinel:// URL"))
		}
		if err := applyTLS(opt.TLSConfig, q); err != nil {
			return rueidis.ClientOption{}, urlError(u, err)
		}
	}
	if sentinel && opt.TLSConfig != nil {
		opt.Sentinel.TLSConfig = opt.TLSConfig.Clone()
	}
	return opt, nil
}

// splitOwnQuery removes ParseURL's own query parameters from u and returns
// them apart.
func splitOwnQuery(u string) (string, url.Values, error) {
	i := strings.IndexByte(u, '?')
	if i < 0 {
		return u, url.Values{}, nil
	}
	all, err := url.ParseQuery(u[i+1:])
	if err != nil {
		return "", nil, fmt.Errorf("query: %w", err)
	}
	own := url.Values{}
	for _, k := range []string{QueryTLSCAFile, QueryTLSCertFile, QueryTLSKeyFile, QueryTLSServerName, QuerySentinelUsername, QuerySentinelPassword} {
		if all.Has(k) {
			own[k] = all[k]
			all.Del(k)
		}
	}
	if len(own) == 0 {
		return u, own, nil
	}
	rest := all.Encode()
	if rest == "" {
		return u[:i], own, nil
	}
	return u[:i+1] + rest, own, nil
}

func applyTLS(c *tls.Config, q url.Values) error {
	if f := q.Get(QueryTLSCAFile); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("%s: %w", QueryTLSCAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s %s: no PEM certificate in it", QueryTLSCAFile, f)
		}
		c.RootCAs = pool
	}
	cert, key := q.Get(QueryTLSCertFile), q.Get(QueryTLSKeyFile)
	if (cert == "") != (key == "") {
		return fmt.Errorf("%s and %s go together", QueryTLSCertFile, QueryTLSKeyFile)
	}
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	if n := q.Get(QueryTLSServerName); n != "" {
		c.ServerName = n
	}
	return nil
}

// urlError wraps err in ErrURL, naming u without its password. The
// errors of net/url quote the whole URL: only their cause is kept.
func urlError(u string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%w %s: %w", ErrURL, RedactURL(u), err)
}

// RedactURL returns u with its password (and the sentinel_password query
// parameter) replaced by "xxxxx", for messages and logs.
func RedactURL(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return "…" // not a URL: it may be anything, a password included
	}
	scheme, rest := u[:i+3], u[i+3:]
	end := strings.IndexAny(rest, "/?")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user := authority[:at]
		if c := strings.IndexByte(user, ':'); c >= 0 {
			user = user[:c+1] + "xxxxx"
		} else if !strings.HasPrefix(scheme, "unix") {
			user = "xxxxx" // a lone userinfo may be a password (redis://pw@host)
		}
		authority = user + "@" + authority[at+1:]
	}
	if q := strings.IndexByte(tail, '?'); q >= 0 {
		parts := strings.Split(tail[q+1:], "&")
		for j, part := range parts {
			if strings.HasPrefix(part, QuerySentinelPassword+"=") {
				parts[j] = QuerySentinelPassword + "=xxxxx"
			}
		}
		tail = tail[:q+1] + strings.Join(parts, "&")
	}
	return scheme + authority + tail
}
