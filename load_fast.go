package prefetch

import (
	"reflect"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/schema"
)

// Load's fast path. GORM's preload of one association builds a statement
// (WHERE col IN (...)), runs the query chain, which the plugin answers from
// the request cache, and scans the rows into new records through
// database/sql. When the plugin can prove what that chain would do, Load
// does the same work directly: it looks the rows up with the plan the
// statement would have had (the same lookup, the same batch load of the
// scope when rows are missing), copies them into new records with the
// direct copy of served reads (assign.go), and assigns them to the records
// exactly as GORM's preload does. Per-record Load then costs a lookup and
// a copy instead of a query pipeline.
//
// It is taken only when every step is provably the one the chain would
// take: a single-column belongs-to, has-one or has-many association without
// join table, polymorphism or conditions; key fields of plain integer or
// text types; no query clauses on the related model but the standard soft
// delete; no AfterFind hook (or hooks skipped); the query chain exactly
// GORM's own plus the plugin's; a request cache the statement would use.
// Anything else, and any row the copy cannot take exactly, goes through
// GORM's preload as before. Statements answered this way reach no GORM
// logger (there is no statement), but count as served in Stats and for
// the Observer, as the statement would have. So the fast path is taken
// only when GORM's logger would not print the statement (observe.go).

// forceSlowLoad, set by tests (export_test.go), sends every Load through
// GORM's preload: the reference the tests compare the fast path with. So
// does forceReplay (direct_copy.go).
var forceSlowLoad atomic.Bool

// fastRel is what the fast path knows of one association of a model,
// worked out once.
type fastRel struct {
	ok      bool
	rel     *schema.Relationship
	related *schema.Schema
	own     *schema.Field // field of the records holding the matched values
	col     *schema.Field // column of the related table they are matched with
	cls     keyClass
	byKey   bool   // col is the related table's primary key
	many    bool   // has-many: the field is a slice
	ptr     bool   // the field (or its slice's elements) holds pointers
	soft    string // the related table's soft-delete column, "" when none
	fill    atomic.Pointer[fastFill]
}

// fastFill is the direct copy for one list of columns.
type fastFill struct {
	cols []string
	f    *rowFiller
	pos  int // index of the matched column in cols; -1 when absent
}

// fastRels caches fastRel by model and association name.
var fastRels struct {
	mu sync.RWMutex
	m  map[*schema.Schema]map[string]*fastRel
}

// fastRelOf returns what the fast path knows of sch's association name.
func fastRelOf(sch *schema.Schema, name string) *fastRel {
	fastRels.mu.RLock()
	fr := fastRels.m[sch][name]
	fastRels.mu.RUnlock()
	if fr != nil {
		return fr
	}
	fr = newFastRel(sch, name)
	fastRels.mu.Lock()
	defer fastRels.mu.Unlock()
	if fastRels.m == nil {
		fastRels.m = map[*schema.Schema]map[string]*fastRel{}
	}
	if fastRels.m[sch] == nil {
		fastRels.m[sch] = map[string]*fastRel{}
	}
	if old := fastRels.m[sch][name]; old != nil {
		return old
	}
	fastRels.m[sch][name] = fr
	return fr
}

