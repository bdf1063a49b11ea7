package main

// Human rendering of PHP values, in the spirit of PHP's var_dump: types
// and lengths shown, objects with their class and member visibility,
// references and repeated objects labelled, binary strings escaped.

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/phpsession/phpsession/codec"
)

const maxPrettyDepth = 512

type pretty struct {
	b     strings.Builder
	count map[any]int // occurrences of identity-bearing values
	label map[any]int // label of those occurring more than once
	shown map[any]bool
	next  int
}

func newPretty(vals ...codec.Value) *pretty {
	p := &pretty{count: map[any]int{}, label: map[any]int{}, shown: map[any]bool{}}
	for _, v := range vals {
		p.countValue(v, 0)
	}
	return p
}

func identityOf(v codec.Value) (any, bool) {
	switch x := v.(type) {
	case *codec.Reference:
		return x, x != nil
	case *codec.Object:
		return x, x != nil
	case *codec.Serializable:
		return x, x != nil
	}
	return nil, false
}

func (p *pretty) countValue(v codec.Value, depth int) {
	if depth > maxPrettyDepth {
		return
	}
	if id, ok := identityOf(v); ok {
		p.count[id]++
		if p.count[id] > 1 {
			return
		}
	}
	switch x := v.(type) {
	case *codec.Reference:
		p.countValue(x.V, depth+1)
	case *codec.Array:
		x.Range(func(_ codec.Key, e codec.Value) bool { p.countValue(e, depth+1); return true })
	case *codec.Object:
		x.Range(func(_ codec.Member, e codec.Value) bool { p.countValue(e, depth+1); return true })
	}
}

// labelOf returns the label of an identity that occurs more than once
// (assigning one at the first occurrence), or 0.
func (p *pretty) labelOf(id any) int {
	if p.count[id] < 2 {
		return 0
	}
	if l, ok := p.label[id]; ok {
		return l
	}
	p.next++
	p.label[id] = p.next
	return p.next
}

func (p *pretty) indent(n int) {
	for i := 0; i < n; i++ {
		p.b.WriteString("  ")
	}
}

// value writes v at nesting level depth (the first line is not indented).
func (p *pretty) value(v codec.Value, depth int) {
	if depth > maxPrettyDepth {
		p.b.WriteString("*DEPTH LIMIT*")
		return
	}
	if id, ok := identityOf(v); ok {
		l := p.labelOf(id)
		if p.shown[id] {
			switch x := v.(type) {
			case *codec.Reference:
				fmt.Fprintf(&p.b, "&%d (reference, see above)", l)
			case *codec.Object:
				fmt.Fprintf(&p.b, "*object(%s)#%d (same object, see above)", x.Class, l)
			case *codec.Serializable:
				fmt.Fprintf(&p.b, "*serializable(%s)#%d (same object, see above)", x.Class, l)
			}
			return
		}
		p.shown[id] = true
		if r, isRef := v.(*codec.Reference); isRef {
			if l > 0 {
				fmt.Fprintf(&p.b, "&%d ", l)
			} else {
				p.b.WriteString("&")
			}
			p.value(r.V, depth)
			return
		}
	}
	switch x := v.(type) {
	case nil:
		p.b.WriteString("null")
	case codec.Null:
		p.b.WriteString("null")
	case codec.Bool:
		fmt.Fprintf(&p.b, "bool(%t)", bool(x))
	case codec.Int:
		fmt.Fprintf(&p.b, "int(%d)", int64(x))
	case codec.Float:
		p.b.WriteString("float(")
		p.b.Write(codec.FormatFloat(nil, float64(x)))
		p.b.WriteString(")")
	case codec.String:
		fmt.Fprintf(&p.b, "string(%d) %s", len(x), quotePHP(string(x)))
	case codec.Enum:
		fmt.Fprintf(&p.b, "enum(%s::%s)", x.Class, x.Case)
	case *codec.Enum:
		fmt.Fprintf(&p.b, "enum(%s::%s)", x.Class, x.Case)
	case *codec.Serializable:
		p.b.WriteString("serializable(" + x.Class + ")")
		if l := p.label[x]; l > 0 {
			fmt.Fprintf(&p.b, "#%d", l)
		}
		fmt.Fprintf(&p.b, " payload(%d) %s", len(x.Payload), quotePHP(string(x.Payload)))
	case codec.Serializable:
		fmt.Fprintf(&p.b, "serializable(%s) payload(%d) %s", x.Class, len(x.Payload), quotePHP(string(x.Payload)))
	case *codec.Array:
		fmt.Fprintf(&p.b, "array(%d) {", x.Len())
		if x.Len() == 0 {
			p.b.WriteString("}")
			return
		}
		p.b.WriteString("\n")
		x.Range(func(k codec.Key, e codec.Value) bool {
			p.indent(depth + 1)
			p.b.WriteString("[" + keyText(k) + "] => ")
			p.value(e, depth+1)
			p.b.WriteString("\n")
			return true
		})
		p.indent(depth)
		p.b.WriteString("}")
	case *codec.Object:
		p.b.WriteString("object(" + x.Class + ")")
		if l := p.label[x]; l > 0 {
			fmt.Fprintf(&p.b, "#%d", l)
		}
		fmt.Fprintf(&p.b, " (%d) {", x.Len())
		if x.Len() == 0 {
			p.b.WriteString("}")
			return
		}
		p.b.WriteString("\n")
		x.Range(func(m codec.Member, e codec.Value) bool {
			p.indent(depth + 1)
			switch {
			case m.Key.IsInt():
				fmt.Fprintf(&p.b, "[%d] => ", m.Key.Int())
			case m.Visibility == codec.Private:
				p.b.WriteString("private(" + m.Class + ") $" + nameText(m.Name) + " => ")
			default:
				p.b.WriteString(m.Visibility.String() + " $" + nameText(m.Name) + " => ")
			}
			p.value(e, depth+1)
			p.b.WriteString("\n")
			return true
		})
		p.indent(depth)
		p.b.WriteString("}")
	default:
		fmt.Fprintf(&p.b, "%v", v)
	}
}

