package codec

import (
	"encoding"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// This file holds the per-type reflection cache shared by Marshal and
// Unmarshal: struct field lists (with `php` tags resolved and embedded
// structs flattened) computed once per type and kept in a sync.Map.

// field is one encodable struct field.
type field struct {
	name      string // PHP array key / property name
	nameKey   Key    // name as an array key (PHP numeric-string normalisation applied)
	index     []int  // reflect index path (through embedded structs)
	typ       reflect.Type
	omitEmpty bool
	arrayKey  []byte // the key as written in an array: i:5; or s:2:"id";
	memberKey []byte // the key as written in an object: always s:
	plain     int8   // plainFlag(typ), for Unmarshal
	asJSON    bool   // `php:",json"`: stored as a PHP string holding JSON
}

// structInfo describes how a struct type maps to a PHP array.
type structInfo struct {
	fields   []field
	variable bool           // some field may be left out (omitempty, or behind an embedded pointer)
	classer  uint8          // classerNone, classerValue or classerPointer
	byName   map[string]int // exact name → index into fields
	byFold   map[string]int // lower-cased name → index (fallback, like encoding/json)
}

const (
	classerNone uint8 = iota
	classerValue
	classerPointer
)

var structCache sync.Map // reflect.Type → *structInfo

func cachedStructInfo(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si, _ := structCache.LoadOrStore(t, buildStructInfo(t))
	return si.(*structInfo)
}

// parseTag splits a `php:"name,opt,opt"` tag.
func parseTag(tag string) (name string, omitEmpty, asJSON bool) {
	name, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		switch o {
		case "omitempty":
			omitEmpty = true
		case "json":
			asJSON = true
		}
	}
	return name, omitEmpty, asJSON
}

// buildStructInfo applies encoding/json's visibility rules, simplified:
// exported fields (and fields of embedded structs, promoted) are encoded in
// declaration order; a field tagged `php:"-"` is skipped; among fields of
// the same name the shallowest wins, and ties at the same depth are both
// dropped unless exactly one of them is tagged.
func buildStructInfo(t reflect.Type) *structInfo {
	type cand struct {
		field
		depth  int
		tagged bool
	}
	var cands []cand
	type queued struct {
		t     reflect.Type
		index []int
	}
	visited := map[reflect.Type]bool{}
	level := []queued{{t: t}}
	for depth := 0; len(level) > 0; depth++ {
		var next []queued
		for _, q := range level {
			if visited[q.t] {
				continue
			}
			visited[q.t] = true
			for i := 0; i < q.t.NumField(); i++ {
				sf := q.t.Field(i)
				tag := sf.Tag.Get("php")
				if tag == "-" {
					continue
				}
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				name, omit, asJSON := parseTag(tag)
				index := append(slices.Clone(q.index), i)
				ft := sf.Type
				if sf.Anonymous && name == "" && !asJSON {
					et := ft
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if et.Kind() == reflect.Struct && !implementsCustom(et) {
						next = append(next, queued{t: et, index: index})
						continue
					}
				}
				tagged := name != ""
				if name == "" {
					name = sf.Name
				}
				cands = append(cands, cand{field: field{name: name, index: index, typ: ft, omitEmpty: omit, asJSON: asJSON}, depth: depth, tagged: tagged})
			}
		}
		level = next
	}
	// Resolve name conflicts.
	byName := map[string][]int{}
	for i, c := range cands {
		byName[c.name] = append(byName[c.name], i)
	}
	si := &structInfo{byName: map[string]int{}, byFold: map[string]int{}}
	for i, c := range cands {
		group := byName[c.name]
		if len(group) > 1 {
			// keep the dominant one: minimal depth, and unique (or uniquely tagged) there
			minDepth := cands[group[0]].depth
			for _, j := range group {
				minDepth = min(minDepth, cands[j].depth)
			}
			var atMin, taggedAtMin []int
			for _, j := range group {
				if cands[j].depth == minDepth {
					atMin = append(atMin, j)
					if cands[j].tagged {
						taggedAtMin = append(taggedAtMin, j)
					}
				}
			}
			winner := -1
			if len(atMin) == 1 {
				winner = atMin[0]
			} else if len(taggedAtMin) == 1 {
				winner = taggedAtMin[0]
			}
			if winner != i {
				continue
			}
		}
		f := c.field
		f.nameKey = StrKey(f.name)
		si.byName[f.name] = len(si.fields)
		if _, dup := si.byFold[strings.ToLower(f.name)]; !dup {
			si.byFold[strings.ToLower(f.name)] = len(si.fields)
		}
		si.fields = append(si.fields, f)
	}
	// Declaration order across embedding levels, like encoding/json.
	order := make([]int, len(si.fields))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return slices.Compare(si.fields[a].index, si.fields[b].index) })
	sorted := make([]field, len(si.fields))
	for i, j := range order {
		sorted[i] = si.fields[j]
	}
	si.fields = sorted
	for i, f := range si.fields {
		si.byName[f.name] = i
	}
	clear(si.byFold)
	for i, f := range si.fields {
		if _, dup := si.byFold[strings.ToLower(f.name)]; !dup {
			si.byFold[strings.ToLower(f.name)] = i
		}
	}
	for i := range si.fields {
		f := &si.fields[i]
		f.memberKey = appendStrToken(nil, f.name)
		if n, ok := phpIntKey(f.name); ok {
			f.arrayKey = append(strconv.AppendInt([]byte("i:"), n, 10), ';')
		} else {
			f.arrayKey = f.memberKey
		}
		f.plain = plainFlag(f.typ)
		if f.omitEmpty || len(f.index) > 1 {
			si.variable = true
		}
	}
	switch {
	case t.Implements(classerType):
		si.classer = classerValue
	case reflect.PointerTo(t).Implements(classerType):
		si.classer = classerPointer
	}
	return si
}

var (
	marshalerType       = reflect.TypeFor[Marshaler]()
	unmarshalerType     = reflect.TypeFor[Unmarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	valueType           = reflect.TypeFor[Value]()
	classerType         = reflect.TypeFor[PHPClasser]()
)

// implementsCustom reports whether t (or *t) has its own PHP or text
// encoding, in which case an embedded t is not flattened.
func implementsCustom(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || pt.Implements(marshalerType) ||
		t.Implements(textMarshalerType) || pt.Implements(textMarshalerType) ||
		t.Implements(valueType)
}

// appendStrToken appends s as a serialize() string token.
func appendStrToken(b []byte, s string) []byte {
	b = append(b, 's', ':')
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':', '"')
	b = append(b, s...)
	return append(b, '"', ';')
}

// fieldByIndex returns the field at index, allocating nil embedded
// pointers when alloc is set; ok is false if a nil embedded pointer was met
// and alloc is not set (or the pointer is to an unexported type).
func fieldByIndex(v reflect.Value, index []int, alloc bool) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !alloc || !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}
