package codec

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every exported sentinel and every exported error type of the package
// wraps ErrCodec. The tables below must name each one: a new sentinel or
// error type fails this test until it is added (and wraps ErrCodec).
func TestEveryErrorWrapsErrCodec(t *testing.T) {
	sentinels := map[string]error{
		"ErrCodec": ErrCodec, "ErrSyntax": ErrSyntax, "ErrDepth": ErrDepth, "ErrTooLarge": ErrTooLarge,
		"ErrInvalidName": ErrInvalidName, "ErrUnknownHandler": ErrUnknownHandler, "ErrUnsupported": ErrUnsupported,
		"ErrUnknownCompression": ErrUnknownCompression, "ErrSessionTooLarge": ErrSessionTooLarge,
		"ErrJSON": ErrJSON, "ErrRecursive": ErrRecursive,
	}
	user := errors.New("user")
	types := map[string]error{
		"SyntaxError":           &SyntaxError{},
		"NameError":             &NameError{},
		"CompressionError":      &CompressionError{},
		"FormatError":           &FormatError{},
		"UnsupportedTypeError":  &UnsupportedTypeError{Type: reflect.TypeOf(0)},
		"UnsupportedValueError": &UnsupportedValueError{},
		"MarshalerError":        &MarshalerError{Type: reflect.TypeOf(0), Err: user},
		"InvalidUnmarshalError": &InvalidUnmarshalError{},
		"UnmarshalTypeError":    &UnmarshalTypeError{Type: reflect.TypeOf(0)},
		"UnmarshalerError":      &UnmarshalerError{Type: reflect.TypeOf(0), Err: user},
	}
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, 0)
	require.NoError(t, err)
	seenVars, seenTypes := 0, 0
	for _, f := range pkgs["codec"].Files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, sp := range g.Specs {
				switch sp := sp.(type) {
				case *ast.ValueSpec:
					for _, n := range sp.Names {
						if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
							seenVars++
							v, ok := sentinels[n.Name]
							require.True(t, ok, "sentinel %s is not in this test's table", n.Name)
							require.ErrorIs(t, v, ErrCodec, n.Name)
						}
					}
				case *ast.TypeSpec:
					if sp.Name.IsExported() && strings.HasSuffix(sp.Name.Name, "Error") {
						seenTypes++
						v, ok := types[sp.Name.Name]
						require.True(t, ok, "error type %s is not in this test's table", sp.Name.Name)
						require.ErrorIs(t, v, ErrCodec, sp.Name.Name)
						_ = v.Error() // a zero value prints
					}
				}
			}
		}
	}
	require.Equal(t, len(sentinels), seenVars, "a sentinel in the table no longer exists")
	require.Equal(t, len(types), seenTypes, "an error type in the table no longer exists")
	require.ErrorIs(t, types["MarshalerError"], user, "user errors stay reachable")
}

// Failures from each entry point wrap ErrCodec.
func TestFailuresWrapErrCodec(t *testing.T) {
	var target struct{ N int }
	var jf JSONFields
	jf.Names = []string{"j"}
	for name, err := range map[string]error{
		"marshal chan":      func() error { _, err := MarshalValue(make(chan int)); return err }(),
		"marshal func":      func() error { _, err := MarshalValue(func() {}); return err }(),
		"json field chan":   func() error { _, err := jf.ToPHP("j", make(chan int)); return err }(),
		"decode garbage":    func() error { _, err := DecodeSession(PHP, []byte("x|q:1;"), nil); return err }(),
		"unknown handler":   func() error { _, err := ParseHandler("nope"); return err }(),
		"invalid name":      NewSession(PHP).Set("a|b", Int(1)),
		"unmarshal type":    UnmarshalValue(String("x"), &target),
		"unmarshal nil":     UnmarshalValue(Int(1), nil),
		"parse json":        func() error { _, err := ParseJSON([]byte("{")); return err }(),
		"marshal session 1": func() error { _, err := MarshalSession(PHP, 1); return err }(),
	} {
		require.Error(t, err, name)
		require.ErrorIs(t, err, ErrCodec, name)
	}
}
