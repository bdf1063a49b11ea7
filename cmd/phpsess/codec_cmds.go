package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/codec"
)

// The codec subcommands: decode, encode and convert session bytes. Their
// JSON form is codec's lossless rendering (docs/cli-codec.md).

func init() {
	register(newDecodeCmd)
	register(newEncodeCmd)
	register(newConvertCmd)
}

func readAll(cmd *cobra.Command) ([]byte, error) {
	b, err := io.ReadAll(cmd.InOrStdin())
	if err != nil {
		return nil, fmt.Errorf("reading stdin: %w", err)
	}
	return b, nil
}

func parseHandlerFlag(flag, name string) (codec.Handler, error) {
	h, err := codec.ParseHandler(name)
	if err != nil {
		names := make([]string, 0, 5)
		for _, h := range codec.Handlers() {
			names = append(names, string(h))
		}
		return "", usageError{fmt.Errorf("--%s: %q is not a serializer (want %s)", flag, name, strings.Join(names, ", "))}
	}
	return h, nil
}

func newDecodeCmd() *cobra.Command {
	var handler, compression string
	var level int
	var pretty bool
	c := &cobra.Command{
		Use:   "decode",
		Short: "Decode stored session bytes (stdin) into lossless JSON (stdout)",
		Long: `Reads the bytes of one stored session on stdin, as PHP's session serializer
--handler wrote them (` + strings.Join(handlerNames(false), ", ") + `; see
session.serialize_handler; auto detects it), compressed or not by phpredis 6
(--compression, redis.session.compression: lzf, zstd or lz4 data is
recognised whatever the flag says), and prints the lossless JSON rendering
described in docs/cli-codec.md. "phpsess encode" turns it back into the same
bytes.

To decode a session straight from Redis, pipe its bytes unchanged:
  phpsess get ID --raw | phpsess decode
(redis-cli --raw GET adds a newline that is not part of the session; decode
names it when it is the only problem.)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, auto, err := parseFormatFlags(handler, compression, level)
			if err != nil {
				return err
			}
			data, err := readAll(cmd)
			if err != nil {
				return err
			}
			s, _, err := readStored(f, auto, data)
			if err != nil {
				return fmt.Errorf("decode: %w%s", err, newlineHint(f, auto, data))
			}
			out, err := codec.SessionToJSON(s)
			if err != nil {
				return fmt.Errorf("decode %s session: %w", s.Handler(), err)
			}
			if pretty {
				var buf bytes.Buffer
				if err := json.Indent(&buf, out, "", "  "); err != nil {
					return err
				}
				out = buf.Bytes()
			}
			out = append(out, '\n')
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	c.Flags().StringVar(&handler, "handler", "php", handlerUsage)
	addCompressionFlags(c, false, &compression, &level)
	c.Flags().BoolVar(&pretty, "pretty", false, "indent the JSON")
	return c
}

// newlineHint explains a decode error whose only cause is one trailing
// newline (redis-cli --raw adds one to what it prints).
func newlineHint(f codec.Format, auto bool, data []byte) string {
	n := len(data)
	if n == 0 || data[n-1] != '\n' {
		return ""
	}
	if _, _, err := readStored(f, auto, data[:n-1]); err != nil {
		return ""
	}
	return " (the input ends with one newline that is not part of the session, as redis-cli --raw adds one;" +
		" pipe the stored bytes unchanged with 'phpsess get ID --raw | phpsess decode', or strip it with 'head -c -1')"
}

func newEncodeCmd() *cobra.Command {
	var handler, compression string
	var level int
	c := &cobra.Command{
		Use:   "encode",
		Short: "Encode lossless JSON (stdin) into session bytes (stdout)",
		Long: `Reads the JSON rendering printed by "phpsess decode" on stdin and writes the
session bytes exactly as PHP writes them. --handler selects the serializer;
without it the document's "handler" is used. --compression and
--compression-level compress the bytes as phpredis 6 stores them
(redis.session.compression, redis.session.compression_level).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h codec.Handler
			if cmd.Flags().Changed("handler") {
				var err error
				if h, err = parseHandlerFlag("handler", handler); err != nil {
					return err
				}
			}
			f, _, err := parseFormatFlags(string(codec.PHP), compression, level)
			if err != nil {
				return err
			}
			data, err := readAll(cmd)
			if err != nil {
				return err
			}
			s, err := codec.SessionFromJSON(data, h)
			if err != nil {
				return fmt.Errorf("encode: %w", err)
			}
			f.Handler = s.Handler()
			out, err := f.Encode(s)
			if err != nil {
				return fmt.Errorf("encode: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	c.Flags().StringVar(&handler, "handler", "", "session serializer to write `H`: "+strings.Join(handlerNames(false), ", ")+" (default: the JSON's handler)")
	addCompressionFlags(c, false, &compression, &level)
	return c
}

func newConvertCmd() *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "convert",
		Short: "Convert session bytes (stdin) between formats (stdout)",
		Long: `Reads stored session bytes in format --from and writes what PHP itself
stores for the same session in format --to (references renumbered, values
re-encoded canonically, then compressed as phpredis 6 does). A format is
H[+C[:LEVEL]]: a serializer (` + strings.Join(handlerNames(false), ", ") + `),
optionally a phpredis 6 compression (lzf, zstd, lz4) and its level
(default 3), e.g. php, igbinary+zstd, msgpack+lz4:9. --from auto detects the
input's format. Variable names the target cannot hold (php: names
containing '|'; php, php_binary, igbinary and msgpack: numeric names;
php_binary: names over 127 bytes) are an error, where PHP would silently
lose data.`,
		Example: `  phpsess convert --from php --to php_serialize < session.bin
  phpsess convert --from auto --to igbinary+zstd:9 < session.bin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageError{fmt.Errorf("convert needs --from and --to")}
			}
			ff, auto, err := parseFormatArg("from", from, true)
			if err != nil {
				return err
			}
			ft, _, err := parseFormatArg("to", to, false)
			if err != nil {
				return err
			}
			data, err := readAll(cmd)
			if err != nil {
				return err
			}
			s, _, err := readStored(ff, auto, data)
			if err != nil {
				return fmt.Errorf("convert: %w", err)
			}
			c, err := s.Convert(ft.Handler)
			if err != nil {
				return fmt.Errorf("convert to %s: %w", ft.Handler, err)
			}
			out, err := ft.Encode(c)
			if err != nil {
				return fmt.Errorf("convert to %s: %w", ft, err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	c.Flags().StringVar(&from, "from", "", "format of the input `FORMAT`: H[+C[:LEVEL]] or auto")
	c.Flags().StringVar(&to, "to", "", "format to write `FORMAT`: H[+C[:LEVEL]], e.g. igbinary+zstd")
	return c
}
