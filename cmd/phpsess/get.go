package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

func init() { register(newGetCmd) }

func newGetCmd() *cobra.Command {
	var raw, pretty, plain bool
	var jsonFields jsonFieldsFlag
	c := &cobra.Command{
		Use:   "get ID [KEY]",
		Short: "Show a session, or one variable of it",
		Long: `get reads session ID (without taking its lock) and shows its variables with
their PHP types: objects with their class and member visibility, references
and repeated objects labelled (&1, #1), binary strings escaped (\xNN).

With KEY only that variable is shown.

With --json the lossless JSON rendering is printed (the format of 'phpsess
decode', see docs/cli.md): a session as {"handler": ..., "vars": [...]},
one variable as a VALUE. 'phpsess get ID --json | phpsess encode'
reproduces the stored bytes. With --raw the stored bytes are written as
they are ('phpsess get ID --raw | phpsess decode' is the pipe to use:
redis-cli --raw adds a newline).

With --plain (alone or with --json) the natural JSON is printed instead,
for jq and other tools: a PHP list is a JSON array, other arrays and
objects are JSON objects (properties by plain name, class dropped), JSON
fields (--json-fields) are embedded as JSON, references are followed, and
what JSON cannot hold is written as the library's MarshalJSON does (NAN and
INF as null, a cycle as null, an enum case as "Class::Case", a
Serializable object as its payload string). It cannot be encoded back.`,
		Example: `  phpsess get 9f2kq3m1c0a7b5d4e6f8g0h2i4
  phpsess get 9f2kq3m1c0a7b5d4e6f8g0h2i4 cart --json
  phpsess get 9f2kq3m1c0a7b5d4e6f8g0h2i4 --plain | jq '.scart_items[0].qty'
  phpsess --redis redis://10.0.0.5:6379/2 --handler php_serialize get abc123`,
		Args:              rangeArgs(1, 2, "ID", "KEY"),
		ValidArgsFunction: completeSessionIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if raw && (g.json || pretty || plain) {
				return usageError{fmt.Errorf("--raw cannot be combined with --json, --plain or --pretty")}
			}
			jf, err := jsonFields.fields()
			if err != nil {
				return err
			}
			f, auto, err := g.format()
			if err != nil {
				return err
			}
			st, err := openStore(g.storeConfig())
			if err != nil {
				return err
			}
			defer st.Close()
			ctx := cmd.Context()
			id := args[0]
			d, ttl, err := readWithTTL(ctx, st, id)
			if err != nil {
				return err
			}
			if !d.Found {
				return fmt.Errorf("session %q not found (key %q)", id, st.Key(id))
			}
			out := cmd.OutOrStdout()
			if raw && len(args) == 1 {
				_, err := out.Write(d.Bytes)
				return err
			}
			s, found, err := readStored(f, auto, d.Bytes)
			if err != nil {
				return fmt.Errorf("session %q: %w", id, err)
			}
			if len(args) == 2 {
				v, ok, err := s.Get(args[1])
				if err != nil {
					return fmt.Errorf("session %q: variable %q: %w", id, args[1], err)
				}
				if !ok {
					return fmt.Errorf("session %q has no variable %q", id, args[1])
				}
				switch {
				case plain:
					return writeJSONBytes(out, codec.NaturalJSON(jf.FromPHP(args[1], v)), pretty)
				case raw:
					b, err := codec.EncodeValue(v)
					if err != nil {
						return err
					}
					_, err = out.Write(b)
					return err
				case g.json:
					b, err := codec.ValueToJSON(v)
					if err != nil {
						return err
					}
					return writeJSONBytes(out, b, pretty)
				}
				fmt.Fprintln(out, prettyValue(v))
				return nil
			}
			if plain {
				b, err := plainSessionJSON(s, jf)
				if err != nil {
					return fmt.Errorf("session %q: %w", id, err)
				}
				return writeJSONBytes(out, b, pretty)
			}
			if g.json {
				b, err := codec.SessionToJSON(s)
				if err != nil {
					return err
				}
				return writeJSONBytes(out, b, pretty)
			}
			body, err := prettySession(s)
			if err != nil {
				return fmt.Errorf("session %q: %w", id, err)
			}
			head := fmt.Sprintf("session %s: %s, %d bytes, %d variables, TTL %s", quotePHP(id), storedFormatName(found), len(d.Bytes), s.Len(), fmtTTL(ttl))
			if tok, lttl, held, err := st.LockHolder(ctx, id); err == nil && held {
				head += fmt.Sprintf(", locked by %s (lock TTL %s)", quotePHP(tok), fmtTTL(lttl))
			}
			fmt.Fprintln(out, head)
			fmt.Fprint(out, body)
			return nil
		},
	}
	c.Flags().BoolVar(&raw, "raw", false, "write the stored bytes (or one variable's serialized value) unchanged")
	c.Flags().BoolVar(&pretty, "pretty", false, "indent the --json output")
	c.Flags().BoolVar(&plain, "plain", false, "print natural JSON (jq-friendly; lossy) instead of the lossless rendering")
	jsonFields.add(c)
	return c
}

