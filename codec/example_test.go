package codec_test

import (
	"fmt"
	"math"

	"github.com/phpsession/phpsession/codec"
)

func Example() {
	// Bytes as PHP's default session serializer stores them.
	data := []byte(`user_id|i:42;cart|a:1:{i:0;a:2:{s:3:"sku";s:4:"A-17";s:3:"qty";i:1;}}`)

	s, err := codec.DecodeSession(codec.PHP, data, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	id, _, _ := s.Get("user_id") // only this variable is decoded
	fmt.Println("user:", id)

	v, _, _ := s.Get("cart")
	cart := v.(*codec.Array)
	item := codec.NewArray()
	item.Set(codec.StrKey("sku"), codec.String("B-2"))
	item.Set(codec.StrKey("qty"), codec.Int(3))
	cart.Append(item)

	out, _ := s.Encode()
	fmt.Println(string(out))
	// Output:
	// user: 42
	// user_id|i:42;cart|a:2:{i:0;a:2:{s:3:"sku";s:4:"A-17";s:3:"qty";i:1;}i:1;a:2:{s:3:"sku";s:3:"B-2";s:3:"qty";i:3;}}
}

func ExampleDecodeValue() {
	v, err := codec.DecodeValue([]byte(`a:2:{s:1:"5";d:0.5;s:1:"x";O:8:"stdClass":1:{s:1:"n";N;}}`), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	codec.Deref(v).(*codec.Array).Range(func(k codec.Key, v codec.Value) bool {
		fmt.Printf("%v (int key: %v) => %v\n", k, k.IsInt(), v.Kind())
		return true
	})
	// Output:
	// 5 (int key: true) => float
	// x (int key: false) => object
}

func ExampleFormatFloat() {
	for _, f := range []float64{0.1, 2, 1e25, 1.5e-7, math.Inf(-1)} {
		fmt.Println(string(codec.FormatFloat(nil, f)))
	}
	// Output:
	// 0.1
	// 2
	// 1.0E+25
	// 1.5E-7
	// -INF
}

func ExampleSession_Set() {
	s := codec.NewSession(codec.PHP)
	err := s.Set("a|b", codec.Int(1))
	fmt.Println(err)
	_ = s.Set("count", codec.Int(1))
	out, _ := s.Encode()
	fmt.Println(string(out))
	// Output:
	// codec: invalid name "a|b" for handler php: contains '|' (PHP would write an empty session)
	// count|i:1;
}

func ExampleSession_Clone() {
	s, _ := codec.DecodeSession(codec.PHP, []byte(`n|i:1;`), nil)

	// Run an update on a clone; keep it only if it succeeds.
	c := s.Clone()
	_ = c.Set("n", codec.Int(2))
	if ok := false; ok {
		s = c
	}
	out, _ := s.Encode()
	fmt.Println(string(out))
	// Output:
	// n|i:1;
}

func ExampleSession_Convert() {
	s, _ := codec.DecodeSession(codec.PHP, []byte(`a|i:1;b|R:1;`), nil)
	c, _ := s.Convert(codec.PHPSerialize)
	out, _ := c.Encode()
	fmt.Println(string(out))
	// Output:
	// a:2:{s:1:"a";i:1;s:1:"b";R:2;}
}
