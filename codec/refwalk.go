package codec

// The value graph's references are counted and rewritten in a few places
// (igbinary's shared storage, Convert's refcount-1 references, Serializable
// payloads). They all go through graphWalk, so that which places exist and
// which values are gone into is decided once.

// graphWalk visits every place of a value graph that holds a value: a
// root, an array's element, an object's member, a reference's value and
// a Serializable's decoded payload (serialize() text whose values share
// the session's references). Each value is gone into at most once,
// however many places hold it, so shared values and cycles end.
type graphWalk struct {
	// visit is called at each place; it may replace *p. It returns
	// whether to go into the value *p then holds.
	visit func(p *Value) bool
	seen  map[any]bool
}

// walk visits the place p and, depth first, the places inside its value.
func (w *graphWalk) walk(p *Value) {
	if !w.visit(p) {
		return
	}
	switch x := (*p).(type) {
	case *Reference:
		if x != nil && w.first(x) {
			w.walk(&x.V)
		}
	case *Array:
		if x != nil && w.first(x) {
			w.walkEntries(x.m.e)
		}
	case *Object:
		if x != nil && w.first(x) {
			w.walkEntries(x.m.e)
		}
	case *Serializable:
		if x != nil && x.decodedPayload() && w.first(x) {
			w.walk(&x.inner)
		}
	}
}

func (w *graphWalk) walkEntries(e []entry) {
	for i := range e {
		w.walk(&e[i].v)
	}
}

// first reports whether x is met for the first time (and marks it met).
func (w *graphWalk) first(x any) bool {
	if w.seen[x] {
		return false
	}
	if w.seen == nil {
		w.seen = map[any]bool{}
	}
	w.seen[x] = true
	return true
}

// refCounter counts the places that hold each *Reference, as PHP's
// refcount of the reference would be once PHP reads the data.
type refCounter struct {
	// storage: count places in PHP's storage. A copy of an array PHP
	// shared between places (an *Array with a twin, decoded from
	// igbinary) has no places of its own: they are its twin's, which is
	// counted. The copies met are collected in copies. Otherwise every
	// Go place counts, copies included.
	storage bool
	// payloads: the places inside Serializable payloads that are nested
	// serialize() output count (PHP's nested serialize() calls share
	// references with the rest of the session).
	payloads bool

	count  map[*Reference]int
	copies []*Array
	w      graphWalk
}

// add counts the places in the graph from *p (places already counted
// through an earlier root are not counted again).
func (c *refCounter) add(p *Value) {
	if c.count == nil {
		c.count = map[*Reference]int{}
		c.w.visit = c.visit
	}
	c.w.walk(p)
}

func (c *refCounter) visit(p *Value) bool {
	switch x := (*p).(type) {
	case *Reference:
		if x != nil {
			c.count[x]++
		}
	case *Array:
		if c.storage && x != nil && x.twin != nil {
			c.copies = append(c.copies, x)
			return false
		}
	case *Serializable:
		return c.payloads
	}
	return true
}
