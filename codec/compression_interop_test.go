package codec

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// phpReadScript reads the sessions listed in a JSON file through
// phpredis 6's session handler, each under its own serializer and
// compression, and writes one line "id hex(serialize($_SESSION))" each to
// a file (not stdout: after output PHP refuses to change session settings).
const phpReadScript = `<?php
[$port, $jobs, $out] = [(int)$argv[1], json_decode(file_get_contents($argv[2]), true), fopen($argv[3], 'w')];
ini_set('session.save_handler', 'redis');
ini_set('session.save_path', "tcp://127.0.0.1:$port?prefix=P6:");
ini_set('session.use_cookies', '0');
ini_set('session.use_strict_mode', '0');
ini_set('session.cache_limiter', '');
ini_set('serialize_precision', '-1');
ini_set('memory_limit', '512M');
foreach ($jobs as $j) {
    ini_set('session.serialize_handler', $j['ser']);
    ini_set('redis.session.compression', $j['comp']);
    ini_set('redis.session.compression_level', (string)$j['level']);
    $_SESSION = [];
    session_id($j['id']);
    $ok = session_start(['read_and_close' => true]);
    fwrite($out, $j['id'] . ' ' . ($ok ? bin2hex(serialize($_SESSION)) : 'session_start-failed') . "\n");
}
`

// TestPHPRedis6ReadsGo stores sessions that Go encoded under every
// serializer the codec has × every compression × several levels in a real
// redis-server, and reads them with PHP through a phpredis 6.1 built from
// source (scripts/build-phpredis6.sh): PHP must see the values Go wrote.
// Skipped when no such build is present (Debian has none; CI checks the
// captured vectors instead).
func TestPHPRedis6ReadsGo(t *testing.T) {
	php := testenv.PHPRedis6(t)
	r := testenv.StartRedis(t)
	conn := testenv.MustDial(t, r.Addr)
	vs := loadPHPRedis6Vectors(t)

	sessions := map[string]string{} // name → serialize($_SESSION)
	for name, h := range vs.Values {
		sessions[name] = string(mustHex(t, h))
	}
	// Larger than zstd's default window and LZ4's 64 KiB window, partly
	// compressible.
	rng := rand.New(rand.NewPCG(3, 4))
	var big strings.Builder
	for big.Len() < 9<<20 {
		if rng.IntN(4) == 0 {
			big.WriteString(strconv.FormatUint(rng.Uint64(), 36))
		} else {
			big.WriteString("cart item ")
		}
	}
	sessions["big"] = fmt.Sprintf("a:2:{s:3:\"big\";s:%d:\"%s\";s:1:\"n\";i:1;}", big.Len(), big.String())

	levels := map[Compression][]int{NoCompression: {0}, LZF: {3}, Zstd: {-1, 1, 3, 9, 19, 22}, LZ4: {-1, 1, 3, 9, 12, 13}}
	type job struct {
		ID    string `json:"id"`
		Ser   string `json:"ser"`
		Comp  string `json:"comp"`
		Level int    `json:"level"`
		want  string
	}
	var jobs []job
	for _, h := range Handlers() {
		for _, c := range Compressions() {
			for _, level := range levels[c] {
				for name, ser := range sessions {
					if name == "big" && level != 3 && level != -1 {
						continue
					}
					s, err := Format{Handler: PHPSerialize}.Decode([]byte(ser), nil)
					require.NoError(t, err, name)
					f := Format{Handler: h, Compression: c, Level: level}
					b, err := f.Encode(s)
					require.NoError(t, err)
					id := fmt.Sprintf("go%d", len(jobs))
					_, err = conn.Do("SET", "P6:"+id, string(b))
					require.NoError(t, err)
					jobs = append(jobs, job{ID: id, Ser: string(h), Comp: string(c), Level: level, want: ser})
				}
			}
		}
	}
	dir := t.TempDir()
	jf, sf := filepath.Join(dir, "jobs.json"), filepath.Join(dir, "read.php")
	jb, err := json.Marshal(jobs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(jf, jb, 0o644))
	require.NoError(t, os.WriteFile(sf, []byte(phpReadScript), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	port := r.Addr[strings.LastIndexByte(r.Addr, ':')+1:]
	of := filepath.Join(dir, "out.txt")
	msg, err := exec.CommandContext(ctx, php[0], append(php[1:], sf, port, jf, of)...).CombinedOutput()
	require.NoError(t, err, "%s", msg)
	require.Empty(t, string(msg), "PHP warnings")
	out, err := os.ReadFile(of)
	require.NoError(t, err)
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, v, _ := strings.Cut(line, " ")
		got[id] = v
	}
	for _, j := range jobs {
		assert.Equal(t, hex.EncodeToString([]byte(j.want)), got[j.ID], "%s+%s level %d: PHP read other values", j.Ser, j.Comp, j.Level)
	}
	t.Logf("PHP (phpredis 6.1) read %d Go-written sessions", len(jobs))
}
