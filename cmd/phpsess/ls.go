package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/redisio"
)

func init() {
	register(newLsCmd)
	register(newLocksCmd)
	register(newUnlockCmd)
}

// sessionInfo is one row of ls.
type sessionInfo struct {
	ID         string `json:"id"`
	Size       int64  `json:"size"`             // STRLEN: bytes stored
	Memory     int64  `json:"memory,omitempty"` // MEMORY USAGE (with --memory)
	TTLMillis  int64  `json:"ttl_ms"`           // -1: no TTL
	LockHolder string `json:"lock_holder,omitempty"`
	LockTTLMs  *int64 `json:"lock_ttl_ms,omitempty"` // -1: lock without TTL
}

func newLsCmd() *cobra.Command {
	var (
		match    string
		limit    int64
		memory   bool
		forced   bool
		scanSize int64
	)
	c := &cobra.Command{
		Use:   "ls",
		Short: "List sessions with their size, TTL and lock holder",
		Long: `ls walks the session keys with SCAN (never KEYS, so a large production
keyspace is not blocked; on a Redis Cluster every master is scanned) and
prints one line per session: ID, size in bytes (STRLEN; with --memory also
MEMORY USAGE), TTL, and the lock holder's token with the lock's TTL when the
session is locked.

--match filters session IDs with a Redis glob (the prefix is added for you).
SCAN may return a key more than once while the keyspace is rehashing.

A progress indicator (keys scanned out of DBSIZE) is drawn on stderr when
stderr is a terminal, or with --progress. With --json one JSON object per
session is printed per line.`,
		Example: `  phpsess ls
  phpsess ls --match 'ab*' --limit 20
  phpsess --redis redis://cache:6379 ls --json | jq -r 'select(.lock_holder) | .id'`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(g.storeConfig())
			if err != nil {
				return err
			}
			defer st.Close()
			return runLs(cmd, st, match, limit, memory, forced, scanSize)
		},
	}
	c.Flags().StringVar(&match, "match", "*", "`GLOB` on session IDs (SCAN MATCH, after the prefix)")
	c.Flags().Int64Var(&limit, "limit", 0, "stop after `N` sessions (0: all)")
	c.Flags().BoolVar(&memory, "memory", false, "also show MEMORY USAGE of each session key")
	c.Flags().BoolVar(&forced, "progress", false, "show progress on stderr even when it is not a terminal")
	c.Flags().Int64Var(&scanSize, "scan-count", 1000, "SCAN COUNT hint per call")
	return c
}

func runLs(cmd *cobra.Command, st *redisio.Store, match string, limit int64, memory, forced bool, scanSize int64) error {
	ctx := cmd.Context()
	cfg := st.Config()
	out := bufio.NewWriter(cmd.OutOrStdout())
	defer out.Flush()
	sc := newScanner(st, globEscape(cfg.Prefix)+match, scanSize)
	pr := newProgress(cmd, forced)
	var total int64
	if pr.on {
		total = sc.total(ctx)
	}
	var scanned, listed atomic.Int64
	msg := func() string {
		return fmt.Sprintf("scanning %s %d/%d keys, %d sessions", bar(scanned.Load(), total, 20), scanned.Load(), total, listed.Load())
	}
	if !g.json {
		fmt.Fprintf(out, "%-32s %10s %10s  %s\n", "ID", "SIZE", "TTL", "LOCK")
	}
	var ferr error
	err := sc.each(ctx, func(keys []string) bool {
		scanned.Add(int64(len(keys)))
		ids := make([]string, 0, len(keys))
		for _, k := range keys {
			id := strings.TrimPrefix(k, cfg.Prefix)
			if notSessionKey(k, id, cfg.LockSuffix) {
				continue
			}
			if limit > 0 && listed.Load()+int64(len(ids)) >= limit {
				break
			}
			ids = append(ids, id)
		}
		infos, err := describeSessions(ctx, st, ids, memory)
		if err != nil {
			ferr = err
			return false
		}
		pr.done()
		for _, in := range infos {
			listed.Add(1)
			if g.json {
				if err := writeJSON(out, in); err != nil {
					ferr = err
					return false
				}
				continue
			}
			lock := "-"
			if in.LockHolder != "" || in.LockTTLMs != nil {
				lock = quotePHP(in.LockHolder) + " (TTL " + fmtTTL(msDuration(*in.LockTTLMs)) + ")"
			}
			size := fmt.Sprint(in.Size)
			if memory {
				size = fmt.Sprintf("%d/%d", in.Size, in.Memory)
			}
			fmt.Fprintf(out, "%-32s %10s %10s  %s\n", in.ID, size, fmtTTL(msDuration(in.TTLMillis)), lock)
		}
		// one write per page: output streams, and '| head' ends the scan
		if err := out.Flush(); err != nil {
			ferr = err
			return false
		}
		pr.update(false, msg)
		return limit <= 0 || listed.Load() < limit
	})
	pr.finish(msg)
	if err == nil {
		err = ferr
	}
	return err
}

