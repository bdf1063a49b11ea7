package codec_test

import (
	"encoding/json"
	"fmt"

	"github.com/phpsession/phpsession/codec"
)

// json.Marshal of a decoded session (or of any codec value) writes natural
// JSON: a PHP list is a JSON array, other arrays and objects JSON objects.
func ExampleSession_MarshalJSON() {
	s, _ := codec.DecodeSession(codec.PHP, []byte(`cart|a:2:{s:5:"items";a:1:{i:0;a:2:{s:3:"sku";s:3:"A-1";s:3:"qty";i:2;}}s:5:"total";d:9.5;}u|O:4:"User":1:{s:4:"name";s:4:"Zoë";}`), nil)
	b, _ := json.Marshal(s)
	fmt.Println(string(b))
	fmt.Println(s) // String: objects show their class
	// Output:
	// {"cart":{"items":[{"sku":"A-1","qty":2}],"total":9.5},"u":{"name":"Zoë"}}
	// {"cart":{"items":[{"sku":"A-1","qty":2}],"total":9.5},"u":User{"name":"Zoë"}}
}

// ToGo gives plain Go values: int64 for PHP ints, float64 for floats,
// []any for lists, map[string]any for other arrays and objects.
func ExampleToGo() {
	v, _ := codec.DecodeValue([]byte(`a:3:{i:0;i:1;i:1;d:2;i:2;a:1:{s:1:"k";b:1;}}`), nil)
	g := codec.ToGo(v)
	fmt.Printf("%#v\n", g)
	// Output:
	// []interface {}{1, 2, map[string]interface {}{"k":true}}
}

// NaturalJSON is what json.Marshal writes, without HTML escaping.
func ExampleNaturalJSON() {
	a := codec.NewArray()
	a.Set(codec.StrKey("b"), codec.Float(1))
	a.Set(codec.IntKey(3), codec.String("<x>"))
	fmt.Println(string(codec.NaturalJSON(a)))
	// Output:
	// {"b":1.0,"3":"<x>"}
}

// ParseJSON reads JSON as PHP's json_decode() does: objects are stdClass
// objects (in document order), integers Int, other numbers Float.
func ExampleParseJSON() {
	v, _ := codec.ParseJSON([]byte(`{"qty":2,"price":9.5,"tags":["a"]}`))
	o := v.(*codec.Object)
	qty, _ := o.Get("qty")
	price, _ := o.Get("price")
	fmt.Printf("%s %T %T %s\n", o.Class, qty, price, v)
	// Output:
	// stdClass codec.Int codec.Float {"qty":2,"price":9.5,"tags":["a"]}
}

// Map gives a session's variables as plain Go values.
func ExampleSession_Map() {
	s, _ := codec.DecodeSession(codec.PHP, []byte(`n|i:1;l|a:1:{i:0;s:1:"x";}`), nil)
	m, _ := s.Map()
	fmt.Printf("%#v\n", m)
	// Output:
	// map[string]interface {}{"l":[]interface {}{"x"}, "n":1}
}

// IsZero tells that a JSONFields matches nothing (JSON-field handling off).
func ExampleJSONFields_IsZero() {
	fmt.Println(codec.JSONFields{}.IsZero(), codec.DefaultJSONFields().IsZero())
	// Output:
	// true false
}

// An array marshals as a JSON array when it is a list, else as an object.
func ExampleArray_MarshalJSON() {
	list := codec.NewArrayOf(codec.Int(1), codec.String("x"))
	m := codec.NewArray()
	m.Set(codec.StrKey("qty"), codec.Int(2))
	a, _ := json.Marshal(list)
	b, _ := json.Marshal(m)
	fmt.Println(string(a), string(b))
	// Output:
	// [1,"x"] {"qty":2}
}

// fmt prints objects with their class (String); JSON has only the
// properties (MarshalJSON), private and protected ones by plain name.
func ExampleObject_String() {
	o := codec.NewObject("User")
	o.Set("name", codec.String("bob"))
	o.SetKey(codec.MangledKey("role", codec.Protected, ""), codec.String("admin"))
	b, _ := json.Marshal(o)
	fmt.Println(o)
	fmt.Println(string(b))
	// Output:
	// User{"name":"bob","role":"admin"}
	// {"name":"bob","role":"admin"}
}
