package redisio

import (
	"context"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// After a Cluster failover the old master's connection keeps its
// client-side cache, and the Manager keeps the memo entries read through
// it: Redis invalidates them only once the old master has replicated the
// new master's writes, and that master may be stopped (SIGSTOP, a
// partition) or cut off from replicating for minutes. A process that
// sends it nothing for the slot gets no MOVED (movedConn), so without
// more it would serve those copies until its connection to the old
// master failed its keep-alive PING (ConnWriteTimeout, 10 s by default)
// or the copies' CacheTTL ended (1 min).
//
// failoverWatch bounds that: every ShardsRefreshInterval (1 s by default)
// it reads CLUSTER NODES from one of the nodes (readClusterView) and, when a node that
// served slots serves none any more because another node took them over
// with a higher configuration epoch (a failover: the old master is
// demoted, or failed and replaced), it closes this Store's connections to
// that node. Closing a connection is what a connection loss does: rueidis
// drops its client-side cache and reports a nil invalidation, which drops
// the memo. Later reads ask Redis: through the new master once rueidis's
// slot map has it, before that on a new connection to the old node, which
// answers MOVED (demoted), or nothing until the call's bound (stopped),
// never the old copy.
//
// A view older than the one accepted (a node that has not heard of the
// failover yet, such as an old master just resumed, still claims the
// slots with its old epoch) is ignored, so a resumed old master never
// makes the new master's connections look stale. A slot migrated between
// two masters that both keep serving slots closes nothing: the source's
// MIGRATE deletes the keys and Redis sends their invalidations.

// clusterView is one CLUSTER NODES answer reduced to slot owners.
type clusterView struct {
	owner [16384]int16 // index into nodes + 1; 0: no owner in this view
	nodes []viewNode
}

type viewNode struct {
	id    string
	addrs []string // host:port forms rueidis may have dialled
	epoch uint64
	slots int
}

// parseClusterNodes reads CLUSTER NODES text as answered by the node at
// from (host:port, for a node that does not know its own IP).
func parseClusterNodes(text, from string) *clusterView {
	v := &clusterView{}
	fromHost, _, _ := net.SplitHostPort(from)
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) < 8 || !strings.Contains(f[2], "master") {
			continue
		}
		epoch, err := strconv.ParseUint(f[6], 10, 64)
		if err != nil {
			continue
		}
		n := viewNode{id: f[0], epoch: epoch}
		addr, hostname, _ := strings.Cut(f[1], ",")
		addr, _, _ = strings.Cut(addr, "@")
		if host, port, err := net.SplitHostPort(addr); err == nil {
			if host == "" {
				host = fromHost
			}
			n.addrs = append(n.addrs, net.JoinHostPort(host, port))
			if hostname != "" {
				n.addrs = append(n.addrs, net.JoinHostPort(hostname, port))
			}
		}
		idx := int16(len(v.nodes) + 1)
		for _, s := range f[8:] {
			if strings.HasPrefix(s, "[") { // migrating/importing marker
				continue
			}
			a, b, ok := strings.Cut(s, "-")
			lo, err1 := strconv.Atoi(a)
			hi := lo
			var err2 error
			if ok {
				hi, err2 = strconv.Atoi(b)
			}
			if err1 != nil || err2 != nil || lo < 0 || hi >= len(v.owner) || lo > hi {
				continue
			}
			for i := lo; i <= hi; i++ {
				v.owner[i] = idx
			}
			n.slots += hi - lo + 1
		}
		v.nodes = append(v.nodes, n)
	}
	return v
}

// demoted compares view next with the accepted view prev. It reports
// whether next is at least as recent for every slot both assign (no slot
// moved to an owner with a lower epoch than its owner in prev), and, if
// so, the nodes that served slots in prev and serve none in next because
// owners with higher epochs took them.
func demoted(prev, next *clusterView) (gone []viewNode, newer bool) {
	lost := map[int16]bool{}
	for i := range next.owner {
		p, n := prev.owner[i], next.owner[i]
		if p == 0 || n == 0 {
			continue
		}
		pn, nn := &prev.nodes[p-1], &next.nodes[n-1]
		if pn.id == nn.id {
			continue
		}
		if nn.epoch < pn.epoch {
			return nil, false
		}
		if nn.epoch > pn.epoch {
			lost[p] = true
		}
	}
	for p := range lost {
		pn := prev.nodes[p-1]
		still := false
		for _, nn := range next.nodes {
			if nn.id == pn.id && nn.slots > 0 {
				still = true
				break
			}
		}
		if !still {
			gone = append(gone, pn)
		}
	}
	return gone, true
}

// keep gives the slots v leaves unassigned (a node that does not know
// their owner yet) the owners they have in prev, so that a later view
// that moves them is still compared with their last known owner.
func (v *clusterView) keep(prev *clusterView) {
	idx := map[string]int16{}
	for i, n := range v.nodes {
		idx[n.id] = int16(i + 1)
	}
	for i := range v.owner {
		p := prev.owner[i]
		if v.owner[i] != 0 || p == 0 {
			continue
		}
		pn := prev.nodes[p-1]
		k, ok := idx[pn.id]
		if !ok {
			pn.slots = 0
			v.nodes = append(v.nodes, pn)
			k = int16(len(v.nodes))
			idx[pn.id] = k
		}
		v.owner[i] = k
		v.nodes[k-1].slots++
	}
}

