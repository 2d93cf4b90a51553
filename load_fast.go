package prefetch

import (
	"reflect"
	"sync/atomic"

	"gorm.io/gorm"
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

// loadFast loads association name of the records in rv by the fast path,
// and the nested names (relative to it: "Product" for "Lines.Product") of
// the records it loads. Unless it reports fastDone it has changed nothing
// (Stats included), and the association must go through GORM's preload
// instead.
func loadFast(db *gorm.DB, sch *schema.Schema, rv reflect.Value, name string, nested []string) (fastOutcome, error) {
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
	if rv.Kind() == reflect.Struct && fr.byKey && len(nested) == 0 {
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
	served := func() { st.served(db, v, t, p) } // observer and N+1 report, as serve tells them
	if done, err := fr.assign(db, rv, recs, res, nested, served); err != nil {
		return fastDone, err
	} else if !done {
		v.s.mu.Lock()
		v.s.c.Hits-- // the statement GORM's preload sends instead is served again
		v.s.mu.Unlock()
		return fastSlow, nil
	}
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
// reports its own error). served is called once the rows are known to fit.
func (fr *fastRel) assign(db *gorm.DB, rv reflect.Value, recs []fastRecord, res *result, nested []string, served func()) (bool, error) {
	ff := fr.fillFor(res.cols)
	if ff == nil || ff.pos < 0 {
		return false, nil
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
			return false, nil
		}
		k, ok := normValue(row[ff.pos], fr.cls)
		if !ok {
			return false, nil
		}
		if byKey == nil {
			if k != recs[0].key {
				return false, nil
			}
			continue
		}
		if byKey[k] == nil {
			return false, nil
		}
		rowKeys[i] = k
	}

	served() // the statement is answered: told before its own preloads run, as serve tells it

	// The new records, each row copied once. GORM's preload loads their
	// nested associations (the query's own preloads) before it assigns
	// them: a record copied into a slice of values carries them.
	model := fr.related.ModelType
	elems := make([]reflect.Value, len(res.rows))
	for i, row := range res.rows {
		elems[i] = reflect.New(model)
		ff.f.fill(elems[i].Elem(), row)
	}
	if len(nested) > 0 && len(elems) > 0 {
		results := reflect.New(reflect.SliceOf(reflect.PointerTo(model)))
		all := reflect.MakeSlice(results.Elem().Type(), 0, len(elems))
		results.Elem().Set(reflect.Append(all, elems...))
		if err := loadEach(db, fr.related, results.Interface(), results.Elem(), nested); err != nil {
			return true, err // as the query's own preload fails it: the records stay as they were
		}
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
	for i, elem := range elems {
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
	return true, nil
}
