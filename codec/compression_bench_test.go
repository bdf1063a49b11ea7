package codec

import "testing"

// BenchmarkFormatDecode: the ~4 KB php session fixture stored under each
// compression at phpredis's default level, read through Format (decompress
// + lazy split), beside no compression. bytes/op reports the stored size.
func BenchmarkFormatDecode(b *testing.B) {
	plain := benchData(b, PHP)
	for _, c := range Compressions() {
		f := Format{Handler: PHP, Compression: c, Level: DefaultCompressionLevel}
		stored, err := c.AppendCompress(nil, plain, f.Level)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(c), func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			b.ReportMetric(float64(len(stored)), "stored-bytes")
			for b.Loop() {
				if _, err := f.Decode(stored, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFormatEncode: writing that session (one variable changed, so
// the others are copied from their original bytes) under each compression.
func BenchmarkFormatEncode(b *testing.B) {
	plain := benchData(b, PHP)
	for _, c := range Compressions() {
		f := Format{Handler: PHP, Compression: c, Level: DefaultCompressionLevel}
		s, err := f.Decode(plain, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Set("n", Int(1)); err != nil {
			b.Fatal(err)
		}
		b.Run(string(c), func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				if dst, err = f.AppendEncode(dst[:0], s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
