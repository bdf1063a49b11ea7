package phpsession_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/internal/testenv"
	"github.com/phpsession/phpsession/redisio"
)

// savePathRedis starts a redis-server listening on TCP and on a unix
// socket, with a requirepass (dpw) and an ACL user alice (pw1).
func savePathRedis(t *testing.T) (r *testenv.Redis, sock string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sp") // short: a socket path has at most 107 bytes
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock = filepath.Join(dir, "r.sock")
	r = testenv.StartRedis(t, "--unixsocket", sock, "--unixsocketperm", "700")
	r.MustDo("ACL", "SETUSER", "alice", "on", ">pw1", "~*", "&*", "+@all")
	r.MustDo("CONFIG", "SET", "requirepass", "dpw")
	return r, sock
}

// runPHPSavePath runs script with php (argv[0..]) on session.save_path sp.
func runPHPSavePath(t *testing.T, php []string, sp, script string, args ...string) string {
	t.Helper()
	return runPHPIni(t, php, []string{"session.save_path", `"` + sp + `"`}, script, args...)
}

// runPHPIni runs script with php (argv[0..]), the redis session handler
// and the ini settings (name, value pairs), and returns its output.
func runPHPIni(t *testing.T, php []string, ini []string, script string, args ...string) string {
	t.Helper()
	out, err := phpCommand(t, php, ini, script, args...).Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		t.Fatalf("php: %v: %s", err, ee.Stderr)
	}
	require.NoError(t, err)
	return string(out)
}

// phpCommand is the command runPHPIni runs.
func phpCommand(t *testing.T, php []string, ini []string, script string, args ...string) *exec.Cmd {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.php")
	require.NoError(t, os.WriteFile(f, []byte("<?php\n"+script), 0o644))
	argv := append([]string{}, php[1:]...)
	pairs := append([]string{"session.save_handler", "redis",
		"session.use_cookies", "0", "session.serialize_handler", "php",
		"display_errors", "stderr", "log_errors", "0"}, ini...)
	for i := 0; i+1 < len(pairs); i += 2 {
		argv = append(argv, "-d", pairs[i]+"="+pairs[i+1])
	}
	return exec.Command(php[0], append(append(argv, f), args...)...)
}

// TestSavePathWithPHP: for each form of session.save_path (prefix, an
// empty prefix, database, auth as a password, as user and password in
// both array forms, a unix socket in both URL forms, a #fragment, a
// repeated name), PHP (phpredis 5.3 and, when built, 6.1) writes a
// session through it and a Manager opened with OpenSavePath on the same
// string reads it, and the reverse.
func TestSavePathWithPHP(t *testing.T) {
	php53 := []string{testenv.RequirePHP(t)}
	r, sock := savePathRedis(t)
	cases := []string{
		"tcp://ADDR?auth=dpw&prefix=&database=2",
		"tcp://ADDR?auth[]=alice&auth[]=pw1&prefix=p%3Ax:&database=3",
		"tcp://ADDR?auth[user]=alice&auth[pass]=pw1&prefix=q+x",
		"tcp://ADDR/?auth[pass]=dpw&database=2abc&prefix=c3:&prefix=c4:",
		"tcp://ADDR?auth=dpw&database=1#frag",
		"tcp://ADDR?auth=dpw&database=-5&weight=2&timeout=2.5&persistent=1",
		"unix://SOCK?auth=dpw&prefix=u:&database=4",
		"unix:SOCK?auth[]=dpw",
	}
	versions := []struct {
		name string
		php  func(t *testing.T) []string
	}{
		{"phpredis5.3", func(*testing.T) []string { return php53 }},
		{"phpredis6.1", func(t *testing.T) []string { return testenv.PHPRedis6(t) }},
	}
	write := `session_id($argv[1]); session_start(); $_SESSION['who'] = 'php'; session_write_close(); echo 'ok';`
	read := `session_id($argv[1]); session_start(); echo $_SESSION['who'] ?? 'missing';`
	ctx := context.Background()
	for _, v := range versions {
		t.Run(v.name, func(t *testing.T) {
			php := v.php(t)
			for _, c := range cases {
				sp := strings.NewReplacer("ADDR", r.Addr, "SOCK", sock).Replace(c)
				t.Run(c, func(t *testing.T) {
					m, err := phpsession.OpenSavePath(sp, phpsession.Config{})
					require.NoError(t, err)
					t.Cleanup(func() { _ = m.Close(ctx) })

					id := phpsession.NewID()
					require.Equal(t, "ok", runPHPSavePath(t, php, sp, write, id))
					got, err := phpsession.GetAs[string](ctx, m, id, "who")
					require.NoError(t, err, "Go reads what PHP wrote through %s", sp)
					require.Equal(t, "php", got)

					id2 := phpsession.NewID()
					require.NoError(t, m.Set(ctx, id2, "who", "go"))
					require.Equal(t, "go", runPHPSavePath(t, php, sp, read, id2), "PHP reads what Go wrote")
				})
			}
		})
	}
}

