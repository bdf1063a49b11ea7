package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession"
	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

func init() {
	register(newSetCmd)
	register(newDelCmd)
}

// errNoSession and errNoVar end an Update without changes.
var (
	errNoSession = errors.New("session not found")
	errNoVar     = errors.New("no such variable")
)

func newSetCmd() *cobra.Command {
	var (
		mo                       managerOpts
		asPHP, asString, asTyped bool
		create                   bool
		jsonFields               jsonFieldsFlag
	)
	c := &cobra.Command{
		Use:   "set ID KEY VALUE",
		Short: "Set one session variable, atomically with respect to the session lock",
		Long: `set stores VALUE in variable KEY of session ID through the phpsession
coordinator: it reads the session, changes the one variable and writes the
session back in the --handler and --compression format (with --handler
auto: the format it is stored in) with one atomic check-and-write that
refuses while PHP holds the session's lock (it then waits, up to
--lock-timeout) or while the session changed since the read (it then
re-reads and changes again). On a Redis Cluster whose slots split the
session's two keys it takes the lock exactly as phpredis does instead. The
other variables are written back byte for byte, so a live PHP application
is safe.

VALUE is JSON by default: numbers without fraction or exponent become PHP
ints, other numbers floats, objects become arrays with string keys (PHP
turns numeric-string keys into int keys, as json_decode($v, true) does),
arrays become lists.

JSON fields: a variable named by --json-fields (by default the library's
Config.JSONFields defaults: scart_items, ga_data, session_view_log,
MPIReceive and trace_list_*) holds JSON text that PHP reads with
json_decode(); for it, VALUE (which must be JSON) is stored as that text,
in a PHP string, exactly as the library stores it. --json-fields none
turns this off; --json-fields 'cart,log_*' names other variables.

Other forms:
  --string   VALUE is stored as a PHP string, as is (also for JSON text)
  --php      VALUE is a serialize() literal, e.g. 'O:8:"stdClass":0:{}'
  --typed    VALUE is the lossless JSON rendering ('phpsess get ID KEY --json')

The session must exist unless --create is given. The TTL of the session is
set to --ttl, as PHP sets it to session.gc_maxlifetime on every write.`,
		Example: `  phpsess set 9f2kq3m1 count 3
  phpsess set 9f2kq3m1 user '{"name":"bob","roles":["admin"]}'
  phpsess set 9f2kq3m1 scart_items '[{"sku":"b","qty":2}]'    # JSON text, for json_decode()
  phpsess set 9f2kq3m1 greeting --string 'hello world'
  phpsess set 9f2kq3m1 when --php 'd:0.1;'
  phpsess get 9f2kq3m1 cart --json | phpsess set 9f2kq3m2 cart --typed "$(cat)"`,
		Args:              exactArgs("ID", "KEY", "VALUE"),
		ValidArgsFunction: completeSessionIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			n := 0
			for _, b := range []bool{asPHP, asString, asTyped} {
				if b {
					n++
				}
			}
			if n > 1 {
				return usageError{errors.New("set: --php, --string and --typed are mutually exclusive")}
			}
			id, key, text := args[0], args[1], args[2]
			if !phpsession.ValidID(id) {
				return usageError{fmt.Errorf("set: %q is not a valid PHP session ID (1-256 of [A-Za-z0-9,-])", id)}
			}
			jf, err := jsonFields.fields()
			if err != nil {
				return err
			}
			var v codec.Value
			isJSONField := false
			switch {
			case asString:
				v = codec.String(text)
			case asPHP:
				v, err = codec.DecodeValueString(text, nil)
				if err != nil {
					return fmt.Errorf("set: VALUE is not a serialize() literal: %w", err)
				}
			case asTyped:
				v, err = codec.ValueFromJSON([]byte(text))
				if err != nil {
					return fmt.Errorf("set: VALUE: %w", err)
				}
			default:
				v, err = plainJSONValue([]byte(text))
				if err != nil {
					return fmt.Errorf("set: VALUE is not JSON (%v); quote strings ('\"text\"') or use --string", err)
				}
				if jf.Match(key) {
					// stored as the JSON text itself, like the library's JSON fields
					v, isJSONField = codec.String(text), true
				}
			}
			f, err := mo.resolveFormat(cmd.Context(), id)
			if err != nil {
				return err
			}
			if err := f.Handler.ValidName(key); err != nil {
				return fmt.Errorf("set: %w", err)
			}
			m, err := openManager(mo)
			if err != nil {
				return err
			}
			defer closeManager(m)
			created := false
			err = m.Update(cmd.Context(), id, func(s *phpsession.Session) error {
				created = !s.Exists()
				if created && !create {
					return errNoSession
				}
				return s.Set(key, codec.CopyValue(v))
			})
			if errors.Is(err, errNoSession) {
				return fmt.Errorf("session %q not found (use --create to create it)", id)
			}
			if err != nil {
				return err
			}
			if g.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"id": id, "key": key, "set": true, "created": created, "json_field": isJSONField})
			}
			verb := "set"
			if created {
				verb = "created with"
			}
			note := ""
			if isJSONField {
				note = " (JSON field: stored as JSON text)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "session %q %s %s = %s%s\n", id, verb, nameText(key), compactValue(v, 60), note)
			return nil
		},
	}
	mo.addFlags(c)
	jsonFields.add(c)
	c.Flags().BoolVar(&asPHP, "php", false, "VALUE is a PHP serialize() literal")
	c.Flags().BoolVar(&asString, "string", false, "VALUE is a plain string")
	c.Flags().BoolVar(&asTyped, "typed", false, "VALUE is the lossless JSON rendering of 'get --json'")
	c.Flags().BoolVar(&create, "create", false, "create the session when it does not exist")
	return c
}