// plainSessionJSON is the natural JSON of a session: one object of its
// variables in order, JSON fields decoded.
func plainSessionJSON(s *codec.Session, jf codec.JSONFields) ([]byte, error) {
	buf := []byte{'{'}
	for i, k := range s.Keys() {
		v, _, err := s.GetKey(k)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", k.String(), err)
		}
		if i > 0 {
			buf = append(buf, ',')
		}
		name, _ := json.Marshal(k.String())
		buf = append(buf, name...)
		buf = append(buf, ':')
		buf = append(buf, codec.NaturalJSON(jf.FromPHP(k.String(), v))...)
	}
	return append(buf, '}'), nil
}

// readWithTTL reads the session bytes and their TTL with a plain GET and
// PTTL (no client-side cache: a one-shot command gains nothing from it).
func readWithTTL(ctx context.Context, st *redisio.Store, id string) (redisio.Data, time.Duration, error) {
	c := st.Client()
	k := st.Key(id)
	rs := c.DoMulti(ctx, c.B().Get().Key(k).Build(), c.B().Pttl().Key(k).Build())
	b, err := rs[0].AsBytes()
	if rueidis.IsRedisNil(err) {
		return redisio.Data{}, 0, nil
	}
	if err != nil {
		return redisio.Data{}, 0, fmt.Errorf("GET %s: %w", k, err)
	}
	ms, err := rs[1].AsInt64()
	if err != nil {
		return redisio.Data{}, 0, fmt.Errorf("PTTL %s: %w", k, err)
	}
	ttl := time.Duration(ms) * time.Millisecond
	if ms < 0 {
		ttl = -1
	}
	return redisio.Data{Bytes: b, Found: true}, ttl, nil
}

func writeJSONBytes(out interface{ Write([]byte) (int, error) }, b []byte, indent bool) error {
	if indent {
		var buf bytes.Buffer
		if err := json.Indent(&buf, b, "", "  "); err != nil {
			return err
		}
		b = buf.Bytes()
	}
	b = append(b, '\n')
	_, err := out.Write(b)
	return err
}

// writeJSON writes v as one line of JSON.
func writeJSON(out interface{ Write([]byte) (int, error) }, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := out.Write(buf.Bytes())
	return err
}

// completeSessionIDs completes the first argument with session IDs found
// by a short SCAN (at most 200).
func completeSessionIDs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	st, err := openStore(g.storeConfig())
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	defer st.Close()
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var ids []string
	sc := newScanner(st, globEscape(st.Config().Prefix+toComplete)+"*", 500)
	_ = sc.each(ctx, func(keys []string) bool {
		for _, k := range keys {
			id := strings.TrimPrefix(k, st.Config().Prefix)
			if notSessionKey(k, id, st.Config().LockSuffix) {
				continue
			}
			ids = append(ids, id)
		}
		return len(ids) < 200
	})
	return ids, cobra.ShellCompDirectiveNoFileComp
}