// TestParseSavePath: what ParseSavePath takes from a save_path, and the
// forms it refuses because phpredis fails on them or reads them otherwise
// than they look (checked against phpredis 5.3.7 and 6.1.0 by hand; the
// accepted forms are checked against PHP by TestSavePathWithPHP).
func TestParseSavePath(t *testing.T) {
	ok := []struct {
		in   string
		want phpsession.SavePath
		url  string
	}{
		{"127.0.0.1:6380", phpsession.SavePath{Network: "tcp", Addr: "127.0.0.1:6380", Database: -1}, "redis://127.0.0.1:6380"},
		{" tcp://h ", phpsession.SavePath{Network: "tcp", Addr: "h:6379", Database: -1}, "redis://h:6379"},
		{"tcp://[::1]:7000?prefix=", phpsession.SavePath{Network: "tcp", Addr: "[::1]:7000", HasPrefix: true, Database: -1}, "redis://[::1]:7000"},
		{"tls://h:1?auth[]=u&auth[]=p%26&database=0&stream[verify_peer]=0", phpsession.SavePath{Network: "tls", Addr: "h:1", Database: 0, Username: "u", Password: "p&", TLS: map[string]string{"verify_peer": "0"}}, "rediss://u:p&@h:1?skip_verify=true"},
		{"unix:///s.sock?database=3&auth=a+b", phpsession.SavePath{Network: "unix", Addr: "/s.sock", Database: 3, Password: "a b"}, "unix://:a%20b@/s.sock?db=3"},
		{"tcp://h:1?prefix=a&auth=x&auth[pass]=y&prefix=b#c", phpsession.SavePath{Network: "tcp", Addr: "h:1", Prefix: "b#c", HasPrefix: true, Database: -1, Password: "y"}, "redis://:y@h:1"},
	}
	for _, c := range ok {
		got, err := phpsession.ParseSavePath(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
		require.Equal(t, c.url, got.URL(), c.in)
		_, err = redisio.ParseURL(got.URL())
		require.NoError(t, err, c.in)
	}
	bad := []string{
		"",
		"tcp://a:1, tcp://b:1",
		"127.0.0.1:6379?prefix=x",
		"tcp://h:1?weight=0",
		"tcp://h:1?timeout=0",
		"tcp://h:1?auth=",
		"tcp://h:1?auth[]=a&auth[]=b&auth[]=c",
		"tcp://u:p@h:1",
		"tcp://h:1?prefix[]=x",
		"tcp://h:1?stream[verify_peer]=0",
		"tls://h:1?stream[ciphers]=x",
		"http://h:1",
		"unix://host/s.sock",
		"tcp://::1:6379",
	}
	for _, in := range bad {
		_, err := phpsession.ParseSavePath(in)
		require.ErrorIs(t, err, phpsession.ErrSavePath, in)
		require.ErrorIs(t, err, phpsession.ErrConfig, in)
	}
}

// TestParseSavePathErrorsHideSecrets: a refused save_path's error names
// what is wrong without repeating a password from it (auth= in a query,
// user:password@ in an address), since such errors end up in logs.
func TestParseSavePathErrorsHideSecrets(t *testing.T) {
	const secret = "s3cretPW"
	for _, in := range []string{
		"127.0.0.1:6379?auth=" + secret,
		"127.0.0.1:6379/?auth[]=u&auth[]=" + secret,
		"u:" + secret + "@h:1",
		"u:" + secret + "@h:1?prefix=x",
		"unix://u:" + secret + "@/s.sock",
		"tcp://u:" + secret + "@h:1",
		"tcp://h:1?auth=" + secret + "&timeout=0",
	} {
		_, err := phpsession.ParseSavePath(in)
		require.ErrorIs(t, err, phpsession.ErrSavePath, in)
		require.NotContains(t, err.Error(), secret, in)
	}
}

// TestSavePathApply: the save_path's prefix becomes the Config's; a
// Config naming another prefix is refused.
func TestSavePathApply(t *testing.T) {
	p, err := phpsession.ParseSavePath("tcp://h?prefix=")
	require.NoError(t, err)
	cfg, err := p.Apply(phpsession.Config{})
	require.NoError(t, err)
	require.True(t, cfg.NoPrefix)
	_, err = p.Apply(phpsession.Config{Prefix: "x:"})
	require.ErrorIs(t, err, phpsession.ErrSavePath)
	p, err = phpsession.ParseSavePath("tcp://h")
	require.NoError(t, err)
	cfg, err = p.Apply(phpsession.Config{Prefix: phpsession.DefaultPrefix})
	require.NoError(t, err)
	require.Equal(t, phpsession.DefaultPrefix, cfg.Prefix)
}

// FuzzParseSavePath: ParseSavePath never panics, and what it accepts
// gives a URL that redisio parses.
func FuzzParseSavePath(f *testing.F) {
	for _, s := range []string{"tcp://h:1?prefix=a&auth[]=u&auth[]=p&database=2", "unix:///s?auth=x", "h:1", "tls://[::1]?stream[cafile]=/c", "tcp://h?auth[user]=a&auth[pass]=b#x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := phpsession.ParseSavePath(s)
		if err != nil {
			return
		}
		// stream[cafile], [local_cert], [local_pk] name files ParseURL reads
		for _, k := range []string{"cafile", "local_cert", "local_pk"} {
			delete(p.TLS, k)
		}
		if _, err := redisio.ParseURL(p.URL()); err != nil {
			t.Fatalf("%q: URL %q: %v", s, p.URL(), err)
		}
	})
}

