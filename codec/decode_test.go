package codec

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestValueRoundTrip(t *testing.T) {
	// Each input is what PHP 8.2 serialize() writes; decode→encode must be identical.
	inputs := []string{
		`N;`, `b:1;`, `b:0;`, `i:0;`, `i:-9223372036854775808;`, `i:9223372036854775807;`,
		`d:0.1;`, `d:-0;`, `d:1.0E+25;`, `d:INF;`, `d:-INF;`, `d:NAN;`,
		`s:0:"";`, "s:5:\"a\x00\";|\";", `s:3:"ĳx";`,
		`a:0:{}`, `a:2:{i:0;i:1;i:1;i:2;}`, `a:2:{s:1:"b";i:1;s:1:"a";i:2;}`,
		`a:3:{i:5;i:1;i:1;i:2;i:-3;i:3;}`, `a:1:{s:3:"012";N;}`,
		`O:8:"stdClass":0:{}`,
		`O:4:"User":3:{s:3:"pub";i:1;s:7:"` + "\x00*\x00" + `prot";i:2;s:10:"` + "\x00User\x00" + `priv";i:3;}`,
		`O:5:"Magic":2:{s:1:"d";N;i:5;s:4:"five";}`,
		`C:6:"Legacy":28:{a:2:{i:0;i:1;i:1;s:3:"two";}}`,
		`E:11:"Suit:Hearts";`,
		`a:2:{i:0;E:11:"Suit:Spades";i:1;r:2;}`,
		`a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}`,
		`O:8:"stdClass":1:{s:4:"self";r:1;}`,
		`a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}`,
		`a:2:{i:0;i:1;i:1;R:2;}`,
		`a:3:{i:0;O:8:"stdClass":0:{}i:1;R:2;i:2;r:2;}`,
		// Serializable payloads share PHP's counter.
		`a:3:{i:0;C:1:"M":22:{a:2:{i:0;i:1;i:1;i:2;}}i:1;O:8:"stdClass":0:{}i:2;r:6;}`,
		`a:3:{i:0;C:1:"M":22:{a:2:{i:0;i:1;i:1;i:2;}}i:1;i:1;i:2;R:6;}`,
		`a:2:{i:0;O:8:"stdClass":0:{}i:1;C:1:"M":4:{r:2;}}`,
		`C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}`,
		// An opaque payload that happens to parse ("N;" returned verbatim by
		// the class): PHP numbered nothing inside it.
		`a:2:{i:0;C:6:"Legacy":2:{N;}i:1;O:8:"stdClass":1:{s:4:"self";r:3;}}`,
		`O:17:"DateTimeImmutable":3:{s:4:"date";s:26:"2024-01-02 03:04:05.678901";s:13:"timezone_type";i:3;s:8:"timezone";s:3:"UTC";}`,
	}
	for _, in := range inputs {
		v, err := DecodeValue([]byte(in), nil)
		if err != nil {
			t.Errorf("DecodeValue(%q): %v", in, err)
			continue
		}
		out, err := EncodeValue(v)
		if err != nil {
			t.Errorf("EncodeValue(%q): %v", in, err)
			continue
		}
		if string(out) != in {
			t.Errorf("round trip:\n got %q\nwant %q", out, in)
		}
		// A deep copy encodes the same.
		out2, err := EncodeValue(CopyValue(v))
		if err != nil || string(out2) != in {
			t.Errorf("copy round trip of %q: %q %v", in, out2, err)
		}
	}
}

