package phpsession

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var validRe = regexp.MustCompile(`^[A-Za-z0-9,-]{1,256}$`)

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"abc", true}, {"3d4ef09de403e9bae3f4abd929ca7a7c", true}, {"uBOP,Gbl1spRtZI4Gj21m6103i-ItDPUQiGm6cd0SzKqJ3rZ", true},
		{"a", true}, {strings.Repeat("a", 256), true}, {strings.Repeat("a", 257), false},
		{"", false}, {"a b", false}, {"a\r\n", false}, {"a_LOCK", false}, {"a:b", false}, {"a*", false},
		{"é", false}, {"a\x00", false}, {"../x", false},
	} {
		require.Equal(t, tc.ok, ValidID(tc.id), "%q", tc.id)
		err := ValidateID(tc.id)
		if tc.ok {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, ErrInvalidID)
			require.ErrorIs(t, err, ErrSession)
		}
	}
}

func FuzzValidID(f *testing.F) {
	for _, s := range []string{"abc", "", "a b", strings.Repeat("z", 300), "a,b-C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidID(s) != validRe.MatchString(s) {
			t.Fatalf("ValidID(%q) = %v, regexp says %v", s, ValidID(s), !ValidID(s))
		}
	})
}

func TestGenerateID(t *testing.T) {
	for _, tc := range []struct {
		length, bits int
		re           string
	}{
		{32, 4, `^[0-9a-f]{32}$`},
		{26, 5, `^[0-9a-v]{26}$`},
		{48, 6, `^[0-9a-zA-Z,-]{48}$`},
		{256, 6, `^[0-9a-zA-Z,-]{256}$`},
		{22, 4, `^[0-9a-f]{22}$`},
	} {
		re := regexp.MustCompile(tc.re)
		seen := map[string]bool{}
		for i := 0; i < 200; i++ {
			id, err := GenerateID(tc.length, tc.bits)
			require.NoError(t, err)
			require.Regexp(t, re, id)
			require.True(t, ValidID(id))
			require.False(t, seen[id])
			seen[id] = true
		}
	}
	require.Regexp(t, `^[0-9a-f]{32}$`, NewID())
	for _, bad := range [][2]int{{21, 4}, {257, 4}, {32, 3}, {32, 7}} {
		_, err := GenerateID(bad[0], bad[1])
		require.True(t, errors.Is(err, ErrInvalidID), "%v", bad)
	}
}

// TestEncodeIDMatchesPHP checks the bit packing against PHP's
// bin_to_readable on fixed input bytes (little-endian-first groups).
func TestEncodeIDMatchesPHP(t *testing.T) {
	in := []byte{0x00, 0xff, 0x12, 0x34, 0x56, 0x78}
	// 4 bits: low nibble first
	require.Equal(t, "00ff21436587", encodeID(in, 12, 4)[:12])
	// 6 bits: bytes 00 ff 12 → bits (LSB first) → groups 0, 60, 63, 18/…
	// computed by hand: w=0x00 → 0 ('0'); w=0xff<<2... see PHP session.c
	got := encodeID([]byte{0xff, 0xff, 0xff}, 4, 6)
	require.Equal(t, "----", got)
	got = encodeID([]byte{0x01, 0x00, 0x00}, 4, 6)
	require.Equal(t, "1000", got)
	got = encodeID([]byte{0x40, 0x00, 0x00}, 4, 6) // bit 6 set → group 1 = 1
	require.Equal(t, "0100", got)
	got = encodeID([]byte{0x1f}, 1, 5)
	require.Equal(t, "v", got)
}

// FuzzValidCookieID: ValidCookieID agrees with the documented alphabets
// and lengths for every bits-per-character setting.
func FuzzValidCookieID(f *testing.F) {
	for _, s := range []string{strings.Repeat("a", 22), strings.Repeat("z", 300), strings.Repeat("0", 21), strings.Repeat("A,-9", 10), ""} {
		f.Add(s, 4)
		f.Add(s, 0)
	}
	res := map[int]*regexp.Regexp{
		0: regexp.MustCompile(`^[0-9a-zA-Z,-]{22,256}$`),
		4: regexp.MustCompile(`^[0-9a-f]{22,256}$`),
		5: regexp.MustCompile(`^[0-9a-v]{22,256}$`),
		6: regexp.MustCompile(`^[0-9a-zA-Z,-]{22,256}$`),
	}
	f.Fuzz(func(t *testing.T, s string, bits int) {
		want := false
		if re, ok := res[bits]; ok {
			want = re.MatchString(s)
		}
		if got := ValidCookieID(s, bits); got != want {
			t.Fatalf("ValidCookieID(%q, %d) = %v, want %v", s, bits, got, want)
		}
	})
}
