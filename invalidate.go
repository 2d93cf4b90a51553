package prefetch

import (
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Writes invalidate what they may have changed by stamping it (see
// generations.go). Each callback works out a change from the statement GORM
// ran: rows by primary key when the statement names them, whole tables
// otherwise, everything when the SQL cannot be read. A statement that never
// reached the database (a hook failed first, DryRun) changes nothing.

func (st *state) afterCreate(db *gorm.DB) { st.afterWrite(db, writeCreate) }
func (st *state) afterUpdate(db *gorm.DB) { st.afterWrite(db, writeUpdate) }
func (st *state) afterDelete(db *gorm.DB) { st.afterWrite(db, writeDelete) }

type writeKind uint8

const (
	writeCreate writeKind = iota
	writeUpdate
	writeDelete
)

func (st *state) afterWrite(db *gorm.DB, kind writeKind) {
	stmt := db.Statement
	if stmt.SQL.Len() == 0 || db.DryRun {
		return
	}
	var c change
	table := stmt.Table
	switch {
	case table == "" || stmt.Schema == nil || !plainTable(stmt):
		c.all = true
	case kind == writeCreate:
		_, upsert := stmt.Clauses["ON CONFLICT"]
		if ins, ok := stmt.Clauses["INSERT"].Expression.(clause.Insert); ok && ins.Modifier != "" {
			upsert = true // INSERT OR REPLACE deletes rows that conflict on any unique index
		}
		if keys := createdKeys(stmt); keys != nil && !upsert {
			c.addRows(table, keys)
		} else {
			c.addTable(table)
		}
	default:
		st.noteSchema(table, stmt.Schema)
		// An update that moves a row to another key is covered too: the
		// old key is stamped, and the new key can only have been cached
		// as absent, which every write to the table makes stale.
		if keys := writtenKeys(stmt); keys != nil {
			c.addRows(table, keys)
		} else {
			c.addTable(table)
		}
		st.addCascades(&c, table, kind)
	}
	st.commitChange(db, &c)
}

// afterRaw invalidates what raw SQL (db.Exec, db.Raw, Rows) may have written.
func (st *state) afterRaw(db *gorm.DB) {
	if db.Statement.SQL.Len() == 0 || db.DryRun {
		return
	}
	sql := db.Statement.SQL.String()
	if tx := trackedTx(db.Statement.ConnPool); tx != nil && startsWithWord(sql, "ROLLBACK") {
		// ROLLBACK TO SAVEPOINT undoes writes the transaction's cache
		// may have read back.
		tx.dropCache()
	}
	c := parseWrites(sql)
	if !c.all {
		// Cascades apply to raw writes as much as to GORM's.
		for _, t := range slices.Clone(c.tables) {
			st.addCascades(&c, normTable(t), writeDelete)
			st.addCascades(&c, normTable(t), writeUpdate)
		}
	}
	st.commitChange(db, &c)
}

func startsWithWord(sql, word string) bool {
	sql = strings.TrimLeft(sql, " \t\r\n(")
	return len(sql) >= len(word) && strings.EqualFold(sql[:len(word)], word)
}

// commitChange stamps a change now and, inside a transaction the plugin
// tracks, again when the transaction ends: rows read elsewhere before the
// commit still hold the old values.
func (st *state) commitChange(db *gorm.DB, c *change) {
	if c.empty() {
		return
	}
	st.gens.apply(c)
	if tx := trackedTx(db.Statement.ConnPool); tx != nil {
		tx.record(c)
	}
}

// createdKeys returns the primary keys of the rows a Create inserted, or nil
// when any is unknown.
func createdKeys(stmt *gorm.Statement) []any {
	sch := stmt.Schema
	if len(sch.PrimaryFields) == 0 {
		return nil
	}
	rv := reflect.Indirect(stmt.ReflectValue)
	var keys []any
	add := func(elem reflect.Value) bool {
		elem = reflect.Indirect(elem)
		if elem.Kind() != reflect.Struct || elem.Type() != sch.ModelType {
			return false
		}
		parts := make([]any, len(sch.PrimaryFields))
		for i, f := range sch.PrimaryFields {
			v, zero := f.ValueOf(stmt.Context, elem)
			if zero {
				return false
			}
			k, ok := normValue(v, classOf(f))
			if !ok {
				return false
			}
			parts[i] = k
		}
		keys = append(keys, compositeKey(parts))
		return true
	}
	switch rv.Kind() {
	case reflect.Struct:
		if !add(rv) {
			return nil
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < rv.Len(); i++ {
			if !add(rv.Index(i)) {
				return nil
			}
		}
	default:
		return nil
	}
	return keys
}

// writtenKeys returns the primary keys an UPDATE or DELETE is limited to by
// its WHERE clause, or nil when it is not limited to known keys.
func writtenKeys(stmt *gorm.Statement) []any {
	pk := stmt.Schema.PrimaryFieldDBNames
	if len(pk) == 0 {
		return nil
	}
	sets := make([][]any, len(pk))
	for _, t := range whereTerms(stmt) {
		if !t.ok || t.null {
			continue // ANDed: it can only narrow the rows
		}
		for i, name := range pk {
			if t.col != name {
				continue
			}
			f := stmt.Schema.FieldsByDBName[name]
			var norm []any
			for _, v := range t.vals {
				k, ok := normValue(v, classOf(f))
				if !ok {
					return nil
				}
				norm = append(norm, k)
			}
			if sets[i] != nil {
				norm = intersect(sets[i], norm)
			}
			sets[i] = norm
		}
	}
	for _, s := range sets {
		if s == nil {
			return nil
		}
	}
	keys := product(sets)
	if keys == nil {
		return nil
	}
	return keys
}

// addCascades adds the tables whose foreign keys the database updates or
// deletes in cascade (OnDelete/OnUpdate constraints of known models).
func (st *state) addCascades(c *change, table string, kind writeKind) {
	for _, l := range st.linksOf(table) {
		if l.parent == table && (kind == writeDelete && l.onDelete || kind == writeUpdate && l.onUpdate) {
			c.addTable(l.child)
		}
	}
}
