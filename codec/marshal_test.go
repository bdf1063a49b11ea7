package codec

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type level int

type textish struct{ s string }

func (t textish) MarshalText() ([]byte, error) { return []byte("T:" + t.s), nil }
func (t *textish) UnmarshalText(b []byte) error {
	s, ok := strings.CutPrefix(string(b), "T:")
	if !ok {
		return errors.New("missing T: prefix")
	}
	t.s = s
	return nil
}

// money is stored by PHP as an int number of cents.
type money struct{ cents int64 }

func (m money) MarshalPHP() (Value, error) { return Int(m.cents), nil }
func (m *money) UnmarshalPHP(v Value) error {
	switch x := v.(type) {
	case Int:
		m.cents = int64(x)
	case Float:
		m.cents = int64(math.Round(float64(x) * 100))
	default:
		return errors.New("money: want int or float")
	}
	return nil
}

type Base struct {
	ID   int    `php:"id"`
	Note string `php:"note,omitempty"`
}

type item struct {
	SKU   string  `php:"sku"`
	Qty   uint8   `php:"qty"`
	Price float64 `php:"price"`
}

type cart struct {
	Base
	Items    []item         `php:"items"`
	Tags     map[string]int `php:"tags,omitempty"`
	Secret   string         `php:"-"`
	Coupon   *string        `php:"coupon"`
	Total    money          `php:"total"`
	Level    level          `php:"level"`
	internal int
}

type point struct {
	X, Y int
}

func (point) PHPClass() string { return "App\\Point" }

