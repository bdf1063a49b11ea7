package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession/internal/testenv"
)

// TestCLIWithPHPWrittenSessions: sessions PHP writes through phpredis
// (random values, all three serializers; codec/testdata/interop_gen.php)
// survive `decode | encode` byte for byte, and `convert` gives PHP's own
// bytes for the same session under the other serializers.
func TestCLIWithPHPWrittenSessions(t *testing.T) {
	testenv.RequirePHP(t)
	r := testenv.StartRedis(t)
	const count = 40
	gen, err := filepath.Abs("../../codec/testdata/interop_gen.php")
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, err = testenv.RunPHP(ctx, t, testenv.PHPSession{Addr: r.Addr}, fmt.Sprintf("<?php require %q;", gen), "99", strconv.Itoa(count), out)
	require.NoError(t, err)

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	stored := map[int]map[string][]byte{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var rec struct {
			I   int    `json:"i"`
			H   string `json:"h"`
			ID  string `json:"id"`
			Enc string `json:"enc"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
		data, err := r.Do("GET", "PHPREDIS_SESSION:"+rec.ID)
		require.NoError(t, err)
		enc, _ := hex.DecodeString(rec.Enc)
		require.Equal(t, string(enc), data)
		if stored[rec.I] == nil {
			stored[rec.I] = map[string][]byte{}
		}
		stored[rec.I][rec.H] = []byte(data)
	}
	require.NoError(t, sc.Err())
	require.Len(t, stored, count)
	for i, byH := range stored {
		for _, h := range handlers {
			data := byH[h]
			j, stderr, code := runBin(t, data, "decode", "--handler", h)
			require.Equal(t, 0, code, stderr)
			back, stderr, code := runBin(t, j, "encode")
			require.Equal(t, 0, code, stderr)
			require.Equal(t, string(data), string(back), "#%d %s decode|encode", i, h)
			for _, to := range handlers {
				if to == h {
					continue
				}
				got, stderr, code := runBin(t, data, "convert", "--from", h, "--to", to)
				require.Equal(t, 0, code, stderr)
				require.Equal(t, string(byH[to]), string(got), "#%d %s → %s", i, h, to)
			}
		}
	}
}
