package phpsession_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// aclCommands is the least a Redis ACL user needs for this library: the
// list docs/security.md gives operators. Keep the two in step.
var aclCommands = []string{
	"+hello", "+auth", "+ping", "+role", "+cluster|slots",
	"+client|tracking", "+client|caching", "+multi", "+exec",
	"+get", "+set", "+setex", "+expire", "+pexpire", "+del", "+exists", "+pttl",
	"+strlen", "+bitop", "+bitpos", "+rename", "+eval", "+evalsha",
}

// aclUser creates user with aclCommands on the session and marker keys of
// prefix.
func aclUser(t *testing.T, r *testenv.Redis, user, pass, prefix string, extra ...string) {
	args := append([]string{"ACL", "SETUSER", user, "reset", "on", ">" + pass,
		"~" + prefix + "*", "~" + redisio.MarkerPrefix + prefix + "*", "resetchannels", "-@all"}, aclCommands...)
	r.MustDo(append(args, extra...)...)
}

// workload runs every kind of Redis access the Manager makes: lock-free
// and locked writes, staged (> 4 KiB) writes, cached reads, TTL refresh,
// waiting for a PHP-held lock, regeneration, destroy, strict-mode checks.
func workload(t *testing.T, m *phpsession.Manager, r *testenv.Redis) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id := phpsession.NewID()
	require.NoError(t, m.Set(ctx, id, "user", "alice"))
	v, err := phpsession.GetAs[string](ctx, m, id, "user")
	require.NoError(t, err)
	require.Equal(t, "alice", v)
	require.NoError(t, m.Set(ctx, id, "big", strings.Repeat("x", 10_000)))
	require.NoError(t, m.Set(ctx, id, "big", strings.Repeat("y", 10_000)))
	ok, err := m.Exists(ctx, id)
	require.NoError(t, err)
	require.True(t, ok)
	r.MustDo("SET", "PHPREDIS_SESSION:"+id+"_LOCK", "phphost|1", "PX", "300")
	require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error { return s.Set("n", 1) }))
	nid, err := m.RegenerateID(ctx, id, true)
	require.NoError(t, err)
	kept, err := m.RegenerateID(ctx, nid, false)
	require.NoError(t, err)
	existed, err := m.Destroy(ctx, kept)
	require.NoError(t, err)
	require.True(t, existed)
	got, err := phpsession.GetAs[string](ctx, m, nid, "big")
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("y", 10_000), got)
}

// TestTLSAndACL: a Manager connects over TLS (rediss://, the test's own CA,
// a client certificate) as an ACL user holding only the commands and key
// patterns docs/security.md lists, and everything it does works. Missing TLS files, a wrong password, a key outside the
// user's patterns and a command the user lacks give clear errors that show
// no password.
func TestTLSAndACL(t *testing.T) {
	f := testenv.MakeTLS(t)
	r, tlsAddr := testenv.StartRedisTLS(t, f, true)
	const pass = "s3cret-Pa55"
	aclUser(t, r, "phpsess", pass, "PHPREDIS_SESSION:")
	q := url.Values{"tls_ca_file": {f.CACert}, "tls_cert_file": {f.ClientCert}, "tls_key_file": {f.ClientKey}}
	u := fmt.Sprintf("rediss://phpsess:%s@%s?%s", pass, tlsAddr, q.Encode())

	for _, cfg := range []phpsession.Config{{}, {NoLockFree: true, WriteMarkers: true}, {DisableClientCache: true}} {
		m, err := phpsession.OpenURL(u, cfg)
		require.NoError(t, err)
		workload(t, m, r)
		require.NoError(t, m.Close(context.Background()))
	}
	// the same server over the plain port, as the default user: what the
	// TLS client wrote is there
	require.Contains(t, r.MustDo("KEYS", "PHPREDIS_SESSION:*"), "PHPREDIS_SESSION:")

	open := func(u string) error {
		m, err := phpsession.OpenURL(u, phpsession.Config{})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err = m.Set(ctx, phpsession.NewID(), "a", 1)
			_ = m.Close(ctx)
		}
		require.Error(t, err, u)
		t.Logf("%s: %v", redisio.RedactURL(u), err)
		require.NotContains(t, err.Error(), pass, "no password in errors")
		return err
	}
	qNoCA := url.Values{"tls_cert_file": {f.ClientCert}, "tls_key_file": {f.ClientKey}}
	err := open(fmt.Sprintf("rediss://phpsess:%s@%s?%s", pass, tlsAddr, qNoCA.Encode()))
	require.Contains(t, err.Error(), "certificate")
	qNoCert := url.Values{"tls_ca_file": {f.CACert}}
	open(fmt.Sprintf("rediss://phpsess:%s@%s?%s", pass, tlsAddr, qNoCert.Encode()))
	err = open(fmt.Sprintf("rediss://phpsess:wrong-%s@%s?%s", pass, tlsAddr, q.Encode()))
	require.Contains(t, err.Error(), "WRONGPASS")
	err = open(fmt.Sprintf("rediss://phpsess:%s@%s?tls_ca_file=/nonexistent.pem", pass, tlsAddr))
	require.ErrorIs(t, err, redisio.ErrURL)
	err = open(fmt.Sprintf("redis://phpsess:%s@%s?tls_ca_file=%s", pass, r.Addr, f.CACert))
	require.ErrorIs(t, err, redisio.ErrURL)
	require.Contains(t, err.Error(), "rediss://")

	// a key outside the user's patterns: NOPERM, named as such
	m, err := phpsession.OpenURL(u, phpsession.Config{Prefix: "OTHERAPP:"})
	require.NoError(t, err)
	defer m.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = m.Set(ctx, phpsession.NewID(), "a", 1)
	require.Error(t, err)
	require.Contains(t, err.Error(), "NOPERM")
	require.True(t, errors.Is(err, phpsession.ErrSession))
}