// newFastRel works out whether association name of sch can take the fast
// path, and how.
func newFastRel(sch *schema.Schema, name string) *fastRel {
	fr := &fastRel{}
	if sch.Relationships.EmbeddedRelations[name] != nil {
		return fr // preloaded through the embedded struct's relations
	}
	rel := sch.Relationships.Relations[name]
	if rel == nil || rel.JoinTable != nil || rel.Polymorphic != nil || len(rel.References) != 1 ||
		rel.FieldSchema == nil || rel.Field == nil {
		return fr
	}
	ref := rel.References[0]
	if ref.PrimaryValue != "" || ref.PrimaryKey == nil || ref.ForeignKey == nil {
		return fr
	}
	fr.rel, fr.related = rel, rel.FieldSchema
	switch rel.Type {
	case schema.BelongsTo:
		if ref.OwnPrimaryKey {
			return fr
		}
		fr.own, fr.col = ref.ForeignKey, ref.PrimaryKey
	case schema.HasOne, schema.HasMany:
		if !ref.OwnPrimaryKey {
			return fr
		}
		fr.own, fr.col = ref.PrimaryKey, ref.ForeignKey
	default:
		return fr
	}
	if fr.col.Schema != fr.related || fr.col.DBName == "" || fr.related.FieldsByDBName[fr.col.DBName] != fr.col ||
		len(fr.related.PrimaryFields) == 0 || fr.related.Table == "" {
		return fr
	}
	fr.cls = classOf(fr.col)
	if fr.cls == classOther || classOf(fr.own) != fr.cls || !plainKeyType(fr.own) || !plainKeyType(fr.col) {
		return fr
	}
	fr.byKey = len(fr.related.PrimaryFields) == 1 && fr.related.PrimaryFields[0] == fr.col
	if !directPath(rel.Field) {
		return fr
	}
	model := fr.related.ModelType
	ft := rel.Field.FieldType
	if rel.Type == schema.HasMany {
		if ft.Kind() != reflect.Slice {
			return fr
		}
		fr.many = true
		ft = ft.Elem()
	}
	switch {
	case ft == model:
	case ft.Kind() == reflect.Pointer && ft.Elem() == model:
		fr.ptr = true
	default:
		return fr
	}
	for _, c := range fr.related.QueryClauses {
		sd, ok := c.(gorm.SoftDeleteQueryClause)
		if !ok || sd.ZeroValue.Valid || sd.Field == nil || fr.soft != "" {
			return fr
		}
		fr.soft = sd.Field.DBName
	}
	fr.ok = true
	return fr
}

// plainKeyType reports whether a key field holds a builtin integer or
// string, or a pointer to one: types whose values GORM's preload matches
// by their decimal or literal form, as the cache's keys are.
func plainKeyType(f *schema.Field) bool {
	t := f.FieldType
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == "" && t.Name() != "" && classOf(f) != classOther
}

// directPath reports whether a field is reached without embedded pointers,
// so that it can be set in place.
func directPath(f *schema.Field) bool {
	for _, i := range f.StructField.Index {
		if i < 0 {
			return false
		}
	}
	return true
}

// fillFor returns the direct copy of rows with columns cols into the
// related model, or nil when some column cannot be copied exactly.
func (fr *fastRel) fillFor(cols []string) *fastFill {
	if ff := fr.fill.Load(); ff != nil && sameCols(ff.cols, cols) {
		return ff
	}
	f, ok := newRowFiller(fr.related, cols)
	if !ok {
		return nil
	}
	ff := &fastFill{cols: cols, f: f, pos: -1}
	for i, c := range cols {
		if c == fr.col.DBName {
			ff.pos = i
		}
	}
	fr.fill.Store(ff)
	return ff
}

