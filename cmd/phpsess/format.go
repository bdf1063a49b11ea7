package main

// Session formats on the command line: --handler (session.serialize_handler,
// or auto), --compression and --compression-level (phpredis 6's
// redis.session.compression and compression_level). Every command reads
// and writes stored bytes through one codec.Format built from them.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/codec"
)

// handlerAuto is --handler's value for "detect the stored format".
const handlerAuto = "auto"

// handlerNames lists the --handler values.
func handlerNames(withAuto bool) []string {
	var names []string
	for _, h := range codec.Handlers() {
		names = append(names, string(h))
	}
	if withAuto {
		names = append(names, handlerAuto)
	}
	return names
}

func compressionNames() []string {
	var names []string
	for _, c := range codec.Compressions() {
		names = append(names, string(c))
	}
	return names
}

// handlerUsage and compressionUsage are the flags' help texts.
var (
	handlerUsage     = "session serializer (session.serialize_handler) `H`: " + strings.Join(handlerNames(false), ", ") + ", or auto (detect from the stored bytes)"
	compressionUsage = "phpredis 6 session compression (redis.session.compression) `C`: " + strings.Join(compressionNames(), ", ")
	levelUsage       = "redis.session.compression_level `N` for writing (zstd 1-22, lz4 1-12 HC or <=0 fast)"
)

// addCompressionFlags adds --compression and --compression-level to fs.
func addCompressionFlags(c *cobra.Command, persistent bool, comp *string, level *int) {
	fs := c.Flags()
	if persistent {
		fs = c.PersistentFlags()
	}
	fs.StringVar(comp, "compression", string(codec.NoCompression), compressionUsage)
	fs.IntVar(level, "compression-level", codec.DefaultCompressionLevel, levelUsage)
	_ = c.RegisterFlagCompletionFunc("compression", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return compressionNames(), cobra.ShellCompDirectiveNoFileComp
	})
}

// parseFormatFlags turns --handler, --compression and --compression-level
// into a Format; auto reports --handler auto (the Format's handler is then
// php, and reads take whatever format the bytes are in).
func parseFormatFlags(handler, compression string, level int) (f codec.Format, auto bool, err error) {
	if handler == handlerAuto {
		auto = true
		handler = string(codec.PHP)
	}
	h, err := parseHandlerFlag("handler", handler)
	if err != nil {
		return f, false, err
	}
	c, err := codec.ParseCompression(compression)
	if err != nil {
		return f, false, usageError{fmt.Errorf("--compression: %q is not a compression (want %s)", compression, strings.Join(compressionNames(), ", "))}
	}
	return codec.Format{Handler: h, Compression: c, Level: level}, auto, nil
}

// parseFormatArg parses a FORMAT argument of convert and migrate:
// H[+C[:LEVEL]] (e.g. php, igbinary+zstd, msgpack+lz4:9), or auto when
// allowAuto.
func parseFormatArg(flag, s string, allowAuto bool) (f codec.Format, auto bool, err error) {
	if allowAuto && s == handlerAuto {
		return codec.Format{Handler: codec.PHP}, true, nil
	}
	f, err = codec.ParseFormat(s)
	if err != nil {
		want := "H[+C[:LEVEL]], H one of " + strings.Join(handlerNames(false), ", ") + ", C one of " + strings.Join(compressionNames(), ", ")
		if allowAuto {
			want += ", or auto"
		}
		return f, false, usageError{fmt.Errorf("--%s: %q is not a serializer or session format (want %s)", flag, s, want)}
	}
	return f, false, nil
}

// readStored decodes stored session bytes under f. With auto the bytes
// may be in any format; otherwise they must be in f's serializer (any
// compression: phpredis itself reads uncompressed data under every
// compression, and other compressions are recognised by their frames).
// It returns the session in the serializer the bytes were written with
// and the format they were found in.
func readStored(f codec.Format, auto bool, b []byte) (*codec.Session, codec.Format, error) {
	s, found, err := f.Read(b, nil)
	if err != nil {
		var fe *codec.FormatError
		if errors.As(err, &fe) && fe.LooksLike.Handler != "" && fe.LooksLike.Handler != f.Handler && !auto {
			return nil, found, fmt.Errorf("cannot decode as %s: %w (try --handler %s, or --handler auto)", f.Handler, err, fe.LooksLike.Handler)
		}
		if auto {
			return nil, found, fmt.Errorf("cannot decode in any session format: %w", err)
		}
		return nil, found, fmt.Errorf("cannot decode as %s: %w", f.Handler, err)
	}
	if !auto && found.Handler != f.Handler {
		// Say why it is not f's serializer (with the offset).
		why := ""
		if plain, _, err := found.Compression.Decompress(b, 0); err == nil {
			if _, err := codec.DecodeSession(f.Handler, plain, nil); err != nil {
				why = ": " + err.Error()
			}
		}
		return nil, found, fmt.Errorf("cannot decode as %s%s; the data is %s session data (try --handler %s, or --handler auto)", f.Handler, why, found.Handler, found.Handler)
	}
	return s, found, nil
}

// storedFormatName names the format stored bytes were found in: the
// serializer, and the compression when there is one (its level cannot be
// read from the data).
func storedFormatName(f codec.Format) string {
	if f.Compression == "" || f.Compression == codec.NoCompression {
		return string(f.Handler)
	}
	return string(f.Handler) + "+" + string(f.Compression)
}