func TestMarshalScalars(t *testing.T) {
	s := "x"
	var nilp *int
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, "N;"},
		{"nil ptr", nilp, "N;"},
		{"true", true, "b:1;"},
		{"false", false, "b:0;"},
		{"int", -42, "i:-42;"},
		{"int8", int8(-128), "i:-128;"},
		{"int64 min", int64(math.MinInt64), "i:-9223372036854775808;"},
		{"uint64 max int", uint64(math.MaxInt64), "i:9223372036854775807;"},
		{"uintptr", uintptr(7), "i:7;"},
		{"named int", level(3), "i:3;"},
		{"float", 0.1, "d:0.1;"},
		{"float int", 100.0, "d:100;"},
		{"float exp", 1e20, "d:1.0E+20;"},
		{"float -0", math.Copysign(0, -1), "d:-0;"},
		{"float inf", math.Inf(-1), "d:-INF;"},
		{"float nan", math.NaN(), "d:NAN;"},
		{"float32 shortest", float32(0.1), "d:0.1;"},
		{"string", "héllo\x00\"", "s:8:\"héllo\x00\"\";"},
		{"ptr to string", &s, "s:1:\"x\";"},
		{"bytes", []byte{0, 255, '"'}, "s:3:\"\x00\xff\"\";"},
		{"nil bytes", []byte(nil), "s:0:\"\";"},
		{"text marshaler", textish{"a"}, "s:3:\"T:a\";"},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "s:20:\"2024-01-02T03:04:05Z\";"},
		{"netip", netip.MustParseAddr("10.0.0.1"), "s:8:\"10.0.0.1\";"},
		{"codec Int", Int(5), "i:5;"},
		{"codec String", String("ab"), "s:2:\"ab\";"},
		{"codec Null", Null{}, "N;"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestMarshalComposite(t *testing.T) {
	coupon := "SAVE10"
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"list", []int{3, 1}, "a:2:{i:0;i:3;i:1;i:1;}"},
		{"go array", [2]string{"a", "b"}, `a:2:{i:0;s:1:"a";i:1;s:1:"b";}`},
		{"nil slice", []int(nil), "a:0:{}"},
		{"nil map", map[string]int(nil), "a:0:{}"},
		{"any list", []any{nil, true, "x", 1.5}, `a:4:{i:0;N;i:1;b:1;i:2;s:1:"x";i:3;d:1.5;}`},
		{"map sorted", map[string]int{"b": 2, "a": 1, "c": 3}, `a:3:{s:1:"a";i:1;s:1:"b";i:2;s:1:"c";i:3;}`},
		{"map numeric string keys", map[string]bool{"10": true, "9": true, "x": false, "07": true},
			`a:4:{i:9;b:1;i:10;b:1;s:2:"07";b:1;s:1:"x";b:0;}`},
		{"map int keys", map[int]string{10: "a", -1: "b", 2: "c"}, `a:3:{i:-1;s:1:"b";i:2;s:1:"c";i:10;s:1:"a";}`},
		{"map uint8 keys", map[uint8]int{2: 1, 1: 2}, `a:2:{i:1;i:2;i:2;i:1;}`},
		{"map text keys", map[textish]int{{"b"}: 1, {"a"}: 2}, `a:2:{s:3:"T:a";i:2;s:3:"T:b";i:1;}`},
		{"struct", cart{
			Base:   Base{ID: 7},
			Items:  []item{{"A-1", 2, 9.99}},
			Secret: "no",
			Coupon: &coupon,
			Total:  money{1998},
			Level:  2,
		}, `a:5:{s:2:"id";i:7;s:5:"items";a:1:{i:0;a:3:{s:3:"sku";s:3:"A-1";s:3:"qty";i:2;s:5:"price";d:9.99;}}s:6:"coupon";s:6:"SAVE10";s:5:"total";i:1998;s:5:"level";i:2;}`},
		{"struct omitempty present", cart{Base: Base{Note: "n"}, Tags: map[string]int{"t": 1}},
			`a:7:{s:2:"id";i:0;s:4:"note";s:1:"n";s:5:"items";a:0:{}s:4:"tags";a:1:{s:1:"t";i:1;}s:6:"coupon";N;s:5:"total";i:0;s:5:"level";i:0;}`},
		{"object via PHPClasser", point{1, 2}, `O:9:"App\Point":2:{s:1:"X";i:1;s:1:"Y";i:2;}`},
		{"pointer to object", &point{3, 4}, `O:9:"App\Point":2:{s:1:"X";i:3;s:1:"Y";i:4;}`},
		{"numeric field name stays int key in arrays", struct {
			A int `php:"5"`
		}{1}, `a:1:{i:5;i:1;}`},
		{"map of any", map[string]any{"n": nil, "l": []string{"x"}}, `a:2:{s:1:"l";a:1:{i:0;s:1:"x";}s:1:"n";N;}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	type withChan struct {
		C chan int `php:"c"`
	}
	type deep struct {
		Items []map[string]uint64 `php:"items"`
	}
	type cyc struct {
		Next *cyc
	}
	c := &cyc{}
	c.Next = c

	_, err := Marshal(withChan{})
	var ute *UnsupportedTypeError
	require.ErrorAs(t, err, &ute)
	assert.Equal(t, "c", ute.Path)
	assert.Contains(t, err.Error(), "chan int")

	_, err = Marshal(deep{Items: []map[string]uint64{{}, {"big": math.MaxUint64}}})
	var uve *UnsupportedValueError
	require.ErrorAs(t, err, &uve)
	assert.Equal(t, `items[1]."big"`, uve.Path)
	assert.Contains(t, err.Error(), "overflows PHP int")

	_, err = Marshal(c)
	require.ErrorAs(t, err, &uve)
	assert.Contains(t, err.Error(), "nesting deeper")

	_, err = Marshal(map[float64]int{1: 1})
	require.ErrorAs(t, err, &ute)

	_, err = Marshal(complex(1, 2))
	require.ErrorAs(t, err, &ute)

	_, err = MarshalValue(withChan{})
	require.ErrorAs(t, err, &ute)
	_, err = MarshalValue(uint(math.MaxUint64))
	require.ErrorAs(t, err, &uve)
}

type failing struct{}

func (failing) MarshalPHP() (Value, error) { return nil, errors.New("boom") }

func TestMarshalerError(t *testing.T) {
	_, err := Marshal(map[string]any{"f": failing{}})
	var me *MarshalerError
	require.ErrorAs(t, err, &me)
	assert.Equal(t, `"f"`, me.Path)
	assert.EqualError(t, me.Err, "boom")
	assert.ErrorIs(t, err, ErrCodec)
}

func TestMarshalValueShapes(t *testing.T) {
	v, err := MarshalValue(map[string]any{"7": 1, "a": []int{1}})
	require.NoError(t, err)
	a := v.(*Array)
	assert.Equal(t, []Key{IntKey(7), StrKey("a")}, a.Keys())
	x, _ := a.Get(StrKey("a"))
	assert.True(t, x.(*Array).IsList())

	v, err = MarshalValue(point{1, 2})
	require.NoError(t, err)
	o := v.(*Object)
	assert.Equal(t, "App\\Point", o.Class)
	y, ok := o.Get("Y")
	assert.True(t, ok)
	assert.Equal(t, Int(2), y)

	// codec values pass through unchanged (the same pointer).
	arr := NewArray()
	v, err = MarshalValue(arr)
	require.NoError(t, err)
	assert.Same(t, arr, v)
	v, err = MarshalValue(map[string]any{"x": arr})
	require.NoError(t, err)
	x, _ = v.(*Array).Get(StrKey("x"))
	assert.Same(t, arr, x)

	v, err = MarshalValue(float32(0.1))
	require.NoError(t, err)
	assert.Equal(t, Float(0.1), v)
	v, err = MarshalValue([]byte("b"))
	require.NoError(t, err)
	assert.Equal(t, String("b"), v)
	v, err = MarshalValue(nil)
	require.NoError(t, err)
	assert.Equal(t, Null{}, v)
}

// arr builds an *Array from alternating keys and values; keys may be int
// or string (normalised like PHP).
func arr(kv ...any) *Array {
	a := NewArray()
	for i := 0; i < len(kv); i += 2 {
		var k Key
		switch x := kv[i].(type) {
		case int:
			k = IntKey(int64(x))
		case string:
			k = StrKey(x)
		}
		a.Set(k, kv[i+1].(Value))
	}
	return a
}

func list(vs ...Value) *Array {
	a := NewArray()
	for _, v := range vs {
		a.Append(v)
	}
	return a
}

func TestUnmarshalValueStruct(t *testing.T) {
	val := arr(
		"id", Int(7),
		"note", String("hi"),
		"items", list(arr("sku", String("A"), "qty", Int(3), "price", Int(10)), arr("SKU", String("B"), "price", Float(2.5))),
		"tags", arr("x", Int(1), 5, Int(2)),
		"coupon", Null{},
		"total", Float(19.98),
		"LEVEL", Int(4), // case-insensitive match of tag "level"
		"Secret", String("ignored"),
		"unknown", String("ignored"),
	)
	var c cart
	c.Secret = "keep"
	require.NoError(t, UnmarshalValue(val, &c))
	assert.Equal(t, cart{
		Base:   Base{ID: 7, Note: "hi"},
		Items:  []item{{"A", 3, 10}, {"B", 0, 2.5}},
		Tags:   map[string]int{"x": 1, "5": 2},
		Secret: "keep",
		Total:  money{1998},
		Level:  4,
	}, c)
}

func TestUnmarshalValueObjectIntoStruct(t *testing.T) {
	o := NewObject("Pt")
	o.SetKey(MangledKey("X", Public, ""), Int(1))
	o.SetKey(MangledKey("Y", Protected, ""), Int(2))
	var p point
	require.NoError(t, UnmarshalValue(o, &p))
	assert.Equal(t, point{1, 2}, p)

	o.SetKey(MangledKey("z", Private, "Pt"), String("p"))
	var m map[string]any
	require.NoError(t, UnmarshalValue(o, &m))
	assert.Equal(t, map[string]any{"X": int64(1), "Y": int64(2), "z": "p"}, m)
}

func TestUnmarshalValueAny(t *testing.T) {
	o := NewObject("stdClass")
	val := arr(
		"n", Null{}, "b", Bool(true), "i", Int(-3), "f", Float(0.5), "s", String("x"),
		"list", list(Int(1), String("two")),
		"gap", arr(0, Int(1), 2, Int(3)),
		"assoc", arr("k", Int(1), 9, Int(2)),
		"obj", o,
		"enum", Enum{Class: "Suit", Case: "Hearts"},
		"ser", &Serializable{Class: "L", Payload: []byte("p")},
		"ref", &Reference{V: Int(5)},
	)
	var v any
	require.NoError(t, UnmarshalValue(val, &v))
	assert.Equal(t, map[string]any{
		"n": nil, "b": true, "i": int64(-3), "f": 0.5, "s": "x",
		"list":  []any{int64(1), "two"},
		"gap":   map[string]any{"0": int64(1), "2": int64(3)},
		"assoc": map[string]any{"k": int64(1), "9": int64(2)},
		"obj":   o,
		"enum":  Enum{Class: "Suit", Case: "Hearts"},
		"ser":   &Serializable{Class: "L", Payload: []byte("p")},
		"ref":   int64(5),
	}, v)

	// A list stays a list.
	require.NoError(t, UnmarshalValue(list(), &v))
	assert.Equal(t, []any{}, v)
}

func TestUnmarshalValueIntoCodecTypes(t *testing.T) {
	a := list(Int(1))
	var v Value
	require.NoError(t, UnmarshalValue(a, &v))
	assert.Same(t, a, v)
	var pa *Array
	require.NoError(t, UnmarshalValue(a, &pa))
	assert.Same(t, a, pa)
	var i Int
	require.NoError(t, UnmarshalValue(Int(3), &i))
	assert.Equal(t, Int(3), i)
	var s struct {
		Raw Value  `php:"raw"`
		Arr *Array `php:"arr"`
	}
	require.NoError(t, UnmarshalValue(arr("raw", String("r"), "arr", a), &s))
	assert.Equal(t, String("r"), s.Raw)
	assert.Same(t, a, s.Arr)
	// Wrong codec type: type error.
	err := UnmarshalValue(String("x"), &pa)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, err, &ute)
}

func TestUnmarshalValueScalarsAndErrors(t *testing.T) {
	var i8 int8
	err := UnmarshalValue(Int(300), &i8)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, err, &ute)
	assert.Equal(t, "int 300", ute.Value)
	assert.Equal(t, "codec: cannot unmarshal PHP int 300 into Go value of type int8", err.Error())

	var u uint
	require.ErrorAs(t, UnmarshalValue(Int(-1), &u), &ute)
	require.NoError(t, UnmarshalValue(Int(5), &u))
	assert.Equal(t, uint(5), u)

	var f32 float32
	require.ErrorAs(t, UnmarshalValue(Float(1e300), &f32), &ute)
	require.NoError(t, UnmarshalValue(Float(math.Inf(1)), &f32))
	assert.True(t, math.IsInf(float64(f32), 1))

	var f float64
	require.NoError(t, UnmarshalValue(Int(3), &f))
	assert.Equal(t, 3.0, f)
	require.ErrorAs(t, UnmarshalValue(String("3"), &f), &ute)

	var b []byte
	require.NoError(t, UnmarshalValue(String("\x00\xff"), &b))
	assert.Equal(t, []byte{0, 0xff}, b)

	var tx textish
	require.NoError(t, UnmarshalValue(String("T:z"), &tx))
	assert.Equal(t, "z", tx.s)
	var ue *UnmarshalerError
	require.ErrorAs(t, UnmarshalValue(String("zz"), &tx), &ue)

	var tm time.Time
	require.NoError(t, UnmarshalValue(String("2024-01-02T03:04:05Z"), &tm))
	assert.Equal(t, 2024, tm.Year())

	// Null resets pointers, maps and slices; leaves scalars.
	p := new(int)
	n := 5
	sl := []int{1}
	require.NoError(t, UnmarshalValue(Null{}, &p))
	require.NoError(t, UnmarshalValue(Null{}, &n))
	require.NoError(t, UnmarshalValue(Null{}, &sl))
	assert.Nil(t, p)
	assert.Equal(t, 5, n)
	assert.Nil(t, sl)

	// Pointers are allocated.
	var pp **int
	require.NoError(t, UnmarshalValue(Int(9), &pp))
	assert.Equal(t, 9, **pp)

	// Paths in errors; decoding continues after a type error.
	var c cart
	err = UnmarshalValue(arr("id", Int(1), "items", list(arr("qty", Int(256))), "level", Int(2)), &c)
	require.ErrorAs(t, err, &ute)
	assert.Equal(t, "items[0].qty", ute.Path)
	assert.Contains(t, err.Error(), "at items[0].qty")
	assert.Equal(t, level(2), c.Level)

	var m map[int]string
	require.ErrorAs(t, UnmarshalValue(arr("x", String("a")), &m), &ute)
	require.NoError(t, UnmarshalValue(arr(3, String("a"), "-4", String("b")), &m))
	assert.Equal(t, map[int]string{3: "a", -4: "b"}, m)

	// Invalid targets.
	var iue *InvalidUnmarshalError
	require.ErrorAs(t, UnmarshalValue(Int(1), nil), &iue)
	require.ErrorAs(t, UnmarshalValue(Int(1), n), &iue)
	require.ErrorAs(t, Unmarshal([]byte("i:1;"), (*int)(nil)), &iue)
}

func TestUnmarshalValueArrays(t *testing.T) {
	var a3 [3]int
	a3[2] = 9
	require.NoError(t, UnmarshalValue(list(Int(1), Int(2)), &a3))
	assert.Equal(t, [3]int{1, 2, 0}, a3)
	var a1 [1]int
	require.NoError(t, UnmarshalValue(list(Int(1), Int(2)), &a1))
	assert.Equal(t, [1]int{1}, a1)

	// A slice takes the values in order whatever the keys.
	var s []string
	require.NoError(t, UnmarshalValue(arr(5, String("a"), "k", String("b")), &s))
	assert.Equal(t, []string{"a", "b"}, s)

	// A reference to an array is followed.
	var r []int
	require.NoError(t, UnmarshalValue(&Reference{V: list(Int(4))}, &r))
	assert.Equal(t, []int{4}, r)
}

func TestStructInfoEmbeddingAndConflicts(t *testing.T) {
	type Inner struct {
		A int
		B int `php:"b"`
	}
	type Other struct {
		A int
	}
	type outer struct {
		Inner
		*Other
		B int `php:"b"` // shallower wins over Inner.B
		C int
	}
	si := cachedStructInfo(reflect.TypeFor[outer]())
	var names []string
	for _, f := range si.fields {
		names = append(names, f.name)
	}
	// Inner.A and Other.A conflict at the same depth, untagged: both dropped.
	assert.Equal(t, []string{"b", "C"}, names)

	got, err := Marshal(outer{Inner: Inner{A: 1, B: 2}, B: 3, C: 4})
	require.NoError(t, err)
	assert.Equal(t, `a:2:{s:1:"b";i:3;s:1:"C";i:4;}`, string(got))

	// Nil embedded pointer is skipped on encode and allocated on decode.
	type withPtr struct {
		*Base
		Z int
	}
	got, err = Marshal(withPtr{Z: 1})
	require.NoError(t, err)
	assert.Equal(t, `a:1:{s:1:"Z";i:1;}`, string(got))
	var wp withPtr
	require.NoError(t, UnmarshalValue(arr("id", Int(5)), &wp))
	require.NotNil(t, wp.Base)
	assert.Equal(t, 5, wp.ID)
}

func TestPHPIntKey(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "7": true, "-12": true, "9223372036854775807": true, "-9223372036854775808": true,
		"": false, "-": false, "-0": false, "07": false, "+1": false, " 1": false, "1.5": false,
		"9223372036854775808": false, "-9223372036854775809": false, "1e3": false,
	} {
		_, ok := phpIntKey(s)
		assert.Equal(t, want, ok, s)
		assert.Equal(t, want, StrKey(s).IsInt(), "StrKey agrees: %q", s)
	}
}

// TestMarshalRandomConsistency: for random Go values, Marshal equals
// EncodeValue(MarshalValue), the bytes decode, and the decoded PHP value
// is the one the documented mapping promises (the same expectation the
// PHP interop test checks against real PHP).
func TestMarshalRandomConsistency(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(7, 11))}
	for i := 0; i < 3000; i++ {
		v, want := g.value(0)
		b1, err := Marshal(v)
		require.NoError(t, err)
		val, err := MarshalValue(v)
		require.NoError(t, err)
		b2, err := EncodeValue(val)
		require.NoError(t, err)
		require.Equal(t, string(b1), string(b2), "%#v", v)
		dec, err := DecodeValue(b1, nil)
		require.NoError(t, err, "%q", b1)
		require.Equal(t, normJSON(t, want), normJSON(t, valueDump(dec, dumpSeen{}, 0)), "%q", b1)
		// And the bytes are canonical: re-encoding gives them back.
		b3, err := EncodeValue(dec)
		require.NoError(t, err)
		require.Equal(t, string(b1), string(b3))
	}
}

// TestUnmarshalRoundTrip: typed Go values survive Marshal → Unmarshal.
func TestUnmarshalRoundTrip(t *testing.T) {
	f := 2.5
	in := goRec{ID: -7, Name: "n\x00", Tags: []string{"a", "b"}, Ptr: &f,
		Items: []goItem{{"x", 65535}}, Extra: map[string]int{"10": 1, "a": 2}, Untagged: true}
	b, err := Marshal(in)
	require.NoError(t, err)
	var out goRec
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, in, out)

	type all struct {
		I8  int8
		U64 uint64
		F32 float32
		B   []byte
		A   [2]bool
		M   map[uint16]string
		P   **string
		Any any
		T   time.Time
		V   Value
		S   goStd
	}
	s := "p"
	ps := &s
	in2 := all{I8: -128, U64: math.MaxInt64, F32: 0.1, B: []byte{0, 1}, A: [2]bool{true, false},
		M: map[uint16]string{1: "a"}, P: &ps, Any: []any{int64(1), "x", map[string]any{"k": 1.5}},
		T: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), V: Enum{Class: "Suit", Case: "Hearts"}, S: goStd{1, "b"}}
	b, err = Marshal(in2)
	require.NoError(t, err)
	var out2 all
	require.NoError(t, Unmarshal(b, &out2))
	assert.Equal(t, in2, out2)
}

func TestUnmarshalRecursiveReference(t *testing.T) {
	// $a = [0 => 1]; $a[1] = &$a; (two self references)
	data := []byte(`a:1:{i:0;a:2:{i:0;R:2;i:1;R:2;}}`)
	var v any
	err := Unmarshal(data, &v)
	require.ErrorIs(t, err, ErrRecursive)
	type node struct{ Kids []node }
	var n node
	require.ErrorIs(t, Unmarshal([]byte(`a:1:{s:4:"Kids";a:1:{i:0;a:1:{s:4:"Kids";R:2;}}}`), &n), ErrRecursive)

	// Shared (not recursive) references give shared Go values, so a graph
	// that doubles at every level stays cheap.
	var sb strings.Builder
	const levels = 40
	for i := 0; i < levels; i++ {
		sb.WriteString("a:2:{i:0;")
	}
	sb.WriteString("i:7;")
	for i := levels; i > 0; i-- {
		// element 1 of each level refers to element 0 (value number 2*i... computed below)
		fmt.Fprintf(&sb, "i:1;R:%d;}", i+1)
	}
	val, err := DecodeValue([]byte(sb.String()), nil)
	require.NoError(t, err)
	require.NoError(t, UnmarshalValue(val, &v))
}

func TestMarshalSession(t *testing.T) {
	type sess struct {
		UserID int64          `php:"user_id"`
		Cart   []item         `php:"cart"`
		Prefs  map[string]any `php:"prefs,omitempty"`
	}
	in := sess{UserID: 5, Cart: []item{{"A", 1, 2.5}}}
	for _, h := range []Handler{PHP, PHPSerialize, PHPBinary} {
		s, err := MarshalSession(h, in)
		require.NoError(t, err)
		b, err := s.Encode()
		require.NoError(t, err)
		s2, err := DecodeSession(h, b, nil)
		require.NoError(t, err)
		var out sess
		require.NoError(t, UnmarshalSession(s2, &out))
		assert.Equal(t, in, out, h)
	}
	s, err := MarshalSession(PHP, in)
	require.NoError(t, err)
	b, _ := s.Encode()
	assert.Equal(t, `user_id|i:5;cart|a:1:{i:0;a:3:{s:3:"sku";s:1:"A";s:3:"qty";i:1;s:5:"price";d:2.5;}}`, string(b))

	_, err = MarshalSession(PHP, map[string]int{"a|b": 1})
	assert.ErrorIs(t, err, ErrInvalidName)
	_, err = MarshalSession(PHP, map[int]int{7: 1})
	assert.ErrorIs(t, err, ErrInvalidName)
	s, err = MarshalSession(PHPSerialize, map[int]int{7: 1})
	require.NoError(t, err)
	b, _ = s.Encode()
	assert.Equal(t, `a:1:{i:7;i:1;}`, string(b))
	_, err = MarshalSession(PHP, 5)
	assert.Error(t, err)
	_, err = MarshalSession("nope", in)
	assert.ErrorIs(t, err, ErrUnknownHandler)
	assert.Error(t, UnmarshalSession(s, nil))
}

func TestUnmarshalErrorPaths(t *testing.T) {
	var m map[string]cart
	err := UnmarshalValue(arr("a", arr("items", list(arr("qty", Int(1)), arr("qty", Int(-1))))), &m)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, err, &ute)
	assert.Equal(t, `"a".items[1].qty`, ute.Path)

	var m2 map[int][]cart
	err = UnmarshalValue(arr(7, list(arr("total", String("x")))), &m2)
	var ue *UnmarshalerError
	require.ErrorAs(t, err, &ue)
	assert.Equal(t, `7[0].total`, ue.Path)

	// The first type error is reported, with its own path, even when
	// later values fail too.
	var c cart
	err = UnmarshalValue(arr("id", String("x"), "items", list(arr("qty", Int(-1)))), &c)
	require.ErrorAs(t, err, &ute)
	assert.Equal(t, "id", ute.Path)

	var s struct {
		V any `php:"v"`
	}
	err = Unmarshal([]byte(`a:1:{s:1:"v";a:1:{i:0;a:2:{i:0;R:3;i:1;R:3;}}}`), &s)
	require.ErrorIs(t, err, ErrRecursive)
	assert.Contains(t, err.Error(), "at v")
}

func TestJSONTagOption(t *testing.T) {
	type trace struct {
		Step int    `json:"step"`
		Page string `json:"page"`
	}
	type sess struct {
		User  string         `php:"user"`
		Cart  []item         `php:"scart_items,json"`
		Trace []trace        `php:"trace_list_1,json,omitempty"`
		GA    map[string]any `php:"ga_data,json"`
	}
	in := sess{User: "u", Cart: []item{{"A", 1, 2.5}}, GA: map[string]any{"cid": "x"}}
	b, err := Marshal(in)
	require.NoError(t, err)
	// The JSON text uses encoding/json's rules (json tags, here none).
	assert.Equal(t, `a:3:{s:4:"user";s:1:"u";s:11:"scart_items";s:33:"[{"SKU":"A","Qty":1,"Price":2.5}]";s:7:"ga_data";s:11:"{"cid":"x"}";}`, string(b))
	var out sess
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, in, out)

	v, err := MarshalValue(in)
	require.NoError(t, err)
	b2, err := EncodeValue(v)
	require.NoError(t, err)
	assert.Equal(t, string(b), string(b2))

	// What PHP's json_encode() stored; a non-string is a type error; bad
	// JSON an UnmarshalerError naming the field.
	require.NoError(t, UnmarshalValue(arr("trace_list_1", String(`[{"step":2,"page":"\/cart"}]`)), &out))
	assert.Equal(t, []trace{{2, "/cart"}}, out.Trace)
	var ute *UnmarshalTypeError
	require.ErrorAs(t, UnmarshalValue(arr("ga_data", Int(1)), &out), &ute)
	assert.Equal(t, "ga_data", ute.Path)
	var ue *UnmarshalerError
	require.ErrorAs(t, UnmarshalValue(arr("scart_items", String(`not json`)), &out), &ue)
	assert.Equal(t, "scart_items", ue.Path)
}

func TestUnmarshalRoundTripEmbedded(t *testing.T) {
	in := goMixed{goInner: goInner{A: -5}, GoPtrEmbed: &GoPtrEmbed{B: "b"}, JS: []goItem{{SKU: "<&>", Qty: 2}},
		When: time.Unix(1700000000, 0).UTC(), Grid: [3]int8{1, 0, -1}, Flags: goFlags{3: true}}
	b, err := Marshal(in)
	require.NoError(t, err)
	var out goMixed
	require.NoError(t, Unmarshal(b, &out))
	assert.Equal(t, in, out)
	// Without the embedded pointer its field is absent, and stays nil.
	in.GoPtrEmbed = nil
	b, err = Marshal(in)
	require.NoError(t, err)
	assert.NotContains(t, string(b), `s:1:"b"`)
	var out2 goMixed
	require.NoError(t, Unmarshal(b, &out2))
	assert.Nil(t, out2.GoPtrEmbed)
}

func TestMarshalDeepNesting(t *testing.T) {
	var v any = 1
	for i := 0; i < maxMarshalDepth+10; i++ {
		v = []any{v}
	}
	_, err := Marshal(v)
	var uve *UnsupportedValueError
	require.ErrorAs(t, err, &uve)
	_, err = MarshalValue(v)
	require.ErrorAs(t, err, &uve)

	var ok any = 1
	for i := 0; i < 1000; i++ {
		ok = map[string]any{"k": ok}
	}
	b, err := Marshal(ok)
	require.NoError(t, err)
	var back any
	require.NoError(t, Unmarshal(b, &back))
}