func TestDecodeNormalises(t *testing.T) {
	tests := []struct{ in, want string }{
		{`i:+5;`, `i:5;`},
		{`i:-0;`, `i:0;`},
		{`i:007;`, `i:7;`},
		{`i:99999999999999999999;`, `i:9223372036854775807;`},
		{`i:-99999999999999999999;`, `i:-9223372036854775808;`},
		{`d:1e5;`, `d:100000;`},
		{`d:.5;`, `d:0.5;`},
		{`d:5.;`, `d:5;`},
		{`d:+1.5E+3;`, `d:1500;`},
		{`d:1e999;`, `d:INF;`},
		{`d:0.10000000000000001;`, `d:0.1;`},
		{`S:3:"\61bc";`, `s:3:"abc";`},
		{`S:2:"\5C\5c";`, `s:2:"\\";`},
		{`a:1:{s:1:"5";i:1;}`, `a:1:{i:5;i:1;}`},
		{`a:1:{s:2:"-5";i:1;}`, `a:1:{i:-5;i:1;}`},
		{`a:1:{s:2:"05";i:1;}`, `a:1:{s:2:"05";i:1;}`},
		{`a:1:{s:2:"-0";i:1;}`, `a:1:{s:2:"-0";i:1;}`},
		{`a:1:{s:19:"9223372036854775807";i:1;}`, `a:1:{i:9223372036854775807;i:1;}`},
		{`a:1:{s:19:"9223372036854775808";i:1;}`, `a:1:{s:19:"9223372036854775808";i:1;}`},
		{`a:1:{S:1:"\35";i:1;}`, `a:1:{i:5;i:1;}`},
		{`a:2:{i:0;i:1;i:0;i:2;}`, `a:1:{i:0;i:2;}`},
		{`a:3:{s:1:"a";i:1;s:1:"b";i:2;s:1:"a";i:3;}`, `a:2:{s:1:"a";i:3;s:1:"b";i:2;}`},
		{`a:2:{i:0;E:11:"Suit:Spades";i:1;E:11:"Suit:Spades";}`, `a:2:{i:0;E:11:"Suit:Spades";i:1;r:2;}`},
	}
	for _, tt := range tests {
		v, err := DecodeValue([]byte(tt.in), nil)
		if err != nil {
			t.Errorf("DecodeValue(%q): %v", tt.in, err)
			continue
		}
		out, err := EncodeValue(v)
		if err != nil || string(out) != tt.want {
			t.Errorf("%q: got %q (%v), want %q", tt.in, out, err, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		is     error
	}{
		{``, 0, ErrSyntax},
		{`N`, 0, ErrSyntax},
		{`X;`, 0, ErrSyntax},
		{`b:2;`, 2, ErrSyntax},
		{`i:;`, 2, ErrSyntax},
		{`i:1`, 3, ErrSyntax},
		{`i:1;x`, 4, ErrSyntax},
		{`d:inf;`, 2, ErrSyntax},
		{`d:+INF;`, 2, ErrSyntax},
		{`d:1e;`, 2, ErrSyntax},
		{`s:3:"ab";`, 5, ErrTooLarge},
		{`s:2:"ab"`, 5, ErrTooLarge},
		{`s:1:"ab";`, 6, ErrSyntax},
		{`s:-1:"";`, 2, ErrSyntax},
		{`s:99999999999999999999:"";`, 2, ErrTooLarge},
		{`a:2147483647:{`, 2, ErrTooLarge},
		{`a:214748364:{`, 13, ErrTooLarge},
		{`a:1000000:{i:0;i:1;}`, 11, ErrTooLarge},
		{`a:1:{i:0;i:1;`, 13, ErrSyntax},
		{`a:1:{d:1.5;i:1;}`, 5, ErrSyntax},
		{`a:1:{b:1;i:1;}`, 5, ErrSyntax},
		{`a:1:{N;i:1;}`, 5, ErrSyntax},
		{`a:1:{i:0;i:1;};`, 14, ErrSyntax},
		{`o:8:"stdClass":0:{}`, 0, ErrSyntax},
		{`O:0:"":0:{}`, 5, ErrSyntax},
		{`O:3:"a-b":0:{}`, 5, ErrSyntax},
		{`O:1:"\":0:{}`, 5, ErrSyntax},
		{`O:8:"stdClass":1:{i:0;}`, 18, ErrTooLarge},
		{`O:8:"stdClass":1:{i:0;     }`, 22, ErrSyntax},
		{`C:1:"M":5:{abc}`, 11, ErrTooLarge},
		{`C:1:"M":2:{abc}`, 13, ErrSyntax},
		{`C:1:"M":50:{abc}`, 12, ErrTooLarge},
		{`E:4:"Suit";`, 2, ErrSyntax},
		{`E:5:"Suit:";`, 2, ErrSyntax},
		{`R:1;`, 0, ErrSyntax},
		{`r:1;`, 0, ErrSyntax},
		{`a:1:{i:0;r:1;}`, 9, ErrSyntax},
		{`a:1:{i:0;R:0;}`, 9, ErrSyntax},
		{`a:1:{i:0;R:3;}`, 9, ErrSyntax},
		{`S:1:"\4";`, 5, ErrSyntax},
		{`S:1:"\4g";`, 5, ErrSyntax},
	}
	for _, tt := range tests {
		_, err := DecodeValue([]byte(tt.in), nil)
		if err == nil {
			t.Errorf("DecodeValue(%q): no error", tt.in)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: %T is not *SyntaxError", tt.in, err)
			continue
		}
		if !errors.Is(err, ErrSyntax) || !errors.Is(err, tt.is) {
			t.Errorf("%q: %v does not match %v", tt.in, err, tt.is)
		}
		if se.Offset != tt.offset {
			t.Errorf("%q: offset %d, want %d (%v)", tt.in, se.Offset, tt.offset, err)
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("%q: message %q names no offset", tt.in, err)
		}
	}
}

func nested(n int, inner string) string {
	return strings.Repeat("a:1:{i:0;", n) + inner + strings.Repeat("}", n)
}

func TestDepthLimit(t *testing.T) {
	if _, err := DecodeValue([]byte(nested(4096, "N;")), nil); err != nil {
		t.Fatalf("4096 levels: %v", err)
	}
	_, err := DecodeValue([]byte(nested(4097, "N;")), nil)
	if !errors.Is(err, ErrDepth) {
		t.Fatalf("4097 levels: %v", err)
	}
	if _, err := DecodeValue([]byte(nested(5000, "N;")), &Options{MaxDepth: -1}); err != nil {
		t.Fatalf("unlimited: %v", err)
	}
	if _, err := DecodeValue([]byte(nested(3, "N;")), &Options{MaxDepth: 2}); !errors.Is(err, ErrDepth) {
		t.Fatalf("MaxDepth 2: %v", err)
	}
	// Sessions: php starts each variable at depth 0 (like the PHP probe),
	// php_serialize spends one level on the session array.
	if _, err := DecodeSession(PHP, []byte("a|"+nested(4096, "N;")), nil); err != nil {
		t.Fatalf("php 4096: %v", err)
	}
	if _, err := DecodeSession(PHP, []byte("a|"+nested(4097, "N;")), nil); !errors.Is(err, ErrDepth) {
		t.Fatalf("php 4097: %v", err)
	}
	if _, err := DecodeSession(PHPSerialize, []byte("a:1:{i:0;"+nested(4095, "N;")+"}"), nil); err != nil {
		t.Fatalf("php_serialize 4095+1: %v", err)
	}
	if _, err := DecodeSession(PHPSerialize, []byte("a:1:{i:0;"+nested(4096, "N;")+"}"), nil); !errors.Is(err, ErrDepth) {
		t.Fatalf("php_serialize 4096+1: %v", err)
	}
}

func TestValueModel(t *testing.T) {
	a := NewArray()
	if k := a.Append(String("x")); k != 0 {
		t.Fatalf("Append = %d", k)
	}
	a.Set(StrKey("10"), Int(1)) // int key 10
	if k := a.Append(Null{}); k != 11 {
		t.Fatalf("Append after 10 = %d", k)
	}
	a.Set(StrKey("name"), String("v"))
	a.Set(IntKey(-5), Bool(true))
	neg := NewArray()
	neg.Set(IntKey(-5), Null{})
	if k := neg.Append(Null{}); k != -4 { // PHP 8.x
		t.Fatalf("Append after -5 = %d", k)
	}
	if !a.Delete(IntKey(11)) || a.Delete(IntKey(11)) {
		t.Fatal("Delete")
	}
	if k := a.Append(Null{}); k != 12 { // PHP does not reuse deleted keys
		t.Fatalf("Append after delete = %d", k)
	}
	a.Set(IntKey(0), String("y")) // keeps position
	b, err := EncodeValue(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `a:5:{i:0;s:1:"y";i:10;i:1;s:4:"name";s:1:"v";i:-5;b:1;i:12;N;}`
	if string(b) != want {
		t.Fatalf("got %s\nwant %s", b, want)
	}
	if v, ok := a.Get(StrKey("10")); !ok || v != Int(1) {
		t.Fatalf("Get(\"10\") = %v %v", v, ok)
	}
	full := NewArray()
	full.Set(IntKey(math.MaxInt64), Null{})
	if k := full.Append(Null{}); k != math.MinInt64 || full.Len() != 1 {
		t.Fatalf("Append on full array = %d", k)
	}
	// Big arrays use an index.
	big := NewArray()
	for i := 0; i < 100; i++ {
		big.Set(StrKey("k"+string(rune('a'+i%26))+string(rune('a'+i/26))), Int(i))
	}
	if v, ok := big.Get(StrKey("kzc")); !ok || v != Int(77) {
		t.Fatalf("big Get = %v %v", v, ok)
	}
	big.Delete(StrKey("kaa"))
	if v, ok := big.Get(StrKey("kzc")); !ok || v != Int(77) || big.Len() != 99 {
		t.Fatalf("big Get after delete = %v %v", v, ok)
	}

	// Objects: visibility from mangled names.
	v, err := DecodeValue([]byte(`O:5:"Child":4:{s:5:"extra";a:1:{i:0;i:1;}s:11:"`+"\x00Child\x00"+`priv";s:13:"child-private";s:7:"`+"\x00*\x00"+`prot";i:2;s:10:"`+"\x00User\x00"+`priv";i:3;}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := v.(*Object)
	ms := o.Members()
	if len(ms) != 4 || ms[1].Visibility != Private || ms[1].Class != "Child" || ms[1].Name != "priv" ||
		ms[2].Visibility != Protected || ms[2].Name != "prot" || ms[0].Visibility != Public {
		t.Fatalf("members %+v", ms)
	}
	if p, ok := o.Get("prot"); !ok || p != Int(2) {
		t.Fatalf("Get prot = %v", p)
	}
	if p, ok := o.Get("priv"); !ok || p != String("child-private") {
		t.Fatalf("Get priv = %v", p)
	}
	o.Set("prot", Int(20))
	o.Set("dyn", Null{})
	if v, _ := o.GetKey(MangledKey("prot", Protected, "")); v != Int(20) {
		t.Fatal("Set did not keep the protected member")
	}
	if o.Len() != 5 {
		t.Fatalf("Len %d", o.Len())
	}
}

func TestEncodeErrors(t *testing.T) {
	if _, err := EncodeValue(NewObject("bad name")); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad class: %v", err)
	}
	a := NewArray()
	a.Append(a) // cycle without a reference: not expressible in PHP
	if _, err := EncodeValue(a); !errors.Is(err, ErrDepth) {
		t.Fatalf("cyclic array: %v", err)
	}
	type other struct{ Value }
	if _, err := EncodeValue(other{Null{}}); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("unknown type: %v", err)
	}
	// A reference cycle is fine.
	r := &Reference{}
	b := NewArray()
	b.Append(Int(1))
	b.Append(r)
	r.V = b
	out, err := EncodeValue(NewArrayOf(Int(1), r))
	if err != nil || string(out) != `a:2:{i:0;i:1;i:1;a:2:{i:0;i:1;i:1;R:3;}}` {
		t.Fatalf("reference cycle: %s %v", out, err)
	}
}

// TestDecodeDuplicateKeys: duplicates anywhere (small and large arrays,
// objects) keep the first position and the last value, like PHP.
func TestDecodeDuplicateKeys(t *testing.T) {
	for _, n := range []int{3, 20, 63, 64, 65, 200} {
		for _, intKeys := range []bool{false, true} {
			key := func(i int) string {
				if intKeys {
					return "i:" + itoa(i*37%n) + ";"
				}
				s := "k" + itoa(i)
				return `s:` + itoa(len(s)) + `:"` + s + `";`
			}
			var in strings.Builder
			in.WriteString("a:" + itoa(n+n/2) + ":{")
			for i := 0; i < n; i++ {
				in.WriteString(key(i) + "i:" + itoa(i) + ";")
			}
			for i := 0; i < n/2; i++ {
				in.WriteString(key(i*2) + "i:" + itoa(1000+i) + ";")
			}
			in.WriteString("}")
			v, err := DecodeValue([]byte(in.String()), nil)
			if err != nil {
				t.Fatal(err)
			}
			a := v.(*Array)
			if a.Len() != n {
				t.Fatalf("n=%d int=%v: Len %d", n, intKeys, a.Len())
			}
			for i := 0; i < n; i++ {
				k, val := a.At(i)
				want := Int(i)
				if i%2 == 0 && i/2 < n/2 {
					want = Int(1000 + i/2)
				}
				if val != want {
					t.Fatalf("n=%d int=%v: element %d (%v) = %v, want %v", n, intKeys, i, k, val, want)
				}
			}
			// Object members too.
			o, err := DecodeValue([]byte(`O:8:"stdClass":`+in.String()[2:]), nil)
			if err != nil {
				t.Fatal(err)
			}
			if o.(*Object).Len() != n {
				t.Fatalf("object n=%d: Len %d", n, o.(*Object).Len())
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
