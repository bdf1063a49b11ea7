package phpsession_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// Every serializer × compression: the Manager writes the configured format
// (checked by reading the raw bytes back with codec.Format.Read) and reads
// its own writes.
func TestManagerCompression(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	for _, h := range codec.Handlers() {
		for _, c := range codec.Compressions() {
			t.Run(string(h)+"+"+string(c), func(t *testing.T) {
				m := openTest(t, r, phpsession.Config{Serializer: h, Compression: c, CompressionLevel: 5})
				id := phpsession.NewID()
				require.NoError(t, m.Set(ctx, id, "user", "alice"))
				require.NoError(t, m.Set(ctx, id, "text", strings.Repeat("compressible ", 50)))
				raw := r.MustDo("GET", "PHPREDIS_SESSION:"+id)
				want := codec.Format{Handler: h, Compression: c, Level: 5}
				s, found, err := want.Read([]byte(raw), nil)
				require.NoError(t, err)
				assert.Equal(t, h, found.Handler)
				assert.Equal(t, c, found.Compression)
				if c != codec.NoCompression {
					_, framed, err := c.Decompress([]byte(raw), 0)
					require.NoError(t, err)
					assert.True(t, framed, "stored bytes are %s-compressed", c)
					assert.Less(t, len(raw), 500, "compressed")
				}
				v, ok, err := s.Get("user")
				require.NoError(t, err)
				require.True(t, ok)
				assert.Equal(t, codec.String("alice"), codec.Deref(v))

				got, err := phpsession.GetAs[string](ctx, m, id, "user")
				require.NoError(t, err)
				assert.Equal(t, "alice", got)
			})
		}
	}
}

// A PHP fleet mid-migration stores sessions in several formats: a Manager
// configured for igbinary+zstd reads each of them and writes it back in
// its own format on the next write.
func TestManagerReadsOtherFormats(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	cfg := codec.Format{Handler: codec.Igbinary, Compression: codec.Zstd, Level: 3}
	m := openTest(t, r, phpsession.Config{Serializer: cfg.Handler, Compression: cfg.Compression})
	for _, h := range codec.Handlers() {
		for _, c := range codec.Compressions() {
			src := codec.Format{Handler: h, Compression: c, Level: 1}
			s := src.New()
			require.NoError(t, s.Set("cart", codec.String("3 items")))
			require.NoError(t, s.Set("n", codec.Int(7)))
			b, err := src.Encode(s)
			require.NoError(t, err)
			id := phpsession.NewID()
			r.MustDo("SET", "PHPREDIS_SESSION:"+id, string(b))

			n, err := phpsession.GetAs[int](ctx, m, id, "n")
			require.NoError(t, err, src.String())
			assert.Equal(t, 7, n, src.String())

			require.NoError(t, m.Set(ctx, id, "n", 8), src.String())
			raw := r.MustDo("GET", "PHPREDIS_SESSION:"+id)
			back, found, err := cfg.Read([]byte(raw), nil)
			require.NoError(t, err, src.String())
			assert.Equal(t, cfg.Handler, found.Handler, "%s written back as %s", src, found)
			assert.Equal(t, cfg.Compression, found.Compression, "%s written back as %s", src, found)
			v, _, _ := back.Get("cart")
			assert.Equal(t, codec.String("3 items"), codec.Deref(v), src.String())
		}
	}
}

// A compressed session declaring more than Config.MaxSessionSize is an
// error matching ErrCodec and codec.ErrSessionTooLarge, not an allocation.
func TestManagerMaxSessionSize(t *testing.T) {
	r := testenv.StartRedis(t)
	ctx := context.Background()
	m := openTest(t, r, phpsession.Config{Compression: codec.LZ4, MaxSessionSize: 1 << 20})
	s := codec.NewSession(codec.PHP)
	require.NoError(t, s.Set("big", codec.String(strings.Repeat("x", 2<<20))))
	b, err := codec.Format{Handler: codec.PHP, Compression: codec.LZ4}.Encode(s)
	require.NoError(t, err)
	require.Less(t, len(b), 20<<10)
	id := phpsession.NewID()
	r.MustDo("SET", "PHPREDIS_SESSION:"+id, string(b))
	_, err = m.Get(ctx, id, "big")
	require.ErrorIs(t, err, phpsession.ErrCodec)
	require.ErrorIs(t, err, codec.ErrSessionTooLarge)

	_, err = phpsession.OpenURL(r.URL(), phpsession.Config{Compression: "gzip"})
	require.ErrorIs(t, err, codec.ErrUnknownCompression)
	// phpredis reads "ZSTD" as zstd; so does Config.
	assert.Equal(t, codec.Zstd, phpsession.Config{Compression: "ZSTD"}.Format().Compression)
}

// phpIncr6Script: one PHP request (phpredis 6, locking on) that reads the
// session, checks the variable Go wrote, and increments $_SESSION['php'].
const phpIncr6Script = `<?php
session_id($argv[1]);
if (!session_start()) { fwrite(STDERR, "session_start failed\n"); exit(1); }
echo $_SESSION['go'] ?? 'missing', "\n";
$_SESSION['php'] = ($_SESSION['php'] ?? 0) + 1;
session_write_close();
`

