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
	var handler string
	var pretty bool
	c := &cobra.Command{
		Use:   "decode",
		Short: "Decode stored session bytes (stdin) into lossless JSON (stdout)",
		Long: `Reads the bytes of one stored session on stdin, as PHP's session serializer
--handler wrote them (php, php_serialize or php_binary; see
session.serialize_handler), and prints the lossless JSON rendering described
in docs/cli-codec.md. "phpsess encode" turns it back into the same bytes.

To decode a session straight from Redis, pipe its bytes unchanged:
  phpsess get ID --raw | phpsess decode
(redis-cli --raw GET adds a newline that is not part of the session; decode
names it when it is the only problem.)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := parseHandlerFlag("handler", handler)
			if err != nil {
				return err
			}
			data, err := readAll(cmd)
			if err != nil {
				return err
			}
			s, err := codec.DecodeSession(h, data, nil)
			if err != nil {
				return fmt.Errorf("decode %s session: %w%s", h, err, newlineHint(h, data))
			}
			out, err := codec.SessionToJSON(s)
			if err != nil {
				return fmt.Errorf("decode %s session: %w", h, err)
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
	c.Flags().StringVar(&handler, "handler", "php", "session serializer of the input: php, php_serialize or php_binary")
	c.Flags().BoolVar(&pretty, "pretty", false, "indent the JSON")
	return c
}

// newlineHint explains a decode error whose only cause is one trailing
// newline (redis-cli --raw adds one to what it prints).
func newlineHint(h codec.Handler, data []byte) string {
	n := len(data)
	if n == 0 || data[n-1] != '\n' {
		return ""
	}
	if _, err := codec.DecodeSession(h, data[:n-1], nil); err != nil {
		return ""
	}
	return " (the input ends with one newline that is not part of the session, as redis-cli --raw adds one;" +
		" pipe the stored bytes unchanged with 'phpsess get ID --raw | phpsess decode', or strip it with 'head -c -1')"
}

func newEncodeCmd() *cobra.Command {
	var handler string
	c := &cobra.Command{
		Use:   "encode",
		Short: "Encode lossless JSON (stdin) into session bytes (stdout)",
		Long: `Reads the JSON rendering printed by "phpsess decode" on stdin and writes the
session bytes exactly as PHP writes them. --handler selects the serializer;
without it the document's "handler" is used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h codec.Handler
			if cmd.Flags().Changed("handler") {
				var err error
				if h, err = parseHandlerFlag("handler", handler); err != nil {
					return err
				}
			}
			data, err := readAll(cmd)
			if err != nil {
				return err
			}
			s, err := codec.SessionFromJSON(data, h)
			if err != nil {
				return fmt.Errorf("encode: %w", err)
			}
			out, err := s.Encode()
			if err != nil {
				return fmt.Errorf("encode: %w", err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	c.Flags().StringVar(&handler, "handler", "", "session serializer to write: php, php_serialize or php_binary (default: the JSON's handler)")
	return c
}

func newConvertCmd() *cobra.Command {
	var from, to string
	c := &cobra.Command{
		Use:   "convert",
		Short: "Convert session bytes (stdin) between serializers (stdout)",
		Long: `Reads stored session bytes written with serializer --from and writes what PHP
itself stores for the same session under serializer --to (references
renumbered, values re-encoded canonically). Variable names the target cannot
hold (php: names containing '|'; php and php_binary: numeric names;
php_binary: names over 127 bytes) are an error, where PHP would silently
lose data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageError{fmt.Errorf("convert needs --from and --to")}
			}
			hf, err := parseHandlerFlag("from", from)
			if err != nil {
				return err
			}
			ht, err := parseHandlerFlag("to", to)
			if err != nil {
				return err
			}
			data, err := readAll(cmd)
			if err != nil {
				return err
			}
			s, err := codec.DecodeSession(hf, data, nil)
			if err != nil {
				return fmt.Errorf("decode %s session: %w", hf, err)
			}
			c, err := s.Convert(ht)
			if err != nil {
				return fmt.Errorf("convert to %s: %w", ht, err)
			}
			out, err := c.Encode()
			if err != nil {
				return fmt.Errorf("convert to %s: %w", ht, err)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	c.Flags().StringVar(&from, "from", "", "serializer of the input: php, php_serialize or php_binary")
	c.Flags().StringVar(&to, "to", "", "serializer to write: php, php_serialize or php_binary")
	return c
}
