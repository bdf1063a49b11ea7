package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/codec"
	"github.com/phpsession/phpsession/redisio"
)

func init() { register(newMigrateCmd) }

const maxStoredFailures = 1000

type migrateFailure struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

type migrateNode struct {
	Cursor   uint64   `json:"cursor"`              // SCAN cursor of the page in progress
	Done     bool     `json:"done"`                // node fully scanned
	PageDone []string `json:"page_done,omitempty"` // IDs of that page already handled
}

// migrateState is the --state checkpoint file: what was asked, how far the
// SCAN got on each node, and the counts so far.
type migrateState struct {
	Version   int                     `json:"version"`
	From      string                  `json:"from"` // format: H[+C[:LEVEL]] or auto
	To        string                  `json:"to"`
	Prefix    string                  `json:"prefix"`
	Match     string                  `json:"match"`
	DryRun    bool                    `json:"dry_run"`
	Nodes     map[string]*migrateNode `json:"nodes"`
	Converted int64                   `json:"converted"`
	Skipped   int64                   `json:"skipped"`
	Failed    int64                   `json:"failed"`
	Failures  []migrateFailure        `json:"failures,omitempty"`
	Complete  bool                    `json:"complete"`
	Updated   time.Time               `json:"updated"`
}

type migrateOpts struct {
	from, to    string
	dryRun      bool
	state       string
	match       string
	limit       int64
	scanCount   int64
	progress    bool
	lockTimeout time.Duration
	keepTTL     bool
	workers     int
}

func newMigrateCmd() *cobra.Command {
	var o migrateOpts
	c := &cobra.Command{
		Use:   "migrate --from FORMAT --to FORMAT",
		Short: "Rewrite every session from one format (serializer, compression) to another, under each session's lock",
		Long: `migrate converts every session under the prefix from format --from to format
--to, producing the bytes PHP itself writes in --to. A format is
H[+C[:LEVEL]]: a serializer (` + strings.Join(handlerNames(false), ", ") + `), optionally
a phpredis 6 compression (lzf, zstd, lz4) and its level (default 3), e.g.
php, igbinary+zstd, msgpack+lz4:9. --from auto takes every session in
whatever format it is stored. Sessions in --from's serializer are read
under any compression (as phpredis reads them). Each session is converted
under its own lock, taken exactly as phpredis takes it (so PHP requests on
that session wait for the few milliseconds it takes); its remaining TTL is
kept.

Nothing is ever lost:
  - a session already in the --to format is skipped (so migrate is
    idempotent and can simply be run again; the compression level of
    data already compressed as --to is not checked);
  - a session that does not decode as --from (nor as --to), or that --to
    cannot hold (php: a name containing '|'; php, php_binary: numeric
    names; php_binary: names over 127 bytes), is left untouched and
    reported with the reason;
  - a session whose lock stays held longer than --lock-timeout is left
    untouched and reported.

Resuming: with --state FILE the SCAN cursor of every node and the counts
are checkpointed to FILE after every SCAN page (and on Ctrl-C or --limit);
running the same command again continues where it stopped. Running it
again after it finished retries the sessions that failed (those listed in
FILE; when more failed than it lists, the whole prefix is scanned again).
Without --state, a re-run starts over and skips what is already converted.

--dry-run reads without locking or writing and reports what would happen.
A progress bar is drawn on stderr when it is a terminal, or with
--progress (then one line about once a second, and a last "done: " line
with the final counts). The exit status is 1 when any session failed.

Switch the PHP side (session.serialize_handler, redis.session.compression)
at the same time: PHP destroys a session it cannot decode, so sessions PHP
reads in the old format after the switch, before migrate reached them, are
lost. (A change of compression alone is safe in one direction: phpredis
reads uncompressed data under every compression.)`,
		Example: `  phpsess migrate --from php --to igbinary+zstd --dry-run
  phpsess migrate --from auto --to php+lz4:9 --state /var/tmp/migrate.json
  phpsess migrate --from php --to php_serialize --dry-run
  phpsess migrate --from php --to php_serialize --state /var/tmp/migrate.json
  phpsess migrate --from php --to php_serialize --state /var/tmp/migrate.json   # resume`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.from, "from", "", "`FORMAT` the sessions are stored in now: H[+C[:LEVEL]] or auto (required)")
	f.StringVar(&o.to, "to", "", "`FORMAT` to rewrite them in: H[+C[:LEVEL]] (required)")
	f.BoolVar(&o.dryRun, "dry-run", false, "only report what would be converted, skipped or failed")
	f.StringVar(&o.state, "state", "", "checkpoint `FILE` making the migration resumable")
	f.StringVar(&o.match, "match", "*", "`GLOB` on session IDs")
	f.Int64Var(&o.limit, "limit", 0, "stop after `N` sessions in this run (0: all); resume with --state")
	f.Int64Var(&o.scanCount, "scan-count", 500, "SCAN COUNT hint per call (sessions per checkpoint, roughly)")
	f.BoolVar(&o.progress, "progress", false, "show progress on stderr even when it is not a terminal")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 5*time.Second, "give up on a session whose lock stays held this long (reported as failed)")
	f.IntVar(&o.workers, "workers", 8, "`N` sessions converted concurrently (each under its own lock)")
	f.BoolVar(&o.keepTTL, "keep-ttl", true, "keep each session's remaining TTL (false: reset it to 24h)")
	for _, n := range []string{"from", "to"} {
		_ = c.RegisterFlagCompletionFunc(n, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return handlerNames(true), cobra.ShellCompDirectiveNoFileComp
		})
	}
	return c
}

