package prefetch

import (
	"slices"
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

	info dbInfo // what the catalog and session statements say of the database

	sharedMu sync.Mutex                // serializes additions to shareds
	shareds  atomic.Pointer[[]*shared] // the shared caches of the handles on the database (shared_invalidate.go)
}

// tableGens holds the stamps of one table.
//
// Row buckets are stamped by key; a key is only meaningful for the key
// columns it was read by. A table read through models with different primary
// keys (a legacy model keyed by another unique column) has several row
// identities: a write by key then stamps the whole table, since it cannot
// say which rows of the other identities it changed.
type tableGens struct {
	table atomic.Uint64 // writes that may have changed any row
	coll  atomic.Uint64 // writes that may have changed which rows match a column value
	rows  [rowBuckets]atomic.Uint64

	mu     sync.Mutex               // serializes additions to idents
	idents atomic.Pointer[[]string] // row identities (key columns) read so far
}

// addIdent records that rows of the table are cached under identity id. It
// is called before the load that caches them reads the clock, so that a
// write that stamped by key without knowing id ran before that load.
func (t *tableGens) addIdent(id string) {
	if p := t.idents.Load(); p != nil && slices.Contains(*p, id) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur []string
	if p := t.idents.Load(); p != nil {
		cur = *p
	}
	if slices.Contains(cur, id) {
		return
	}
	next := append(slices.Clone(cur), id)
	t.idents.Store(&next)
}

// soleIdent reports whether id is the only identity rows of the table are
// cached under (or none is).
func (t *tableGens) soleIdent(id string) bool {
	p := t.idents.Load()
	return p == nil || len(*p) == 0 || len(*p) == 1 && (*p)[0] == id
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
// nothing. Names may repeat: stamping twice is harmless.
type change struct {
	all    bool
	tables []string // whole tables
	rows   []rowsOf // rows by key
	colls  []string // tables whose collections change
}

// rowsOf is keys of one table, under one row identity (see identOf).
type rowsOf struct {
	table string
	ident string
	keys  []any
}

func (c *change) addTable(t string) {
	c.tables = append(c.tables, t)
	c.colls = append(c.colls, t)
}

func (c *change) addRows(t, ident string, keys []any) {
	c.rows = append(c.rows, rowsOf{t, ident, keys})
	c.colls = append(c.colls, t)
}

func (c *change) merge(o *change) {
	c.all = c.all || o.all
	c.tables = append(c.tables, o.tables...)
	c.rows = append(c.rows, o.rows...)
	c.colls = append(c.colls, o.colls...)
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
	for _, t := range c.tables {
		stampMax(&g.table(t).table, v)
	}
	for _, t := range c.colls {
		stampMax(&g.table(t).coll, v)
	}
	for _, r := range c.rows {
		tg := g.table(r.table)
		// Checked now, after the clock moved: an identity added later
		// belongs to a load that reads the clock after v.
		if !tg.soleIdent(r.ident) {
			stampMax(&tg.table, v)
			continue
		}
		for _, k := range r.keys {
			stampMax(&tg.rows[hashKey(k)%rowBuckets], v)
		}
	}
}