func keyText(k codec.Key) string {
	if k.IsInt() {
		return strconv.FormatInt(k.Int(), 10)
	}
	return quotePHP(k.String())
}

// nameText returns a variable or member name as is when it is plain,
// else quoted.
func nameText(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r == ':' || r == '\\' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return quotePHP(s)
		}
	}
	return s
}

// quotePHP quotes a PHP (binary) string: printable UTF-8 is kept, the
// rest is escaped (\n, \t, \r, \", \\, \xNN for other bytes).
func quotePHP(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r != ' ':
			fmt.Fprintf(&b, `\u{%x}`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// prettyValue renders one value.
func prettyValue(v codec.Value) string {
	p := newPretty(v)
	p.value(v, 0)
	return p.b.String()
}

// prettySession renders every variable of s, one "name => value" each.
// A variable that fails to decode is shown with its error.
func prettySession(s *codec.Session) (string, error) {
	keys := s.Keys()
	vals := make([]codec.Value, len(keys))
	for i, k := range keys {
		v, _, err := s.GetKey(k)
		if err != nil {
			return "", fmt.Errorf("variable %s: %w", keyText(k), err)
		}
		vals[i] = v
	}
	p := newPretty(vals...)
	for i, k := range keys {
		if k.IsInt() {
			p.b.WriteString("[" + strconv.FormatInt(k.Int(), 10) + "]")
		} else {
			p.b.WriteString(nameText(k.String()))
		}
		p.b.WriteString(" => ")
		p.value(vals[i], 0)
		p.b.WriteString("\n")
	}
	return p.b.String(), nil
}

// compactValue is a one-line summary of v, at most about max bytes.
func compactValue(v codec.Value, max int) string {
	var s string
	switch x := codec.Deref(v).(type) {
	case *codec.Array:
		s = fmt.Sprintf("array(%d)", x.Len())
	case *codec.Object:
		s = fmt.Sprintf("object(%s)", x.Class)
	case codec.String:
		q := string(x)
		if len(q) > max {
			q = q[:max]
			for len(q) > 0 && !utf8.ValidString(q) {
				q = q[:len(q)-1]
			}
			s = quotePHP(q) + "…"
		} else {
			s = quotePHP(q)
		}
	default:
		s = prettyValue(x)
	}
	if _, isRef := v.(*codec.Reference); isRef {
		s = "&" + s
	}
	return s
}
