package redact

import (
	"strings"
	"testing"
)

func TestID(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "…"},
		{"abc", "…"},
		{"abcd", "a…"},
		{"3d4ef09de403e9bae3f4abd929ca7a7c", "3d4ef0…"},
		{strings.Repeat("z", 256), "zzzzzz…"},
		{"vm|12685", "vm…"},
		{"a\nbc\"def", "a?…"},
		{"ééééé", "??…"},
	} {
		if got := ID(tc.in); got != tc.want {
			t.Errorf("ID(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzID(f *testing.F) {
	f.Add("3d4ef09de403e9bae3f4abd929ca7a7c")
	f.Add("é\x00")
	f.Fuzz(func(t *testing.T, s string) {
		r := ID(s)
		shown := strings.TrimSuffix(r, "…")
		if len(shown) > MaxShown || len(shown) > len(s)/4 {
			t.Fatalf("ID(%q) = %q shows too much", s, r)
		}
		if len(s) >= 8 && strings.Contains(r, s) {
			t.Fatalf("ID(%q) = %q contains the secret", s, r)
		}
	})
}
