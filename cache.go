package prefetch

import (
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// store is one request cache: what [NewContext] puts in a context. It holds
// rows of every database registered with the plugin, each apart.
type store struct {
	mu       sync.Mutex          // protects the fields below and everything reachable from dbs
	dbs      map[*state]*dbCache // one per registered database
	c        Stats               // counters; Rows is computed on read
	clears   uint64              // moves on at every Clear: loads begun before it store nothing
	children map[*store]bool     // caches of open transactions begun by this request
	maxAge   time.Duration       // rows older than this are stale; 0: no limit (WithMaxAge)
	obs      dropCounts          // c's drops already told to Plugin.Observer (observer.go)

	group singleflight.Group // one batch load per scope chunk at a time
}

func newStore() *store { return &store{dbs: map[*state]*dbCache{}} }

// adopt and disown keep track of the caches of the request's open
// transactions, so that Clear and Invalidate reach them.
func (s *store) adopt(c *store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.children == nil {
		s.children = map[*store]bool{}
	}
	s.children[c] = true
}

func (s *store) disown(c *store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.children, c)
}

// kids returns the caches of the request's open transactions.
func (s *store) kids() []*store {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*store, 0, len(s.children))
	for c := range s.children {
		out = append(out, c)
	}
	return out
}

func (s *store) stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.c
	out.Queries = out.Misses + out.BatchLoads
	for _, dc := range s.dbs {
		out.Rows += int64(dc.rows)
	}
	return out
}

// db returns the cache of one database. A cache made before the last change
// of definitions (DDL) starts over: its column lists may be wrong. Callers
// hold s.mu.
func (s *store) db(st *state) *dbCache {
	dc := s.dbs[st]
	ddl := st.gens.info.ddl.Load()
	if dc != nil && dc.ddl != ddl {
		dc.dropAll()
		dc = nil
	}
	if dc == nil {
		dc = &dbCache{st: st, s: s, tables: map[tableKey]*tableCache{}, ddl: ddl}
		dc.lru.next, dc.lru.prev = &dc.lru, &dc.lru
		s.dbs[st] = dc
	}
	return dc
}

// loadMark is what a load notes before it is sent, to tell afterwards
// whether what it read may still be stored.
type loadMark struct {
	at     uint64 // the database's clock (see generations.go)
	ddl    uint64 // its definitions' version
	clears uint64 // the request cache's Clear count
}

// mark returns the loadMark of a load about to be sent. Callers hold s.mu.
func (s *store) mark(st *state) loadMark {
	return loadMark{at: st.gens.now(), ddl: st.gens.info.ddl.Load(), clears: s.clears}
}

// storable reports whether a load marked m may store what it read: no
// change of definitions and no Clear came between, and the pool may still
// be cached. Callers hold s.mu.
func (s *store) storable(db *gorm.DB, st *state, m loadMark) bool {
	return m.clears == s.clears && m.ddl == st.gens.info.ddl.Load() && st.cacheable(db)
}

// unloaded marks a column a cached row has not loaded. A loaded NULL is nil.
type unloadedT struct{}

var unloaded any = unloadedT{}

// dbCache holds the rows of one database in one request.
type dbCache struct {
	st        *state
	s         *store
	ddl       uint64                   // the definitions' version it was made under
	unbounded bool                     // not held to MaxRows (a scratch cache, see answerFrom)
	tables    map[tableKey]*tableCache // by table name and row identity (see identOf)
	last      *tableCache              // the table table returned last, if still in tables
	lru       entry                    // sentinel of the recency list, newest first
	rows      int                      // entries held, absent ones included
}

