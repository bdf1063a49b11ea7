package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

func init() { register(newWatchCmd) }

// watchEvent is one printed change.
type watchEvent struct {
	Time    time.Time `json:"time"`
	ID      string    `json:"id"`
	Event   string    `json:"event"` // "changed", "created", "deleted", "undecodable"
	Added   []string  `json:"added,omitempty"`
	Removed []string  `json:"removed,omitempty"`
	Changed []string  `json:"changed,omitempty"`
	Size    int       `json:"size"`
	Error   string    `json:"error,omitempty"`
	// Values: compact renderings, "old → new" for changed variables.
	Values map[string]string `json:"values,omitempty"`
	// Paths: for changed arrays and objects, what changed inside them, by
	// path (cart.items[2].qty).
	Paths []pathChange `json:"paths,omitempty"`
}

// pathChange is one change inside a variable.
type pathChange struct {
	Path string `json:"path"`
	Op   string `json:"op"` // "added", "removed", "changed"
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// maxPathChanges bounds the changes listed per variable (the rest are
// counted in one "…" entry).
const maxPathChanges = 20

// diffPaths appends the changes from a to b inside one value, by path.
// Arrays and objects of the same class are compared member by member;
// anything else that differs is one change.
func diffPaths(path string, a, b codec.Value, out *[]pathChange, depth int) {
	a, b = codec.Deref(a), codec.Deref(b)
	if depth < 64 {
		switch x := a.(type) {
		case *codec.Array:
			if y, ok := b.(*codec.Array); ok {
				for i := 0; i < y.Len(); i++ {
					k, nv := y.At(i)
					if ov, had := x.Get(k); had {
						diffPaths(path+keyPath(k), ov, nv, out, depth+1)
					} else {
						*out = append(*out, pathChange{Path: path + keyPath(k), Op: "added", New: compactValue(nv, 40)})
					}
				}
				for i := 0; i < x.Len(); i++ {
					if k, _ := x.At(i); !has(y, k) {
						*out = append(*out, pathChange{Path: path + keyPath(k), Op: "removed"})
					}
				}
				return
			}
		case *codec.Object:
			if y, ok := b.(*codec.Object); ok && x.Class == y.Class {
				for i := 0; i < y.Len(); i++ {
					m, nv := y.At(i)
					if ov, had := x.GetKey(m.Key); had {
						diffPaths(path+memberPath(m), ov, nv, out, depth+1)
					} else {
						*out = append(*out, pathChange{Path: path + memberPath(m), Op: "added", New: compactValue(nv, 40)})
					}
				}
				for i := 0; i < x.Len(); i++ {
					if m, _ := x.At(i); !hasMember(y, m.Key) {
						*out = append(*out, pathChange{Path: path + memberPath(m), Op: "removed"})
					}
				}
				return
			}
		}
	}
	if sameValue(a, b) {
		return
	}
	*out = append(*out, pathChange{Path: path, Op: "changed", Old: compactValue(a, 40), New: compactValue(b, 40)})
}

func has(a *codec.Array, k codec.Key) bool { _, ok := a.Get(k); return ok }

func hasMember(o *codec.Object, k codec.Key) bool { _, ok := o.GetKey(k); return ok }

// sameValue reports whether a and b serialize alike.
func sameValue(a, b codec.Value) bool {
	ea, err1 := codec.EncodeValue(a)
	eb, err2 := codec.EncodeValue(b)
	return err1 == nil && err2 == nil && bytes.Equal(ea, eb)
}

// keyPath renders an array key in a path: [2] for an int key, .name for
// a plain string key, ["odd key"] otherwise.
func keyPath(k codec.Key) string {
	if k.IsInt() {
		return fmt.Sprintf("[%d]", k.Int())
	}
	return namePath(k.String())
}

func memberPath(m codec.Member) string {
	if m.Key.IsInt() {
		return fmt.Sprintf("[%d]", m.Key.Int())
	}
	return namePath(m.Name)
}

func namePath(s string) string {
	plain := s != ""
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
	}
	if plain && utf8.ValidString(s) {
		return "." + s
	}
	return "[" + quotePHP(s) + "]"
}