// TestPHPRedis6InteropThroughRedis: a Go Manager and PHP with a phpredis
// 6.1 built from source (scripts/build-phpredis6.sh) share sessions
// through Redis with locking on, for every serializer × compression: PHP
// reads what Go wrote, Go reads what PHP wrote, both in the configured
// format. Skipped without such a build (CI checks the captured vectors).
func TestPHPRedis6InteropThroughRedis(t *testing.T) {
	php := testenv.PHPRedis6(t)
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := filepath.Join(t.TempDir(), "incr.php")
	require.NoError(t, os.WriteFile(script, []byte(phpIncr6Script), 0o644))
	for _, h := range codec.Handlers() {
		for _, c := range codec.Compressions() {
			for _, level := range []int{-1, 0, 9} {
				if c == codec.NoCompression && level != 0 {
					continue
				}
				name := fmt.Sprintf("%s+%s:%d", h, c, level)
				m := openTest(t, r, phpsession.Config{Serializer: h, Compression: c, CompressionLevel: level})
				id := phpsession.NewID()
				big := strings.Repeat("go wrote this; ", 200)
				require.NoError(t, m.Set(ctx, id, "go", big), name)
				for i := 1; i <= 2; i++ {
					cfg := testenv.PHPSession{Addr: r.Addr, Serializer: string(h), Locking: true,
						Extra: map[string]string{"redis.session.compression": string(c),
							"redis.session.compression_level": fmt.Sprint(max(level, 0))}}
					args := append(append(append([]string{}, php[1:]...), cfg.Args()...), script, id)
					out, err := exec.CommandContext(ctx, php[0], args...).CombinedOutput()
					require.NoError(t, err, "%s: %s", name, out)
					require.Equal(t, big+"\n", string(out), name)
					n, err := phpsession.GetAs[int](ctx, m, id, "php")
					require.NoError(t, err, name)
					require.Equal(t, i, n, name)
					// Go writes again: PHP must read that too.
					require.NoError(t, m.Update(ctx, id, func(s *phpsession.Session) error { return s.Set("go", big) }))
				}
				raw := r.MustDo("GET", "PHPREDIS_SESSION:"+id)
				_, found, err := codec.Format{Handler: h, Compression: c}.Read([]byte(raw), nil)
				require.NoError(t, err, name)
				assert.Equal(t, h, found.Handler, name)
				assert.Equal(t, c, found.Compression, name)
			}
		}
	}
}

// TestPHPRedis6InteropUnderLoad: Go writers and phpredis 6.1 PHP processes
// (6.x lock defaults: 100 retries × 20 ms) increment counters in one
// igbinary+zstd session at the same time. No update is lost on either
// side, PHP always gets the lock, and the session stays igbinary+zstd.
// Skipped without a phpredis 6 build.
func TestPHPRedis6InteropUnderLoad(t *testing.T) {
	php := testenv.PHPRedis6(t)
	r := testenv.StartRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, c := range []codec.Compression{codec.Zstd, codec.LZ4, codec.LZF} {
		t.Run(string(c), func(t *testing.T) {
			m := openTest(t, r, phpsession.Config{Serializer: codec.Igbinary, Compression: c,
				PHPLockRetries: 100, PHPLockWaitTime: 20 * time.Millisecond})
			id := phpsession.NewID()
			require.NoError(t, m.Set(ctx, id, "pad", strings.Repeat("padding to compress ", 40)))
			host, port := splitAddr(t, r.Addr)
			script := filepath.Join(t.TempDir(), "incr.php")
			require.NoError(t, os.WriteFile(script, []byte(phpIncrScript), 0o644))
			cfg := testenv.PHPSession{Addr: r.Addr, Serializer: "igbinary", Locking: true,
				LockRetries: 100, LockWaitTime: 20000,
				Extra: map[string]string{"redis.session.compression": string(c)}}
			const procs, iters, writers, perWriter = 2, 40, 8, 50
			errs := make(chan error, procs+writers)
			for range procs {
				go func() {
					args := append(append(append([]string{}, php[1:]...), cfg.Args()...), script, id, fmt.Sprint(iters), "1000", host, port)
					out, err := exec.CommandContext(ctx, php[0], args...).Output()
					if err == nil {
						var o phpIncrOut
						if o, err = parsePHPIncr(string(out)); err == nil && (o.Refused != 0 || len(o.Other) != 0) {
							err = fmt.Errorf("php: %+v", o)
						}
					}
					errs <- err
				}()
			}
			for range writers {
				go func() {
					var err error
					for range perWriter {
						if err = m.Update(ctx, id, func(s *phpsession.Session) error {
							var n int
							if _, err := s.Unmarshal("go", &n); err != nil {
								return err
							}
							return s.Set("go", n+1)
						}); err != nil {
							break
						}
					}
					errs <- err
				}()
			}
			for range procs + writers {
				assert.NoError(t, <-errs)
			}
			goN, err := phpsession.GetAs[int](ctx, m, id, "go")
			require.NoError(t, err)
			phpN, err := phpsession.GetAs[int](ctx, m, id, "php")
			require.NoError(t, err)
			assert.Equal(t, writers*perWriter, goN, "Go updates")
			assert.Equal(t, procs*iters, phpN, "PHP updates")
			raw := r.MustDo("GET", "PHPREDIS_SESSION:"+id)
			_, found, err := codec.Format{Handler: codec.Igbinary, Compression: c}.Read([]byte(raw), nil)
			require.NoError(t, err)
			assert.Equal(t, codec.Igbinary, found.Handler)
			assert.Equal(t, c, found.Compression)
		})
	}
}
