package codec_test

import (
	"encoding/hex"
	"fmt"

	"github.com/phpsession/phpsession/codec"
)

// A session PHP wrote with session.serialize_handler=igbinary
// (php-vectors/igbinary/multi_keys): read it, change it, write it back,
// and convert it for a PHP fleet moving to msgpack.
func ExampleDecodeSession_igbinary() {
	data, _ := hex.DecodeString("0000000214041107757365725f6964062a11046e616d6511045a6fc3ab11046361727414021104736b753106021104736b753206011105666c61736800")
	s, err := codec.DecodeSession(codec.Igbinary, data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Names())
	name, _, _ := s.Get("name")
	fmt.Println(name)

	_ = s.Set("user_id", codec.Int(43))
	out, _ := s.Encode()
	fmt.Printf("%x\n", out[:20])

	m, _ := s.Convert(codec.Msgpack)
	mp, _ := m.Encode()
	fmt.Printf("%x\n", mp)
	// Output:
	// [user_id name cart flash]
	// Zoë
	// 0000000214041107757365725f6964062b11046e
	// 85c001a7757365725f69642ba46e616d65a45a6fc3aba46361727482a4736b753102a4736b753201a5666c617368c0
}

// DetectHandler tells which serializer wrote stored bytes; decoding with
// the wrong one names it in the error.
func ExampleDetectHandler() {
	data, _ := hex.DecodeString("85c001a7757365725f69642aa46e616d65a45a6fc3aba46361727482a4736b753102a4736b753201a5666c617368c0")
	h, ok := codec.DetectHandler(data)
	fmt.Println(h, ok)

	_, err := codec.DecodeSession(codec.PHP, data, nil)
	fmt.Println(err)
	// Output:
	// msgpack true
	// codec: syntax error: missing '|' after variable name at offset 0 (the data looks like msgpack session data)
}