// tableCache holds the cached rows of one table.
type tableCache struct {
	name      string
	ident     string // the row identity: key columns and their classes
	gens      *tableGens
	sch       *schema.Schema
	pk        []string   // primary key columns
	pkCls     []keyClass // their key classes
	cols      []string   // every column seen, in order of first sight
	colIdx    map[string]int
	star      []int    // the columns of SELECT *, in the database's order; nil until seen
	starNames []string // their names
	rows      map[any]*entry
	colls     map[string]map[any]*collection // column -> value -> rows holding it
	scopes    []*scope                       // multi-row scopes, newest last
	scopeKeys int                            // keys held by scopes, bounded by MaxRows
	unkeyed   bool                           // the model's key does not name rows (a repeated key, a key column of another kind): never serve this table

	// The direct copy's filler of SELECT * rows (starFiller), with the
	// schema and the starNames it was made for.
	starFill    *rowFiller
	starFillSch *schema.Schema
	starFillOf  []string
}

// starFiller returns fillerFor(sch, t.starNames), kept on t while its
// SELECT * columns and the schema stay the same: looking it up builds a key
// from the names and takes the fillers' lock, on every served statement.
// starNames is only ever replaced, never changed in place, so the same
// slice means the same names. Callers hold the store's lock.
func (t *tableCache) starFiller(sch *schema.Schema) *rowFiller {
	same := len(t.starFillOf) == len(t.starNames) && len(t.starNames) > 0 && &t.starFillOf[0] == &t.starNames[0]
	if t.starFillSch != sch || !same {
		t.starFill, t.starFillSch, t.starFillOf = fillerFor(sch, t.starNames), sch, t.starNames
	}
	return t.starFill
}

// entry is one cached row (or the knowledge that a key has no row).
type entry struct {
	t        *tableCache
	key      any
	vals     []any  // by column index; never modified once stored (copy on write)
	loadedAt uint64 // the clock when the query that loaded it was sent
	born     int64  // when it was stored (see dbCache.now), for WithMaxAge
	absent   bool   // the key was asked for and no row came back
	scope    *scope // the result this row came with, for prefetching
	prev     *entry
	next     *entry
}

// collection is the complete list of rows whose column holds one value.
type collection struct {
	keys     []any
	loadedAt uint64
	born     int64
}

// epoch is the origin of the ages WithMaxAge counts (monotonic).
var epoch = time.Now()

// now returns the time to record as a row's birth, or 0 when the request
// cache has no maximum age (nothing to count).
func (dc *dbCache) now() int64 {
	if dc.s.maxAge <= 0 {
		return 0
	}
	return int64(time.Since(epoch))
}

// tooOld reports whether something born at born is past the request
// cache's maximum age.
func (dc *dbCache) tooOld(born int64) bool {
	return dc.s.maxAge > 0 && time.Duration(int64(time.Since(epoch))-born) > dc.s.maxAge
}

// scope is the rows of one result, in order. Its foreign-key values, worked
// out on first use, form scopes on the tables they reference.
type scope struct {
	t    *tableCache
	keys []any
	refs map[string]*refList // by column
}

// refList is the distinct non-NULL values of one column across a scope.
type refList struct {
	vals []any
	idx  map[any]int
	sc   *scope // the scope these values form on the referenced table
}

// table returns the cache of a table's rows as model sch names them. Rows
// are identified by table and key columns, never by model: two models on
// one table with the same primary key share rows, and two with different
// keys (id, or a legacy unique number) have a cache each.
// tableKey names a table's rows: its name and the row identity of the
// model read (a struct key: no string to build per lookup).
type tableKey struct{ name, ident string }

func (dc *dbCache) table(name string, sch *schema.Schema) *tableCache {
	if t := dc.last; t != nil && t.sch == sch && t.name == name {
		return t // same name and schema, so same key: a loop over one model
	}
	id := dc.st.identOf(sch)
	key := tableKey{name, id}
	t := dc.tables[key]
	if t == nil {
		t = &tableCache{
			name:   name,
			ident:  id,
			gens:   dc.st.gens.table(name),
			colIdx: map[string]int{},
			rows:   map[any]*entry{},
			colls:  map[string]map[any]*collection{},
		}
		t.gens.addIdent(id)
		for _, f := range sch.PrimaryFields {
			t.pk = append(t.pk, f.DBName)
			t.pkCls = append(t.pkCls, classOf(f))
		}
		if _, ok := dc.st.unkeyed.Load(key); ok {
			t.unkeyed = true // found by another request: the key does not name rows
		}
		dc.tables[key] = t
	}
	t.sch = sch
	dc.last = t
	return t
}

