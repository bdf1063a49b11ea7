package codec_test

import (
	"fmt"

	"github.com/phpsession/phpsession/codec"
)

// A PHP application with session.serialize_handler=igbinary and phpredis 6's
// redis.session.compression=zstd: Format encodes what it stores and reads
// it back, and reads sessions stored in any other format too.
func ExampleFormat() {
	f, err := codec.ParseFormat("igbinary+zstd:3")
	if err != nil {
		panic(err)
	}
	s := f.New()
	_ = s.Set("user", codec.String("alice"))
	stored, err := f.Encode(s)
	if err != nil {
		panic(err)
	}
	_, framed, _ := codec.Zstd.Decompress(stored, 0)
	fmt.Println("zstd frame:", framed)

	back, err := f.Decode(stored, nil)
	if err != nil {
		panic(err)
	}
	v, _, _ := back.Get("user")
	fmt.Println("user:", v)

	// A session an older PHP wrote (php serializer, uncompressed) is read
	// as well, converted to igbinary for the next write.
	old, found, err := f.Read([]byte(`user|s:3:"bob";`), nil)
	if err != nil {
		panic(err)
	}
	v, _, _ = old.Get("user")
	fmt.Println("found:", found.Handler, found.Compression, "user:", v)
	// Output:
	// zstd frame: true
	// user: alice
	// found: php none user: bob
}
