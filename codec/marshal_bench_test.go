package codec

import (
	"testing"
)

type benchItem struct {
	SKU     string  `php:"sku"`
	Name    string  `php:"name"`
	Qty     int     `php:"qty"`
	Price   float64 `php:"price"`
	Options struct {
		Color string `php:"color"`
		Size  int    `php:"size"`
	} `php:"options"`
}

type benchSession struct {
	Token  string         `php:"_token"`
	UserID int64          `php:"user_id"`
	Cart   []benchItem    `php:"cart"`
	Recent []int          `php:"recent_ids"`
	Prefs  map[string]any `php:"prefs"`
	Admin  bool           `php:"is_admin"`
}

func benchValue() benchSession {
	s := benchSession{Token: "k9XWq1m0ZbTtV3pUuYcA2hR8sLdNfGeJ7iOoPw4E", UserID: 18231,
		Prefs: map[string]any{"lang": "en", "currency": "EUR", "newsletter": false, "theme": nil}}
	for i := 0; i < 16; i++ {
		it := benchItem{SKU: "SKU-12345", Name: "Product x", Qty: i % 5, Price: 12.34 + float64(i)}
		it.Options.Color, it.Options.Size = "red", 40+i
		s.Cart = append(s.Cart, it)
	}
	for i := 0; i < 31; i++ {
		s.Recent = append(s.Recent, 1000+i)
	}
	return s
}

func BenchmarkMarshal(b *testing.B) {
	v := benchValue()
	out, _ := Marshal(&v)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalValue(b *testing.B) {
	v := benchValue()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalValue(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshal(b *testing.B) {
	v := benchValue()
	data, _ := Marshal(&v)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		var out benchSession
		if err := Unmarshal(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalValue(b *testing.B) {
	v := benchValue()
	data, _ := Marshal(&v)
	val, _ := DecodeValue(data, nil)
	b.ReportAllocs()
	for b.Loop() {
		var out benchSession
		if err := UnmarshalValue(val, &out); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionToJSON(b *testing.B) {
	v := benchValue()
	s, _ := MarshalSession(PHP, &v)
	data, _ := s.Encode()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := DecodeSession(PHP, data, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := SessionToJSON(s); err != nil {
			b.Fatal(err)
		}
	}
}
