package codec

import (
	"encoding/hex"
	"testing"
)

// TestVectorsConvert: for every captured case, converting the session PHP
// stored under one serializer to another gives the bytes PHP stored under
// that one, wherever PHP's stored data holds the whole session (not for
// msgpack's lossy cases, nor where PHP's own encoder dropped variables).
func TestVectorsConvert(t *testing.T) {
	byCase := map[string]map[Handler]vector{}
	var cases []string
	for _, v := range append(loadVectors(t), loadExtVectors(t)...) {
		if byCase[v.Case] == nil {
			byCase[v.Case] = map[Handler]vector{}
			cases = append(cases, v.Case)
		}
		byCase[v.Case][Handler(v.Handler)] = v
	}
	n := 0
	for _, c := range cases {
		vs := byCase[c]
		ok := true
		for _, h := range allHandlers {
			v, has := vs[h]
			// Every serializer stored the session and PHP read each back
			// as it was written.
			if !has || v.StoredHex == nil || !v.ReadBackOK || len(*v.StoredHex) == 0 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, src := range allHandlers {
			for _, dst := range allHandlers {
				if src == dst {
					continue
				}
				in, err := DecodeSession(src, mustHex(t, *vs[src].StoredHex), nil)
				if err != nil {
					t.Fatalf("%s/%s: %v", src, c, err)
				}
				out, err := in.Convert(dst)
				if err != nil {
					t.Errorf("%s → %s %s: %v", src, dst, c, err)
					continue
				}
				b, err := out.Encode()
				if err != nil {
					t.Errorf("%s → %s %s: %v", src, dst, c, err)
					continue
				}
				if convertBlind[c+" "+string(dst)] != "" {
					continue
				}
				if want := *vs[dst].StoredHex; hex.EncodeToString(b) != want {
					t.Errorf("%s → %s %s:\n got %x\nwant %s", src, dst, c, b, want)
				}
				n++
			}
		}
	}
	t.Logf("%d conversions", n)
}

// convertBlind: conversions whose target bytes depend on what the source
// bytes do not say.
var convertBlind = map[string]string{
	// Magic has __serialize(): msgpack writes {nil: class, nil: data}.
	// Only msgpack data says so (and PHP's own classes, see magicClasses).
	"obj_magic_serialize msgpack": "class with __serialize()",
	// igbinary writes an uninitialized typed property as a lone null;
	// the others leave it out.
	"obj_typed_props igbinary": "uninitialized typed property",
}
