package main

// SCAN over the session prefix (never KEYS): one cursor on a standalone or
// Sentinel master, one cursor per master on a Redis Cluster. Plus the
// progress indicator shared by ls, locks and migrate.

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"

	"github.com/phpsession/phpsession/redisio"
)

type scanNode struct {
	addr string // "" for a non-cluster server
	c    rueidis.Client
}

// scanPage is one SCAN reply of one node.
type scanPage struct {
	Node   string   // node address ("" when not a cluster)
	Cursor uint64   // cursor this page was read with
	Next   uint64   // cursor of the next page (0: node finished)
	Keys   []string // keys of this page
}

type scanner struct {
	st    *redisio.Store
	match string
	count int64
	nodes []scanNode
	// start cursors per node (resume); nodes in skip are finished.
	start map[string]uint64
	skip  map[string]bool
	// noType: the server does not know SCAN ... TYPE (Redis < 6.0)
	noType bool
}

func newScanner(st *redisio.Store, match string, count int64) *scanner {
	if count <= 0 {
		count = 1000
	}
	return &scanner{st: st, match: match, count: count, start: map[string]uint64{}, skip: map[string]bool{}}
}

// discover lists the servers to scan: every master of a cluster (replicas
// hold the same keys), else the one server.
func (s *scanner) discover(ctx context.Context) error {
	if s.nodes != nil {
		return nil
	}
	c := s.st.Client()
	if c.Mode() != rueidis.ClientModeCluster {
		s.nodes = []scanNode{{addr: "", c: c}}
		return nil
	}
	for addr, nc := range c.Nodes() {
		role, err := nc.Do(ctx, nc.B().Role().Build()).ToArray()
		if err != nil {
			return fmt.Errorf("ROLE on %s: %w", addr, err)
		}
		if len(role) > 0 {
			if r, _ := role[0].ToString(); r != "master" {
				continue
			}
		}
		s.nodes = append(s.nodes, scanNode{addr: addr, c: nc})
	}
	sort.Slice(s.nodes, func(i, j int) bool { return s.nodes[i].addr < s.nodes[j].addr })
	if len(s.nodes) == 0 {
		return fmt.Errorf("no cluster master found")
	}
	return nil
}

// total returns the number of keys on the scanned servers (DBSIZE), an
// upper bound of what the scan returns, for progress display.
func (s *scanner) total(ctx context.Context) int64 {
	if err := s.discover(ctx); err != nil {
		return 0
	}
	var n int64
	for _, nd := range s.nodes {
		k, err := nd.c.Do(ctx, nd.c.B().Dbsize().Build()).AsInt64()
		if err == nil {
			n += k
		}
	}
	return n
}

// pages calls fn with every SCAN page, node after node, until fn returns
// false, an error occurs or ctx ends.
func (s *scanner) pages(ctx context.Context, fn func(p scanPage) bool) error {
	if err := s.discover(ctx); err != nil {
		return err
	}
	for _, nd := range s.nodes {
		if s.skip[nd.addr] {
			continue
		}
		cur := s.start[nd.addr]
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			var e rueidis.ScanEntry
			var err error
			if !s.noType {
				e, err = nd.c.Do(ctx, nd.c.B().Scan().Cursor(cur).Match(s.match).Count(s.count).Type("string").Build()).AsScanEntry()
				if re, ok := rueidis.IsRedisErr(err); ok && strings.Contains(strings.ToLower(re.Error()), "syntax") {
					s.noType = true // Redis < 6.0: no SCAN TYPE; non-strings are skipped later
				}
			}
			if s.noType {
				e, err = nd.c.Do(ctx, nd.c.B().Scan().Cursor(cur).Match(s.match).Count(s.count).Build()).AsScanEntry()
			}
			if err != nil {
				where := ""
				if nd.addr != "" {
					where = " on " + nd.addr
				}
				return fmt.Errorf("SCAN%s: %w", where, err)
			}
			if !fn(scanPage{Node: nd.addr, Cursor: cur, Next: e.Cursor, Keys: e.Elements}) {
				return nil
			}
			cur = e.Cursor
			if cur == 0 {
				break
			}
		}
	}
	return nil
}

// each calls fn with the keys of every page.
func (s *scanner) each(ctx context.Context, fn func(keys []string) bool) error {
	return s.pages(ctx, func(p scanPage) bool { return fn(p.Keys) })
}

// globEscape escapes the glob metacharacters of SCAN MATCH.
func globEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// progress is a one-line indicator on stderr: redrawn in place on a
// terminal, printed as a line about once a second otherwise (--progress).
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	on, tty bool
	last    time.Time
	every   time.Duration
	drawn   bool
}

// newProgress enables the indicator when stderr is a terminal, or when
// forced (--progress).
func newProgress(cmd *cobra.Command, forced bool) *progress {
	p := &progress{w: cmd.ErrOrStderr()}
	if f, ok := p.w.(*os.File); ok && isTerminal(f) {
		p.tty, p.on = true, true
		p.every = 100 * time.Millisecond
	}
	if forced {
		p.on = true
		if !p.tty {
			p.every = time.Second
		}
	}
	return p
}

// update shows the line produced by msg, throttled; force draws it now.
func (p *progress) update(force bool, msg func() string) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if !force && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", msg())
		p.drawn = true
	} else {
		fmt.Fprintln(p.w, msg())
	}
}

// finish ends the indicator: on a terminal the line is removed (the
// command prints its own summary); elsewhere one last line is printed,
// prefixed "done: ", so that a log always ends with the final counts.
func (p *progress) finish(msg func() string) {
	if p == nil || !p.on {
		return
	}
	if !p.tty {
		p.mu.Lock()
		fmt.Fprintln(p.w, "done: "+msg())
		p.mu.Unlock()
		return
	}
	p.done()
}

// done removes the indicator from a terminal line.
func (p *progress) done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

// bar renders a progress bar of width w for done/total.
func bar(done, total int64, w int) string {
	if total <= 0 {
		return ""
	}
	if done > total {
		done = total
	}
	n := int(int64(w) * done / total)
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", w-n) + fmt.Sprintf("] %3d%%", 100*done/total)
}
