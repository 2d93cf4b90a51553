package prefetch

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// plan is what the plugin understood of a query statement whose clauses GORM has
// built. A statement gets a plan only if its result is whole rows of one
// model's table (cacheable); it is servable if, in addition, the plan can
// say which cached rows it returns.
type plan struct {
	table string
	sch   *schema.Schema
	cols  []string // selected columns; nil means SELECT *

	servable bool
	byKey    bool  // rows chosen by primary key
	keys     []any // normalized primary keys, distinct, when byKey
	collCol  string
	collCls  keyClass
	collVals []any    // values of collCol, distinct, when !byKey
	nulls    []string // columns the rows must hold NULL in
	filters  []filter // further equalities on a collection's rows (shapes_loops.go)
	exact    bool     // WHERE is only the collection condition: each value's rows are complete
	order    int      // 0: none, 1: primary key ascending, -1: descending, orderOther
	limit    int      // <0: none
	nvals    int      // values the WHERE clause binds, duplicates included

	sliceDest bool // the destination is a slice (a struct takes the first row)
	count     bool // SELECT count(*): the answer is the number of rows (shapes_count.go)

	// unshared is set by serve when the statement was answered from the
	// cache as it stood, so that nothing kept the plan or the slices of
	// its bufs: queryCallback then gives it back to plans.
	unshared bool

	// bufs hold the first few conditions, so that reading a key lookup
	// allocates nothing but the plan.
	bufs struct {
		sets  [2]set
		nulls [2]string
		vals  [2]any
		terms [2]term
	}
}

// orderOther is an ORDER BY the cache cannot sort by: such a statement is
// served only when it returns at most one row.
const orderOther = 2

// clauseSet holds the clauses of a cacheable query, read from
// stmt.Clauses in one pass rather than looked up one by one.
type clauseSet struct {
	sel, from, where, order, limit       clause.Clause
	hasSel, hasWhere, hasOrder, hasLimit bool
}

// read fills cs from stmt.Clauses. It reports false for a clause a
// cacheable query may not have (GROUP BY, locking, ON CONFLICT, dialect
// hints...: the statement goes to the database untouched), or one with
// expressions before or after it.
func (cs *clauseSet) read(clauses map[string]clause.Clause) bool {
	for name, c := range clauses {
		if c.BeforeExpression != nil || c.AfterNameExpression != nil || c.AfterExpression != nil {
			return false
		}
		switch name {
		case "SELECT":
			cs.sel, cs.hasSel = c, true
		case "FROM":
			cs.from = c
		case "WHERE":
			cs.where, cs.hasWhere = c, true
		case "ORDER BY":
			cs.order, cs.hasOrder = c, true
		case "LIMIT":
			cs.limit, cs.hasLimit = c, true
		case "soft_delete_enabled":
		default:
			return false
		}
	}
	return true
}

// plans recycles plans: most served statements are answered from the
// cache as it stands and keep nothing of their plan, which is otherwise the
// served path's largest allocation.
var plans = sync.Pool{New: func() any { return new(plan) }}

// releasePlan gives back to plans a plan nothing refers to any more.
func releasePlan(p *plan) {
	*p = plan{}
	plans.Put(p)
}

// analyze returns the plan of a query statement, or nil when its result is
// not whole rows of a model.
func analyze(db *gorm.DB) *plan {
	stmt := db.Statement
	sch := stmt.Schema
	if sch == nil || len(stmt.Joins) > 0 || stmt.Distinct || len(stmt.ColumnMapping) > 0 ||
		len(sch.PrimaryFields) == 0 || !plainTable(stmt) {
		return nil
	}
	count := isCount(stmt)
	if !count && !modelDest(stmt) {
		return nil
	}
	var cs clauseSet
	if !cs.read(stmt.Clauses) {
		return nil
	}
	p := plans.Get().(*plan) // zero, as releasePlan leaves it
	p.table, p.sch, p.limit, p.sliceDest = stmt.Table, sch, -1, stmt.ReflectValue.Kind() == reflect.Slice
	if count {
		p.countRows(stmt) // shapes_count.go
	} else if !p.readSelect(stmt, cs.sel, cs.hasSel) {
		releasePlan(p)
		return nil
	}
	if from, ok := cs.from.Expression.(clause.From); ok && (len(from.Tables) > 0 || len(from.Joins) > 0) {
		releasePlan(p)
		return nil
	} else if !ok && cs.from.Expression != nil {
		releasePlan(p)
		return nil
	}
	p.servable = p.readWhere(stmt, cs.where, cs.hasWhere) && p.readOrder(stmt, cs.order, cs.hasOrder) &&
		p.readLimit(cs.limit, cs.hasLimit)
	return p
}