// tablesNamed returns the caches of a table, one per row identity.
func (dc *dbCache) tablesNamed(name string) []*tableCache {
	var out []*tableCache
	for _, t := range dc.tables {
		if t.name == name {
			out = append(out, t)
		}
	}
	return out
}

// dropAll drops every row of the cache. Callers hold the store's lock.
func (dc *dbCache) dropAll() {
	for dc.lru.next != &dc.lru {
		dc.drop(dc.lru.next)
	}
	dc.tables = map[tableKey]*tableCache{}
	dc.last = nil
}

func (t *tableCache) col(name string) int {
	i, ok := t.colIdx[name]
	if !ok {
		i = len(t.cols)
		t.cols = append(t.cols, name)
		t.colIdx[name] = i
	}
	return i
}

func (e *entry) val(i int) any {
	if i < len(e.vals) {
		return e.vals[i]
	}
	return unloaded
}

func (e *entry) has(cols []int) bool {
	for _, i := range cols {
		if e.val(i) == unloaded {
			return false
		}
	}
	return true
}

// fresh reports whether no write since e was loaded may have changed it.
// A stale entry is dropped.
func (dc *dbCache) fresh(e *entry) bool {
	g := dc.st.gens
	// That a key has no row is a fact about the table's membership, like
	// a collection: any write to the table may change it (an insert, or an
	// update moving a row to that key).
	if g.rowStamp(e.t.gens, e.key) <= e.loadedAt && (!e.absent || g.collStamp(e.t.gens) <= e.loadedAt) && !dc.tooOld(e.born) {
		return true
	}
	dc.drop(e)
	dc.s.c.Invalidations++
	return false
}

// get returns the fresh entry of a key, or nil.
func (dc *dbCache) get(t *tableCache, k any) *entry {
	e := t.rows[k]
	if e == nil || !dc.fresh(e) {
		return nil
	}
	dc.touch(e)
	return e
}

// coll returns the fresh collection of (column, value), or nil.
func (dc *dbCache) coll(t *tableCache, col string, v any) *collection {
	c := t.colls[col][v]
	if c == nil {
		return nil
	}
	if dc.st.gens.collStamp(t.gens) > c.loadedAt || dc.tooOld(c.born) {
		delete(t.colls[col], v)
		dc.s.c.Invalidations++
		return nil
	}
	return c
}

func (dc *dbCache) touch(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	dc.pushFront(e)
}

func (dc *dbCache) pushFront(e *entry) {
	e.prev, e.next = &dc.lru, dc.lru.next
	dc.lru.next.prev = e
	dc.lru.next = e
}

func (dc *dbCache) drop(e *entry) {
	if e.prev != nil {
		e.prev.next, e.next.prev = e.next, e.prev
		e.prev, e.next = nil, nil
		dc.rows--
	}
	if e.t.rows[e.key] == e {
		delete(e.t.rows, e.key)
	}
}

