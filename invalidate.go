package prefetch

import (
	"database/sql"
	"fmt"
	"reflect"
	"slices"

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
	case table == "" || stmt.Schema == nil || !plainTable(stmt) || st.gens.isLinked(table):
		// Unknown target, or one whose rows are read through other names
		// too (views, inheritance): anything may have changed.
		c.all = true
	case kind == writeCreate:
		_, upsert := stmt.Clauses["ON CONFLICT"]
		if ins, ok := stmt.Clauses["INSERT"].Expression.(clause.Insert); ok && ins.Modifier != "" {
			upsert = true // INSERT OR REPLACE deletes rows that conflict on any unique index
		}
		if keys := createdKeys(stmt); keys != nil && !upsert {
			c.addRows(table, st.identOf(stmt.Schema), keys)
		} else {
			c.addTable(table)
		}
	default:
		st.noteSchema(table, stmt.Schema)
		// An update that moves a row to another key is covered too: the
		// old key is stamped, and the new key can only have been cached
		// as absent, which every write to the table makes stale.
		if keys := writtenKeys(stmt); keys != nil {
			c.addRows(table, st.identOf(stmt.Schema), keys)
		} else {
			c.addTable(table)
		}
		st.addCascades(&c, table, kind)
	}
	st.commitChange(db, &c)
}

// afterRaw handles raw SQL (db.Exec, db.Raw, Row/Rows, the Migrator): the
// tables it may have written, transaction control, session state and
// definitions.
func (st *state) afterRaw(db *gorm.DB) {
	if db.Statement.SQL.Len() == 0 || db.DryRun {
		return
	}
	e := classify(db.Statement.SQL.String(), db.Statement.Vars)
	cp := db.Statement.ConnPool
	tx := trackedTx(cp)
	onPool := tx == nil && st.ownsPool(cp)
	switch {
	case e.rollbackTo && tx != nil:
		// ROLLBACK TO SAVEPOINT undoes writes the transaction's cache
		// may have read back.
		tx.dropCache()
	case e.rollbackTo:
		e.change.all = true // it undid writes of a transaction the plugin does not follow
	case (e.begin || e.savepoint) && onPool:
		// A transaction begun with raw SQL on the pool (SQLite begins one
		// at a SAVEPOINT too) holds one of its connections: reads may see
		// its uncommitted writes until it ends.
		st.flags.rawTx.Add(1)
	}
	if e.end || e.release {
		if tx != nil && e.end {
			tx.endedByRaw()
		} else if onPool && st.flags.rawTx.Add(-1) < 0 {
			st.flags.rawTx.Add(1)
		}
	}
	if (e.session || e.local) && tx != nil {
		tx.dropCache() // rows read under the old state
	}
	conn, onConn := cp.(*sql.Conn)
	switch {
	case onConn:
		// It goes back to the pool with whatever state it holds then.
		st.flags.noteConn(conn, e.state)
	case e.session:
		// On the pool, in a transaction of the pool's, or on a connection
		// the plugin cannot follow (a transaction begun on db.Connection):
		// the state stays on a connection of the pool.
		st.sessionChanged(db)
	}
	if e.ddl || e.session {
		// A session change may make names resolve to other tables
		// (search_path, a temporary table): column lists start over too.
		st.gens.info.ddl.Add(1)
	}
	st.gens.addNames(&st.gens.info.views, e.views)
	st.gens.addNames(&st.gens.info.linked, e.linked)
	for _, r := range e.renames {
		if st.gens.isView(r[0]) {
			st.gens.addNames(&st.gens.info.views, r[1:])
		}
		if st.gens.isLinked(r[0]) {
			st.gens.addNames(&st.gens.info.linked, r[1:])
		}
	}
	st.gens.addCascades(e.cascades)
	c := &e.change
	if e.ddl && st.gens.hasShared() {
		c.all = true // shared rows may lack a column now, or name another table
	}
	if !c.all {
		for _, t := range slices.Clone(c.tables) {
			if st.gens.isLinked(t) {
				c.all = true
				break
			}
			// Cascades apply to raw writes as much as to GORM's.
			st.addCascades(c, normTable(t), writeDelete)
			st.addCascades(c, normTable(t), writeUpdate)
		}
	}
	st.commitChange(db, c)
}

// sessionChanged handles a change of session state (search_path, a role,
// a setting row-level security reads) on a connection of the pool: it
// stays on that connection after the statement, so later reads depend on
// which connection runs them. With a pool of one connection that is
// well defined: everything read before is stale. With more, no cached row
// can be known to be what a later read would return, and the plugin stops
// caching for this database.
func (st *state) sessionChanged(db *gorm.DB) {
	// The change is on a connection of the *sql.DB: every handle on that
	// pool reads under it from now on, not only this one, so none of them
	// may read or fill the shared cache under the identity it registered
	// with (shared_read.go).
	for _, o := range liveStates() {
		if o == st || o.flags == st.flags {
			o.sharedOff(db)
		}
	}
	if st.singleConn() {
		return // the statement stamped everything
	}
	why := fmt.Sprintf("session state changed on a shared connection pool (%.80q); "+
		"run it inside a transaction (SET LOCAL) or on db.Connection to keep the cache", db.Statement.SQL.String())
	if st.flags.turnOff(why) {
		st.warnOff(db, why)
	}
}

// warnOff says, through GORM's logger and Plugin.Logger, that caching
// through the pool was turned off, and why.
func (st *state) warnOff(db *gorm.DB, why string) {
	db.Logger.Warn(db.Statement.Context, "prefetch: caching turned off for this connection pool: %s", why)
	if st.cfg.Logger != nil {
		st.cfg.Logger.WarnContext(db.Statement.Context, "prefetch: caching turned off", "reason", why)
	}
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
	st.sharedChanged(db, c) // shared_invalidate.go
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

// addCascades adds the tables whose rows the database updates or deletes in
// cascade when rows of table are written: foreign keys with ON DELETE or ON
// UPDATE actions, from models' constraint tags, the catalog and DDL run
// through GORM, followed transitively.
func (st *state) addCascades(c *change, table string, kind writeKind) {
	seen := map[string]bool{normTable(table): true}
	queue := []string{table}
	for len(queue) > 0 {
		t := queue[0]
		queue = queue[1:]
		var children []string
		for _, l := range st.linksOf(t) {
			if l.parent == t && (kind == writeDelete && l.onDelete || kind == writeUpdate && l.onUpdate) {
				children = append(children, l.child)
			}
		}
		children = append(children, st.gens.cascadesFrom(normTable(t), kind)...)
		for _, ch := range children {
			if !seen[normTable(ch)] {
				seen[normTable(ch)] = true
				c.addTable(ch)
				// A cascaded delete or key update may cascade further;
				// SET NULL updates the child, which may cascade as an update.
				queue = append(queue, ch)
			}
		}
	}
}