// modelDest reports whether GORM scans the result into the model's own type.
func modelDest(stmt *gorm.Statement) bool {
	rv := stmt.ReflectValue
	if !rv.IsValid() {
		return false
	}
	t := rv.Type()
	switch t.Kind() {
	case reflect.Struct:
	case reflect.Slice:
		t = t.Elem()
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
	default:
		return false
	}
	return t == stmt.Schema.ModelType
}

// plainTable reports whether the statement reads its model's table by name,
// with no table expression, alias or subquery.
func plainTable(stmt *gorm.Statement) bool {
	if stmt.TableExpr == nil {
		return stmt.Table != ""
	}
	return len(stmt.TableExpr.Vars) == 0 && stmt.TableExpr.SQL == stmt.Quote(stmt.Table)
}

func (p *plan) readSelect(stmt *gorm.Statement, c clause.Clause, ok bool) bool {
	if !ok {
		return true
	}
	sel, ok := c.Expression.(clause.Select)
	if !ok || sel.Distinct || sel.Expression != nil {
		return false
	}
	for _, col := range sel.Columns {
		if col.Raw && col.Name == "*" && len(sel.Columns) == 1 {
			return true
		}
		name, ok := columnOf(stmt, col)
		if !ok || col.Alias != "" {
			return false
		}
		p.cols = append(p.cols, name)
	}
	return true
}

// readWhere decides which cached rows the statement returns: rows chosen by
// primary key, or the rows of collections (one column equal to some values),
// narrowed by IS NULL conditions and by equalities on integer and boolean
// columns (filters).
func (p *plan) readWhere(stmt *gorm.Statement, where clause.Clause, hasWhere bool) bool {
	sets := p.bufs.sets[:0]
	p.nulls = p.bufs.nulls[:0]
	for _, t := range whereTermsOf(stmt, where, hasWhere, p.bufs.terms[:0]) {
		p.nvals += len(t.vals)
		switch {
		case !t.ok:
			return false
		case t.null:
			p.nulls = append(p.nulls, t.col)
		default:
			f := stmt.Schema.FieldsByDBName[t.col]
			var dst []any
			if len(sets) == 0 && len(t.vals) <= len(p.bufs.vals) {
				dst = p.bufs.vals[:0] // the first set's values, in the plan
			}
			norm, ok := normValuesInto(dst, t.vals, classOf(f))
			if ok && !fitColumn(norm, f) {
				return false // the driver refuses it (PostgreSQL): so must the plugin
			}
			if !ok {
				if p.filters, ok = addBoolFilter(p.filters, f, t.vals, stmt.DB.Dialector.Name()); ok {
					continue
				}
				return false
			}
			i := slices.IndexFunc(sets, func(s set) bool { return s.col == t.col })
			if i < 0 {
				sets = append(sets, set{t.col, norm})
			} else {
				sets[i].vals = intersect(sets[i].vals, norm)
			}
		}
	}
	pk := stmt.Schema.PrimaryFieldDBNames
	if len(sets) == len(pk) {
		pkSets := make([][]any, len(pk))
		for i, name := range pk {
			j := slices.IndexFunc(sets, func(s set) bool { return s.col == name })
			if j < 0 {
				pkSets = nil
				break
			}
			pkSets[i] = sets[j].vals
		}
		if pkSets != nil && len(p.filters) == 0 {
			p.byKey = true
			p.keys = product(pkSets)
			return len(p.keys) > 0
		}
	}
	if len(sets) == 0 || !p.addFilters(stmt, sets) {
		return false
	}
	p.collCol = sets[0].col
	p.collCls = classOf(stmt.Schema.FieldsByDBName[p.collCol])
	p.collVals = sets[0].vals
	p.exact = len(p.nulls) == 0 && len(p.filters) == 0
	return len(p.collVals) > 0
}

