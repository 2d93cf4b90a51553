package prefetch

import (
	"errors"
	"fmt"

	"gorm.io/gorm"
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
	cb := db.Callback()
	regs := []struct {
		name string
		err  error
	}{
		// Writes are invalidated right after the statement ran, before
		// any After* hook: a hook that reads back what was written must
		// see it.
		{"create", cb.Create().After("gorm:create").Before("gorm:after_create").
			Register("prefetch:invalidate_create", st.afterCreate)},
		{"update", cb.Update().After("gorm:update").Before("gorm:after_update").
			Register("prefetch:invalidate_update", st.afterUpdate)},
		{"delete", cb.Delete().After("gorm:delete").Before("gorm:after_delete").
			Register("prefetch:invalidate_delete", st.afterDelete)},
		{"raw", cb.Raw().After("gorm:raw").Register("prefetch:invalidate_raw", st.afterRaw)},
		{"row", cb.Row().After("gorm:row").Register("prefetch:invalidate_row", st.afterRaw)},
		// A failed statement may have aborted the transaction it ran in
		// (PostgreSQL refuses every later statement until a rollback):
		// from then on the transaction's reads go to the database.
		{"query", cb.Query().After("*").Register("prefetch:note_failure", noteFailure)},
		{"query", cb.Query().After("*").Register("prefetch:mark_served", st.markServed)},
		{"create", cb.Create().After("*").Register("prefetch:note_failure", noteFailure)},
		{"update", cb.Update().After("*").Register("prefetch:note_failure", noteFailure)},
		{"delete", cb.Delete().After("*").Register("prefetch:note_failure", noteFailure)},
		{"raw", cb.Raw().After("*").Register("prefetch:note_failure", noteFailure)},
		{"row", cb.Row().After("*").Register("prefetch:note_failure", noteRowFailure)},
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
	if v.s != nil && !v.disabled {
		v.s = st.cacheFor(db, v.s)
	} else if v.s == nil && !v.disabled && !raw && st.cfg.WarnMissingContext {
		st.noteMissingContext(db)
	}
	if raw || v.s == nil || v.disabled || db.Error != nil || db.DryRun {
		st.query(db)
		if raw && !db.DryRun {
			// db.Raw(...).Find can run any SQL, writes included.
			st.afterRaw(db)
		}
		return
	}
	if prepareCheck != nil {
		prepareCheck(db) // tests: the preparation builds what GORM builds
	}
	prepareQuery(db) // the clauses, not the SQL text (prepare.go)
	if db.Error != nil {
		return
	}
	p := analyze(db)
	if p == nil || st.gens.isView(p.table) {
		// Not whole rows of a table, or a view.
		st.send(db)
		return
	}
	if !p.servable || p.nvals+1 >= st.maxVars {
		// More bound values than the database accepts must be rejected
		// by the database itself: count them exactly.
		if buildQuery(db); len(db.Statement.Vars) > st.maxVars {
			st.query(db)
			return
		}
	}
	st.noteSchema(p.table, p.sch)
	if p.servable && st.serve(db, v, p) {
		switch {
		case !isServed(db.Statement.Vars):
			buildQuery(db) // strict mode failed it: GORM's logger shows it as built
		case st.sqlObserved(db):
			buildQuery(db) // hooks and other plugins' callbacks see it (observe.go)
			db.Statement.Settings.Store(servedKey{}, db.Statement)
		}
		if p.unshared {
			releasePlan(p)
		}
		return
	}
	buildQuery(db)
	if p.count {
		st.query(db) // a count's one number is not rows to keep
		return
	}
	st.fetch(db, v.s, p)
}

// send sends a prepared statement to the database through gorm:query.
func (st *state) send(db *gorm.DB) {
	buildQuery(db)
	st.query(db)
}

// cacheFor returns the cache a statement may use: the request cache s for a
// statement on the plugin's own pool, the transaction's own cache inside a
// transaction begun through it, and nil for anything else. Nothing is
// cached for a statement whose context has ended (it must fail as the
// database fails it), on a connection taken with db.Connection or a pool
// the plugin did not wrap (its session state is its own), or while the
// database is not cacheable (a transaction begun with raw SQL is open, or
// a session setting changed on a shared pool).
func (st *state) cacheFor(db *gorm.DB, s *store) *store {
	if db.Statement.Context.Err() != nil || !st.cacheable(db) {
		return nil
	}
	switch cp := db.Statement.ConnPool.(type) {
	case *pool:
		if cp.st == st {
			return s
		}
	case *gorm.PreparedStmtDB:
		if p, ok := cp.ConnPool.(*pool); ok && p.st == st {
			return s
		}
	default:
		if tx := trackedTx(cp); tx != nil && tx.parent.st == st {
			return tx.cacheFor(s)
		}
	}
	return nil
}

// noteFailure marks the transaction a failed statement ran in.
func noteFailure(db *gorm.DB) {
	if db.Error == nil || errors.Is(db.Error, gorm.ErrRecordNotFound) {
		return
	}
	if tx := trackedTx(db.Statement.ConnPool); tx != nil {
		tx.fail()
	}
}

// noteRowFailure marks the transaction of a Row or Rows statement on
// PostgreSQL: their errors reach the caller at Scan, after the callbacks,
// so the plugin cannot tell whether one aborted the transaction.
func noteRowFailure(db *gorm.DB) {
	if db.Dialector.Name() != "postgres" {
		noteFailure(db)
		return
	}
	if tx := trackedTx(db.Statement.ConnPool); tx != nil {
		tx.fail()
	}
}
