package redisio

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url    string
		addrs  []string
		master string
		user   string
		pass   string
		db     int
		tls    bool
	}{
		{url: "redis://127.0.0.1:6380/2", addrs: []string{"127.0.0.1:6380"}, db: 2},
		{url: "rediss://u:p@h:7000", addrs: []string{"h:7000"}, user: "u", pass: "p", tls: true},
		{url: "redis://a:1?addr=b:2&addr=c:3", addrs: []string{"a:1", "b:2", "c:3"}},
		{url: "redis-sentinel://s1:26379,s2:26380/mymaster?db=3", addrs: []string{"s1:26379", "s2:26380"}, master: "mymaster", db: 3},
		{url: "redis-sentinel://:secret@s1:26379", addrs: []string{"s1:26379"}, master: "mymaster", pass: "secret"},
		{url: "rediss-sentinel://s1:26379/m", addrs: []string{"s1:26379"}, master: "m", tls: true},
		{url: "redis://127.0.0.1?master_set=m2", addrs: []string{"127.0.0.1:6379"}, master: "m2"},
	} {
		opt, err := ParseURL(tc.url)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if !reflect.DeepEqual(opt.InitAddress, tc.addrs) || opt.Sentinel.MasterSet != tc.master ||
			opt.Username != tc.user || opt.Password != tc.pass || opt.SelectDB != tc.db || (opt.TLSConfig != nil) != tc.tls {
			t.Errorf("%s: addrs %v master %q user %q pass %q db %d tls %v", tc.url, opt.InitAddress,
				opt.Sentinel.MasterSet, opt.Username, opt.Password, opt.SelectDB, opt.TLSConfig != nil)
		}
	}
	for _, bad := range []string{"http://x", "redis://h/1/2", "redis-sentinel://h:1/m?db=x"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"redis://a:1/2", "redis-sentinel://a:1,b:2/m?db=1", "rediss-sentinel://u:p@x/y", "unix:///tmp/r.sock"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseURL(s) // must not panic
	})
}

func TestParseURLOwnOptions(t *testing.T) {
	opt, err := ParseURL("redis-sentinel://u:p@s1:26379/m?sentinel_username=su&sentinel_password=sp&db=2")
	if err != nil || opt.Sentinel.Username != "su" || opt.Sentinel.Password != "sp" || opt.SelectDB != 2 || opt.Username != "u" || opt.Password != "p" {
		t.Fatalf("sentinel credentials: %+v %v", opt.Sentinel, err)
	}
	opt, err = ParseURL("rediss://h:1?tls_server_name=redis.internal&skip_verify=false")
	if err != nil || opt.TLSConfig == nil || opt.TLSConfig.ServerName != "redis.internal" {
		t.Fatalf("tls_server_name: %v", err)
	}
	for _, bad := range []string{
		"redis://h:1?tls_server_name=x",                                         // TLS option without TLS
		"redis://h:1?sentinel_password=x",                                       // Sentinel option without Sentinel
		"rediss://h:1?tls_cert_file=/c.pem",                                     // cert without key
		"rediss://h:1?tls_ca_file=/nonexistent/ca.pem",                          // missing file
		"redis://user:topsecret@h:notaport",                                     // net/url error quoting the URL
		"redis-sentinel://u:topsecret@h:1/m?sentinel_password=x&tls_ca_file=/x", // both
	} {
		_, err := ParseURL(bad)
		if !errors.Is(err, ErrURL) {
			t.Errorf("%s: %v, want ErrURL", bad, err)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%s: password in %q", bad, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"redis://u:p@h:1/2":                "redis://u:xxxxx@h:1/2",
		"redis://:p@h:1":                   "redis://:xxxxx@h:1",
		"redis://p@h:1":                    "redis://xxxxx@h:1",
		"rediss://h:1?tls_ca_file=/ca.pem": "rediss://h:1?tls_ca_file=/ca.pem",
		"redis-sentinel://u:p@a:1,b:2/m?sentinel_password=s&db=1": "redis-sentinel://u:xxxxx@a:1,b:2/m?sentinel_password=xxxxx&db=1",
		"unix://u@/tmp/r.sock":    "unix://u@/tmp/r.sock",
		"not a url with password": "…",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