// set is the values one column of a WHERE clause must equal one of.
type set struct {
	col  string
	vals []any // normalized, distinct
}

// normValuesInto normalizes and deduplicates condition values, appending
// them to out.
func normValuesInto(out []any, vals []any, cls keyClass) ([]any, bool) {
	if out == nil {
		out = make([]any, 0, len(vals))
	}
	var seen map[any]bool
	if len(vals) > 8 {
		seen = make(map[any]bool, len(vals))
	}
	for _, v := range vals {
		k, ok := normValue(v, cls)
		if !ok {
			return nil, false
		}
		if seen != nil {
			if seen[k] {
				continue
			}
			seen[k] = true
		} else if slices.Contains(out, k) {
			continue
		}
		out = append(out, k)
	}
	return out, true
}

func intersect(a, b []any) []any {
	in := map[any]bool{}
	for _, v := range b {
		in[v] = true
	}
	out := []any{}
	for _, v := range a {
		if in[v] {
			out = append(out, v)
		}
	}
	return out
}

// product lists the composite keys that per-column value sets allow.
func product(sets [][]any) []any {
	if len(sets) == 1 {
		return sets[0]
	}
	n := 1
	for _, s := range sets {
		n *= len(s)
		if n > 10000 {
			return nil
		}
	}
	out := make([]any, 0, n)
	parts := make([]any, len(sets))
	var rec func(i int)
	rec = func(i int) {
		if i == len(sets) {
			out = append(out, compositeKey(parts))
			return
		}
		for _, v := range sets[i] {
			parts[i] = v
			rec(i + 1)
		}
	}
	rec(0)
	return out
}

func (p *plan) readOrder(stmt *gorm.Statement, c clause.Clause, ok bool) bool {
	if !ok {
		return true
	}
	ob, ok := c.Expression.(clause.OrderBy)
	if !ok || ob.Expression != nil || len(ob.Columns) == 0 {
		return false
	}
	p.order, ok = keyOrder(stmt, ob.Columns) // shapes_loops.go
	return ok
}

func (p *plan) readLimit(c clause.Clause, ok bool) bool {
	if !ok {
		return true
	}
	l, ok := c.Expression.(clause.Limit)
	if !ok || l.Offset > 0 {
		return false
	}
	if l.Limit != nil && *l.Limit >= 0 {
		p.limit = *l.Limit
	}
	return true
}

// fitColumn reports whether normalized integer values fit the column GORM
// makes for field f (smallint, integer or bigint, by the field's size or
// its type tag): PostgreSQL's driver refuses to send a value that does not,
// and the statement must then fail as it would without the plugin.
func fitColumn(vals []any, f *schema.Field) bool {
	if classOf(f) != classInt {
		return true
	}
	bits := 64
	switch f.DataType {
	case schema.Int, schema.Uint:
		size := f.Size
		if f.DataType == schema.Uint {
			size++
		}
		switch {
		case size <= 16:
			bits = 16
		case size <= 32:
			bits = 32
		}
	default:
		switch t := strings.ToLower(string(f.DataType)); {
		case strings.Contains(t, "smallint") || strings.Contains(t, "int2") || strings.Contains(t, "smallserial"):
			bits = 16
		case strings.Contains(t, "bigint") || strings.Contains(t, "int8") || strings.Contains(t, "bigserial"):
		case strings.Contains(t, "int") || strings.Contains(t, "serial"):
			bits = 32
		}
	}
	if bits == 64 {
		return true
	}
	limit := int64(1) << (bits - 1)
	for _, v := range vals {
		if n, ok := v.(int64); ok && (n < -limit || n >= limit) {
			return false
		}
	}
	return true
}
