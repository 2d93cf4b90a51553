package prefetch

import (
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// register puts the plugin's callbacks in GORM's chains, all in one place.
func (st *state) register(db *gorm.DB) error {
	st.query = db.Callback().Query().Get("gorm:query")
	if st.query == nil {
		return fmt.Errorf("%w: the query chain has no gorm:query callback to wrap", ErrInvalidConfig)
	}
	// A served read must not reach the database, and a cacheable read must
	// be captured as the driver returns it; no callback placed around
	// gorm:query can do either. So the plugin replaces gorm:query with a
	// wrapper that calls the original for every statement it does not
	// serve or capture itself.
	if err := db.Callback().Query().Replace("gorm:query", st.queryCallback); err != nil {
		return fmt.Errorf("prefetch: wrap gorm:query: %w", err)
	}
	regs := []struct {
		name string
		err  error
	}{
		{"create", db.Callback().Create().After("gorm:after_create").Before("gorm:commit_or_rollback_transaction").
			Register("prefetch:invalidate_create", st.afterCreate)},
		{"update", db.Callback().Update().After("gorm:after_update").Before("gorm:commit_or_rollback_transaction").
			Register("prefetch:invalidate_update", st.afterUpdate)},
		{"delete", db.Callback().Delete().After("gorm:after_delete").Before("gorm:commit_or_rollback_transaction").
			Register("prefetch:invalidate_delete", st.afterDelete)},
		{"raw", db.Callback().Raw().After("gorm:raw").Register("prefetch:invalidate_raw", st.afterRaw)},
		{"row", db.Callback().Row().After("gorm:row").Register("prefetch:invalidate_row", st.afterRaw)},
	}
	for _, r := range regs {
		if r.err != nil {
			return fmt.Errorf("prefetch: register %s callback: %w", r.name, r.err)
		}
	}
	return nil
}

// queryCallback stands in for gorm:query. It serves a statement from the
// request cache when it can, loads and captures it when its result is whole
// rows of a model, and otherwise calls the original gorm:query.
func (st *state) queryCallback(db *gorm.DB) {
	v := valOf(db.Statement.Context)
	raw := db.Statement.SQL.Len() > 0
	if tx := trackedTx(db.Statement.ConnPool); tx != nil && v.s != nil && !v.disabled {
		v.s = tx.cacheFor(v.s)
	} else if inTx(db) {
		v.s = nil
	}
	if raw || v.s == nil || v.disabled || db.Error != nil || db.DryRun {
		st.query(db)
		if raw && !db.DryRun {
			// db.Raw(...).Find can run any SQL, writes included.
			st.afterRaw(db)
		}
		return
	}
	callbacks.BuildQuerySQL(db)
	if db.Error != nil {
		return
	}
	p := analyze(db)
	if p == nil {
		st.query(db)
		return
	}
	st.noteSchema(p.table, p.sch)
	if p.servable && st.serve(db, v, p) {
		return
	}
	st.fetch(db, v.s, p)
}

// inTx reports whether the statement runs inside a transaction. Inside one
// the plugin began, reads use the transaction's own cache; inside any other
// they go to the database: a transaction sees its own uncommitted writes,
// which must never reach the request cache.
func inTx(db *gorm.DB) bool {
	_, ok := db.Statement.ConnPool.(gorm.TxCommitter)
	return ok
}
