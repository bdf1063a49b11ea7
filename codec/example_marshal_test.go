package codec_test

import (
	"fmt"

	"github.com/phpsession/phpsession/codec"
)

type CartItem struct {
	SKU   string  `php:"sku"`
	Qty   int     `php:"qty"`
	Price float64 `php:"price"`
	Note  string  `php:"note,omitempty"`
}

type Cart struct {
	UserID int64      `php:"user_id"`
	Items  []CartItem `php:"items"`
	Coupon *string    `php:"coupon"`
	Cache  []byte     `php:"-"`
}

func ExampleMarshal() {
	b, err := codec.Marshal(Cart{UserID: 42, Items: []CartItem{{SKU: "A-1", Qty: 2, Price: 9.99}}})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output:
	// a:3:{s:7:"user_id";i:42;s:5:"items";a:1:{i:0;a:3:{s:3:"sku";s:3:"A-1";s:3:"qty";i:2;s:5:"price";d:9.99;}}s:6:"coupon";N;}
}

func ExampleUnmarshal() {
	// What PHP's serialize() wrote for
	// ['user_id' => 7, 'items' => [['sku' => 'B', 'qty' => 1, 'price' => 5]], 'coupon' => 'SAVE']
	data := []byte(`a:3:{s:7:"user_id";i:7;s:5:"items";a:1:{i:0;a:3:{s:3:"sku";s:1:"B";s:3:"qty";i:1;s:5:"price";i:5;}}s:6:"coupon";s:4:"SAVE";}`)
	var c Cart
	if err := codec.Unmarshal(data, &c); err != nil {
		panic(err)
	}
	fmt.Printf("%d %+v %s\n", c.UserID, c.Items, *c.Coupon)

	// Into any: lists become []any, other arrays map[string]any.
	var v any
	if err := codec.Unmarshal(data, &v); err != nil {
		panic(err)
	}
	fmt.Println(v.(map[string]any)["items"].([]any)[0].(map[string]any)["sku"])
	// Output:
	// 7 [{SKU:B Qty:1 Price:5 Note:}] SAVE
	// B
}

func ExampleUnmarshalValue() {
	// A php session: decode it, then map one variable onto a Go type.
	s, err := codec.DecodeSession(codec.PHP, []byte(`cart|a:1:{s:5:"items";a:0:{}}visits|i:3;`), nil)
	if err != nil {
		panic(err)
	}
	v, _, err := s.Get("visits")
	if err != nil {
		panic(err)
	}
	var visits int
	if err := codec.UnmarshalValue(v, &visits); err != nil {
		panic(err)
	}
	// And write a Go value back.
	nv, err := codec.MarshalValue(visits + 1)
	if err != nil {
		panic(err)
	}
	if err := s.Set("visits", nv); err != nil {
		panic(err)
	}
	b, _ := s.Encode()
	fmt.Println(string(b))
	// Output:
	// cart|a:1:{s:5:"items";a:0:{}}visits|i:4;
}

func ExampleUnmarshalTypeError() {
	var qty uint8
	err := codec.Unmarshal([]byte(`i:300;`), &qty)
	fmt.Println(err)
	// Output:
	// codec: cannot unmarshal PHP int 300 into Go value of type uint8
}

func ExampleJSONFields() {
	s, err := codec.DecodeSession(codec.PHP, []byte(`scart_items|s:23:"[{"sku":"A-1","qty":2}]";user|i:7;`), nil)
	if err != nil {
		panic(err)
	}
	f := codec.DefaultJSONFields()
	items, _, err := f.Get(s, "scart_items") // JSON text → codec values
	if err != nil {
		panic(err)
	}
	fmt.Println(items, codec.ToGo(items))
	// Writing stores JSON text in the PHP string, as the PHP side expects.
	if err := f.Set(s, "scart_items", []map[string]any{{"sku": "B-2", "qty": 1}}); err != nil {
		panic(err)
	}
	b, _ := s.Encode()
	fmt.Println(string(b))
	// Output:
	// [{"sku":"A-1","qty":2}] [map[qty:2 sku:A-1]]
	// scart_items|s:23:"[{"qty":1,"sku":"B-2"}]";user|i:7;
}

func ExampleSessionToJSON() {
	s, err := codec.DecodeSession(codec.PHP, []byte(`a|i:1;b|R:1;f|d:0.1;o|O:8:"stdClass":1:{s:1:"n";N;}`), nil)
	if err != nil {
		panic(err)
	}
	j, err := codec.SessionToJSON(s)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(j))
	back, err := codec.SessionFromJSON(j, "")
	if err != nil {
		panic(err)
	}
	b, _ := back.Encode()
	fmt.Println(string(b))
	// Output:
	// {"handler":"php","vars":[["a",{"ref":1,"value":1}],["b",{"ref":1}],["f",{"float":"0.1"}],["o",{"object":"stdClass","members":[{"name":"n","value":null}]}]]}
	// a|i:1;b|R:1;f|d:0.1;o|O:8:"stdClass":1:{s:1:"n";N;}
}

func ExampleMarshalSession() {
	// A session whose "scart_items" variable holds JSON text, as the PHP
	// application stores it (json_encode), declared with the ",json" option.
	type Item struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	}
	type Sess struct {
		UserID int64  `php:"user_id"`
		Items  []Item `php:"scart_items,json"`
	}
	s, err := codec.MarshalSession(codec.PHP, Sess{UserID: 7, Items: []Item{{"A-1", 2}}})
	if err != nil {
		panic(err)
	}
	b, _ := s.Encode()
	fmt.Println(string(b))

	var back Sess
	if err := codec.UnmarshalSession(s, &back); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", back)
	// Output:
	// user_id|i:7;scart_items|s:23:"[{"sku":"A-1","qty":2}]";
	// {UserID:7 Items:[{SKU:A-1 Qty:2}]}
}