func newDelCmd() *cobra.Command {
	var mo managerOpts
	c := &cobra.Command{
		Use:   "del ID [KEY]",
		Short: "Delete a session, or one variable of it, atomically with respect to the session lock",
		Long: `del ID deletes the whole session (like PHP's session_destroy()); del ID KEY
removes one variable (like unset($_SESSION[KEY])). Both go through the
phpsession coordinator and take the session's lock as phpredis does, so a
live PHP application is safe. A missing session or variable is an error
(exit status 1).`,
		Example: `  phpsess del 9f2kq3m1 cart
  phpsess del 9f2kq3m1`,
		Args:              rangeArgs(1, 2, "ID", "KEY"),
		ValidArgsFunction: completeSessionIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			if !phpsession.ValidID(id) {
				return usageError{fmt.Errorf("del: %q is not a valid PHP session ID (1-256 of [A-Za-z0-9,-])", id)}
			}
			if _, err := mo.resolveFormat(cmd.Context(), id); err != nil {
				return err
			}
			m, err := openManager(mo)
			if err != nil {
				return err
			}
			defer closeManager(m)
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if len(args) == 1 {
				existed, err := m.Destroy(ctx, id)
				if errors.Is(err, phpsession.ErrCodec) {
					// The coordinator decodes what it locks; a corrupt
					// session is deleted under the lock by the protocol
					// layer directly.
					existed, err = destroyUndecodable(ctx, m, id)
				}
				if err != nil {
					return err
				}
				if !existed {
					return fmt.Errorf("session %q not found", id)
				}
				if g.json {
					return writeJSON(out, map[string]any{"id": id, "deleted": true})
				}
				fmt.Fprintf(out, "session %q deleted\n", id)
				return nil
			}
			key := args[1]
			err = m.Update(ctx, id, func(s *phpsession.Session) error {
				if !s.Exists() {
					return errNoSession
				}
				if !s.Delete(key) {
					return errNoVar
				}
				return nil
			})
			switch {
			case errors.Is(err, errNoSession):
				return fmt.Errorf("session %q not found", id)
			case errors.Is(err, errNoVar):
				return fmt.Errorf("session %q has no variable %q", id, key)
			case err != nil:
				return err
			}
			if g.json {
				return writeJSON(out, map[string]any{"id": id, "key": key, "deleted": true})
			}
			fmt.Fprintf(out, "session %q: %s deleted\n", id, nameText(key))
			return nil
		},
	}
	mo.addFlags(c)
	return c
}

// plainJSONValue converts ordinary JSON to a PHP value: integers to Int,
// other numbers to Float, objects to arrays with string keys in document
// order (numeric strings become int keys, as in PHP), arrays to lists.
func plainJSONValue(b []byte) (codec.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := jsonValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder, depth int) (codec.Value, error) {
	if depth > 4096 {
		return nil, errors.New("nesting too deep")
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case nil:
		return codec.Null{}, nil
	case bool:
		return codec.Bool(t), nil
	case string:
		return codec.String(t), nil
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return codec.Int(i), nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil && !(errors.Is(err, strconv.ErrRange) && math.IsInf(f, 0)) {
			return nil, err
		}
		return codec.Float(f), nil
	case json.Delim:
		a := codec.NewArray()
		switch t {
		case '[':
			for dec.More() {
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a.Append(v)
			}
		case '{':
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				a.Set(codec.StrKey(kt.(string)), v)
			}
		}
		if _, err := dec.Token(); err != nil { // closing delimiter
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// destroyUndecodable deletes a session whose bytes do not decode, under
// its lock (lock, then DEL and release in one step).
func destroyUndecodable(ctx context.Context, m *phpsession.Manager, id string) (bool, error) {
	st := m.Store()
	l, d, err := st.LockAndRead(ctx, id)
	if err != nil {
		return false, err
	}
	res, err := st.Commit(ctx, l, redisio.WriteDelete, nil)
	if err != nil {
		return false, err
	}
	return d.Found || res.Existed, nil
}
