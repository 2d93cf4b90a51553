package prefetch

import (
	"cmp"
	"slices"

	"gorm.io/gorm"
)

// serve answers a servable statement from the request cache, widening the
// load to the statement's scope first when rows are missing. It reports
// false when the statement must go to the database.
func (st *state) serve(db *gorm.DB, v ctxVal, p *plan) bool {
	st.preferLinked(p) // shapes_loops.go
	s := v.s
	s.mu.Lock()
	dc := s.db(st)
	t := dc.table(p.table, p.sch)
	res, missing, ok := dc.lookup(t, p)
	if res != nil && p.cols == nil && len(res.cols) > 0 {
		res.filler = t.starFiller(p.sch) // res.cols is t.starNames (lookup)
	}
	s.mu.Unlock()
	p.unshared = res != nil // answered as the cache stood: nothing kept the plan
	if ok && res == nil && len(missing) > 0 && !v.noPrefetch {
		s.mu.Lock()
		have := dc.cachedRows(t, p) // what a scratch answer may need beside the batch
		s.mu.Unlock()
		if widened, l := st.widen(db, s, p, missing); widened {
			s.mu.Lock()
			dc = s.db(st) // a Clear or a change of definitions may have replaced them
			t = dc.table(p.table, p.sch)
			res, _, ok = dc.lookup(t, p)
			s.mu.Unlock()
			if res == nil {
				res = st.answerFrom(s, p, l, have)
				ok = res != nil
			}
		}
	}
	if db.Error != nil {
		return true // strict mode failed the statement (lazyload.go)
	}
	if ok && res == nil {
		if r, tt := st.sharedServe(db, s, p); r != nil { // shared_read.go
			res, t = r, tt
		}
	}
	if !ok || res == nil {
		return false
	}
	if p.count {
		res = countResult(db, res) // shapes_count.go
	}
	st.served(db, v, t, p)             // observer and N+1 report (observer.go)
	if p.count || !copyInto(db, res) { // direct_copy.go
		scanInto(db, res)
	}
	db.Statement.Vars = servedVars // for queryCallback and markServed: nothing built yet
	return true
}

// cachedRows returns the fresh rows of a by-key statement that are cached
// now. Callers hold the store's lock.
func (dc *dbCache) cachedRows(t *tableCache, p *plan) []*entry {
	if !p.byKey {
		return nil
	}
	var out []*entry
	for _, k := range p.keys {
		if e := t.rows[k]; e != nil && dc.st.gens.rowStamp(t.gens, k) <= e.loadedAt {
			out = append(out, e)
		}
	}
	return out
}

// lookup finds the rows a plan returns. It returns them as a result when
// every one is cached with the columns asked (and counts a hit); otherwise
// the keys (or collection values) still to load. ok is false when the
// statement cannot be served whatever is cached. Callers hold the store's
// lock.
func (dc *dbCache) lookup(t *tableCache, p *plan) (res *result, missing []any, ok bool) {
	if t.unkeyed {
		return nil, nil, false
	}
	colIdx, names := t.star, t.starNames
	if p.cols != nil {
		names = p.cols
		colIdx = make([]int, len(p.cols), len(p.cols)+len(p.nulls))
		for i, c := range p.cols {
			colIdx[i] = t.col(c)
		}
	} else if t.star == nil {
		// SELECT * before any SELECT * was seen: the columns are unknown
		// until a batch load (which reads whole rows) tells them.
		if p.byKey {
			return nil, p.keys, true
		}
		return nil, p.collVals, true
	}
	need, nullIdx, filterIdx := colIdx, []int(nil), p.filterCols(t)
	if len(p.nulls) > 0 {
		nullIdx = make([]int, len(p.nulls))
		for i, c := range p.nulls {
			nullIdx[i] = t.col(c)
		}
	}
	if len(nullIdx)+len(filterIdx) > 0 {
		var buf [16]int
		need = append(append(append(buf[:0], colIdx...), nullIdx...), filterIdx...)
	}
	usable := func(e *entry) bool { return e != nil && (e.absent || e.has(need)) }

	var rows []*entry
	if p.byKey {
		rows = make([]*entry, 0, len(p.keys))
		for _, k := range p.keys {
			e := dc.get(t, k)
			if !usable(e) {
				missing = append(missing, k)
			} else if !e.absent {
				rows = append(rows, e)
			}
		}
	} else {
		for _, v := range p.collVals {
			c := dc.coll(t, p.collCol, v)
			complete := c != nil
			n := len(rows)
			for i := 0; complete && i < len(c.keys); i++ {
				e := dc.get(t, c.keys[i])
				if complete = usable(e) && !e.absent; complete {
					rows = append(rows, e)
				}
			}
			if !complete {
				rows = rows[:n]
				missing = append(missing, v)
			}
		}
	}
	if len(missing) > 0 {
		return nil, missing, true
	}
	if len(nullIdx) > 0 {
		rows = slices.DeleteFunc(rows, func(e *entry) bool {
			for _, i := range nullIdx {
				if e.val(i) != nil {
					return true
				}
			}
			return false
		})
	}
	if rows, ok = p.applyFilters(rows, filterIdx); !ok {
		return nil, nil, false // a value the cache cannot compare (shapes_loops.go)
	}
	if len(rows) > 1 {
		desc := p.order == -1
		slices.SortFunc(rows, func(a, b *entry) int {
			if desc {
				return cmpKeys(b.key, a.key)
			}
			return cmpKeys(a.key, b.key)
		})
		rows = slices.CompactFunc(rows, func(a, b *entry) bool { return a == b })
		if len(rows) > 1 && (p.order == orderOther ||
			p.order == 0 && (p.limit >= 0 && len(rows) > p.limit || !p.sliceDest)) {
			// Which rows the database returns first is its own choice, or
			// follows an order the cache cannot compute.
			return nil, nil, false
		}
	}
	if p.limit >= 0 && len(rows) > p.limit {
		rows = rows[:p.limit]
	}
	if len(rows) == 1 {
		one := &struct {
			result
			row [1][]any
		}{}
		res = &one.result // one allocation for the result of one row
		res.cols, res.rows = names, one.row[:]
	} else {
		res = &result{cols: names, rows: make([][]any, len(rows))}
	}
	if whole(colIdx, rows) {
		// The rows' cells in order: shared, as fetch shares them with the
		// cache (nobody modifies either).
		for i, e := range rows {
			res.rows[i] = e.vals[:len(colIdx):len(colIdx)]
		}
	} else {
		cells := make([]any, len(rows)*len(colIdx))
		for i, e := range rows {
			row := cells[i*len(colIdx) : (i+1)*len(colIdx) : (i+1)*len(colIdx)]
			for j, c := range colIdx {
				row[j] = e.vals[c]
			}
			res.rows[i] = row
		}
	}
	dc.s.c.Hits++
	return res, nil, true
}

