package phpsession_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/internal/testenv"
)

// A compressed session is read back only up to Config.MaxSessionSize, so a
// write beyond it would leave a session this Manager cannot read or
// update again (every later call failing with ErrSessionTooLarge). The
// write is refused instead, with that error, and nothing is stored; a
// session under the limit is written and read back.
func TestWriteOverMaxSessionSizeRefused(t *testing.T) {
	r := testenv.StartRedis(t)
	for _, c := range []codec.Compression{codec.LZF, codec.Zstd, codec.LZ4} {
		t.Run(string(c), func(t *testing.T) {
			m := openTest(t, r, phpsession.Config{Compression: c, MaxSessionSize: 64 << 10})
			ctx := context.Background()
			id := "maxsize" + string(c)
			require.NoError(t, m.Set(ctx, id, "small", strings.Repeat("a", 32<<10)))
			err := m.Set(ctx, id, "big", strings.Repeat("b", 64<<10)) // compresses to little
			require.ErrorIs(t, err, codec.ErrSessionTooLarge)
			require.ErrorIs(t, err, phpsession.ErrCodec)
			v, err := phpsession.GetAs[string](ctx, m, id, "small")
			require.NoError(t, err)
			require.Len(t, v, 32<<10)
			require.NoError(t, m.Set(ctx, id, "more", 1)) // still writable
			_, err = m.Get(ctx, id, "big")
			require.ErrorIs(t, err, phpsession.ErrNotFound)
		})
	}
}
