package prefetch

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// Reading and priming the request cache directly: IsLoaded tells what a
// record's next statements would cost (Odoo's env.cache), Prime puts rows
// the caller already holds into the cache.

// statesByCallbacks finds the plugin registered on a database from any of
// its sessions: they copy their *gorm.Config but share its callbacks.
var statesByCallbacks sync.Map // db.Callback() -> *state

func stateOf(db *gorm.DB) (*state, error) {
	if db == nil || db.Config == nil {
		return nil, fmt.Errorf("%w: nil *gorm.DB", ErrInvalidDest)
	}
	st, ok := statesByCallbacks.Load(db.Callback())
	if !ok {
		return nil, fmt.Errorf("%w: the database has no prefetch.Plugin registered", ErrInvalidConfig)
	}
	return st.(*state), nil
}

// IsLoaded reports whether the request cache in db's context holds what
// names of record would need, so that reading them costs no query: with no
// names, the record's row with every column; a column name, that column;
// an association, the row it refers to (belongs-to) or the complete list
// of rows referring to it (has-one, has-many). record is a pointer to a
// model or a model value with its primary key set. Many-to-many
// associations are never reported loaded.
//
// It reports false, with no error, when the context carries no request
// cache. Errors match [ErrUnknownName], [ErrNotModel], [ErrInvalidDest] or
// [ErrInvalidConfig] (no plugin on db).
func IsLoaded(db *gorm.DB, record any, names ...string) (bool, error) {
	st, err := stateOf(db)
	if err != nil {
		return false, err
	}
	rv := reflect.Indirect(reflect.ValueOf(record))
	if rv.Kind() != reflect.Struct {
		return false, fmt.Errorf("%w: %T is not a struct or a pointer to one", ErrInvalidDest, record)
	}
	sch, err := schema.Parse(record, &st.parsed, st.naming)
	if err != nil {
		return false, fmt.Errorf("%w: %T: %v", ErrNotModel, record, err)
	}
	type need struct {
		cols  []string // columns of the record's row; nil: every column
		rel   *schema.Relationship
		whole bool
	}
	var needs []need
	if len(names) == 0 {
		needs = append(needs, need{whole: true})
	}
	for _, name := range names {
		if rel := sch.Relationships.Relations[name]; rel != nil {
			needs = append(needs, need{rel: rel})
			continue
		}
		f, err := resolveName(sch, name)
		if err != nil {
			return false, err
		}
		if f == nil {
			return false, fmt.Errorf("%w: %q: IsLoaded takes one level of association", ErrUnknownName, name)
		}
		needs = append(needs, need{cols: []string{f.DBName}})
	}
	s := storeOf(db.Statement.Context)
	if s == nil {
		return false, nil
	}
	ctx := db.Statement.Context
	s.mu.Lock()
	defer s.mu.Unlock()
	dc := s.db(st)
	key, ok := recordKey(ctx, sch, rv)
	if !ok {
		return false, nil
	}
	for _, n := range needs {
		switch {
		case n.rel == nil:
			if !dc.rowLoaded(sch, key, n.cols) {
				return false, nil
			}
		case n.rel.Type == schema.BelongsTo && len(n.rel.References) == 1:
			fk, _ := n.rel.References[0].ForeignKey.ValueOf(ctx, rv)
			k, ok := normValue(fk, classOf(n.rel.References[0].ForeignKey))
			if !ok || !dc.rowLoaded(n.rel.FieldSchema, k, nil) {
				return false, nil
			}
		case (n.rel.Type == schema.HasOne || n.rel.Type == schema.HasMany) && len(n.rel.References) == 1 && n.rel.Polymorphic == nil:
			ref := n.rel.References[0]
			t := dc.table(n.rel.FieldSchema.Table, n.rel.FieldSchema)
			pk, _ := ref.PrimaryKey.ValueOf(ctx, rv)
			v, ok := normValue(pk, classOf(ref.ForeignKey))
			if !ok || dc.coll(t, ref.ForeignKey.DBName, v) == nil || t.star == nil {
				return false, nil
			}
			for _, k := range dc.coll(t, ref.ForeignKey.DBName, v).keys {
				if e := dc.get(t, k); e == nil || e.absent || !e.has(t.star) {
					return false, nil
				}
			}
		default:
			return false, nil
		}
	}
	return true, nil
}

// recordKey returns the normalized primary key of a record.
func recordKey(ctx context.Context, sch *schema.Schema, rv reflect.Value) (any, bool) {
	if len(sch.PrimaryFields) == 0 {
		return nil, false
	}
	parts := make([]any, len(sch.PrimaryFields))
	zeros := 0
	for i, f := range sch.PrimaryFields {
		v, zero := f.ValueOf(ctx, rv)
		if zero {
			// A zero part of a composite key is a value like any other;
			// an all-zero key is a record not saved yet.
			if zeros++; zeros == len(sch.PrimaryFields) {
				return nil, false
			}
		}
		k, ok := normValue(v, classOf(f))
		if !ok {
			return nil, false
		}
		parts[i] = k
	}
	return compositeKey(parts), true
}

// rowLoaded reports whether the row of key in sch's table is cached with
// cols (nil: every column of SELECT *, or of the model when SELECT * was
// never seen). Callers hold the store's lock.
func (dc *dbCache) rowLoaded(sch *schema.Schema, key any, cols []string) bool {
	t := dc.table(sch.Table, sch)
	e := dc.get(t, key)
	if e == nil || e.absent {
		return false
	}
	if cols == nil {
		if t.star != nil {
			return e.has(t.star)
		}
		cols = sch.DBNames
	}
	for _, c := range cols {
		i, ok := t.colIdx[c]
		if !ok || e.val(i) == unloaded {
			return false
		}
	}
	return true
}