func loadState(path string) (*migrateState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s migrateState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return &s, nil
}

func saveState(path string, s *migrateState) error {
	s.Updated = time.Now().UTC()
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".phpsess-state-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// classify decides what migrating b means: already in the target format
// (nil, false, nil), convertible (new bytes, true, nil), or not (reason).
// The source must be in from's serializer (any compression, as phpredis
// reads it) unless fromAuto.
func classify(from codec.Format, fromAuto bool, to codec.Format, b []byte) ([]byte, bool, error) {
	if to.Compression == "" {
		to.Compression = codec.NoCompression
	}
	s, found, err := to.Read(b, nil)
	if err != nil {
		return nil, false, fmt.Errorf("not %s data (nor %s): %w", fromName(from, fromAuto), to, err)
	}
	if found.Handler == to.Handler && found.Compression == to.Compression {
		// Already converted (a re-run, or PHP wrote it in the new format);
		// uncompressed data must also be exactly what the serializer
		// writes, so that data merely readable as --to is converted.
		if to.Compression != codec.NoCompression {
			return nil, false, nil
		}
		if enc, err := s.Encode(); err == nil && bytes.Equal(enc, b) {
			return nil, false, nil
		}
	}
	if !fromAuto && found.Handler != from.Handler && found.Handler != to.Handler {
		return nil, false, fmt.Errorf("not %s data (nor %s): it is %s session data", from.Handler, to.Handler, found.Handler)
	}
	c, err := s.Convert(to.Handler)
	if err != nil {
		return nil, false, fmt.Errorf("cannot convert to %s: %w", to.Handler, err)
	}
	enc, err := to.Encode(c)
	if err != nil {
		return nil, false, fmt.Errorf("cannot encode as %s: %w", to, err)
	}
	return enc, true, nil
}

func fromName(f codec.Format, auto bool) string {
	if auto {
		return handlerAuto
	}
	return string(f.Handler)
}

type outcome int

const (
	outConverted outcome = iota
	outSkipped
	outFailed
	outGone
)

// migrateOne converts one session under its lock.
func migrateOne(ctx context.Context, st *redisio.Store, o migrateOpts, from codec.Format, fromAuto bool, to codec.Format, id string) (outcome, error) {
	c := st.Client()
	if o.dryRun {
		b, err := c.Do(ctx, c.B().Get().Key(st.Key(id)).Build()).AsBytes()
		if err != nil {
			if rueidis.IsRedisNil(err) {
				return outGone, nil
			}
			return outFailed, err
		}
		_, conv, err := classify(from, fromAuto, to, b)
		switch {
		case err != nil:
			return outFailed, err
		case conv:
			return outConverted, nil
		}
		return outSkipped, nil
	}
	l, d, err := st.LockAndRead(ctx, id)
	if err != nil {
		return outFailed, fmt.Errorf("lock: %w", err)
	}
	release := func() { _ = st.Release(context.WithoutCancel(ctx), l) }
	if !d.Found {
		release()
		return outGone, nil
	}
	enc, conv, err := classify(from, fromAuto, to, d.Bytes)
	if err != nil || !conv {
		release()
		if err != nil {
			return outFailed, err
		}
		return outSkipped, nil
	}
	var pttl int64 = -3
	if o.keepTTL {
		pttl, err = c.Do(ctx, c.B().Pttl().Key(st.Key(id)).Build()).AsInt64()
		if err != nil {
			release()
			return outFailed, fmt.Errorf("PTTL: %w", err)
		}
	}
	if err := st.CommitKeep(ctx, l, redisio.WriteData, enc); err != nil {
		release()
		return outFailed, fmt.Errorf("write: %w", err)
	}
	// Still under our lock: give the key its remaining TTL back.
	wctx := context.WithoutCancel(ctx)
	switch {
	case pttl > 0:
		err = c.Do(wctx, c.B().Pexpire().Key(st.Key(id)).Milliseconds(pttl).Build()).Error()
	case pttl == -1:
		err = c.Do(wctx, c.B().Persist().Key(st.Key(id)).Build()).Error()
	}
	if rerr := st.Release(wctx, l); rerr != nil && err == nil {
		err = fmt.Errorf("release lock: %w", rerr)
	}
	if err != nil {
		// The data was converted; only the TTL or the release failed.
		return outConverted, fmt.Errorf("converted, but: %w", err)
	}
	return outConverted, nil
}

func runMigrate(cmd *cobra.Command, o migrateOpts) error {
	if o.from == "" || o.to == "" {
		return usageError{errors.New("migrate: --from and --to are required")}
	}
	from, fromAuto, err := parseFormatArg("from", o.from, true)
	if err != nil {
		return err
	}
	to, _, err := parseFormatArg("to", o.to, false)
	if err != nil {
		return err
	}
	if !fromAuto && from.Handler == to.Handler && from.Compression == to.Compression {
		return usageError{fmt.Errorf("migrate: --from and --to are both %s", storedFormatName(to))}
	}
	fromKey, toKey := o.from, to.String()
	if !fromAuto {
		fromKey = from.String()
	}
	cfg := g.storeConfig()
	cfg.LockTimeout = o.lockTimeout
	st, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx := cmd.Context()
	prefix := st.Config().Prefix

	state := &migrateState{Version: 1, From: fromKey, To: toKey, Prefix: prefix, Match: o.match, DryRun: o.dryRun, Nodes: map[string]*migrateNode{}}
	resumed := false
	if o.state != "" {
		old, err := loadState(o.state)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		if old != nil {
			if old.From != fromKey || old.To != toKey || old.Prefix != prefix || old.Match != o.match || old.DryRun != o.dryRun {
				return usageError{fmt.Errorf("migrate: state file %s belongs to another migration (--from %s --to %s, prefix %q, match %q, dry-run %t); use another --state",
					o.state, old.From, old.To, old.Prefix, old.Match, old.DryRun)}
			}
			if old.Nodes == nil {
				old.Nodes = map[string]*migrateNode{}
			}
			state, resumed = old, true
		}
	}
	errOut := cmd.ErrOrStderr()
	if state.Complete && state.Failed == 0 {
		fmt.Fprintf(errOut, "phpsess: migration recorded in %s is already complete\n", o.state)
		return migrateSummary(cmd, state, o)
	}
	if state.Complete && int64(len(state.Failures)) >= state.Failed {
		return retryFailures(cmd, st, o, from, fromAuto, to, state)
	}
	if state.Complete {
		// More failures than the state file lists: scan everything again
		// (what is converted is skipped); the failures are counted anew.
		fmt.Fprintf(errOut, "phpsess: migration recorded in %s finished with %d failed session(s); scanning again to retry them\n", o.state, state.Failed)
		state.Nodes, state.Complete = map[string]*migrateNode{}, false
		state.Skipped, state.Failed, state.Failures = 0, 0, nil
	}
	if resumed {
		fmt.Fprintf(errOut, "phpsess: resuming migration from %s (%d converted, %d skipped, %d failed so far)\n",
			o.state, state.Converted, state.Skipped, state.Failed)
	}

	sc := newScanner(st, globEscape(prefix)+o.match, o.scanCount)
	for addr, n := range state.Nodes {
		sc.start[addr] = n.Cursor
		sc.skip[addr] = n.Done
	}
	pr := newProgress(cmd, o.progress)
	var total, scanned int64
	if pr.on {
		total = sc.total(ctx)
	}
	verb := "migrating"
	if o.dryRun {
		verb = "dry run"
	}
	msg := func() string { // called with the page's mutex held
		return fmt.Sprintf("%s %s %d/%d keys: %d converted, %d skipped, %d failed",
			verb, bar(scanned, total, 20), scanned, total, state.Converted, state.Skipped, state.Failed)
	}
	save := func() error {
		if o.state == "" {
			return nil
		}
		return saveState(o.state, state)
	}
	var handled int64
	stopped := false // by --limit
	var runErr error
	err = sc.pages(ctx, func(p scanPage) bool {
		node := state.Nodes[p.Node]
		if node == nil || node.Cursor != p.Cursor {
			node = &migrateNode{Cursor: p.Cursor}
			state.Nodes[p.Node] = node
		}
		// IDs of this page still to do
		var ids []string
		for _, k := range p.Keys {
			id := strings.TrimPrefix(k, prefix)
			if notSessionKey(k, id, st.Config().LockSuffix) || slices.Contains(node.PageDone, id) {
				scanned++
				continue
			}
			ids = append(ids, id)
		}
		var mu sync.Mutex // guards state and node
		record := func(id string, out outcome, err error) {
			mu.Lock()
			defer mu.Unlock()
			switch out {
			case outConverted:
				state.Converted++
			case outSkipped:
				state.Skipped++
			case outFailed:
				state.Failed++
			}
			if err != nil && len(state.Failures) < maxStoredFailures {
				state.Failures = append(state.Failures, migrateFailure{ID: id, Reason: err.Error()})
			}
			node.PageDone = append(node.PageDone, id)
			scanned++ // keys done, for the progress bar
			pr.update(false, msg)
		}
		jobs := make(chan string)
		var wg sync.WaitGroup
		for w := 0; w < max(1, o.workers); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range jobs {
					out, err := migrateOne(ctx, st, o, from, fromAuto, to, id)
					if ctx.Err() != nil && err != nil {
						continue // interrupted: this session is redone on resume
					}
					record(id, out, err)
				}
			}()
		}
		for _, id := range ids {
			if o.limit > 0 && handled >= o.limit {
				stopped = true
				break
			}
			if ctx.Err() != nil {
				break
			}
			handled++
			jobs <- id
		}
		close(jobs)
		wg.Wait()
		if stopped || ctx.Err() != nil {
			return false
		}
		node.Cursor, node.PageDone = p.Next, nil
		node.Done = p.Next == 0
		if err := save(); err != nil {
			runErr = fmt.Errorf("migrate: saving state: %w", err)
			return false
		}
		return true
	})
	pr.finish(msg)
	if runErr != nil {
		return runErr
	}
	interrupted := ctx.Err() != nil
	if err != nil && !interrupted {
		_ = save()
		return fmt.Errorf("migrate: %w", err)
	}
	if !interrupted && !stopped {
		state.Complete = true
	}
	if err := save(); err != nil {
		return fmt.Errorf("migrate: saving state: %w", err)
	}
	if interrupted {
		fmt.Fprintln(errOut, "phpsess: interrupted")
	}
	if (interrupted || stopped) && o.state != "" {
		fmt.Fprintf(errOut, "phpsess: stopped early; run the same command again to continue from %s\n", o.state)
	}
	return migrateSummary(cmd, state, o)
}

