package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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
			h, err := g.serializer()
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
			n, err := runWatch(ctx, cmd, st, h, args[0], count, poll)
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

func takeSnapshot(h codec.Handler, d redisio.Data) snapshot {
	sn := snapshot{found: d.Found, raw: d.Bytes}
	if !d.Found {
		return sn
	}
	s, err := codec.DecodeSession(h, d.Bytes, nil)
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
		parts = append(parts, "~"+nameText(n)+": "+ev.Values[n])
	}
	for _, n := range ev.Removed {
		parts = append(parts, "-"+nameText(n))
	}
	b.WriteString(strings.Join(parts, "  "))
	return strings.TrimRight(b.String(), " ")
}

// runWatch prints changes until ctx ends or count changes were printed, and
// returns how many were printed.
func runWatch(ctx context.Context, cmd *cobra.Command, st *redisio.Store, h codec.Handler, id string, count int, poll time.Duration) (int, error) {
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
		return takeSnapshot(h, d), nil
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