// Prime puts records the caller already holds (read with a join, raw SQL,
// another service) into the cache that db's statements use (the request
// cache, or the transaction's own inside a transaction), so that later key
// lookups of them cost no query. records is a model, a pointer to one, or a
// slice of either; db.Table names the table when it is not the model's.
// Prime trusts its caller: the rows must hold what the database holds now.
// A write through GORM later makes them stale like any cached row.
//
// Only what the plugin can store exactly as the database's driver would
// return it is primed: columns of the table (Prime needs the table's
// columns, known once the request has read the table whole, with SELECT *,
// and returns an error matching [ErrUnknownColumns] before), that the
// model reads, holding integers, text, bytes or booleans, their pointers
// (nil is NULL), sql.Null* of these, or a driver.Valuer that says NULL (an
// unset gorm.DeletedAt). A zero value of a plain type is primed only for a
// NOT NULL column (it may stand for a NULL the model cannot hold). Other
// columns stay unloaded, so a statement that needs them goes to the
// database. It does nothing when db's statements use no cache (no request
// cache, Disable, db.Connection).
func Prime(db *gorm.DB, records any) error {
	st, err := stateOf(db)
	if err != nil {
		return err
	}
	rv := reflect.Indirect(reflect.ValueOf(records))
	if !rv.IsValid() || rv.Kind() != reflect.Struct && rv.Kind() != reflect.Slice {
		return fmt.Errorf("%w: %T", ErrInvalidDest, records)
	}
	sch, err := schema.Parse(records, &st.parsed, st.naming)
	if err != nil {
		return fmt.Errorf("%w: %T: %v", ErrNotModel, records, err)
	}
	table := sch.Table
	if db.Statement.Table != "" {
		table = db.Statement.Table
	}
	v := valOf(db.Statement.Context)
	if v.s == nil || v.disabled {
		return nil
	}
	s := st.cacheFor(db, v.s)
	if s == nil {
		return nil
	}
	dialect := db.Dialector.Name()
	ctx := db.Statement.Context
	s.mu.Lock()
	defer s.mu.Unlock()
	mark := s.mark(st)
	dc := s.db(st)
	t := dc.table(table, sch)
	if t.unkeyed {
		return nil
	}
	if t.star == nil {
		return fmt.Errorf("%w: table %q: read it whole (SELECT *) in this request before priming it", ErrUnknownColumns, table)
	}
	var fields []*schema.Field
	for _, f := range sch.Fields {
		if f.DBName != "" && f.Serializer == nil && f.Readable && slices.Contains(t.starNames, f.DBName) {
			fields = append(fields, f)
		}
	}
	each(rv, func(rec reflect.Value) {
		key, ok := recordKey(ctx, sch, rec)
		if !ok {
			return
		}
		vals := make([]any, len(t.cols), len(t.cols)+len(fields))
		for i := range vals {
			vals[i] = unloaded
		}
		for _, f := range fields {
			fv := f.ReflectValueOf(ctx, rec)
			v, ok := driverValue(fv, dialect, f.DataType == schema.Bool)
			if !ok || fv.IsZero() && !canBeNull(fv) && !f.NotNull && !f.PrimaryKey {
				continue // a zero value may stand for a NULL the type cannot hold
			}
			i := t.col(f.DBName)
			for len(vals) <= i {
				vals = append(vals, unloaded)
			}
			vals[i] = v
		}
		for i, pos := range t.pk {
			if !sameKind(vals[t.colIdx[pos]], t.pkCls[i]) {
				return
			}
		}
		dc.put(t, key, vals, mark.at, nil)
	})
	return nil
}

// canBeNull reports whether a field's type can hold NULL itself: a pointer,
// or a driver.Valuer (sql.NullString, gorm.DeletedAt), whose zero value is
// then NULL, not an ambiguous zero.
func canBeNull(v reflect.Value) bool {
	if v.Kind() == reflect.Pointer {
		return true
	}
	_, ok := v.Interface().(driver.Valuer)
	return ok
}

// driverValue converts a field to the value the driver of dialect returns
// for it, when that is certain.
//
// boolColumn says the field's column is GORM's own for a bool (boolean on
// PostgreSQL, numeric on SQLite), not one a type tag chose: only then is
// what the driver returns for a Go bool certain.
func driverValue(v reflect.Value, dialect string, boolColumn bool) (any, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, true
		}
		v = v.Elem()
	}
	switch x := v.Interface().(type) {
	case sql.NullInt64, sql.NullInt32, sql.NullInt16, sql.NullString, sql.NullBool, sql.NullByte:
		dv, err := x.(driver.Valuer).Value()
		if err != nil {
			return nil, false
		}
		if dv == nil {
			return nil, true
		}
		return driverValue(reflect.ValueOf(dv), dialect, boolColumn)
	case []byte:
		return append([]byte{}, x...), true
	}
	if valuer, ok := v.Interface().(driver.Valuer); ok {
		// The type's own conversion: certain only for NULL (a soft-delete
		// column not set, say).
		if dv, err := valuer.Value(); err == nil && dv == nil {
			return nil, true
		}
		return nil, false
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if v.Uint() > 1<<63-1 {
			return nil, false
		}
		return int64(v.Uint()), true
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		if !boolColumn {
			return nil, false
		}
		if dialect == "sqlite" {
			if v.Bool() {
				return int64(1), true
			}
			return int64(0), true
		}
		return v.Bool(), dialect == "postgres"
	}
	return nil, false
}
