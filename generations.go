package prefetch

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Invalidation works by generations, so that one write reaches every request
// cache in the process without visiting any of them.
//
// A registered database has a clock. A write, after it has run, moves the
// clock on and stamps what it may have changed (a row's bucket, a table, its
// collections, or everything) with the new time. A cached row remembers the
// clock's time read just before the query that loaded it was sent; it is
// served only while nothing it depends on carries a later stamp. A write
// that ran before the load was sent is therefore visible to the load, and a
// write that ran after it is stamped later than the load: no interleaving
// lets a stale row through. Stamps never move backwards (atomic max).
//
// Rows share buckets by hash, so a write may invalidate a few unrelated rows;
// that costs a query, never a wrong answer.

const rowBuckets = 1024

// gens holds the stamps of one database.
type gens struct {
	clock atomic.Uint64
	all   atomic.Uint64 // stamp of writes that may have changed anything

	mu     sync.RWMutex
	tables map[string]*tableGens // by normalized table name; protected by mu
}

// tableGens holds the stamps of one table.
type tableGens struct {
	table atomic.Uint64 // writes that may have changed any row
	coll  atomic.Uint64 // writes that may have changed which rows match a column value
	rows  [rowBuckets]atomic.Uint64
}

func newGens() *gens {
	g := &gens{tables: map[string]*tableGens{}}
	g.clock.Store(1)
	return g
}

// now returns the time to record for a load that is about to be sent.
func (g *gens) now() uint64 { return g.clock.Load() }

// tick moves the clock on and returns the stamp for a write that has run.
func (g *gens) tick() uint64 { return g.clock.Add(1) }

// normTable reduces a table name to the form stamps are kept under: no
// quotes, no schema, lower case. Names that differ only in these share
// stamps, which can only invalidate more than needed.
func normTable(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Trim(name, "`\"[]")
	return strings.ToLower(name)
}

// table returns the stamps of a table, creating them on first use.
func (g *gens) table(name string) *tableGens {
	name = normTable(name)
	g.mu.RLock()
	t := g.tables[name]
	g.mu.RUnlock()
	if t != nil {
		return t
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if t = g.tables[name]; t == nil {
		t = &tableGens{}
		g.tables[name] = t
	}
	return t
}

func stampMax(a *atomic.Uint64, v uint64) {
	for {
		old := a.Load()
		if old >= v || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// rowStamp is the latest stamp that applies to one row.
func (g *gens) rowStamp(t *tableGens, k any) uint64 {
	s := g.all.Load()
	if v := t.table.Load(); v > s {
		s = v
	}
	if v := t.rows[hashKey(k)%rowBuckets].Load(); v > s {
		s = v
	}
	return s
}

// collStamp is the latest stamp that applies to the membership of a
// collection (the rows of a table whose column holds a value).
func (g *gens) collStamp(t *tableGens) uint64 {
	s := g.all.Load()
	if v := t.table.Load(); v > s {
		s = v
	}
	if v := t.coll.Load(); v > s {
		s = v
	}
	return s
}

// change describes what one write may have changed. The zero value changes
// nothing.
type change struct {
	all    bool
	tables map[string]struct{} // whole tables
	rows   map[string][]any    // table -> normalized keys
	colls  map[string]struct{} // tables whose collections change
}

func (c *change) addTable(t string) {
	if c.tables == nil {
		c.tables = map[string]struct{}{}
	}
	c.tables[t] = struct{}{}
	c.addColls(t)
}

func (c *change) addColls(t string) {
	if c.colls == nil {
		c.colls = map[string]struct{}{}
	}
	c.colls[t] = struct{}{}
}

func (c *change) addRows(t string, keys []any) {
	if c.rows == nil {
		c.rows = map[string][]any{}
	}
	c.rows[t] = append(c.rows[t], keys...)
	c.addColls(t)
}

func (c *change) merge(o *change) {
	c.all = c.all || o.all
	for t := range o.tables {
		c.addTable(t)
	}
	for t, ks := range o.rows {
		c.addRows(t, ks)
	}
	for t := range o.colls {
		c.addColls(t)
	}
}

func (c *change) empty() bool {
	return !c.all && len(c.tables) == 0 && len(c.rows) == 0 && len(c.colls) == 0
}

// apply stamps everything c names with a fresh time.
func (g *gens) apply(c *change) {
	if c.empty() {
		return
	}
	v := g.tick()
	if c.all {
		stampMax(&g.all, v)
		return
	}
	for t := range c.tables {
		stampMax(&g.table(t).table, v)
	}
	for t := range c.colls {
		stampMax(&g.table(t).coll, v)
	}
	for t, ks := range c.rows {
		tg := g.table(t)
		for _, k := range ks {
			stampMax(&tg.rows[hashKey(k)%rowBuckets], v)
		}
	}
}