// connSet records this Store's open connections by the address rueidis
// dialled, so that failoverWatch can close those to a demoted node.
type connSet struct {
	mu sync.Mutex
	m  map[string]map[*movedConn]struct{}
}

func (cs *connSet) add(addr string, c *movedConn) {
	cs.mu.Lock()
	if cs.m == nil {
		cs.m = map[string]map[*movedConn]struct{}{}
	}
	if cs.m[addr] == nil {
		cs.m[addr] = map[*movedConn]struct{}{}
	}
	cs.m[addr][c] = struct{}{}
	cs.mu.Unlock()
}

func (cs *connSet) remove(addr string, c *movedConn) {
	cs.mu.Lock()
	delete(cs.m[addr], c)
	if len(cs.m[addr]) == 0 {
		delete(cs.m, addr)
	}
	cs.mu.Unlock()
}

// take removes and returns the connections to addr.
func (cs *connSet) take(addr string) []*movedConn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []*movedConn
	for c := range cs.m[addr] {
		out = append(out, c)
	}
	delete(cs.m, addr)
	return out
}

// failoverWatch runs until the Store is closed, and Close waits for it
// (see the comment at the top of this file). prev is the view Open read before it returned, so
// one that predates every copy this Store caches (nil if no node
// answered: the first view read later is taken instead).
func (s *Store) failoverWatch(prev *clusterView, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		next := s.readClusterView(min(s.cfg.Timeout, every))
		if next == nil {
			continue
		}
		if prev == nil {
			prev = next
			continue
		}
		gone, newer := demoted(prev, next)
		if !newer {
			continue
		}
		next.keep(prev)
		prev = next
		for _, n := range gone {
			s.dropNode(n)
		}
	}
}

// readClusterView asks a node drawn at random for CLUSTER NODES and
// returns its answer parsed. When a node does not answer within a
// quarter of timeout (stopped, partitioned) or fails, it also asks
// another, up to three in all; the first answer is taken, so that
// normally a round costs one command and a stopped node does not hold it
// up. nil: none answered within timeout.
func (s *Store) readClusterView(timeout time.Duration) *clusterView {
	nodes := s.c.Nodes()
	addrs := make([]string, 0, len(nodes))
	for a := range nodes {
		addrs = append(addrs, a)
	}
	rand.Shuffle(len(addrs), func(i, j int) { addrs[i], addrs[j] = addrs[j], addrs[i] })
	addrs = addrs[:min(3, len(addrs))]
	if len(addrs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(s.stopCtx, timeout)
	defer cancel()
	type answer struct {
		text, from string
		err        error
	}
	ch := make(chan answer, len(addrs))
	launched, pending := 0, 0
	launch := func() {
		a := addrs[launched]
		launched++
		pending++
		s.watchWG.Add(1)
		go func(c rueidis.Client) {
			defer s.watchWG.Done()
			text, err := c.Do(ctx, c.B().ClusterNodes().Build()).ToString()
			ch <- answer{text, a, err}
		}(nodes[a])
	}
	launch()
	hedge := time.NewTimer(timeout / 4)
	defer hedge.Stop()
	for pending > 0 {
		select {
		case a := <-ch:
			pending--
			if a.err == nil {
				// RESP3 answers CLUSTER NODES as a verbatim string
				return parseClusterNodes(strings.TrimPrefix(a.text, "txt:"), a.from)
			}
			if isRedisReply(a.err) {
				// refused (an ACL without CLUSTER NODES): every node
				// would refuse it alike
				s.watchRefused.Do(func() {
					s.cfg.Logger.Warn("redisio: CLUSTER NODES refused: cached copies of a failed-over slot are dropped only by invalidations, connection ends and CacheTTL", "err", a.err)
				})
				return nil
			}
			if launched < len(addrs) {
				launch()
			}
		case <-hedge.C:
			if launched < len(addrs) {
				launch()
				hedge.Reset(timeout / 4)
			}
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// dropNode closes this Store's connections to n and waits (up to
// Config.Timeout) until rueidis has reported their end with a nil
// invalidation, so that once FailoverDrops counts it no copy read
// through them is served.
func (s *Store) dropNode(n viewNode) {
	var conns []*movedConn
	for _, a := range n.addrs {
		conns = append(conns, s.conns.take(a)...)
	}
	if len(conns) > 0 {
		seen := s.nilInv.Load()
		for _, c := range conns {
			_ = c.Conn.Close()
		}
		timer := time.NewTimer(s.cfg.Timeout)
		defer timer.Stop()
		for {
			s.nilMu.Lock()
			if s.nilInv.Load()-seen >= uint64(len(conns)) {
				s.nilMu.Unlock()
				break
			}
			if s.nilCh == nil {
				s.nilCh = make(chan struct{})
			}
			ch := s.nilCh
			s.nilMu.Unlock()
			select {
			case <-ch:
				continue
			case <-timer.C:
			case <-s.done:
			}
			break
		}
	}
	// The memo is dropped here too: a connection may have ended on its
	// own already (its nil invalidation counted before), and then no copy
	// read through it may outlive this drop either.
	s.notify(nil)
	s.st.failoverDrops.Add(1)
	s.cfg.Logger.Info("redisio: cluster node no longer serves slots: connections to it closed, cached copies dropped", "node", strings.Join(n.addrs, ","), "conns", len(conns))
}
