package codecpeers

import (
	"os"
	"path/filepath"
	"testing"

	stlong5 "github.com/stlong5/phpserialize"
	trim21 "github.com/trim21/go-phpserialize"
	yvasiyarov "github.com/yvasiyarov/php_session_decoder"
	yvser "github.com/yvasiyarov/php_session_decoder/php_serialize"

	"github.com/phpsession/phpsession/codec"
)

func fixture(b testing.TB, h string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "session_"+h+".bin"))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// Typed Go shape of the fixture (used by trim21 and by codec.Unmarshal).
type cartItem struct {
	SKU     string  `php:"sku"`
	Name    string  `php:"name"`
	Qty     int     `php:"qty"`
	Price   float64 `php:"price"`
	Options struct {
		Color string `php:"color"`
		Size  int    `php:"size"`
	} `php:"options"`
}

type user struct {
	ID       int64          `php:"id"`
	Name     string         `php:"name"`
	Email    string         `php:"email"`
	Roles    []string       `php:"roles"`
	Verified bool           `php:"verified"`
	Score    float64        `php:"score"`
	Prefs    map[string]any `php:"prefs"`
}

type session struct {
	Token     string            `php:"_token"`
	Previous  map[string]string `php:"_previous"`
	Flash     map[string][]any  `php:"_flash"`
	Login     int64             `php:"login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"`
	User      user              `php:"user"`
	Cart      []cartItem        `php:"cart"`
	CartTotal float64           `php:"cart_total"`
	Recent    []int             `php:"recent_ids"`
	Locale    string            `php:"locale"`
	Currency  string            `php:"currency"`
	LastAct   int64             `php:"last_activity"`
	UA        string            `php:"ua"`
	CSRF      map[string]string `php:"csrf_tokens"`
	AB        any               `php:"-"` // ab_tests mixes int and string keys, which trim21 cannot re-encode
	Wishlist  []int             `php:"wishlist"`
	Coupon    *string           `php:"coupon"`
	IsAdmin   bool              `php:"is_admin"`
	Visits    int               `php:"visits"`
	Geo       struct {
		Lat  float64 `php:"lat"`
		Lon  float64 `php:"lon"`
		City string  `php:"city"`
	} `php:"geo"`
	Msg string `php:"msg"`
}

var sink any

// ---- decode of the php_serialize blob (one serialize() value) ----

func BenchmarkDecode(b *testing.B) {
	data := fixture(b, "php_serialize")
	str := string(data)
	b.Run("codec", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := codec.DecodeValue(data, nil)
			if err != nil {
				b.Fatal(err)
			}
			sink = v
		}
	})
	b.Run("codec-unmarshal-struct", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var s session
			if err := codec.Unmarshal(data, &s); err != nil {
				b.Fatal(err)
			}
			sink = s
		}
	})
	b.Run("stlong5", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := stlong5.Unmarshal(str)
			if err != nil {
				b.Fatal(err)
			}
			sink = v
		}
	})
	b.Run("trim21-any", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := trim21.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
			sink = v
		}
	})
	b.Run("trim21-struct", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			var s session
			if err := trim21.Unmarshal(data, &s); err != nil {
				b.Fatal(err)
			}
			sink = s
		}
	})
	b.Run("yvasiyarov", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := yvser.UnSerialize(str)
			if err != nil {
				b.Fatal(err)
			}
			sink = v
		}
	})
}

// ---- decode of the php session-handler blob (name|value...) ----

func BenchmarkDecodeSessionPHP(b *testing.B) {
	data := fixture(b, "php")
	str := string(data)
	b.Run("codec-full", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			s, err := codec.DecodeSession(codec.PHP, data, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range s.Names() {
				v, _, err := s.Get(n)
				if err != nil {
					b.Fatal(err)
				}
				sink = v
			}
		}
	})
	b.Run("codec-one-key", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			s, err := codec.DecodeSession(codec.PHP, data, nil)
			if err != nil {
				b.Fatal(err)
			}
			v, ok, err := s.Get("visits")
			if err != nil || !ok {
				b.Fatal(ok, err)
			}
			sink = v
		}
	})
	b.Run("yvasiyarov", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			v, err := yvasiyarov.NewPhpDecoder(str).Decode()
			if err != nil {
				b.Fatal(err)
			}
			sink = v
		}
	})
}

// ---- encode ----

func BenchmarkEncode(b *testing.B) {
	data := fixture(b, "php_serialize")
	str := string(data)
	b.Run("codec", func(b *testing.B) {
		v, err := codec.DecodeValue(data, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf, err = codec.AppendValue(buf[:0], v)
			if err != nil {
				b.Fatal(err)
			}
		}
		sink = buf
	})
	b.Run("codec-marshal-struct", func(b *testing.B) {
		var s session
		if err := codec.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			out, err := codec.Marshal(&s)
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
	b.Run("stlong5", func(b *testing.B) {
		v, err := stlong5.Unmarshal(str)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			out, err := stlong5.Marshal(v)
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
	b.Run("trim21-struct", func(b *testing.B) {
		var s session
		if err := trim21.Unmarshal(data, &s); err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			out, err := trim21.Marshal(&s)
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
	b.Run("yvasiyarov", func(b *testing.B) {
		v, err := yvser.UnSerialize(str)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			out, err := yvser.Serialize(v)
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
}

// ---- session encode after changing one key (lazy re-emission) ----

func BenchmarkEncodeSessionPHP(b *testing.B) {
	data := fixture(b, "php")
	str := string(data)
	b.Run("codec-set-one-key", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			s, err := codec.DecodeSession(codec.PHP, data, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Set("visits", codec.Int(43)); err != nil {
				b.Fatal(err)
			}
			out, err := s.Encode()
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
	b.Run("yvasiyarov-set-one-key", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			s, err := yvasiyarov.NewPhpDecoder(str).Decode()
			if err != nil {
				b.Fatal(err)
			}
			s["visits"] = 43
			out, err := yvasiyarov.NewPhpEncoder(s).Encode()
			if err != nil {
				b.Fatal(err)
			}
			sink = out
		}
	})
}