func msDuration(ms int64) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

// describeSessions fetches size, TTL and lock state of ids in one pipelined
// round trip (rueidis routes each command to its slot's node on a cluster).
// Sessions that vanished meanwhile are left out.
func describeSessions(ctx context.Context, st *redisio.Store, ids []string, memory bool) ([]sessionInfo, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	c := st.Client()
	per := 4
	if memory {
		per = 5
	}
	cmds := make(rueidis.Commands, 0, per*len(ids))
	for _, id := range ids {
		k, lk := st.Key(id), st.LockKey(id)
		cmds = append(cmds,
			c.B().Strlen().Key(k).Build(),
			c.B().Pttl().Key(k).Build(),
			c.B().Get().Key(lk).Build(),
			c.B().Pttl().Key(lk).Build())
		if memory {
			cmds = append(cmds, c.B().MemoryUsage().Key(k).Build())
		}
	}
	rs := c.DoMulti(ctx, cmds...)
	out := make([]sessionInfo, 0, len(ids))
	for i, id := range ids {
		r := rs[i*per : (i+1)*per]
		size, err := r[0].AsInt64()
		if re, ok := rueidis.IsRedisErr(err); ok && strings.HasPrefix(re.Error(), "WRONGTYPE") {
			continue // not a session (only seen without SCAN TYPE)
		}
		if err != nil {
			return nil, fmt.Errorf("STRLEN %s: %w", st.Key(id), err)
		}
		ttl, err := r[1].AsInt64()
		if err != nil {
			return nil, fmt.Errorf("PTTL %s: %w", st.Key(id), err)
		}
		if ttl == -2 {
			continue // deleted since the scan
		}
		in := sessionInfo{ID: id, Size: size, TTLMillis: ttl}
		if ttl < 0 {
			in.TTLMillis = -1
		}
		if tok, err := r[2].ToString(); err == nil {
			lt, _ := r[3].AsInt64()
			if lt != -2 {
				if lt < 0 {
					lt = -1
				}
				in.LockHolder, in.LockTTLMs = tok, &lt
			}
		} else if !rueidis.IsRedisNil(err) {
			return nil, fmt.Errorf("GET %s: %w", st.LockKey(id), err)
		}
		if memory {
			in.Memory, _ = r[4].AsInt64()
		}
		out = append(out, in)
	}
	return out, nil
}

// lockInfo is one row of locks.
type lockInfo struct {
	ID        string `json:"id"`
	Holder    string `json:"holder"`
	TTLMillis int64  `json:"ttl_ms"` // -1: no TTL (stale PHP CLI lock?)
	NoTTL     bool   `json:"no_ttl,omitempty"`
	// Holder is "running" or "gone" when the holder's host is this one.
	HolderProcess string `json:"holder_process,omitempty"`
}

