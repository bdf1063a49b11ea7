package redisio

import (
	"reflect"
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