// put stores vals (indexed like t.cols) for key k, merging with what a fresh
// entry already holds. The merged row is as old as its older part.
func (dc *dbCache) put(t *tableCache, k any, vals []any, loadedAt uint64, sc *scope) *entry {
	old := t.rows[k]
	born := dc.now()
	if old != nil && !old.absent && dc.st.gens.rowStamp(t.gens, k) <= old.loadedAt {
		if covers(old.vals, vals) && dc.s.maxAge <= 0 {
			// Nothing new: both loads saw the same row. Keep the older,
			// which is the more conservative time. (With a maximum age,
			// writes the plugin cannot see are expected: the newer values
			// win below, and the row keeps its older age.)
			if sc != nil {
				old.scope = sc
			}
			dc.touch(old)
			return old
		}
		merged := make([]any, max(len(vals), len(old.vals)))
		for i := range merged {
			if v := valAt(vals, i); v != unloaded {
				merged[i] = v
			} else {
				merged[i] = old.val(i)
			}
		}
		vals = merged
		loadedAt = min(loadedAt, old.loadedAt)
		born = min(born, old.born)
		if sc == nil {
			sc = old.scope
		}
	}
	if old != nil {
		dc.drop(old)
	}
	e := &entry{t: t, key: k, vals: vals, loadedAt: loadedAt, born: born, scope: sc}
	t.rows[k] = e
	dc.pushFront(e)
	dc.rows++
	dc.evict()
	return e
}

// covers reports whether every column loaded in vals is loaded in have.
func covers(have, vals []any) bool {
	for i, v := range vals {
		if v != unloaded && valAt(have, i) == unloaded {
			return false
		}
	}
	return true
}

// putAbsent records that key k has no row.
func (dc *dbCache) putAbsent(t *tableCache, k any, loadedAt uint64) {
	if old := t.rows[k]; old != nil {
		dc.drop(old)
	}
	e := &entry{t: t, key: k, loadedAt: loadedAt, born: dc.now(), absent: true}
	t.rows[k] = e
	dc.pushFront(e)
	dc.rows++
	dc.evict()
}

func valAt(vals []any, i int) any {
	if i < len(vals) {
		return vals[i]
	}
	return unloaded
}

// evict drops the least recently used rows beyond the plugin's MaxRows.
func (dc *dbCache) evict() {
	limit := dc.st.cfg.MaxRows
	for limit > 0 && dc.rows > limit && !dc.unbounded {
		dc.drop(dc.lru.prev)
		dc.s.c.Evictions++
	}
}

// addScope remembers a scope of t, for the prefetching of rows its rows
// refer to. Scopes are kept as long as the keys they hold, across the
// table's scopes, stay within MaxRows (the oldest go first), so that a
// request of many small results keeps one scope per result. Callers hold
// the store's lock.
func (dc *dbCache) addScope(t *tableCache, sc *scope) {
	t.scopes = append(t.scopes, sc)
	t.scopeKeys += len(sc.keys)
	limit := dc.st.cfg.MaxRows
	drop := 0
	for limit > 0 && t.scopeKeys > limit && drop < len(t.scopes)-1 {
		t.scopeKeys -= len(t.scopes[drop].keys)
		drop++
	}
	if drop > 0 {
		t.scopes = slices.Delete(t.scopes, 0, drop)
	}
}

// refs returns the distinct values of column col across the scope's rows
// still cached, working them out on first use.
func (sc *scope) refList(dc *dbCache, col string, cls keyClass) *refList {
	if r := sc.refs[col]; r != nil {
		return r
	}
	r := &refList{idx: map[any]int{}}
	if i, ok := sc.t.colIdx[col]; ok {
		for _, k := range sc.keys {
			e := sc.t.rows[k]
			if e == nil {
				continue
			}
			v, ok := normValue(e.val(i), cls)
			if !ok {
				continue
			}
			if _, dup := r.idx[v]; !dup {
				r.idx[v] = len(r.vals)
				r.vals = append(r.vals, v)
			}
		}
	}
	if sc.refs == nil {
		sc.refs = map[string]*refList{}
	}
	sc.refs[col] = r
	return r
}

// clearAll drops every row of the store and of its transactions' caches.
// Loads under way when it is called store nothing.
func (s *store) clearAll() {
	for _, c := range s.kids() {
		c.clearAll()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clears++
	for _, dc := range s.dbs {
		s.c.Invalidations += int64(dc.rows)
		dc.dropAll()
	}
}
