package bench

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// This file holds the small session-blob helpers the harness needs for
// itself: building a realistic seed session in PHP's `php` serialize_handler
// format and reading one integer key out of stored bytes when it verifies
// results. They are deliberately independent of the library under test, so
// that a codec bug cannot hide a lost update.

var errBlob = errors.New("bench: malformed session blob")

// entry is one `name|value` pair of a php-handler session.
type entry struct {
	name string
	val  []byte // serialized value, e.g. `i:42;`
}

// splitSession splits a php-handler session into its entries without
// decoding the values.
func splitSession(b []byte) ([]entry, error) {
	var out []entry
	for len(b) > 0 {
		bar := bytes.IndexByte(b, '|')
		if bar <= 0 {
			return nil, fmt.Errorf("%w: no name at %q", errBlob, clip(b))
		}
		name := string(b[:bar])
		n, err := skipValue(b[bar+1:], 0)
		if err != nil {
			return nil, err
		}
		out = append(out, entry{name: name, val: b[bar+1 : bar+1+n]})
		b = b[bar+1+n:]
	}
	return out, nil
}

func clip(b []byte) []byte {
	if len(b) > 20 {
		return b[:20]
	}
	return b
}

// skipValue returns the length of the serialized value at the start of b.
func skipValue(b []byte, depth int) (int, error) {
	if depth > 64 || len(b) < 2 {
		return 0, errBlob
	}
	switch b[0] {
	case 'N':
		if b[1] == ';' {
			return 2, nil
		}
	case 'b', 'i', 'd', 'r', 'R':
		if b[1] != ':' {
			return 0, errBlob
		}
		semi := bytes.IndexByte(b, ';')
		if semi < 0 {
			return 0, errBlob
		}
		return semi + 1, nil
	case 's':
		n, p, err := readLen(b, 2)
		if err != nil {
			return 0, err
		}
		end := p + 1 + n + 2 // "…";
		if p >= len(b) || b[p] != '"' || end > len(b) || b[end-2] != '"' || b[end-1] != ';' {
			return 0, errBlob
		}
		return end, nil
	case 'a':
		n, p, err := readLen(b, 2)
		if err != nil || p >= len(b) || b[p] != '{' {
			return 0, errBlob
		}
		p++
		for i := 0; i < 2*n; i++ {
			m, err := skipValue(b[p:], depth+1)
			if err != nil {
				return 0, err
			}
			p += m
		}
		if p >= len(b) || b[p] != '}' {
			return 0, errBlob
		}
		return p + 1, nil
	}
	return 0, fmt.Errorf("%w: unsupported token %q", errBlob, b[0])
}

// readLen reads "<digits>:" starting at b[p] and returns the number and the
// offset after the colon.
func readLen(b []byte, p int) (int, int, error) {
	if p > len(b) || b[p-1] != ':' {
		return 0, 0, errBlob
	}
	colon := bytes.IndexByte(b[p:], ':')
	if colon < 0 {
		return 0, 0, errBlob
	}
	n, err := strconv.Atoi(string(b[p : p+colon]))
	if err != nil || n < 0 || n > len(b) {
		return 0, 0, errBlob
	}
	return n, p + colon + 1, nil
}

// IntKey returns the integer value of key in a php-handler session blob, 0
// when the key is absent. It is the harness's independent check of what
// Redis holds.
func IntKey(blob []byte, key string) (int64, error) {
	es, err := splitSession(blob)
	if err != nil {
		return 0, err
	}
	for _, e := range es {
		if e.name == key {
			return parseInt(e.val)
		}
	}
	return 0, nil
}

func parseInt(v []byte) (int64, error) {
	if len(v) < 3 || v[0] != 'i' || v[1] != ':' || v[len(v)-1] != ';' {
		return 0, fmt.Errorf("%w: not an int: %q", errBlob, clip(v))
	}
	return strconv.ParseInt(string(v[2:len(v)-1]), 10, 64)
}

// incrBlob is the stand-in read-modify-write used by the baselines while
// the project's codec is not wired in: it adds 1 to key (creating it) and
// re-emits every other entry byte for byte.
func incrBlob(blob []byte, key string) ([]byte, error) { return addBlob(blob, key, 1) }

// addBlob is incrBlob adding d.
func addBlob(blob []byte, key string, d int64) ([]byte, error) {
	es, err := splitSession(blob)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(blob)+24)
	found := false
	for _, e := range es {
		out = append(out, e.name...)
		out = append(out, '|')
		if e.name == key {
			n, err := parseInt(e.val)
			if err != nil {
				return nil, err
			}
			out = appendInt(out, n+d)
			found = true
			continue
		}
		out = append(out, e.val...)
	}
	if !found {
		out = append(out, key...)
		out = append(out, '|')
		out = appendInt(out, d)
	}
	return out, nil
}

func appendInt(b []byte, n int64) []byte {
	b = append(b, 'i', ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, ';')
}

// SeedSession returns a realistic php-handler session of roughly size bytes
// (a logged-in user with roles, preferences and a cart), to which the
// benchmarks add their counters. It contains no empty strings, floats or
// objects, so every peer codec round-trips it.
func SeedSession(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`user_id|i:4711;login|s:11:"alice.smith";roles|a:2:{i:0;s:5:"admin";i:1;s:6:"editor";}`)
	b.WriteString(`csrf|s:40:"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b";`)
	b.WriteString(`prefs|a:3:{s:5:"theme";s:4:"dark";s:4:"lang";s:2:"en";s:2:"tz";s:13:"Europe/Berlin";}`)
	if size <= b.Len()+20 {
		return b.Bytes()
	}
	// Cart items of ~100 bytes each fill the rest.
	var items bytes.Buffer
	n := 0
	for b.Len()+items.Len()+20 < size {
		name := fmt.Sprintf("Product number %d with a longer title", n)
		fmt.Fprintf(&items, `i:%d;a:3:{s:3:"sku";s:8:"SKU%05d";s:4:"name";s:%d:"%s";s:3:"qty";i:%d;}`,
			n, n, len(name), name, n%5+1)
		n++
	}
	fmt.Fprintf(&b, "cart|a:%d:{%s}", n, items.Bytes())
	return b.Bytes()
}
