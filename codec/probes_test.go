package codec

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

type probe struct {
	handler Handler
	in      string
	ok      bool
	session string // serialize($_SESSION) PHP printed when ok
	line    int
}

// unescapeProbe undoes the probe file's escaping: \\, \" and \xHH.
func unescapeProbe(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch s[i+1] {
		case '\\', '"':
			b.WriteByte(s[i+1])
			i++
		case 'x':
			if i+3 >= len(s) {
				return "", false
			}
			v, err := strconv.ParseUint(s[i+2:i+4], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(v))
			i += 3
		default:
			return "", false
		}
	}
	return b.String(), true
}

func loadProbes(t *testing.T) []probe {
	f, err := os.Open("testdata/decode_probes_php82.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ps []probe
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	ln := 0
	for sc.Scan() {
		ln++
		line := sc.Text()
		if strings.HasPrefix(line, " ") || line == "" {
			if len(ps) > 0 && strings.Contains(line, "-> ") {
				p := &ps[len(ps)-1]
				rest := strings.TrimSpace(line)[3:]
				p.ok = strings.HasPrefix(rest, "true")
				if i := strings.Index(rest, `$_SESSION="`); i >= 0 && p.ok {
					s := rest[i+len(`$_SESSION="`):]
					s = strings.TrimSuffix(s, `"`)
					p.session, _ = unescapeProbe(s)
				}
			}
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		in := strings.TrimPrefix(line[len(fs[0]):], " ")
		in = strings.TrimSpace(in)
		if !strings.HasPrefix(in, `in="`) {
			continue
		}
		in = strings.TrimSuffix(strings.TrimPrefix(in, `in="`), `"`)
		if strings.Contains(in, "...(") { // truncated deep-nesting probes: see TestDepthLimit
			ps = append(ps, probe{handler: "skip"})
			continue
		}
		u, ok := unescapeProbe(in)
		if !ok {
			t.Fatalf("line %d: bad escape %q", ln, in)
		}
		ps = append(ps, probe{handler: Handler(fs[0]), in: u, line: ln})
	}
	return ps
}

// probeDifferences are the documented places where this decoder knowingly
// differs from PHP 8.2's session_decode().
var probeDifferences = map[string]string{
	// PHP fails because the enum case does not exist in the running program;
	// codec has no class table and keeps the case.
	`a|E:10:"Suit:Clubs";`: "accept",
	// PHP makes $_SESSION a scalar; codec rejects a non-array php_serialize session.
	`i:5;`: "reject",
}

// Accepted values whose re-encoding differs from PHP's by design: PHP
// converts int member keys to strings and C: ArrayObject to O:; codec keeps
// the bytes as written.
var probeReencodeDiff = map[string]bool{
	`a|O:8:"stdClass":1:{i:0;i:1;}`:                        true,
	`a|C:11:"ArrayObject":21:{x:i:0;a:0:{};m:a:0:{}}`:      true,
	`a|O:7:"Missing":0:{}`:                                 false,
	`a:1:{s:1:"a";i:1;}garbage`:                            false,
	`a|E:10:"Suit:Clubs";`:                                 true,
	"a|a:1:{i:0;a:1:{i:0;a:1:{i:0;a:1:{i:0;a:1:{i:0;a:1:{": true,
}

func TestDecodeProbesPHP82(t *testing.T) {
	ps := loadProbes(t)
	if len(ps) < 50 {
		t.Fatalf("only %d probes parsed", len(ps))
	}
	for _, p := range ps {
		if p.handler == "skip" {
			continue
		}
		t.Run(strconv.Itoa(p.line), func(t *testing.T) {
			s, err := DecodeSession(p.handler, []byte(p.in), nil)
			want := p.ok
			switch probeDifferences[p.in] {
			case "accept":
				want = true
			case "reject":
				want = false
			}
			if (err == nil) != want {
				t.Fatalf("%s %q: err=%v, PHP accepted=%v", p.handler, p.in, err, p.ok)
			}
			if err != nil {
				var se *SyntaxError
				if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
					t.Fatalf("error %v is not a *SyntaxError", err)
				}
				return
			}
			if !p.ok || probeReencodeDiff[p.in] {
				return
			}
			// What PHP holds in $_SESSION, as php_serialize.
			c, err := s.Convert(PHPSerialize)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != p.session {
				t.Fatalf("%q: $_SESSION\n got %q\nwant %q", p.in, got, p.session)
			}
		})
	}
}