func newWatchCmd() *cobra.Command {
	var (
		count   int
		timeout time.Duration
		poll    time.Duration
	)
	c := &cobra.Command{
		Use:   "watch ID",
		Short: "Print a line each time a session changes (PHP or Go)",
		Long: `watch follows session ID live. It reads the session with Redis client-side
caching (CLIENT TRACKING), so Redis pushes an invalidation the moment
anyone — PHP, a Go service, redis-cli — writes or deletes the session key;
watch then re-reads it and prints one line naming the variables that were
added (+), removed (-) or changed (~), with short renderings of the values.
Inside a changed array or object, the changes are shown by path:
  ~cart.items[2].qty: int(1) → int(2)  +cart.coupon="X"  -cart.note
Writes that leave the bytes unchanged (PHP's lazy_write refreshing the TTL)
print nothing. Several writes in quick succession may be reported as one
line.

watch runs until Ctrl-C, until --count changes were printed, or until
--timeout (exit status 1 if --count was not reached by then). A ready
message goes to stderr once the session is being tracked.`,
		Example: `  phpsess watch 9f2kq3m1c0a7b5d4e6f8g0h2i4
  phpsess watch 9f2kq3m1 --count 1 --timeout 30s --json`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: completeSessionIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
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
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			if !st.Tracking() && poll <= 0 {
				poll = time.Second // no invalidations without tracking
			}
			n, err := runWatch(ctx, cmd, st, f, auto, args[0], count, poll)
			if err != nil && ctx.Err() == nil {
				return err
			}
			if count > 0 && n < count && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("watch: timed out after %d of %d changes", n, count)
			}
			return nil
		},
	}
	c.Flags().IntVar(&count, "count", 0, "exit after `N` changes (0: no limit)")
	c.Flags().DurationVar(&timeout, "timeout", 0, "exit after this long (0: no limit)")
	c.Flags().DurationVar(&poll, "poll", 0, "also re-read every interval, as a safety net (0: invalidations only)")
	return c
}

type snapshot struct {
	found bool
	raw   []byte
	names []string
	vals  map[string][]byte      // serialized bytes per variable
	view  map[string]codec.Value // decoded values
	err   error                  // decode error
}

func takeSnapshot(f codec.Format, auto bool, d redisio.Data) snapshot {
	sn := snapshot{found: d.Found, raw: d.Bytes}
	if !d.Found {
		return sn
	}
	s, _, err := readStored(f, auto, d.Bytes)
	if err != nil {
		sn.err = err
		return sn
	}
	sn.vals = map[string][]byte{}
	sn.view = map[string]codec.Value{}
	for _, k := range s.Keys() {
		name := k.String()
		v, _, err := s.GetKey(k)
		if err != nil {
			sn.err = err
			return sn
		}
		b, err := codec.EncodeValue(v)
		if err != nil {
			sn.err = err
			return sn
		}
		sn.names = append(sn.names, name)
		sn.vals[name] = b
		sn.view[name] = v
	}
	return sn
}

// diff describes the change from a to b; ok is false when nothing changed.
func diff(id string, a, b snapshot) (watchEvent, bool) {
	ev := watchEvent{Time: time.Now(), ID: id, Size: len(b.raw), Values: map[string]string{}}
	switch {
	case a.found && !b.found:
		ev.Event = "deleted"
		return ev, true
	case !a.found && !b.found:
		return ev, false
	case a.found && bytes.Equal(a.raw, b.raw):
		return ev, false
	case b.err != nil:
		ev.Event = "undecodable"
		ev.Error = b.err.Error()
		return ev, true
	}
	ev.Event = "changed"
	if !a.found {
		ev.Event = "created"
	}
	for _, n := range b.names {
		old, had := a.vals[n]
		switch {
		case !had:
			ev.Added = append(ev.Added, n)
			ev.Values[n] = compactValue(b.view[n], 40)
		case !bytes.Equal(old, b.vals[n]):
			ev.Changed = append(ev.Changed, n)
			ev.Values[n] = compactValue(a.view[n], 40) + " → " + compactValue(b.view[n], 40)
			av, bv := a.view[n], b.view[n]
			if jf := codec.DefaultJSONFields(); jf.Match(n) {
				// JSON text of the library's default JSON fields: diff the
				// decoded JSON, so a change inside a cart shows by path
				if x, ok := codec.DecodeJSONString(av); ok && isContainer(x) {
					if y, ok := codec.DecodeJSONString(bv); ok && isContainer(y) {
						av, bv = x, y
					}
				}
			}
			if isContainer(av) && isContainer(bv) {
				var ps []pathChange
				diffPaths(nameText(n), av, bv, &ps, 0)
				if len(ps) > maxPathChanges {
					more := len(ps) - maxPathChanges
					ps = append(ps[:maxPathChanges], pathChange{Path: nameText(n), Op: "more", New: fmt.Sprintf("%d more changes", more)})
				}
				ev.Paths = append(ev.Paths, ps...)
			}
		}
	}
	for _, n := range a.names {
		if _, has := b.vals[n]; !has {
			ev.Removed = append(ev.Removed, n)
		}
	}
	if len(ev.Values) == 0 {
		ev.Values = nil
	}
	if ev.Event == "changed" && len(ev.Added)+len(ev.Removed)+len(ev.Changed) == 0 {
		ev.Event = "rewritten" // same variables, different bytes (e.g. re-encoded)
	}
	return ev, true
}