func newLocksCmd() *cobra.Command {
	var (
		match    string
		noTTL    bool
		forced   bool
		scanSize int64
	)
	c := &cobra.Command{
		Use:   "locks",
		Short: "List held session locks with their holder and remaining TTL",
		Long: `locks scans the lock keys (<prefix><ID><lock-suffix>) and prints, for each held
lock, the session ID, the holder's token (phpredis writes "<hostname>|<pid>";
phpsession writes "<hostname>|<pid>|go<n>:<random>") and the lock's remaining
TTL.

A lock with no TTL ("none") never expires by itself: phpredis takes such
locks when redis.session.lock_expire and max_execution_time are both 0 (the
PHP CLI, queue workers), and leaves them behind when such a process crashes
or calls session_reset(). Every later request on that session then waits
for the lock and gives up. If the holder is gone, break the lock with
'phpsess unlock ID --force'. --stale lists only those locks.`,
		Example: `  phpsess locks
  phpsess locks --stale --json`,
		Args: exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openStore(g.storeConfig())
			if err != nil {
				return err
			}
			defer st.Close()
			return runLocks(cmd, st, match, noTTL, forced, scanSize)
		},
	}
	c.Flags().StringVar(&match, "match", "*", "`GLOB` on session IDs")
	c.Flags().BoolVar(&noTTL, "stale", false, "only locks without a TTL (likely stale)")
	c.Flags().BoolVar(&forced, "progress", false, "show progress on stderr even when it is not a terminal")
	c.Flags().Int64Var(&scanSize, "scan-count", 1000, "SCAN COUNT hint per call")
	return c
}

func runLocks(cmd *cobra.Command, st *redisio.Store, match string, staleOnly, forced bool, scanSize int64) error {
	ctx := cmd.Context()
	cfg := st.Config()
	out := bufio.NewWriter(cmd.OutOrStdout())
	defer out.Flush()
	sc := newScanner(st, globEscape(cfg.Prefix)+match+globEscape(cfg.LockSuffix), scanSize)
	pr := newProgress(cmd, forced)
	var total, scanned, found int64
	if pr.on {
		total = sc.total(ctx)
	}
	if !g.json {
		fmt.Fprintf(out, "%-32s %12s  %s\n", "ID", "TTL", "HOLDER")
	}
	c := st.Client()
	locksMsg := func() string {
		return fmt.Sprintf("scanning %s %d/%d keys, %d locks", bar(scanned, total, 20), scanned, total, found)
	}
	var ferr error
	err := sc.each(ctx, func(keys []string) bool {
		scanned += int64(len(keys))
		if len(keys) == 0 {
			return true
		}
		cmds := make(rueidis.Commands, 0, 2*len(keys))
		for _, k := range keys {
			cmds = append(cmds, c.B().Get().Key(k).Build(), c.B().Pttl().Key(k).Build())
		}
		rs := c.DoMulti(ctx, cmds...)
		pr.done()
		for i, k := range keys {
			tok, err := rs[2*i].ToString()
			if rueidis.IsRedisNil(err) {
				continue
			}
			if re, ok := rueidis.IsRedisErr(err); ok && strings.HasPrefix(re.Error(), "WRONGTYPE") {
				continue
			}
			if err != nil {
				ferr = fmt.Errorf("GET %s: %w", k, err)
				return false
			}
			ttl, _ := rs[2*i+1].AsInt64()
			if ttl == -2 {
				continue
			}
			if ttl < 0 {
				ttl = -1
			}
			if staleOnly && ttl >= 0 {
				continue
			}
			id := strings.TrimSuffix(strings.TrimPrefix(k, cfg.Prefix), cfg.LockSuffix)
			found++
			proc := holderState(tok)
			if g.json {
				if err := writeJSON(out, lockInfo{ID: id, Holder: tok, TTLMillis: ttl, NoTTL: ttl < 0, HolderProcess: proc}); err != nil {
					ferr = err
					return false
				}
				continue
			}
			t := fmtTTL(msDuration(ttl))
			if ttl < 0 {
				t = "none (stale?)"
			}
			note := ""
			if proc != "" {
				note = " (process " + proc + ")"
			}
			fmt.Fprintf(out, "%-32s %12s  %s%s\n", id, t, quotePHP(tok), note)
		}
		// one write per page: output streams, and '| head' ends the scan
		if err := out.Flush(); err != nil {
			ferr = err
			return false
		}
		pr.update(false, locksMsg)
		return true
	})
	pr.finish(locksMsg)
	if err == nil {
		err = ferr
	}
	return err
}