func sameCols(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 0 && &a[0] == &b[0] {
		return true
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// chains caches, by query processor, whether its compiled chain is exactly
// GORM's own query callbacks and the plugin's: then a statement the plugin
// serves runs nothing else, and the fast path may stand in for it.
var chains sync.Map // *processor -> *chainCheck

type chainCheck struct {
	fns uintptr // the compiled chain checked (its backing array)
	n   int
	ok  bool
}

var plainQueryFns = func() map[uintptr]bool {
	var st *state
	return map[uintptr]bool{
		reflect.ValueOf(st.queryCallback).Pointer():     true,
		reflect.ValueOf(callbacks.Preload).Pointer():    true,
		reflect.ValueOf(callbacks.AfterQuery).Pointer(): true,
		reflect.ValueOf(noteFailure).Pointer():          true,
		reflect.ValueOf(st.markServed).Pointer():        true,
	}
}()

// plainQueryChain reports whether db's query chain runs only GORM's own
// callbacks (gorm:query as the plugin wraps it, gorm:preload,
// gorm:after_query) and the plugin's.
func plainQueryChain(db *gorm.DB) bool {
	proc := db.Callback().Query()
	fv := reflect.ValueOf(proc).Elem().FieldByName("fns")
	if !fv.IsValid() || fv.Kind() != reflect.Slice {
		return false
	}
	ptr, n := fv.Pointer(), fv.Len()
	if c, ok := chains.Load(proc); ok {
		if c := c.(*chainCheck); c.fns == ptr && c.n == n {
			return c.ok
		}
	}
	ok := n == len(plainQueryFns)
	seen := map[uintptr]bool{}
	for i := 0; ok && i < n; i++ {
		p := fv.Index(i).Pointer()
		ok = plainQueryFns[p] && !seen[p]
		seen[p] = true
	}
	chains.Store(proc, &chainCheck{fns: ptr, n: n, ok: ok})
	return ok
}

// fastRecord is one distinct record of a Load and the key its association
// is matched by (nil when its own field is zero: it asks for nothing).
type fastRecord struct {
	rec reflect.Value // the struct
	key any
}

// fastOutcome is what the fast path did with an association.
type fastOutcome uint8

const (
	fastDone    fastOutcome = iota // loaded (or failed with the statement's error)
	fastSlow                       // nothing done: GORM's preload must load it
	fastNoWide                     // its scope was loaded, yet the cache could not answer: GORM's preload must load it without widening again
	fastMissing                    // (loadOne) the row is not cached: load it as for many records
)

// loadFast loads association name of the records in rv by the fast path.
// Unless it reports fastDone it has changed nothing (Stats included), and
// the association must go through GORM's preload instead.
func loadFast(db *gorm.DB, sch *schema.Schema, rv reflect.Value, name string) (fastOutcome, error) {
	if forceSlowLoad.Load() || forceReplay.Load() || db.Error != nil || db.DryRun || db.QueryFields || len(db.Statement.Joins) > 0 ||
		logsSQL(db) { // GORM's logger would print the statement (observe.go)
		return fastSlow, nil
	}
	fr := fastRelOf(sch, name)
	if !fr.ok || fr.related.AfterFind && !db.Statement.SkipHooks {
		return fastSlow, nil
	}
	st, err := stateOf(db)
	if err != nil || !plainQueryChain(db) {
		return fastSlow, nil
	}
	v := valOf(db.Statement.Context)
	if v.s == nil || v.disabled {
		return fastSlow, nil
	}
	if v.s = st.cacheFor(db, v.s); v.s == nil {
		return fastSlow, nil
	}
	if rv.Kind() == reflect.Struct && fr.byKey {
		if out, err := st.loadOne(db, v, fr, rv); out != fastMissing {
			return out, err
		}
	}
	recs, vals, ok := fr.records(db, rv)
	if !ok {
		return fastSlow, nil
	}
	if len(vals) == 0 {
		return fastDone, nil // GORM's preload does nothing: no value to ask for
	}
	if len(vals) > st.maxVars || !fitColumn(vals, fr.col) || st.gens.isView(fr.related.Table) {
		return fastSlow, nil // the statement goes to the database (callbacks.go)
	}
	st.noteSchema(fr.related.Table, fr.related)
	p := fr.plan(db, vals)
	res, t, out, err := st.fastLookup(db, v, p)
	if err != nil || out != fastDone {
		return out, err
	}
	if !fr.assign(db, rv, recs, res) {
		v.s.mu.Lock()
		v.s.c.Hits-- // the statement GORM's preload sends instead is served again
		v.s.mu.Unlock()
		return fastSlow, nil
	}
	st.served(db, v, t, p)
	fastLoads.Add(1)
	return fastDone, nil
}

// fastLoads counts the associations the fast path loaded, for tests.
var fastLoads atomic.Int64

// records returns the distinct records of rv (GORM's preload skips a
// pointer met twice) with their keys, and the distinct keys in the order
// the statement would list them. ok is false when a value is one GORM
// matches in a form the cache's keys do not follow (zero, NULL inside a
// Valuer, out of range).
func (fr *fastRel) records(db *gorm.DB, rv reflect.Value) (recs []fastRecord, vals []any, ok bool) {
	add := func(rec reflect.Value) bool {
		k, zero, ok := fr.ownKey(db, rec)
		if !zero && !ok {
			return false
		}
		recs = append(recs, fastRecord{rec: rec, key: k})
		return true
	}
	if rv.Kind() == reflect.Struct {
		if !add(rv) {
			return nil, nil, false
		}
		if recs[0].key != nil {
			vals = []any{recs[0].key}
		}
		return recs, vals, true
	}
	n := rv.Len()
	recs = make([]fastRecord, 0, n)
	var seenPtr map[uintptr]bool
	if rv.Type().Elem().Kind() == reflect.Pointer {
		seenPtr = make(map[uintptr]bool, n)
	}
	for i := 0; i < n; i++ {
		e := rv.Index(i)
		if seenPtr != nil {
			if seenPtr[e.Pointer()] {
				continue
			}
			seenPtr[e.Pointer()] = true
			e = e.Elem()
		}
		if !add(e) {
			return nil, nil, false
		}
	}
	seen := make(map[any]bool, len(recs))
	for _, r := range recs {
		if r.key != nil && !seen[r.key] {
			seen[r.key] = true
			vals = append(vals, r.key)
		}
	}
	return recs, vals, true
}

// plan returns the plan of the statement GORM's preload would send:
// SELECT * of the related table WHERE col IN (vals), with the soft-delete
// condition unless the statement is unscoped.
func (fr *fastRel) plan(db *gorm.DB, vals []any) *plan {
	p := &plan{table: fr.related.Table, sch: fr.related, servable: true, limit: -1, sliceDest: true}
	if fr.soft != "" && !db.Statement.Unscoped {
		p.nulls = []string{fr.soft}
	}
	if fr.byKey {
		p.byKey, p.keys = true, vals
	} else {
		p.collCol, p.collCls, p.collVals = fr.col.DBName, fr.cls, vals
		p.exact = len(p.nulls) == 0
	}
	return p
}

// fastLookup answers a plan from the request cache as serve does, loading
// the missing rows' scope first. Unless it reports fastDone nothing was
// counted; err is the statement's error (strict mode).
func (st *state) fastLookup(db *gorm.DB, v ctxVal, p *plan) (*result, *tableCache, fastOutcome, error) {
	s := v.s
	s.mu.Lock()
	dc := s.db(st)
	t := dc.table(p.table, p.sch)
	res, missing, ok := dc.lookup(t, p)
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, nil, fastSlow, nil
	case res != nil:
		return res, t, fastDone, nil
	case v.noPrefetch:
		return nil, nil, fastSlow, nil
	}
	s.mu.Lock()
	have := dc.cachedRows(t, p)
	s.mu.Unlock()
	// widen reports strict mode's error on the statement it is given: a
	// session of its own keeps it off the caller's db.
	tx := db.Session(&gorm.Session{NewDB: true, Context: db.Statement.Context})
	widened, l := st.widen(tx, s, p, missing)
	if tx.Error != nil {
		return nil, nil, fastDone, tx.Error
	}
	if !widened {
		return nil, nil, fastSlow, nil
	}
	s.mu.Lock()
	dc = s.db(st)
	t = dc.table(p.table, p.sch)
	res, _, _ = dc.lookup(t, p)
	s.mu.Unlock()
	if res == nil {
		res = st.answerFrom(s, p, l, have)
	}
	if res == nil {
		return nil, nil, fastNoWide, nil
	}
	return res, t, fastDone, nil
}

// assign copies the rows of res into new records of the related model and
// assigns them as GORM's preload does: every record's field is emptied
// first (a has-many gets an empty slice), then each row, in order, is set
// on (or appended to) the records whose key it holds; records sharing a
// key share a pointer. It reports false, having changed nothing, when a
// row cannot be copied exactly or matches no record (GORM's preload then
// reports its own error).
func (fr *fastRel) assign(db *gorm.DB, rv reflect.Value, recs []fastRecord, res *result) bool {
	ff := fr.fillFor(res.cols)
	if ff == nil || ff.pos < 0 {
		return false
	}
	// Match rows to records before anything changes.
	var byKey map[any][]int // record indexes by key, for more than one record
	if len(recs) > 1 {
		byKey = make(map[any][]int, len(recs))
		for i, r := range recs {
			if r.key != nil {
				byKey[r.key] = append(byKey[r.key], i)
			}
		}
	}
	var rowKeys []any
	if byKey != nil {
		rowKeys = make([]any, len(res.rows))
	}
	for i, row := range res.rows {
		if !ff.f.fits(row) {
			return false
		}
		k, ok := normValue(row[ff.pos], fr.cls)
		if !ok {
			return false
		}
		if byKey == nil {
			if k != recs[0].key {
				return false
			}
			continue
		}
		if byKey[k] == nil {
			return false
		}
		rowKeys[i] = k
	}

	index := fr.rel.Field.StructField.Index
	field := func(rec reflect.Value) reflect.Value {
		if len(index) == 1 {
			return rec.Field(index[0])
		}
		return rec.FieldByIndex(index)
	}
	// Empty every record's field, as GORM's preload does, repeated ones
	// included.
	fieldType := fr.rel.Field.FieldType
	empty := func(rec reflect.Value) {
		f := field(rec)
		if fr.many {
			f.Set(reflect.MakeSlice(fieldType, 0, 10))
		} else {
			f.SetZero()
		}
	}
	if rv.Kind() == reflect.Struct {
		empty(rv)
	} else {
		for i := 0; i < rv.Len(); i++ {
			empty(reflect.Indirect(rv.Index(i)))
		}
	}
	model := fr.related.ModelType
	for i, row := range res.rows {
		elem := reflect.New(model)
		ff.f.fill(elem.Elem(), row)
		val := elem
		if !fr.ptr {
			val = elem.Elem()
		}
		set := func(rec reflect.Value) {
			f := field(rec)
			if fr.many {
				f.Set(reflect.Append(f, val))
			} else {
				f.Set(val)
			}
		}
		if byKey == nil {
			set(recs[0].rec)
			continue
		}
		for _, j := range byKey[rowKeys[i]] {
			set(recs[j].rec)
		}
	}
	return true
}

// loadOne is the fast path of a belongs-to of one record whose row is
// cached: the per-record Load of a loop. It does what the general path
// does for one key without its allocations: one lookup, the row copied
// straight into the record's field. It reports fastMissing, having counted
// nothing, when the row must be loaded first.
func (st *state) loadOne(db *gorm.DB, v ctxVal, fr *fastRel, rec reflect.Value) (fastOutcome, error) {
	k, zero, ok := fr.ownKey(db, rec)
	if zero {
		return fastDone, nil // GORM's preload does nothing: no value to ask for
	}
	if !ok {
		return fastSlow, nil
	}
	table := fr.related.Table
	if st.maxVars < 1 || !fitColumn([]any{k}, fr.col) || st.gens.isView(table) {
		return fastSlow, nil
	}
	st.noteSchema(table, fr.related)
	soft := fr.soft
	if db.Statement.Unscoped {
		soft = ""
	}
	s := v.s
	s.mu.Lock()
	dc := s.db(st)
	t := dc.table(table, fr.related)
	row, cols, out := dc.lookupOne(t, k, soft)
	s.mu.Unlock()
	if out != fastDone {
		return out, nil
	}
	undo := func() fastOutcome {
		s.mu.Lock()
		s.c.Hits-- // the statement GORM's preload sends instead is served again
		s.mu.Unlock()
		return fastSlow
	}
	var ff *fastFill
	if row != nil {
		if ff = fr.fillFor(cols); ff == nil || ff.pos < 0 || !ff.f.fits(row) {
			return undo(), nil
		}
		if rk, ok := normValue(row[ff.pos], fr.cls); !ok || rk != k {
			return undo(), nil
		}
	}
	f := rec.FieldByIndex(fr.rel.Field.StructField.Index)
	switch {
	case fr.many:
		f.Set(reflect.MakeSlice(fr.rel.Field.FieldType, 0, 10))
		if row != nil {
			elem := reflect.New(fr.related.ModelType)
			ff.f.fill(elem.Elem(), row)
			val := elem
			if !fr.ptr {
				val = elem.Elem()
			}
			f.Set(reflect.Append(f, val))
		}
	case fr.ptr:
		f.SetZero()
		if row != nil {
			elem := reflect.New(fr.related.ModelType)
			ff.f.fill(elem.Elem(), row)
			f.Set(elem)
		}
	default:
		// A struct field: preload empties it, then copies a new record
		// in; filling the emptied field itself gives the same value.
		f.SetZero()
		if row != nil {
			ff.f.fill(f, row)
		}
	}
	if v.in != nil || st.cfg.Observer != nil {
		st.served(db, v, t, fr.plan(db, []any{k}))
	}
	fastLoads.Add(1)
	return fastDone, nil
}

// lookupOne is lookup (serve.go) for the plan of one primary key, SELECT *,
// with the soft-delete column soft required NULL (none when ""): it returns
// the row (nil when there is none) and its columns, and counts a hit, or
// reports fastMissing, or fastSlow when the statement cannot be served.
// The row is the entry's own values when the table's columns are in order
// (entries are never modified): read it, never write it. Callers hold the
// store's lock.
func (dc *dbCache) lookupOne(t *tableCache, k any, soft string) ([]any, []string, fastOutcome) {
	if t.unkeyed {
		return nil, nil, fastSlow
	}
	if t.star == nil {
		return nil, nil, fastMissing
	}
	null := -1
	if soft != "" {
		null = t.col(soft)
	}
	e := dc.get(t, k)
	if e == nil || !e.absent && (!e.has(t.star) || null >= 0 && e.val(null) == unloaded) {
		return nil, nil, fastMissing
	}
	dc.s.c.Hits++
	if e.absent || null >= 0 && e.val(null) != nil {
		return nil, t.starNames, fastDone
	}
	inOrder := len(e.vals) >= len(t.star)
	for i, c := range t.star {
		if c != i {
			inOrder = false
			break
		}
	}
	if inOrder {
		return e.vals[:len(t.star):len(t.star)], t.starNames, fastDone
	}
	row := make([]any, len(t.star))
	for i, c := range t.star {
		row[i] = e.vals[c]
	}
	return row, t.starNames, fastDone
}

// ownKey returns the key a record's own field asks for, as records does:
// zero when the field is zero (it asks for nothing), ok false when GORM
// would match the value in a form the cache's keys do not follow. A plain
// integer field is read without boxing its value twice.
func (fr *fastRel) ownKey(db *gorm.DB, rec reflect.Value) (k any, zero, ok bool) {
	if idx := fr.own.StructField.Index; len(idx) == 1 && fr.cls == classInt {
		switch f := rec.Field(idx[0]); f.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if n := f.Int(); n != 0 {
				return n, false, true
			}
			return nil, true, false
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if n := f.Uint(); n != 0 {
				return int64(n), false, n <= 1<<63-1
			}
			return nil, true, false
		}
	}
	raw, zero := fr.own.ValueOf(db.Statement.Context, rec)
	if zero {
		return nil, true, false
	}
	k, ok = normValue(raw, fr.cls)
	return k, false, ok && k != int64(0) && k != ""
}
