package prefetch

import (
	"context"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Scope prefetch. When a statement misses rows (or columns, or collections)
// that lie in a scope, the plugin loads them for the whole scope, a chunk of
// BatchSize keys at a time, with the chunk that holds the asked key first.
// Scopes are:
//   - the rows of one multi-row result, for a row lacking columns;
//   - the foreign-key values of such a result, for rows of the referenced
//     table (orders -> their customers);
//   - the scope of a parent row, for the parent's collection in a child
//     table (a customer's orders: the orders of every customer of its scope).
// Batch loads read whole rows (SELECT *) without the soft-delete filter, so
// that any later statement on those rows can be answered by filtering.

// batch is one chunk of a scope to load.
type batch struct {
	t     *tableCache
	table string // t.name and t.sch, read under the store's lock
	sch   *schema.Schema
	col   string // primary-key column, or the collection column
	cls   keyClass
	byKey bool
	list  []any // the scope's values of col
	lo    int   // the chunk is list[lo:hi]
	hi    int
	sc    *scope // scope given to the rows of a primary-key batch
	id    string // singleflight key
	from  pcs    // the stack of the statement that asked for it

	// Where the scope came from, for the N+1 report (lazyload.go): the
	// rows of src in table origin, related to t through column via (""
	// for the rows' own scope).
	origin *tableCache
	src    *scope
	via    string
}

// widen loads, in one query, the chunk of a scope that holds every missing
// key or value of the statement, and reports whether it did. It loads
// nothing, and the statement goes to the database as one query, as it would
// without the plugin, when the missing values do not all lie in one chunk
// of one scope, or when the statement might not be answerable from the
// cache even once they are loaded: widening must never add a query.
func (st *state) widen(db *gorm.DB, s *store, p *plan, missing []any) (bool, *loadedBatch) {
	if !p.answerableOnceLoaded() {
		return false, nil
	}
	s.mu.Lock()
	dc := s.db(st)
	t := dc.table(p.table, p.sch)
	if !t.mayHold(p) {
		s.mu.Unlock()
		return false, nil
	}
	b := st.findBatch(dc, t, p, missing[0])
	if b != nil {
		if at, refused := st.noBatch.Load(b.table + "\x00" + b.col); refused && time.Since(at.(time.Time)) < refusedFor {
			b = nil
		}
	}
	if b != nil && len(missing) > 1 {
		// Every missing value must lie in the first one's chunk.
		chunk := make(map[any]struct{}, b.hi-b.lo)
		for _, v := range b.list[b.lo:b.hi] {
			chunk[v] = struct{}{}
		}
		for _, m := range missing[1:] {
			if _, ok := chunk[m]; !ok {
				b = nil
				break
			}
		}
	}
	s.mu.Unlock()
	if b == nil {
		return false, nil
	}
	if err := st.lazyLoad(db, s, t, p, b, missing[0]); err != nil {
		db.AddError(err) // strict mode (lazyload.go)
		return false, nil
	}
	// On an error the statement itself goes to the database and reports
	// its own error, as it would without the plugin.
	b.from = callers() // the user's line, for logs: the load runs on another goroutine
	l, err := st.runBatch(db, s, b)
	return err == nil, l
}

// remap copies e's values into the column indexes of t (another cache of
// the same table).
func remap(e *entry, t *tableCache) []any {
	out := make([]any, len(t.cols), len(t.cols)+len(e.t.cols))
	for i := range out {
		out[i] = unloaded
	}
	for i, name := range e.t.cols {
		j := t.col(name)
		for len(out) <= j {
			out = append(out, unloaded)
		}
		out[j] = e.val(i)
	}
	return out
}

// refusedFor is how long batch loads of a table's column stay off after
// the database refused one.
const refusedFor = 5 * time.Minute

// loadedBatch is what one batch load read: the statement that asked for it
// can be answered from it even when the request cache could not keep it.
type loadedBatch struct {
	b    *batch
	res  *result
	vals []any // the values loaded
	at   uint64
}

// answerFrom answers a statement from the rows of the batch load it
// caused, when the request cache could not keep them (a batch of more rows
// than MaxRows): that load's query was its query, and it must not send
// another. It returns nil when the batch does not hold the whole answer.
func (st *state) answerFrom(s *store, p *plan, l *loadedBatch, have []*entry) *result {
	if l == nil || l.res == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	scratch := &dbCache{st: st, s: s, tables: map[tableKey]*tableCache{}, unbounded: true}
	scratch.lru.next, scratch.lru.prev = &scratch.lru, &scratch.lru
	t := scratch.table(p.table, p.sch)
	// The rows the request cache held before the batch (a Clear, an
	// eviction or a write may have dropped them since; stamps still
	// decide whether they are fresh).
	for _, e := range have {
		if e.absent {
			scratch.putAbsent(t, e.key, e.loadedAt)
		} else {
			scratch.put(t, e.key, remap(e, t), e.loadedAt, nil)
		}
	}
	scratch.record(t, l.b, l.res, l.vals, l.at, nil)
	res, _, ok := scratch.lookup(t, p)
	if !ok {
		return nil
	}
	return res
}

// mayHold reports whether the rows of a batch load (SELECT *) can hold
// every column the statement selects or requires NULL: when SELECT *'s columns are known,
// they must include them; when not, a model field that migrations skip
// may have no column. A statement selecting a column the table lacks fails
// at the database, and must not cost a batch load first.
func (t *tableCache) mayHold(p *plan) bool {
	for _, c := range slices.Concat(p.cols, p.nulls) {
		if t.star != nil {
			if !slices.Contains(t.starNames, c) {
				return false
			}
		} else if f := p.sch.FieldsByDBName[c]; f == nil || f.IgnoreMigration {
			return false
		}
	}
	return true
}

// answerableOnceLoaded reports whether the cache can answer the statement
// once every row it names is loaded: its rows' order and number must not
// depend on what only the database knows, and a collection's rows must be
// grouped by a value the cache compares as the database does.
func (p *plan) answerableOnceLoaded() bool {
	if !p.byKey && p.collCls != classInt {
		return false
	}
	if p.byKey && len(p.keys) == 1 {
		return true
	}
	switch p.order {
	case orderOther:
		return false
	case 0:
		return p.sliceDest && p.limit < 0
	}
	return true
}

// findBatch finds the scope of one missing key or value and the chunk of it
// to load. Callers hold the store's lock.
func (st *state) findBatch(dc *dbCache, t *tableCache, p *plan, m any) *batch {
	if p.byKey {
		if len(t.pk) != 1 {
			// A batch names rows by one column; composite keys are loaded
			// by the statements that ask for them.
			return nil
		}
		b := &batch{t: t, col: t.pk[0], cls: t.pkCls[0], byKey: true}
		if e := t.rows[m]; e != nil && e.scope != nil && len(e.scope.keys) > 1 {
			b.list, b.sc = e.scope.keys, e.scope
			b.origin, b.src = t, e.scope
			return b.chunk(st.cfg.BatchSize, m, fmt.Sprintf("s%p", e.scope))
		}
		for _, l := range st.linksOf(t.name) {
			if l.parent != t.name || l.col == "" || l.pcol != t.pk[0] {
				continue
			}
			for _, ct := range dc.tablesNamed(l.child) {
				if b := st.refBatch(dc, ct, l, b, m); b != nil {
					return b
				}
			}
		}
		return nil
	}
	b := &batch{t: t, col: p.collCol, cls: p.collCls}
	for _, l := range st.linksOf(t.name) {
		if l.child != t.name || l.col != p.collCol {
			continue
		}
		for _, pt := range dc.tablesNamed(l.parent) {
			if len(pt.pk) != 1 || pt.pk[0] != l.pcol {
				continue
			}
			if e := pt.rows[m]; e != nil && e.scope != nil && len(e.scope.keys) > 1 {
				b.list = e.scope.keys
				b.origin, b.src, b.via = pt, e.scope, p.collCol
				return b.chunk(st.cfg.BatchSize, m, fmt.Sprintf("c%p/%s", e.scope, p.collCol))
			}
		}
	}
	return nil
}

// refBatch finds, among the recent scopes of child table ct, one whose
// values of the link's column include m: they form the scope of m on the
// parent table.
func (st *state) refBatch(dc *dbCache, ct *tableCache, l link, b *batch, m any) *batch {
	for i := len(ct.scopes) - 1; i >= 0; i-- {
		r := ct.scopes[i].refList(dc, l.col, b.cls)
		if _, ok := r.idx[m]; !ok || len(r.vals) < 2 {
			continue
		}
		if r.sc == nil || r.sc.t != b.t {
			r.sc = &scope{t: b.t, keys: r.vals}
		}
		b.list, b.sc = r.vals, r.sc
		b.origin, b.src, b.via = ct, ct.scopes[i], l.col
		return b.chunk(st.cfg.BatchSize, m, fmt.Sprintf("r%p", r))
	}
	return nil
}

// chunk narrows b to the BatchSize slice of its list that holds m.
func (b *batch) chunk(size int, m any, id string) *batch {
	b.table, b.sch = b.t.name, b.t.sch
	at := -1
	for i, v := range b.list {
		if v == m {
			at = i
			break
		}
	}
	if at < 0 {
		return nil
	}
	b.lo = at / size * size
	b.hi = min(b.lo+size, len(b.list))
	b.id = fmt.Sprintf("%s/%s/%d", id, b.col, b.lo)
	return b
}

// runBatch loads a chunk once for all the goroutines of a request that need
// it. A goroutine whose context ends while it waits returns its context's
// error; the load goes on for the others.
func (st *state) runBatch(db *gorm.DB, s *store, b *batch) (*loadedBatch, error) {
	ctx := db.Statement.Context
	ch := s.group.DoChan(b.id, func() (any, error) {
		return st.batchLoad(db, context.WithoutCancel(ctx), s, b)
	})
	select {
	case r := <-ch:
		l, _ := r.Val.(*loadedBatch)
		return l, r.Err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// batchLoad loads the values of a chunk that are still missing.
func (st *state) batchLoad(db *gorm.DB, ctx context.Context, s *store, b *batch) (*loadedBatch, error) {
	s.mu.Lock()
	dc := s.db(st)
	var vals []any
	for _, v := range b.list[b.lo:b.hi] {
		if !dc.loaded(b, v) {
			vals = append(vals, v)
		}
	}
	mark := s.mark(st)
	s.mu.Unlock()
	vals, sb := st.sharedBatchRead(db, ctx, s, b, vals, mark) // shared_read.go
	if len(vals) == 0 {
		return sb.loaded(b, mark.at), nil
	}

	query, vars := batchSQL(db, b, vals)
	begin := time.Now()
	ctx = st.batchStart(ctx, b, len(vals)) // observer (observer.go)
	loadedAt := mark.at
	res, err := runCapture(ctx, db.Statement.ConnPool, query, vars)
	rows := int64(0)
	if res != nil {
		rows = int64(len(res.rows))
	}
	st.batchEnd(ctx, db, s, b, vals, rows, err) // observer and N+1 report (observer.go)
	// GORM's logger names the first frame outside GORM, which is the
	// plugin's: the SQL names the user's line that caused the load.
	db.Logger.Trace(ctx, begin, func() (string, int64) {
		site, _ := b.from.site()
		return "/* prefetch: batch load for " + site.String() + " */ " + db.Dialector.Explain(query, vars...), rows
	}, err)
	if st.cfg.Logger != nil {
		st.cfg.Logger.DebugContext(ctx, "prefetch: batch load", "table", b.table, "column", b.col,
			"keys", len(vals), "rows", rows, "duration", time.Since(begin), "error", err)
	}
	if err != nil {
		if ctx.Err() == nil && db.Statement.Context.Err() == nil {
			// The database refused the batch (a key compared with a column
			// of another type, say): the statements it was for will be
			// refused too, and must not cost a batch first again. For a
			// while only, in case the error was passing.
			st.noBatch.Store(b.table+"\x00"+b.col, time.Now())
		}
		return nil, err
	}
	sb.fill(ctx, res) // shared_read.go

	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.BatchLoads++
	s.c.Prefetched += rows
	l := sb.merge(&loadedBatch{b: b, res: res, vals: vals, at: loadedAt})
	if !s.storable(db, st, mark) {
		return l, nil
	}
	dc = s.db(st)
	t := dc.table(b.table, b.sch)
	var sc *scope
	if !b.byKey && len(res.rows) > 1 {
		sc = &scope{t: t}
	}
	dc.record(t, b, res, vals, loadedAt, sc)
	if sc != nil && sc.keys != nil {
		dc.addScope(t, sc)
	}
	return l, nil
}

// record stores the rows of a batch load and what they prove complete:
// absent keys, whole collections. Callers hold the store's lock.
func (dc *dbCache) record(t *tableCache, b *batch, res *result, vals []any, loadedAt uint64, sc *scope) {
	if b.byKey {
		sc = b.sc
	}
	keys := dc.storeResult(t, res, loadedAt, true, sc, nil)
	if sc != nil && !b.byKey {
		sc.keys = keys
	}
	if keys == nil || len(keys) != len(res.rows) {
		return // some rows could not be keyed: nothing complete to record
	}
	if b.byKey && b.cls == classInt {
		dc.markAbsent(t, vals, keys, loadedAt)
	}
	if !b.byKey {
		dc.storeCollections(t, b.col, b.cls, vals, keys, loadedAt)
	}
}

// anyArray makes PostgreSQL batch loads bind their keys as one array
// parameter (col = ANY($1)) instead of an IN list: the SQL text stays the
// same whatever the number of keys, so pgx's statement cache and the
// server's plan cache reuse it. Benchmarks compare both (see docs/benchmarks.md).
var anyArray = true

// batchSQL builds the query of a batch load: whole rows whose column holds
// one of vals, without the soft-delete filter.
func batchSQL(db *gorm.DB, b *batch, vals []any) (string, []any) {
	stmt := &gorm.Statement{DB: db, Table: b.table, Schema: b.sch, Clauses: map[string]clause.Clause{}}
	stmt.AddClause(clause.Select{})
	stmt.AddClause(clause.From{})
	if arr, ok := pgArray(db, vals); ok && anyArray {
		stmt.Build("SELECT", "FROM")
		stmt.WriteString(" WHERE ")
		stmt.WriteQuoted(clause.Column{Table: b.table, Name: b.col})
		stmt.WriteString(" = ANY(")
		// Bound by hand: GORM's AddVar would expand the slice into a list.
		stmt.Vars = append(stmt.Vars, arr)
		db.Dialector.BindVarTo(stmt, stmt, arr)
		stmt.WriteString(")")
		return stmt.SQL.String(), stmt.Vars
	}
	stmt.AddClause(clause.Where{Exprs: []clause.Expression{clause.IN{Column: clause.Column{Table: b.table, Name: b.col}, Values: vals}}})
	stmt.Build("SELECT", "FROM", "WHERE")
	return stmt.SQL.String(), stmt.Vars
}

// pgArray returns vals as one typed slice, when the database is PostgreSQL
// and the values are all integers or all strings.
func pgArray(db *gorm.DB, vals []any) (any, bool) {
	if db.Dialector.Name() != "postgres" {
		return nil, false
	}
	switch vals[0].(type) {
	case int64:
		out := make([]int64, len(vals))
		for i, v := range vals {
			n, ok := v.(int64)
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	case string:
		out := make([]string, len(vals))
		for i, v := range vals {
			s, ok := v.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

// runCapture runs a query and captures its rows.
func runCapture(ctx context.Context, pool gorm.ConnPool, query string, vars []any) (*result, error) {
	rs, err := pool.QueryContext(ctx, query, vars...)
	if err != nil {
		return nil, err
	}
	res, err := capture(rs)
	if cerr := rs.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = res.err
	}
	return res, err
}

// loaded reports whether a value of a batch needs no load: its row is
// cached whole (or known absent), or its collection is complete.
func (dc *dbCache) loaded(b *batch, v any) bool {
	t := b.t
	if b.byKey {
		e := dc.get(t, v)
		return e != nil && (e.absent || t.star != nil && e.has(t.star))
	}
	c := dc.coll(t, b.col, v)
	if c == nil || t.star == nil {
		return false
	}
	for _, k := range c.keys {
		if e := dc.get(t, k); e == nil || e.absent || !e.has(t.star) {
			return false
		}
	}
	return true
}
