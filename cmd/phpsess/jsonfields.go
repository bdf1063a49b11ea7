package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/codec"
)

// jsonFieldsFlag is --json-fields: the session variables that hold JSON
// text, as in the library's Config.JSONFields. "default" is
// codec.DefaultJSONFields, "none" (or "") turns them off, anything else is
// a comma-separated list of names, where a name ending in '*' is a prefix
// ("cart_json,trace_list_*").
type jsonFieldsFlag struct {
	text string
}

const jsonFieldsUsage = "variables holding JSON text: `LIST` of names (name* = prefix), 'default' (" +
	"scart_items, ga_data, session_view_log, MPIReceive, trace_list_*) or 'none'"

func (f *jsonFieldsFlag) add(c *cobra.Command) {
	c.Flags().StringVar(&f.text, "json-fields", "default", jsonFieldsUsage)
}

// fields parses the flag.
func (f *jsonFieldsFlag) fields() (codec.JSONFields, error) {
	return parseJSONFields(f.text)
}

func parseJSONFields(text string) (codec.JSONFields, error) {
	switch strings.TrimSpace(text) {
	case "default":
		return codec.DefaultJSONFields(), nil
	case "none", "":
		return codec.JSONFields{}, nil
	}
	var jf codec.JSONFields
	for _, n := range strings.Split(text, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n == "" || n == "*":
			return jf, usageError{fmt.Errorf("--json-fields: empty name in %q", text)}
		case strings.HasSuffix(n, "*"):
			jf.Prefixes = append(jf.Prefixes, strings.TrimSuffix(n, "*"))
		default:
			jf.Names = append(jf.Names, n)
		}
	}
	return jf, nil
}
