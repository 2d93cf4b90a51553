package prefetch

import (
	"reflect"

	"gorm.io/gorm"
)

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
