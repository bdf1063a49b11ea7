package codec

import "testing"

// The same ~4 KB session (testdata/gen_bench_session.php: 3,978 bytes as
// php, 1,893 as igbinary, 2,017 as msgpack) under every serializer, side
// by side. SetBytes is the php size for all, so MB/s compare sessions, not
// bytes.

// BenchmarkSerializerDecodeAll: decode and read every variable.
func BenchmarkSerializerDecodeAll(b *testing.B) {
	php := len(benchData(b, PHP))
	for _, h := range allHandlers {
		b.Run(string(h), func(b *testing.B) {
			data := benchData(b, h)
			b.SetBytes(int64(php))
			b.ReportAllocs()
			for b.Loop() {
				s, err := DecodeSession(h, data, nil)
				if err != nil {
					b.Fatal(err)
				}
				for i := range s.ents {
					if _, _, err := s.GetKey(s.ents[i].key); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// BenchmarkSerializerEncodeAll: encode a session whose variables were all
// set (nothing copied from the original bytes).
func BenchmarkSerializerEncodeAll(b *testing.B) {
	php := len(benchData(b, PHP))
	for _, h := range allHandlers {
		b.Run(string(h), func(b *testing.B) {
			s, err := DecodeSession(h, benchData(b, h), nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, k := range s.Keys() {
				v, _, _ := s.GetKey(k)
				if err := s.SetKey(k, v); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(php))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				if buf, err = s.AppendEncode(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSerializerEncodeOneChanged: re-encode after changing one scalar
// (the php family copies the other variables' bytes; igbinary and msgpack
// encode the whole session).
func BenchmarkSerializerEncodeOneChanged(b *testing.B) {
	php := len(benchData(b, PHP))
	for _, h := range allHandlers {
		b.Run(string(h), func(b *testing.B) {
			s, err := DecodeSession(h, benchData(b, h), nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Set("checkout_step", Int(3)); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(php))
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				if buf, err = s.AppendEncode(buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