// whole reports whether colIdx names every cell of each row, in order.
func whole(colIdx []int, rows []*entry) bool {
	for j, c := range colIdx {
		if c != j {
			return false
		}
	}
	for _, e := range rows {
		if len(e.vals) != len(colIdx) {
			return false
		}
	}
	return true
}

func cmpKeys(a, b any) int {
	switch x := a.(type) {
	case int64:
		if y, ok := b.(int64); ok {
			return cmp.Compare(x, y)
		}
	case string:
		if y, ok := b.(string); ok {
			return cmp.Compare(x, y)
		}
	}
	return 0
}

// fetch runs a cacheable statement on the database, scans its rows into the
// destination through GORM and stores them in the request cache.
func (st *state) fetch(db *gorm.DB, s *store, p *plan) {
	defer st.fetched(db, s, p.table) // observer (observer.go)
	stmt := db.Statement
	s.mu.Lock()
	mark := s.mark(st)
	s.mu.Unlock()
	loadedAt := mark.at
	rs, err := stmt.ConnPool.QueryContext(stmt.Context, stmt.SQL.String(), stmt.Vars...)
	if err != nil {
		db.AddError(err)
		return
	}
	res, err := capture(rs)
	closeErr := rs.Close()
	if err != nil {
		db.AddError(err)
		return
	}
	if !copyInto(db, res) { // the rows scanned once, by capture (direct_copy.go)
		scanInto(db, res)
	}
	db.AddError(closeErr)
	if closeErr == nil {
		st.sharedFetched(db, s, p, res) // shared_read.go
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.Misses++
	if res.err != nil || closeErr != nil || !s.storable(db, st, mark) {
		return
	}
	dc := s.db(st)
	t := dc.table(p.table, p.sch)
	var sc *scope
	if len(res.rows) > 1 {
		sc = &scope{t: t}
		st.scopeMade(db, sc) // call site of the query, for the N+1 report (lazyload.go)
	}
	keys := dc.storeResult(t, res, loadedAt, p.cols == nil, sc, nullTerms(db.Statement))
	if sc != nil {
		sc.keys = keys
		dc.addScope(t, sc)
	}
	if !p.servable || keys == nil || len(keys) != len(res.rows) || p.limit >= 0 && len(keys) >= p.limit {
		// A limit may have cut rows off, or some rows could not be keyed:
		// the result says nothing complete about absent keys or
		// collections.
		return
	}
	if p.byKey && len(p.nulls) == 0 && len(t.pk) == 1 && t.pkCls[0] == classInt {
		dc.markAbsent(t, p.keys, keys, loadedAt)
	}
	if !p.byKey && p.exact {
		dc.storeCollections(t, p.collCol, p.collCls, p.collVals, keys, loadedAt)
	}
}

// nullTerms returns the columns a statement's WHERE clause requires to be
// NULL (ANDed at the top level, like the soft-delete condition): every row
// it returns holds NULL there, which the cache can record as loaded.
func nullTerms(stmt *gorm.Statement) []string {
	var out []string
	for _, t := range whereTerms(stmt) {
		if t.ok && t.null {
			out = append(out, t.col)
		}
	}
	return out
}

// storeResult stores the rows of a result, with the columns in nulls known
// to be NULL; it returns their keys in order, or nil when the result lacks
// the primary key. Callers hold the lock.
func (dc *dbCache) storeResult(t *tableCache, res *result, loadedAt uint64, star bool, sc *scope, nulls []string) []any {
	if t.unkeyed {
		return nil
	}
	idx := make([]int, len(res.cols))
	inOrder := true // the result's columns are the table's, in order
	for i, c := range res.cols {
		idx[i] = t.col(c)
		inOrder = inOrder && idx[i] == i
	}
	var nullIdx []int
	for _, c := range nulls {
		if !slices.Contains(res.cols, c) {
			nullIdx = append(nullIdx, t.col(c))
		}
	}
	inOrder = inOrder && len(res.cols) == len(t.cols)
	if star {
		t.star = idx
		t.starNames = res.cols
	}
	pkPos := make([]int, len(t.pk))
	for i, name := range t.pk {
		pkPos[i] = slices.Index(res.cols, name)
		if pkPos[i] < 0 {
			return nil
		}
	}
	keys := make([]any, 0, len(res.rows))
	seen := make(map[any]struct{}, len(res.rows))
	parts := make([]any, len(t.pk))
	for _, row := range res.rows {
		ok := true
		for i, pos := range pkPos {
			if !sameKind(row[pos], t.pkCls[i]) {
				// The column does not hold what the model's key type
				// says (integers kept in a text column): the database
				// compares and sorts them by the column's type, which
				// the cache cannot follow.
				dc.markUnkeyed(t)
				return nil
			}
			if parts[i], ok = normValue(row[pos], t.pkCls[i]); !ok {
				break
			}
		}
		if !ok {
			continue
		}
		k := compositeKey(parts)
		if _, dup := seen[k]; dup {
			// The model's primary key is not unique in the table (a view,
			// or a table without the constraint): rows cannot be named by
			// it. Nothing of the table is served from now on.
			dc.markUnkeyed(t)
			return nil
		}
		seen[k] = struct{}{}
		vals := row // shared with res: neither is ever modified
		if !inOrder {
			vals = make([]any, len(t.cols))
			for i := range vals {
				vals[i] = unloaded
			}
			for i, v := range row {
				vals[idx[i]] = v
			}
			for _, i := range nullIdx {
				vals[i] = nil
			}
		}
		dc.put(t, k, vals, loadedAt, sc)
		keys = append(keys, k)
	}
	return keys
}

// markAbsent records the asked keys that no row came back for.
func (dc *dbCache) markAbsent(t *tableCache, asked, got []any, loadedAt uint64) {
	if len(got) == len(asked) {
		return
	}
	found := make(map[any]bool, len(got))
	for _, k := range got {
		found[k] = true
	}
	for _, k := range asked {
		if !found[k] {
			dc.putAbsent(t, k, loadedAt)
		}
	}
}

// storeCollections records, for each asked value of col, the complete list
// of rows holding it. With one value, every row the database returned is
// that value's, whatever its equality (collations, padding, types) made of
// it. With several, rows are grouped by their normalized value, which only
// integers make certain; any row that does not fall in an asked value's
// group means the grouping cannot be trusted, and nothing is recorded.
func (dc *dbCache) storeCollections(t *tableCache, col string, cls keyClass, vals []any, keys []any, loadedAt uint64) {
	ci, ok := t.colIdx[col]
	if !ok || t.unkeyed || len(vals) > 1 && cls != classInt {
		return
	}
	m := t.colls[col]
	if m == nil {
		m = map[any]*collection{}
		t.colls[col] = m
	}
	if len(vals) == 1 {
		m[vals[0]] = &collection{keys: keys, loadedAt: loadedAt, born: dc.now()}
		return
	}
	byVal := make(map[any][]any, len(vals))
	for _, v := range vals {
		byVal[v] = nil
	}
	for _, k := range keys {
		e := t.rows[k]
		if e == nil {
			return // evicted already: the lists would be incomplete
		}
		v, ok := normValue(e.val(ci), cls)
		if _, asked := byVal[v]; !ok || !asked {
			return
		}
		byVal[v] = append(byVal[v], k)
	}
	for _, v := range vals {
		m[v] = &collection{keys: byVal[v], loadedAt: loadedAt, born: dc.now()}
	}
}

// sameKind reports whether a key value as the driver returned it is of the
// kind the key class expects: integers for an integer key, text for a text
// key. NULL and other values are left to normValue.
func sameKind(v any, c keyClass) bool {
	switch v.(type) {
	case int64:
		return c == classInt
	case string, []byte:
		return c != classInt
	}
	return true
}

// markUnkeyed records that the model's key does not name the table's rows:
// nothing of it is served from now on, in this request cache and, since the
// key columns hold what they hold for every request, in the process.
func (dc *dbCache) markUnkeyed(t *tableCache) {
	t.unkeyed = true
	dc.st.unkeyed.Store(tableKey{t.name, t.ident}, true)
	dc.invalidateTable(t, nil)
}