// TestACLMissingCommand: an ACL user lacking a command the library needs
// gets an error naming the refusal (NOPERM and the command), not a hang or
// a silent failure.
func TestACLMissingCommand(t *testing.T) {
	r := testenv.StartRedis(t)
	aclUser(t, r, "nolua", "pw", "PHPREDIS_SESSION:", "-evalsha", "-eval")
	m, err := phpsession.OpenURL("redis://nolua:pw@"+r.Addr, phpsession.Config{})
	require.NoError(t, err)
	defer m.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = m.Set(ctx, phpsession.NewID(), "a", 1)
	require.Error(t, err)
	t.Log(err)
	require.Contains(t, err.Error(), "NOPERM")
	require.Contains(t, strings.ToLower(err.Error()), "eval")
	require.NotContains(t, err.Error(), "pw@")
}

// TestPasswordProtectedSentinel: the Sentinel requires a password
// (sentinel_password in the URL) and the master an ACL user (the URL's
// user:password@); without the Sentinel's password the error says so and
// shows neither password.
func TestPasswordProtectedSentinel(t *testing.T) {
	r := testenv.StartRedis(t)
	aclUser(t, r, "phpsess", "masterpw", "PHPREDIS_SESSION:")
	s := testenv.StartSentinel(t, r)
	_, err := testenv.Do(s.Addr, "ACL", "SETUSER", "default", "resetpass", ">sentinelpw")
	require.NoError(t, err)

	u := "redis-sentinel://phpsess:masterpw@" + s.Addr + "/" + s.Master + "?sentinel_password=sentinelpw"
	m, err := phpsession.OpenURL(u, phpsession.Config{})
	require.NoError(t, err)
	workload(t, m, r)
	require.NoError(t, m.Close(context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, bad := range []string{
		"redis-sentinel://phpsess:masterpw@" + s.Addr + "/" + s.Master,
		"redis-sentinel://phpsess:masterpw@" + s.Addr + "/" + s.Master + "?sentinel_password=wrongpw",
	} {
		m, err := phpsession.OpenURL(bad, phpsession.Config{})
		if err == nil {
			err = m.Set(ctx, phpsession.NewID(), "a", 1)
			_ = m.Close(ctx)
		}
		require.Error(t, err)
		t.Logf("%s: %v", redisio.RedactURL(bad), err)
		for _, pw := range []string{"masterpw", "sentinelpw", "wrongpw"} {
			require.NotContains(t, err.Error(), pw)
		}
	}
	require.Equal(t, "redis-sentinel://phpsess:xxxxx@"+s.Addr+"/"+s.Master+"?sentinel_password=xxxxx", redisio.RedactURL(u))
}
