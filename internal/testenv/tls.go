package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TLSFiles are the PEM files of a throwaway CA made with openssl: a server
// certificate for 127.0.0.1 and a client certificate, both signed by it.
type TLSFiles struct {
	Dir                   string
	CACert, CAKey         string
	ServerCert, ServerKey string
	ClientCert, ClientKey string
}

// MakeTLS makes a throwaway CA and its server and client certificates with
// the openssl CLI in a temporary directory (skipping, or failing when
// integration is required, without openssl).
func MakeTLS(t testing.TB) *TLSFiles {
	t.Helper()
	checkOff(t)
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		missing(t, "openssl")
	}
	d := t.TempDir()
	f := &TLSFiles{
		Dir:    d,
		CACert: filepath.Join(d, "ca.pem"), CAKey: filepath.Join(d, "ca.key"),
		ServerCert: filepath.Join(d, "server.pem"), ServerKey: filepath.Join(d, "server.key"),
		ClientCert: filepath.Join(d, "client.pem"), ClientKey: filepath.Join(d, "client.key"),
	}
	ext := filepath.Join(d, "server.ext")
	if err := os.WriteFile(ext, []byte("subjectAltName=IP:127.0.0.1,DNS:localhost\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(openssl, args...)
		cmd.Dir = d
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
	}
	run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f.CAKey, "-out", f.CACert,
		"-days", "1", "-subj", "/CN=phpsession test CA")
	for _, c := range []struct{ cert, key, cn, ext string }{
		{f.ServerCert, f.ServerKey, "127.0.0.1", ext},
		{f.ClientCert, f.ClientKey, "phpsession test client", ""},
	} {
		csr := c.key + ".csr"
		run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", c.key, "-out", csr, "-subj", "/CN="+c.cn)
		args := []string{"x509", "-req", "-in", csr, "-CA", f.CACert, "-CAkey", f.CAKey, "-CAcreateserial",
			"-out", c.cert, "-days", "1"}
		if c.ext != "" {
			args = append(args, "-extfile", c.ext)
		}
		run(args...)
	}
	return f
}

// StartRedisTLS starts a redis-server with a TLS port (certificates from
// f; clients must present a certificate when requireClientCert) besides
// its plain port (for the test's own commands, e.g. Redis.Do). It returns
// the server and the TLS address.
func StartRedisTLS(t testing.TB, f *TLSFiles, requireClientCert bool, extra ...string) (*Redis, string) {
	t.Helper()
	port := FreePort(t)
	auth := "no"
	if requireClientCert {
		auth = "yes"
	}
	args := append([]string{"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", f.ServerCert, "--tls-key-file", f.ServerKey,
		"--tls-ca-cert-file", f.CACert, "--tls-auth-clients", auth}, extra...)
	r := StartRedis(t, args...)
	return r, fmt.Sprintf("127.0.0.1:%d", port)
}
