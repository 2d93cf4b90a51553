package prefetch

import (
	"database/sql/driver"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Loop shapes. Code written record by record asks more of a parent's
// collection than all of it: its latest row (ORDER BY the key, LIMIT 1), its
// rows in one status (a further equality), or how many rows it has (see
// shapes_count.go). Each of these is answered from the parent's complete
// collection, which a batch load reads for the parent's whole scope, but
// only where the cache decides it exactly as the database would:
//   - an order by the integer primary key, whatever columns follow it (the
//     key is unique, so they never break a tie), spelled as GORM builds it or
//     as a raw string ("id desc", "orders.id DESC");
//   - equalities on integer and boolean columns, never text (its equality is
//     the collation's). A row whose value is NULL never matches, as in SQL;
//     a row holding a value of another kind than the column's (a float in a
//     SQLite integer column, a boolean as SQLite's driver reports it) makes
//     the statement go to the database.

// filter is one further equality a collection's rows must meet.
type filter struct {
	col     string
	vals    []any // int64: the integers, or 0 and 1 for false and true
	boolean bool  // a boolean column
	pgBool  bool  // the driver reports the column's values as bool exactly (PostgreSQL)
}

// keyOrder reads an ORDER BY list whose every item is a column of the
// model, ascending or descending: 1 or -1 when the first is the integer
// primary key (what follows never breaks a tie), orderOther otherwise. ok is
// false when an item is anything else (an expression, NULLS LAST, a column
// the model lacks): the database may refuse it, so the cache must not
// answer even a one-row statement.
func keyOrder(stmt *gorm.Statement, cols []clause.OrderByColumn) (order int, ok bool) {
	sch := stmt.Schema
	pk := ""
	if len(sch.PrimaryFields) == 1 && classOf(sch.PrimaryFields[0]) == classInt {
		// Text keys sort by the database's collation, which the cache
		// does not know.
		pk = sch.PrimaryFields[0].DBName
	}
	var buf [4]orderItem
	for _, oc := range cols {
		items, ok := orderItems(stmt, oc, buf[:0])
		if !ok {
			return 0, false
		}
		for _, it := range items {
			switch {
			case order != 0:
			case it.col != pk:
				order = orderOther
			case it.desc:
				order = -1
			default:
				order = 1
			}
		}
	}
	return order, order != 0
}

type orderItem struct {
	col  string
	desc bool
}

// orderItems resolves one ORDER BY column, or the comma-separated list of a
// raw string ("id desc", `"orders"."id" DESC, amount`), to model columns,
// appended to out.
func orderItems(stmt *gorm.Statement, oc clause.OrderByColumn, out []orderItem) ([]orderItem, bool) {
	if !oc.Column.Raw {
		col, ok := columnOf(stmt, oc.Column)
		return append(out, orderItem{col, oc.Desc}), ok
	}
	if oc.Desc || strings.ContainsAny(oc.Column.Name, "'?()@$") {
		return nil, false
	}
	for _, part := range strings.Split(oc.Column.Name, ",") {
		ident, rest, ok := cutIdent(strings.TrimSpace(part))
		if !ok {
			return nil, false
		}
		col, ok := columnOf(stmt, clause.Column{Name: ident, Raw: true})
		if !ok {
			return nil, false
		}
		switch strings.ToUpper(strings.TrimSpace(rest)) {
		case "", "ASC":
			out = append(out, orderItem{col, false})
		case "DESC":
			out = append(out, orderItem{col, true})
		default:
			return nil, false // NULLS FIRST, COLLATE...: not a plain key order
		}
	}
	return out, true
}

// addBoolFilter adds an equality on a boolean column whose values are Go
// booleans. Any other value (an integer compared with a boolean, which
// PostgreSQL refuses) is left to the database.
func addBoolFilter(filters []filter, f *schema.Field, vals []any, dialect string) ([]filter, bool) {
	if f == nil || f.IndirectFieldType.Kind() != reflect.Bool {
		return filters, false
	}
	out := make([]any, 0, len(vals))
	for _, v := range vals {
		b, ok := boolOf(v)
		if !ok {
			return filters, false
		}
		n := int64(0)
		if b {
			n = 1
		}
		if !slices.Contains(out, any(n)) {
			out = append(out, n)
		}
	}
	return append(filters, filter{col: f.DBName, vals: out, boolean: true, pgBool: dialect == "postgres"}), true
}

// boolOf returns the Go boolean a condition value binds as.
func boolOf(v any) (bool, bool) {
	for range 3 {
		valuer, ok := v.(driver.Valuer)
		if !ok {
			break
		}
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return false, false
		}
		var err error
		if v, err = valuer.Value(); err != nil {
			return false, false
		}
	}
	rv := reflect.ValueOf(v)
	for rv.IsValid() && rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if !rv.IsValid() || rv.Kind() != reflect.Bool {
		return false, false
	}
	return rv.Bool(), true
}

