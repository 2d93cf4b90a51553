package prefetch

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Load fills associations or columns of records that are already loaded,
// the way Preload would have filled them, and batches the work over the
// records' scope: loading the Customer of one order loads the customers of
// every order of the result the order came from, in one query per
// BatchSize keys, so that the next orders' Load costs nothing.
//
// dest is a *T, *[]T, []T, *[]*T or []*T of a model. Each name is an
// association (belongs-to, has-one, has-many or many2many; nested ones as
// "Orders.Lines", like Preload) or a column (Go field name or column name).
// Associations are filled exactly as Preload fills them (has-many owners
// with no children get an empty slice; AfterFind hooks run on the loaded
// records). Columns are copied into the records by primary key, without
// hooks; loading one column loads every column of the scope's rows that is
// not loaded yet, unless the context says [WithoutPrefetch].
//
// When the rows an association needs are in the request cache (or one batch
// load puts them there), Load fills it straight from the cache, without a
// GORM statement: a per-record Load then costs a lookup and a copy. GORM's
// logger shows nothing for such an association; Stats and the Observer
// count it as a served statement. Whatever the cache cannot prove
// identical goes through GORM's preload.
//
// Load works without a request cache too, for the records given. Errors
// match [ErrInvalidDest], [ErrNotModel] or [ErrUnknownName], or are the
// database's.
func Load(db *gorm.DB, dest any, names ...string) error {
	if db == nil {
		return fmt.Errorf("%w: nil *gorm.DB", ErrInvalidDest)
	}
	rv, err := loadTarget(dest)
	if err != nil {
		return err
	}
	stmt := &gorm.Statement{DB: db}
	if err := stmt.Parse(dest); err != nil {
		return fmt.Errorf("%w: %T: %v", ErrNotModel, dest, err)
	}
	sch := stmt.Schema
	if len(names) == 1 && rv.Kind() == reflect.Struct && sch.Relationships.Relations[names[0]] != nil {
		// One association of one record: the per-record Load of a loop.
		return loadEach(db, sch, dest, rv, names)
	}
	var assocs []string
	var cols []*schema.Field
	for _, name := range names {
		f, err := resolveName(sch, name)
		if err != nil {
			return err
		}
		if f != nil {
			cols = append(cols, f)
		} else {
			assocs = append(assocs, name)
		}
	}
	if rv.Kind() == reflect.Slice && rv.Len() == 0 {
		return nil
	}
	if len(cols) > 0 {
		if err := loadColumns(db, sch, rv, cols); err != nil {
			return err
		}
	}
	if len(assocs) > 0 {
		dest, rv = withoutNils(dest, rv)
		if rv.Kind() == reflect.Slice && rv.Len() == 0 {
			return nil
		}
		return loadEach(db, sch, dest, rv, assocs)
	}
	return nil
}

// loadEach loads associations in the order GORM's preload does (by name,
// each with its nested names), each by the fast path (load_fast.go) when it
// can take it and by GORM's preload otherwise.
func loadEach(db *gorm.DB, sch *schema.Schema, dest any, rv reflect.Value, names []string) error {
	if len(names) == 1 && names[0] != clause.Associations && !strings.Contains(names[0], ".") {
		// One association: no grouping to do (the per-record Load).
		out, err := loadFast(db, sch, rv, names[0], nil)
		switch {
		case err != nil || out == fastDone:
			return err
		case out == fastNoWide:
			db = db.WithContext(WithoutPrefetch(db.Statement.Context))
		}
		return loadAssociations(db, sch, dest, rv, names)
	}
	groups := map[string][]string{}
	for _, n := range names {
		first, _, _ := strings.Cut(n, ".")
		if first == clause.Associations {
			return loadAssociations(db, sch, dest, rv, names)
		}
		groups[first] = append(groups[first], n)
	}
	order := make([]string, 0, len(groups))
	for g := range groups {
		order = append(order, g)
	}
	slices.Sort(order)
	for _, g := range order {
		// GORM's preload loads g, then the nested names on the records it
		// loaded (as the preloads of its own query).
		var nested []string
		for _, n := range groups[g] {
			if rest, ok := strings.CutPrefix(n, g+"."); ok && !slices.Contains(nested, rest) {
				nested = append(nested, rest)
			}
		}
		out, err := loadFast(db, sch, rv, g, nested)
		if err != nil {
			return err
		}
		tx := db
		switch out {
		case fastDone:
			continue
		case fastNoWide:
			tx = db.WithContext(WithoutPrefetch(db.Statement.Context))
		}
		if err := loadAssociations(tx, sch, dest, rv, groups[g]); err != nil {
			return err
		}
	}
	return nil
}