func newUnlockCmd() *cobra.Command {
	var force, yes bool
	c := &cobra.Command{
		Use:   "unlock ID --force",
		Short: "Break a stale session lock",
		Long: `unlock deletes the lock key of session ID, as a crashed or stuck holder would
have, so that PHP and Go can lock the session again.

Breaking a lock whose holder is still alive lets two writers in at once and
can lose that holder's changes, so unlock refuses without --force, shows the
holder and asks for confirmation on stdin unless --yes is given. The lock is
deleted with phpredis's own compare-and-delete script, and only if it still
holds the token that was shown: a lock taken over meanwhile is not broken.`,
		Example: `  phpsess locks --stale
  phpsess unlock 9f2kq3m1c0a7b5d4e6f8g0h2i4 --force
  phpsess unlock 9f2kq3m1c0a7b5d4e6f8g0h2i4 --force --yes`,
		Args:              exactArgs("ID"),
		ValidArgsFunction: completeSessionIDs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(g.storeConfig())
			if err != nil {
				return err
			}
			defer st.Close()
			return runUnlock(cmd, st, args[0], force, yes)
		},
	}
	c.Flags().BoolVar(&force, "force", false, "really break the lock (required)")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return c
}

func runUnlock(cmd *cobra.Command, st *redisio.Store, id string, force, yes bool) error {
	ctx := cmd.Context()
	tok, pttl, held, err := st.LockHolder(ctx, id)
	if err != nil {
		return err
	}
	if !held {
		return fmt.Errorf("session %q is not locked (no key %q)", id, st.LockKey(id))
	}
	desc := fmt.Sprintf("held by %s, TTL %s", quotePHP(tok), fmtTTL(pttl))
	switch holderState(tok) {
	case "gone":
		desc += "; that process is no longer running on this host"
	case "running":
		desc += "; that process is STILL RUNNING on this host"
	}
	if !force {
		return usageError{fmt.Errorf("unlock: session %q is locked (%s); refusing to break the lock without --force", id, desc)}
	}
	if !yes {
		fmt.Fprintf(cmd.ErrOrStderr(), "Break the lock of session %q (%s)? [y/N] ", id, desc)
		line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
		default:
			if f, ok := cmd.InOrStdin().(*os.File); !ok || !isTerminal(f) {
				fmt.Fprintln(cmd.ErrOrStderr()) // the answer was not echoed by a terminal
			}
			return fmt.Errorf("unlock: not confirmed; the lock is left in place (use --yes to skip the question)")
		}
	}
	l := &redisio.Lock{ID: id, Key: st.LockKey(id), Token: tok}
	if err := st.Release(ctx, l); err != nil {
		if errors.Is(err, redisio.ErrLockLost) {
			return fmt.Errorf("unlock: the lock of session %q changed hands or was released meanwhile; nothing broken", id)
		}
		return fmt.Errorf("unlock: %w", err)
	}
	if g.json {
		ttl := ttlMillis(pttl)
		return writeJSON(cmd.OutOrStdout(), map[string]any{"id": id, "unlocked": true, "holder": tok, "ttl_ms": ttl})
	}
	fmt.Fprintf(cmd.OutOrStdout(), "lock of session %q broken (was %s)\n", id, desc)
	return nil
}

// holderState tells whether the process named by a lock token
// ("<host>|<pid>", as phpredis writes it, or phpsession's
// "<host>|<pid>|...") is still running, when it runs on this host:
// "running", "gone", or "" when that cannot be known from here.
func holderState(token string) string {
	host, rest, ok := strings.Cut(token, "|")
	if !ok {
		return ""
	}
	pidText, _, _ := strings.Cut(rest, "|")
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return ""
	}
	me, err := os.Hostname()
	if err != nil {
		return ""
	}
	if len(me) > 64 {
		me = me[:64] // phpredis keeps at most 64 bytes
	}
	if host != me {
		return ""
	}
	switch err := syscall.Kill(pid, 0); {
	case err == nil, errors.Is(err, syscall.EPERM):
		return "running"
	case errors.Is(err, syscall.ESRCH):
		return "gone"
	}
	return ""
}

// notSessionKey reports whether key k (session id id after the prefix) is
// not a session: a lock, or the library's short-lived write marker (seen
// only when the session prefix is empty).
func notSessionKey(k, id, lockSuffix string) bool {
	return strings.HasSuffix(id, lockSuffix) || strings.HasPrefix(k, redisio.MarkerPrefix)
}
