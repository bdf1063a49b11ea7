package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	phpOnce sync.Once
	phpPath string
	phpErr  error
)

// PHPPath returns the php CLI when it has the redis, igbinary and msgpack
// extensions loaded, else an error saying what is missing.
func PHPPath() (string, error) {
	phpOnce.Do(func() {
		p, err := exec.LookPath("php")
		if err != nil {
			phpErr = fmt.Errorf("php CLI not found on PATH")
			return
		}
		out, err := exec.Command(p, "-m").Output()
		if err != nil {
			phpErr = fmt.Errorf("php -m: %v", err)
			return
		}
		mods := map[string]bool{}
		for _, l := range strings.Split(string(out), "\n") {
			mods[strings.ToLower(strings.TrimSpace(l))] = true
		}
		var miss []string
		for _, m := range []string{"session", "redis", "igbinary", "msgpack"} {
			if !mods[m] {
				miss = append(miss, m)
			}
		}
		if len(miss) > 0 {
			phpErr = fmt.Errorf("php lacks extensions: %s", strings.Join(miss, ", "))
			return
		}
		phpPath = p
	})
	return phpPath, phpErr
}

// RequirePHP skips (or, when required, fails) the test unless php with
// phpredis, igbinary and msgpack is available, and returns its path.
func RequirePHP(t testing.TB) string {
	t.Helper()
	checkOff(t)
	p, err := PHPPath()
	if err != nil {
		missing(t, "php ("+err.Error()+")")
	}
	return p
}

// PHPSession describes how a PHP process is configured to use Redis
// sessions. Zero fields take phpredis 5.3 defaults.
type PHPSession struct {
	Addr             string // host:port of the Redis server
	Prefix           string // save_path prefix (empty = phpredis default)
	Serializer       string // session.serialize_handler (default php)
	Locking          bool   // redis.session.locking_enabled
	LockExpire       int    // redis.session.lock_expire seconds
	LockRetries      int    // redis.session.lock_retries (0 = default)
	LockWaitTime     int    // redis.session.lock_wait_time µs (0 = default)
	MaxExecutionTime int    // max_execution_time
	GCMaxLifetime    int    // session.gc_maxlifetime
	Extra            map[string]string
}

// Args returns the `-d` arguments for php.
func (s PHPSession) Args() []string {
	savePath := "tcp://" + s.Addr
	if s.Prefix != "" {
		savePath += "?prefix=" + s.Prefix
	}
	ser := s.Serializer
	if ser == "" {
		ser = "php"
	}
	d := map[string]string{
		"session.save_handler":          "redis",
		"session.save_path":             savePath,
		"session.serialize_handler":     ser,
		"session.use_cookies":           "0",
		"session.use_strict_mode":       "0",
		"session.cache_limiter":         "",
		"display_errors":                "stderr",
		"log_errors":                    "0", // else php-cli prints each message twice (its log goes to stderr too)
		"error_reporting":               "E_ALL",
		"redis.session.locking_enabled": "0",
	}
	if s.Locking {
		d["redis.session.locking_enabled"] = "1"
	}
	if s.LockExpire != 0 {
		d["redis.session.lock_expire"] = fmt.Sprint(s.LockExpire)
	}
	if s.LockRetries != 0 {
		d["redis.session.lock_retries"] = fmt.Sprint(s.LockRetries)
	}
	if s.LockWaitTime != 0 {
		d["redis.session.lock_wait_time"] = fmt.Sprint(s.LockWaitTime)
	}
	if s.MaxExecutionTime != 0 {
		d["max_execution_time"] = fmt.Sprint(s.MaxExecutionTime)
	}
	if s.GCMaxLifetime != 0 {
		d["session.gc_maxlifetime"] = fmt.Sprint(s.GCMaxLifetime)
	}
	for k, v := range s.Extra {
		d[k] = v
	}
	var args []string
	for k, v := range d {
		args = append(args, "-d", k+"="+iniQuote(v))
	}
	return args
}

// RunPHP runs a PHP script (source text, with or without the leading
// "<?php") under the given session configuration and returns stdout.
// Stderr is returned in the error when php exits non-zero. Extra argv
// entries are passed to the script ($argv[1:]).
func RunPHP(ctx context.Context, t testing.TB, cfg PHPSession, script string, argv ...string) (stdout, stderr string, err error) {
	t.Helper()
	php := RequirePHP(t)
	if !strings.HasPrefix(strings.TrimSpace(script), "<?php") {
		script = "<?php\n" + script
	}
	f := filepath.Join(t.TempDir(), "script.php")
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if ctx == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
	}
	args := append(cfg.Args(), f)
	args = append(args, argv...)
	cmd := exec.CommandContext(ctx, php, args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err = cmd.Run()
	if err != nil {
		err = fmt.Errorf("php: %w: %s", err, se.String())
	}
	return so.String(), se.String(), err
}

// iniQuote double-quotes an ini value that PHP's ini parser would otherwise
// mangle (a save_path with "?prefix=..." contains '='), unless it is
// already quoted or contains a double quote.
func iniQuote(v string) string {
	if v == "" || strings.HasPrefix(v, `"`) || strings.Contains(v, `"`) {
		return v
	}
	if strings.ContainsAny(v, "=&|^~!(){}[];?+$ ") {
		return `"` + v + `"`
	}
	return v
}
