package codec

import (
	"bytes"
	"testing"
)

// addCompressionSeeds adds the captured phpredis 6.1 frames of c (and a
// few of every other compression) as seeds.
func addCompressionSeeds(f *testing.F, c Compression) {
	f.Helper()
	vs := loadPHPRedis6Vectors(f)
	for i, v := range vs.Vectors {
		if v.StoredHex == nil || (v.Compression != string(c) && i%17 != 0) {
			continue
		}
		f.Add(mustHex(f, *v.StoredHex))
	}
	f.Add([]byte{})
	f.Add([]byte("n|i:1;"))
}

// fuzzDecompress: no panic, the limit holds, a fallback returns the input,
// and a decompressed result compresses back to something that
// decompresses to it.
func fuzzDecompress(f *testing.F, c Compression) {
	addCompressionSeeds(f, c)
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 20
		plain, framed, err := c.Decompress(data, limit)
		if err != nil {
			if framed || plain != nil {
				t.Fatalf("error with output: %v", err)
			}
			return
		}
		if !framed {
			if !bytes.Equal(plain, data) {
				t.Fatal("fallback changed the bytes")
			}
			return
		}
		if len(plain) > limit {
			t.Fatalf("%d bytes over the limit", len(plain))
		}
		for _, level := range []int{0, 3} {
			out, err := c.AppendCompress(nil, plain, level)
			if err != nil {
				t.Fatal(err)
			}
			back, _, err := c.Decompress(out, limit)
			if err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("round trip at level %d: %v", level, err)
			}
		}
	})
}

func FuzzDecompressLZF(f *testing.F)  { fuzzDecompress(f, LZF) }
func FuzzDecompressZstd(f *testing.F) { fuzzDecompress(f, Zstd) }
func FuzzDecompressLZ4(f *testing.F)  { fuzzDecompress(f, LZ4) }

// FuzzCompressRoundTrip: every compression at every level gives back the
// input.
func FuzzCompressRoundTrip(f *testing.F) {
	for name, in := range compressionInputs() {
		if len(in) < 10000 {
			f.Add(in, len(name)%14-1)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, level int) {
		for _, c := range Compressions() {
			out, err := c.AppendCompress(nil, data, level)
			if err != nil {
				t.Fatal(err)
			}
			back, framed, err := c.Decompress(out, 0)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("%s level %d: %v", c, level, err)
			}
			if want := !c.none() && (len(data) > 0 || c == Zstd); framed != want {
				t.Fatalf("%s: framed %v", c, framed)
			}
		}
	})
}

// FuzzFormatDecode: reading arbitrary bytes under every compression never
// panics, and a session read is written and read back to the same bytes.
func FuzzFormatDecode(f *testing.F) {
	addCompressionSeeds(f, LZ4)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, c := range Compressions() {
			fm := Format{Handler: PHP, Compression: c, Level: 1}
			s, err := fm.Decode(data, &Options{MaxDepth: 64, MaxSessionSize: 1 << 20})
			if err != nil {
				continue
			}
			out, err := fm.Encode(s)
			if err != nil {
				continue // e.g. a name PHP cannot store
			}
			s2, err := fm.Decode(out, nil)
			if err != nil {
				t.Fatalf("%s: Go's output does not read back: %v", fm, err)
			}
			a, _ := s.Encode()
			b, _ := s2.Encode()
			if !bytes.Equal(a, b) {
				t.Fatalf("%s: %q then %q", fm, a, b)
			}
		}
	})
}
