package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// EnvPHPRedis6 names the variable pointing at a phpredis 6 redis.so built
// by scripts/build-phpredis6.sh (default: <repo>/.phpredis6/redis.so).
const EnvPHPRedis6 = "PHPREDIS6_SO"

// PHPRedis6 returns the command line that runs php with a locally built
// phpredis 6 (php -n -d extension=igbinary -d extension=msgpack
// -d extension=<redis.so>; -n keeps Debian's phpredis 5.3 from loading
// too). Debian 12 does not package phpredis 6, so the test is skipped
// when no build is found, even when integration tests are required: CI
// checks the vectors captured from it instead.
func PHPRedis6(t testing.TB) []string {
	t.Helper()
	checkOff(t)
	so := os.Getenv(EnvPHPRedis6)
	if so == "" {
		if root := repoRoot(); root != "" {
			so = filepath.Join(root, ".phpredis6", "redis.so")
		}
	}
	if so == "" {
		t.Skipf("skipping: no phpredis 6 build (scripts/build-phpredis6.sh; set %s)", EnvPHPRedis6)
	}
	if _, err := os.Stat(so); err != nil {
		t.Skipf("skipping: no phpredis 6 build at %s (scripts/build-phpredis6.sh; set %s)", so, EnvPHPRedis6)
	}
	php, err := exec.LookPath("php")
	if err != nil {
		t.Skipf("skipping: php CLI not found for the phpredis 6 build")
	}
	return []string{php, "-n", "-d", "extension=igbinary", "-d", "extension=msgpack", "-d", "extension=" + so}
}

// repoRoot returns the directory holding the module's go.mod, or "".
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.HasPrefix(string(b), "module github.com/phpsession/phpsession\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