// withoutNils returns a slice of pointers without its nil elements (a new
// slice holding the same pointers, so that loading fills the caller's
// records), or dest unchanged.
func withoutNils(dest any, rv reflect.Value) (any, reflect.Value) {
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.Pointer {
		return dest, rv
	}
	nils := 0
	for i := 0; i < rv.Len(); i++ {
		if rv.Index(i).IsNil() {
			nils++
		}
	}
	if nils == 0 {
		return dest, rv
	}
	out := reflect.MakeSlice(rv.Type(), 0, rv.Len()-nils)
	for i := 0; i < rv.Len(); i++ {
		if e := rv.Index(i); !e.IsNil() {
			out = reflect.Append(out, e)
		}
	}
	ptr := reflect.New(rv.Type())
	ptr.Elem().Set(out)
	return ptr.Interface(), ptr.Elem()
}

// resolveName reads a name given to Load: a column of sch (returned), or
// an association path ("Orders.Lines"; nil is returned). Errors match
// ErrUnknownName, name the whole path, and suggest the likely name.
func resolveName(sch *schema.Schema, name string) (*schema.Field, error) {
	if name == clause.Associations {
		return nil, nil
	}
	parts := strings.Split(name, ".")
	cur := sch
	for i, seg := range parts {
		if rel := cur.Relationships.Relations[seg]; rel != nil {
			cur = rel.FieldSchema
			continue
		}
		if f := cur.LookUpField(seg); f != nil && f.DBName != "" {
			if i == 0 && len(parts) == 1 {
				return f, nil
			}
			return nil, fmt.Errorf("%w: %q: %s is a column of %s, not an association; load it on the %s records",
				ErrUnknownName, name, seg, cur.Name, cur.Name)
		}
		return nil, fmt.Errorf("%w: %q: %s has no association or column %q%s",
			ErrUnknownName, name, cur.Name, seg, suggestName(cur, seg))
	}
	return nil, nil
}

// suggestName returns ` (did you mean "X"?)` for the one association or
// field of sch closest to name, if any is close.
func suggestName(sch *schema.Schema, name string) string {
	var cands []string
	for n := range sch.Relationships.Relations {
		cands = append(cands, n)
	}
	for _, f := range sch.Fields {
		if f.DBName != "" {
			cands = append(cands, f.Name)
		}
	}
	best, bestD, tie := "", 3, false
	for _, c := range cands {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		switch {
		case d < bestD:
			best, bestD, tie = c, d, false
		case d == bestD:
			tie = true
		}
	}
	if best == "" || tie {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// loadTarget checks dest and returns the struct or slice it designates.
func loadTarget(dest any) (reflect.Value, error) {
	if dest == nil {
		return reflect.Value{}, fmt.Errorf("%w: nil", ErrInvalidDest)
	}
	rv := reflect.ValueOf(dest)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}, fmt.Errorf("%w: nil %T", ErrInvalidDest, dest)
		}
		rv = rv.Elem()
	} else if rv.Kind() != reflect.Slice {
		return reflect.Value{}, fmt.Errorf("%w: %T is neither a pointer nor a slice", ErrInvalidDest, dest)
	}
	elem := rv.Type()
	if rv.Kind() == reflect.Slice {
		elem = elem.Elem()
		if elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
	}
	if rv.Kind() != reflect.Struct && rv.Kind() != reflect.Slice || elem.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("%w: %T does not hold structs", ErrInvalidDest, dest)
	}
	return rv, nil
}