// addFilters turns the value sets beyond the first (the collection's own)
// into filters. Only integer columns qualify, and none may be the primary
// key: a statement with filters reads a collection, never rows by key.
func (p *plan) addFilters(stmt *gorm.Statement, sets []set) bool {
	for _, s := range sets[1:] {
		f := stmt.Schema.FieldsByDBName[s.col]
		if f == nil || classOf(f) != classInt {
			return false
		}
		p.filters = append(p.filters, filter{col: s.col, vals: s.vals})
	}
	if len(p.filters) == 0 {
		return true
	}
	for _, f := range stmt.Schema.PrimaryFields {
		if slices.ContainsFunc(sets, func(s set) bool { return s.col == f.DBName }) {
			return false
		}
	}
	return true
}

// preferLinked makes a statement with filters read the collection of a
// foreign-key column (customer_id = ? AND status = ?: the customer's
// orders), which a parent scope can batch, whatever order the conditions
// came in.
func (st *state) preferLinked(p *plan) {
	if len(p.filters) == 0 || p.collCls != classInt || st.linked(p.table, p.collCol) {
		return
	}
	for i, f := range p.filters {
		if !f.boolean && st.linked(p.table, f.col) {
			p.filters[i].col, p.filters[i].vals, p.collCol, p.collVals = p.collCol, p.collVals, f.col, f.vals
			return
		}
	}
}

func (st *state) linked(table, col string) bool {
	for _, l := range st.linksOf(table) {
		if l.child == table && l.col == col {
			return true
		}
	}
	return false
}

// filterCols returns the cache columns of a plan's filters. Callers hold
// the store's lock.
func (p *plan) filterCols(t *tableCache) []int {
	if len(p.filters) == 0 {
		return nil
	}
	out := make([]int, len(p.filters))
	for i, f := range p.filters {
		out[i] = t.col(f.col)
	}
	return out
}

// applyFilters keeps the rows that meet every filter. ok is false when a
// row holds a value whose equality the cache cannot decide.
func (p *plan) applyFilters(rows []*entry, idx []int) (_ []*entry, ok bool) {
	if len(idx) == 0 {
		return rows, true
	}
	ok = true
	rows = slices.DeleteFunc(rows, func(e *entry) bool {
		for i, f := range p.filters {
			m, known := f.match(e.val(idx[i]))
			ok = ok && known
			if !m {
				return true
			}
		}
		return false
	})
	return rows, ok
}

// match reports whether a row's driver value meets the filter, as SQL's
// equality would. known is false when the cache cannot tell.
func (f filter) match(v any) (m, known bool) {
	var n int64
	switch x := v.(type) {
	case nil:
		return false, true // NULL = anything is not true
	case int64:
		if f.boolean && f.pgBool {
			// An integer column behind a bool field: PostgreSQL refuses
			// to compare it with a boolean.
			return false, false
		}
		n = x
	case bool:
		// SQLite's driver turns any non-zero number of a "boolean" column
		// into true: only PostgreSQL's booleans are exactly what they say.
		if !f.boolean || !f.pgBool {
			return false, false
		}
		if x {
			n = 1
		}
	default:
		return false, false
	}
	return slices.Contains(f.vals, any(n)), true
}