// retryFailures runs the sessions that failed in a finished migration
// again (a re-run of the same command with --state): each is converted,
// skipped or fails again, and the state file is updated.
func retryFailures(cmd *cobra.Command, st *redisio.Store, o migrateOpts, from codec.Format, fromAuto bool, to codec.Format, state *migrateState) error {
	ctx := cmd.Context()
	fmt.Fprintf(cmd.ErrOrStderr(), "phpsess: migration recorded in %s is complete; retrying its %d failed session(s)\n", o.state, len(state.Failures))
	failures := state.Failures
	state.Failures = nil
	pr := newProgress(cmd, o.progress)
	var done int64
	msg := func() string {
		return fmt.Sprintf("retrying %s %d/%d failed: %d converted, %d skipped, %d failed",
			bar(done, int64(len(failures)), 20), done, len(failures), state.Converted, state.Skipped, state.Failed)
	}
	for i, f := range failures {
		if ctx.Err() != nil {
			state.Failures = append(state.Failures, failures[i:]...) // not retried: still failed
			break
		}
		state.Failed--
		out, err := migrateOne(ctx, st, o, from, fromAuto, to, f.ID)
		switch out {
		case outConverted:
			state.Converted++
		case outSkipped:
			state.Skipped++
		case outFailed:
			state.Failed++
		}
		if out == outFailed && err == nil {
			err = errors.New("failed")
		}
		if err != nil {
			state.Failures = append(state.Failures, migrateFailure{ID: f.ID, Reason: err.Error()})
		}
		done++
		pr.update(false, msg)
	}
	pr.finish(msg)
	if err := saveState(o.state, state); err != nil {
		return fmt.Errorf("migrate: saving state: %w", err)
	}
	return migrateSummary(cmd, state, o)
}