// loadAssociations runs GORM's own preload over the records, as the
// gorm:preload callback does after a query. Its queries pass through the
// plugin, which serves them or widens them to the scope.
func loadAssociations(db *gorm.DB, sch *schema.Schema, dest any, rv reflect.Value, names []string) error {
	tx := db.Session(&gorm.Session{NewDB: true, Context: db.Statement.Context})
	tx.Statement.Dest = dest
	tx.Statement.Model = dest
	tx.Statement.ReflectValue = rv
	tx.Statement.Schema = sch
	tx.Statement.Table = sch.Table
	tx.Statement.Preloads = map[string][]any{}
	for _, n := range names {
		tx.Statement.Preloads[n] = nil
	}
	callbacks.Preload(tx)
	return tx.Error
}

// loadColumns reads the columns of the records by primary key and copies
// them in. The query selects only those columns; the plugin widens it to
// the scope's missing columns.
func loadColumns(db *gorm.DB, sch *schema.Schema, rv reflect.Value, cols []*schema.Field) error {
	pks := sch.PrimaryFields
	if len(pks) == 0 {
		return fmt.Errorf("%w: %s has no primary key to load columns by", ErrInvalidDest, sch.Name)
	}
	ctx := db.Statement.Context
	keyOfRecord := func(rec reflect.Value) (any, []any, bool) {
		parts := make([]any, len(pks))
		raw := make([]any, len(pks))
		zeros := 0
		for i, pk := range pks {
			v, zero := pk.ValueOf(ctx, rec)
			if zero {
				// A zero part of a composite key is a value; an all-zero key
				// is a record not saved yet.
				if zeros++; zeros == len(pks) {
					return nil, nil, false
				}
			}
			k, ok := normValue(v, classOf(pk))
			if !ok {
				return nil, nil, false
			}
			parts[i], raw[i] = k, v
		}
		return compositeKey(parts), raw, true
	}
	records := map[any][]reflect.Value{}
	var ids [][]any
	each(rv, func(rec reflect.Value) {
		k, raw, ok := keyOfRecord(rec)
		if !ok {
			return
		}
		if records[k] == nil {
			ids = append(ids, raw)
		}
		records[k] = append(records[k], rec)
	})
	if len(ids) == 0 {
		return nil
	}
	var sel []string
	for _, pk := range pks {
		sel = append(sel, pk.DBName)
	}
	for _, f := range cols {
		if !slices.Contains(sel, f.DBName) {
			sel = append(sel, f.DBName)
		}
	}
	got := reflect.New(reflect.SliceOf(sch.ModelType))
	tx := db.Session(&gorm.Session{NewDB: true, SkipHooks: true, Context: ctx}).Select(sel)
	if len(pks) == 1 {
		vals := make([]any, len(ids))
		for i, id := range ids {
			vals[i] = id[0]
		}
		tx = tx.Where(clause.IN{Column: clause.Column{Table: clause.CurrentTable, Name: pks[0].DBName}, Values: vals})
	} else {
		// (a, b) IN ((?, ?), ...): read by the database, never served.
		tx = tx.Where(fmt.Sprintf("(%s) IN ?", strings.Join(quoted(db, sel[:len(pks)]), ", ")), ids)
	}
	if err := tx.Find(got.Interface()).Error; err != nil {
		return err
	}
	rows := got.Elem()
	for i := 0; i < rows.Len(); i++ {
		row := rows.Index(i)
		k, _, _ := keyOfRecord(row)
		for _, rec := range records[k] {
			for _, f := range cols {
				if err := f.Set(ctx, rec, f.ReflectValueOf(ctx, row).Interface()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func quoted(db *gorm.DB, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = db.Statement.Quote(n)
	}
	return out
}

// each calls fn with every addressable struct of rv.
func each(rv reflect.Value, fn func(reflect.Value)) {
	if rv.Kind() == reflect.Struct {
		fn(rv)
		return
	}
	for i := 0; i < rv.Len(); i++ {
		e := rv.Index(i)
		if e.Kind() == reflect.Pointer {
			if e.IsNil() {
				continue
			}
			e = e.Elem()
		}
		fn(e)
	}
}