func isContainer(v codec.Value) bool {
	switch codec.Deref(v).(type) {
	case *codec.Array, *codec.Object:
		return true
	}
	return false
}

func (ev watchEvent) text() string {
	var b strings.Builder
	b.WriteString(ev.Time.Format("15:04:05.000"))
	b.WriteString("  ")
	switch ev.Event {
	case "deleted":
		b.WriteString("session deleted")
		return b.String()
	case "undecodable":
		b.WriteString("undecodable: " + ev.Error)
		return b.String()
	case "created":
		b.WriteString("created ")
	case "rewritten":
		b.WriteString("rewritten (same values)")
	}
	parts := []string{}
	for _, n := range ev.Added {
		parts = append(parts, "+"+nameText(n)+"="+ev.Values[n])
	}
	for _, n := range ev.Changed {
		inner := false
		for _, p := range ev.Paths {
			if p.Path != nameText(n) && !strings.HasPrefix(p.Path, nameText(n)+".") && !strings.HasPrefix(p.Path, nameText(n)+"[") {
				continue
			}
			inner = true
			switch p.Op {
			case "added":
				parts = append(parts, "+"+p.Path+"="+p.New)
			case "removed":
				parts = append(parts, "-"+p.Path)
			case "more":
				parts = append(parts, "… "+p.New+" in "+p.Path)
			default:
				parts = append(parts, "~"+p.Path+": "+p.Old+" → "+p.New)
			}
		}
		if !inner {
			parts = append(parts, "~"+nameText(n)+": "+ev.Values[n])
		}
	}
	for _, n := range ev.Removed {
		parts = append(parts, "-"+nameText(n))
	}
	b.WriteString(strings.Join(parts, "  "))
	return strings.TrimRight(b.String(), " ")
}

// runWatch prints changes until ctx ends or count changes were printed, and
// returns how many were printed.
func runWatch(ctx context.Context, cmd *cobra.Command, st *redisio.Store, f codec.Format, auto bool, id string, count int, poll time.Duration) (int, error) {
	wake := make(chan struct{}, 1)
	cancel := st.OnInvalidate(func(ids []string) {
		if ids == nil || slices.Contains(ids, id) {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer cancel()
	read := func() (snapshot, error) {
		d, err := st.Get(ctx, id) // DoCache: arms tracking of the key
		if err != nil {
			return snapshot{}, err
		}
		return takeSnapshot(f, auto, d), nil
	}
	cur, err := read()
	if err != nil {
		return 0, err
	}
	state := "does not exist yet"
	if cur.found {
		if cur.err != nil {
			state = "undecodable: " + cur.err.Error()
		} else {
			state = fmt.Sprintf("%d variables: %s", len(cur.names), strings.Join(cur.names, ", "))
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "watching session %q (%s)\n", id, state)
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	out := cmd.OutOrStdout()
	n := 0
	for count <= 0 || n < count {
		select {
		case <-ctx.Done():
			return n, nil
		case <-wake:
		case <-tick:
		}
		next, err := read()
		if err != nil {
			// Redis restarting or unreachable: say so and keep trying
			// (the tracking is re-armed by the read that succeeds).
			next, err = retryRead(ctx, cmd, read, err)
			if err != nil {
				return n, nil // ctx ended
			}
		}
		ev, changed := diff(id, cur, next)
		cur = next
		if !changed {
			continue
		}
		n++
		if g.json {
			if err := writeJSON(out, ev); err != nil {
				return n, err
			}
		} else {
			fmt.Fprintln(out, ev.text())
		}
	}
	return n, nil
}

// retryRead retries read every second after a failure, reporting the
// outage and the recovery on stderr, until it succeeds or ctx ends.
func retryRead(ctx context.Context, cmd *cobra.Command, read func() (snapshot, error), first error) (snapshot, error) {
	errOut := cmd.ErrOrStderr()
	fmt.Fprintf(errOut, "phpsess: watch: %v; retrying\n", first)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return snapshot{}, ctx.Err()
		case <-t.C:
		}
		sn, err := read()
		if err == nil {
			fmt.Fprintln(errOut, "phpsess: watch: reconnected")
			return sn, nil
		}
	}
}
