package codec

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHostileLengths: a declared length or count of 2^62 (or 2^64-1, or
// one that overflows int) in any serializer's data fails without
// allocating for it.
func TestHostileLengths(t *testing.T) {
	const big = "4611686018427387904" // 2^62
	tests := []struct {
		name string
		h    Handler
		data string
	}{
		{"php string", PHP, `a|s:` + big + `:"x";`},
		{"php S string", PHP, `a|S:` + big + `:"x";`},
		{"php array", PHP, `a|a:` + big + `:{i:0;i:1;}`},
		{"php object count", PHP, `a|O:8:"stdClass":` + big + `:{}`},
		{"php class name", PHP, `a|O:` + big + `:"stdClass":0:{}`},
		{"php Serializable payload", PHP, `a|C:1:"M":` + big + `:{abc}`},
		{"php enum", PHP, `a|E:` + big + `:"S:H";`},
		{"php 2^64-1", PHP, `a|s:18446744073709551615:"x";`},
		{"php 2^64", PHP, `a|a:18446744073709551616:{}`},
		{"php_serialize array", PHPSerialize, `a:` + big + `:{}`},
		{"php_serialize nested", PHPSerialize, `a:1:{s:1:"a";a:` + big + `:{}}`},
		{"php_binary name", PHPBinary, "\x7fa"},
		{"php_binary value", PHPBinary, "\x01as:" + big + `:"x";`},
		{"igbinary array32", Igbinary, "\x00\x00\x00\x02\x16\xff\xff\xff\xff"},
		{"igbinary string64", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x26\x40\x00\x00\x00\x00\x00\x00\x00"},
		{"igbinary object32", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x17\x01C\x16\xff\xff\xff\xff"},
		{"igbinary class32", Igbinary, "\x00\x00\x00\x02\x14\x01\x11\x01a\x19\xff\xff\xff\xff"},
		{"msgpack map32", Msgpack, "\xdf\xff\xff\xff\xff"},
		{"msgpack bin32", Msgpack, "\x82\xc0\x01\xa1v\xc6\xff\xff\xff\xff"},
		{"msgpack ext32", Msgpack, "\x82\xc0\x01\xa1v\xc9\xff\xff\xff\xff\x01"},
		{"msgpack nested map32", Msgpack, "\x82\xc0\x01\xa1v\x82\xc0\xa1C\xdf\xff\xff\xff\xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocDuring(func() { _, err = DecodeSession(tt.h, []byte(tt.data), nil) })
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrSyntax), "%v", err)
			assert.Less(t, n, uint64(1<<20), "allocated before failing")
			// Through Format too (detection and fallbacks).
			n = allocDuring(func() { _, err = Format{Handler: tt.h}.Decode([]byte(tt.data), nil) })
			assert.Less(t, n, uint64(1<<20), "Format.Decode allocated before failing")
		})
	}
}