// TestSavePathTLSWithPHP: a tls:// save_path with stream[cafile],
// stream[local_cert] and stream[local_pk] (the server requires a client
// certificate): PHP and a Manager opened with OpenSavePath on the same
// string read each other's sessions. phpredis 6.1 only: 5.3.7's standalone
// handler ignores stream options (its session_start fails verifying the
// test's own CA).
func TestSavePathTLSWithPHP(t *testing.T) {
	php := testenv.PHPRedis6(t)
	f := testenv.MakeTLS(t)
	_, tlsAddr := testenv.StartRedisTLS(t, f, true)
	sp := "tls://" + tlsAddr + "?prefix=t:&stream[cafile]=" + f.CACert + "&stream[local_cert]=" + f.ClientCert + "&stream[local_pk]=" + f.ClientKey
	ctx := context.Background()
	m, err := phpsession.OpenSavePath(sp, phpsession.Config{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close(ctx) })
	id := phpsession.NewID()
	require.Equal(t, "bool(true)\nok", runPHPSavePath(t, php, sp, `session_id($argv[1]); var_dump(session_start()); $_SESSION['who'] = 'php'; session_write_close(); echo 'ok';`, id))
	got, err := phpsession.GetAs[string](ctx, m, id, "who")
	require.NoError(t, err)
	require.Equal(t, "php", got)
	id2 := phpsession.NewID()
	require.NoError(t, m.Set(ctx, id2, "who", "go"))
	require.Equal(t, "go", runPHPSavePath(t, php, sp, `session_id($argv[1]); session_start(); echo $_SESSION['who'] ?? 'missing';`, id2))
}
