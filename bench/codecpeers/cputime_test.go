package codecpeers

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	stlong5 "github.com/stlong5/phpserialize"
	trim21 "github.com/trim21/go-phpserialize"
	yvasiyarov "github.com/yvasiyarov/php_session_decoder"
	yvser "github.com/yvasiyarov/php_session_decoder/php_serialize"

	"github.com/phpsession/phpsession/codec"
)

// TestCPUTime measures process CPU time (user+system, all threads, so GC
// work counts) per operation, which is far less disturbed than wall time
// when other jobs share the machine. Each case runs in rounds
// interleaved with the other cases; the table shows the minimum and the
// median over the rounds and their ratios to the first (codec) case of
// each group (above 1: the codec is faster).
//
//	CODECPEERS_CPUTIME=1 go test -run TestCPUTime -v
func TestCPUTime(t *testing.T) {
	if os.Getenv("CODECPEERS_CPUTIME") == "" {
		t.Skip("set CODECPEERS_CPUTIME=1")
	}
	ser := fixture(t, "php_serialize")
	serStr := string(ser)
	php := fixture(t, "php")
	phpStr := string(php)
	decoded, err := codec.DecodeValue(ser, nil)
	if err != nil {
		t.Fatal(err)
	}
	var typed session
	if err := codec.Unmarshal(ser, &typed); err != nil {
		t.Fatal(err)
	}
	stv, _ := stlong5.Unmarshal(serStr)
	yvv, _ := yvser.UnSerialize(serStr)
	var trimTyped session
	if err := trim21.Unmarshal(ser, &trimTyped); err != nil {
		t.Fatal(err)
	}

	type kase struct {
		group, name string
		fn          func()
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	var buf []byte
	// A session split once (as the coordinator's memo keeps it); each
	// access clones it (O(variables), raw bytes shared) and decodes one value.
	split, err := codec.DecodeSession(codec.PHP, php, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []kase{
		{"decode php_serialize", "codec DecodeValue", func() { _, err := codec.DecodeValue(ser, nil); must(err) }},
		{"decode php_serialize", "stlong5", func() { _, err := stlong5.Unmarshal(serStr); must(err) }},
		{"decode php_serialize", "trim21 any", func() { var v any; must(trim21.Unmarshal(ser, &v)) }},
		{"decode php_serialize", "yvasiyarov", func() { _, err := yvser.UnSerialize(serStr); must(err) }},
		{"decode to struct", "codec Unmarshal", func() { var s session; must(codec.Unmarshal(ser, &s)) }},
		{"decode to struct", "trim21", func() { var s session; must(trim21.Unmarshal(ser, &s)) }},
		{"php session, all keys", "codec DecodeSession+Get all", func() {
			s, err := codec.DecodeSession(codec.PHP, php, nil)
			must(err)
			for _, k := range s.Keys() {
				_, _, err := s.GetKey(k)
				must(err)
			}
		}},
		{"php session, all keys", "codec DecodeSessionString+all", func() {
			s, err := codec.DecodeSessionString(codec.PHP, phpStr, nil)
			must(err)
			for _, k := range s.Keys() {
				_, _, err := s.GetKey(k)
				must(err)
			}
		}},
		{"php session, all keys", "yvasiyarov", func() { _, err := yvasiyarov.NewPhpDecoder(phpStr).Decode(); must(err) }},
		{"php session, one key", "codec DecodeSession+Get one", func() {
			s, err := codec.DecodeSession(codec.PHP, php, nil)
			must(err)
			_, _, err = s.Get("user")
			must(err)
		}},
		{"php session, one key", "codec DecodeSessionString+one", func() {
			s, err := codec.DecodeSessionString(codec.PHP, phpStr, nil)
			must(err)
			_, _, err = s.Get("user")
			must(err)
		}},
		{"php session, one key", "codec split once: Clone+Get one", func() {
			s := split.Clone()
			_, _, err := s.Get("user")
			must(err)
		}},
		{"encode php_serialize", "codec AppendValue", func() { buf, err = codec.AppendValue(buf[:0], decoded); must(err) }},
		{"encode php_serialize", "stlong5", func() { _, err := stlong5.Marshal(stv); must(err) }},
		{"encode php_serialize", "yvasiyarov", func() { _, err := yvser.Serialize(yvv); must(err) }},
		{"encode from struct", "codec Marshal", func() { _, err := codec.Marshal(&typed); must(err) }},
		{"encode from struct", "trim21", func() { _, err := trim21.Marshal(&trimTyped); must(err) }},
	}
	const rounds = 9
	results := make([][]float64, len(cases))
	for _, c := range cases { // warm up
		for range 200 {
			c.fn()
		}
	}
	for range rounds {
		for i, c := range cases {
			n := 300
			t0 := cpuNow()
			for range n {
				c.fn()
			}
			results[i] = append(results[i], float64(cpuNow()-t0)/float64(n))
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%-22s %-30s %10s %10s %9s %9s\n", "operation", "library", "min ns/op", "median", "ratio min", "ratio med")
	base := map[string]float64{}
	baseMin := map[string]float64{}
	for i, c := range cases {
		r := slices.Clone(results[i])
		slices.Sort(r)
		med := r[len(r)/2]
		if _, ok := base[c.group]; !ok {
			base[c.group], baseMin[c.group] = med, r[0]
		}
		fmt.Fprintf(&sb, "%-22s %-30s %10.0f %10.0f %8.2fx %8.2fx\n", c.group, c.name, r[0], med, r[0]/baseMin[c.group], med/base[c.group])
	}
	t.Log(sb.String())
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