func migrateSummary(cmd *cobra.Command, s *migrateState, o migrateOpts) error {
	out := cmd.OutOrStdout()
	if g.json {
		if err := writeJSON(out, map[string]any{
			"from": s.From, "to": s.To, "dry_run": s.DryRun,
			"converted": s.Converted, "skipped": s.Skipped, "failed": s.Failed,
			"failures": nonNil(s.Failures), "complete": s.Complete,
		}); err != nil {
			return err
		}
	} else {
		writeMigrateText(out, s)
	}
	if s.Failed > 0 {
		// not "left untouched": a failure after the write (its TTL, the
		// lock's release, a lost reply) is listed with what is known
		return fmt.Errorf("migrate: %d session(s) failed (listed with their reasons)", s.Failed)
	}
	return nil
}

func nonNil(f []migrateFailure) []migrateFailure {
	if f == nil {
		return []migrateFailure{}
	}
	return f
}

func writeMigrateText(out io.Writer, s *migrateState) {
	conv := "converted"
	if s.DryRun {
		conv = "to convert"
	}
	status := ""
	if !s.Complete {
		status = " (incomplete)"
	}
	fmt.Fprintf(out, "migrate %s -> %s%s: %d %s, %d skipped (already %s), %d failed\n",
		s.From, s.To, status, s.Converted, conv, s.Skipped, s.To, s.Failed)
	if len(s.Failures) > 0 {
		fmt.Fprintln(out, "failed (untouched unless the reason says converted or outcome unknown):")
		for _, f := range s.Failures {
			fmt.Fprintf(out, "  %s: %s\n", f.ID, f.Reason)
		}
		if int64(len(s.Failures)) < s.Failed {
			fmt.Fprintf(out, "  ... and %d more\n", s.Failed-int64(len(s.Failures)))
		}
	}
}
