package codec

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/phpsession/phpsession/internal/testenv"
)

// goGen builds random value graphs with the value model.
type goGen struct {
	r    *rand.Rand
	objs []*Object
	refs []*Reference
}

func (g *goGen) str() string {
	n := g.r.IntN(10)
	if g.r.IntN(4) == 0 {
		n = g.r.IntN(40)
	}
	b := make([]byte, n)
	for i := range b {
		if g.r.IntN(5) == 0 {
			b[i] = byte(g.r.IntN(256))
		} else {
			b[i] = byte(32 + g.r.IntN(95))
		}
	}
	return string(b)
}

func (g *goGen) key() Key {
	switch g.r.IntN(5) {
	case 0:
		return IntKey(int64(g.r.IntN(100) - 10))
	case 1:
		return StrKey(strconv.Itoa(g.r.IntN(200) - 100)) // becomes an int key, as in PHP
	default:
		return StrKey(g.str())
	}
}

func (g *goGen) float() Float {
	switch g.r.IntN(4) {
	case 0:
		return Float(math.Float64frombits(g.r.Uint64()))
	case 1:
		return Float(g.r.Float64() * math.Pow(10, float64(g.r.IntN(40)-20)))
	case 2:
		return Float([]float64{math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.1, 1e17, 1e-5}[g.r.IntN(6)])
	}
	return Float(float64(g.r.IntN(100000)) / 100)
}

func (g *goGen) value(depth int) Value {
	max := 12
	if depth > 3 {
		max = 6
	}
	switch g.r.IntN(max) {
	case 0:
		return Null{}
	case 1:
		return Bool(g.r.IntN(2) == 0)
	case 2:
		return Int(g.r.Int64() >> g.r.IntN(64))
	case 3:
		return g.float()
	case 4, 5:
		return String(g.str())
	case 6, 7:
		a := NewArray()
		for i, n := 0, g.r.IntN(6); i < n; i++ {
			if g.r.IntN(2) == 0 {
				a.Append(g.value(depth + 1))
			} else {
				a.Set(g.key(), g.value(depth+1))
			}
		}
		return a
	case 8:
		if len(g.objs) > 0 && g.r.IntN(2) == 0 {
			return g.objs[g.r.IntN(len(g.objs))]
		}
		o := NewObject([]string{"stdClass", "GoThing", `App\Models\GoModel`}[g.r.IntN(3)])
		for i, n := 0, g.r.IntN(4); i < n; i++ {
			name := "p" + strconv.Itoa(g.r.IntN(6))
			if o.Class == "stdClass" {
				o.Set(name, g.value(depth+1))
			} else {
				o.SetKey(MangledKey(name, Visibility(g.r.IntN(3)), o.Class), g.value(depth+1))
			}
		}
		if g.r.IntN(6) == 0 {
			o.Set("self", o)
		}
		g.objs = append(g.objs, o)
		return o
	case 9:
		return Enum{"Suit", []string{"Hearts", "Spades"}[g.r.IntN(2)]}
	case 10:
		if len(g.refs) > 0 && g.r.IntN(2) == 0 {
			return g.refs[g.r.IntN(len(g.refs))]
		}
		r := &Reference{V: g.value(depth + 1)}
		g.refs = append(g.refs, r)
		return r
	}
	// An opaque payload (not serialize() output), kept verbatim by the
	// GoLegacy class defined in the PHP script.
	return &Serializable{Class: "GoLegacy", Payload: []byte("#" + g.str())}
}

// TestGoEncodedReadByPHP: sessions built from Go values are encoded under
// each handler, PHP decodes them (session_decode) and prints
// serialize($_SESSION); that must equal codec's php_serialize encoding of
// the same session, i.e. PHP reads exactly the values Go meant.
func TestGoEncodedReadByPHP(t *testing.T) {
	php := testenv.RequirePHP(t)
	g := &goGen{r: rand.New(rand.NewPCG(7, 9))}
	type item struct {
		h    Handler
		data []byte
		want []byte
	}
	var items []item
	for i := 0; i < 200; i++ {
		g.objs, g.refs = nil, nil
		h := []Handler{PHP, PHPBinary, PHPSerialize}[i%3]
		s := NewSession(h)
		for j, n := 0, 1+g.r.IntN(6); j < n; j++ {
			if err := s.Set("v"+strconv.Itoa(j)+g.str()[:0], g.value(0)); err != nil {
				t.Fatal(err)
			}
		}
		data, err := s.Encode()
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Convert(PHPSerialize)
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.Encode()
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, item{h, data, want})
	}
	var in strings.Builder
	for _, it := range items {
		in.WriteString(string(it.h) + " " + hex.EncodeToString(it.data) + "\n")
	}
	script := `enum Suit { case Hearts; case Spades; }
class GoLegacy implements Serializable { public $p;
    function serialize() { return $this->p; } function unserialize($s) { $this->p = $s; } }
while (($l = fgets(STDIN)) !== false) {
    [$h, $hex] = explode(" ", trim($l) . " ");
    ini_set("session.serialize_handler", $h);
    session_id("goenc"); session_start(); $_SESSION = [];
    $ok = session_decode(hex2bin($hex));
    $out[] = ($ok ? "OK " : "FAIL ") . bin2hex(serialize($_SESSION));
    session_abort();
}
echo implode("\n", $out), "\n";`
	cmd := exec.Command(php, "-n", "-d", "session.save_handler=files", "-d", "session.save_path="+t.TempDir(),
		"-d", "session.use_cookies=0", "-d", "error_reporting=0", "-r", script)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("php: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(items) {
		t.Fatalf("php printed %d lines for %d sessions", len(lines), len(items))
	}
	for i, l := range lines {
		ok, hx, _ := strings.Cut(l, " ")
		got, _ := hex.DecodeString(hx)
		if ok != "OK" || string(got) != string(items[i].want) {
			t.Errorf("session %d (%s) %q:\nPHP %s %q\nwant   %q", i, items[i].h, items[i].data, ok, got, items[i].want)
		}
	}
}
