package prefetch

import (
	"context"

	"gorm.io/gorm"
)

// Observer receives what the plugin does, for metrics and traces: set
// [Plugin.Observer]. The module github.com/gorm-prefetch/prefetch/otel
// implements it with OpenTelemetry. Methods are called on the goroutine of
// the statement, outside the plugin's locks, and must return quickly; ctx
// is the statement's context.
type Observer interface {
	// Served is called for each statement answered from a request cache,
	// with no query.
	Served(ctx context.Context, table string)

	// Queried is called for each cacheable statement the request cache
	// could not answer, once its query has run: rows is the number of rows
	// it returned (GORM's RowsAffected), err its error. Batch loads are
	// reported by BatchLoadStart and BatchLoadEnd instead.
	Queried(ctx context.Context, table string, rows int64, err error)

	// BatchLoadStart is called before the query of a batch load. The
	// context it returns is the one the query runs with and the one passed
	// to BatchLoadEnd: a tracer starts its span here.
	BatchLoadStart(ctx context.Context, load BatchLoad) context.Context

	// BatchLoadEnd is called when a batch load's query has run, with the
	// number of rows it returned and its error.
	BatchLoadEnd(ctx context.Context, load BatchLoad, rows int64, err error)

	// Dropped is called when rows left a request cache since the last call:
	// invalidations (stale rows and collections, and those dropped by
	// [Invalidate] or [Clear]) and evictions (rows over [Plugin.MaxRows]).
	// It is called at the next statement of the request after the drop.
	Dropped(ctx context.Context, invalidations, evictions int64)
}

// BatchLoad describes one batch load: the query that loads the rows of a
// chunk of a scope.
type BatchLoad struct {
	// Table is the table the rows are loaded from.
	Table string
	// Column is the column the keys are matched on: the primary key, or
	// the foreign key of a collection.
	Column string
	// Keys is the number of keys (or collection values) in the query.
	Keys int
}

// dropCounts is what a store has told [Plugin.Observer] of its counters.
type dropCounts struct{ invalidations, evictions int64 }

// served is called by serve for each statement it answers.
func (st *state) served(db *gorm.DB, v ctxVal, t *tableCache, p *plan) {
	if v.in == nil && st.cfg.Observer == nil {
		return
	}
	st.servedSlow(db, v, t, p)
}

func (st *state) servedSlow(db *gorm.DB, v ctxVal, t *tableCache, p *plan) {
	if o := st.cfg.Observer; o != nil {
		ctx := db.Statement.Context
		o.Served(ctx, t.name)
		st.reportDrops(ctx, v.s)
	}
	if in := v.in; in != nil && (in.report || in.strictLog != nil) {
		in.answered(db.Statement, t, p)
	}
}

// fetched is called by fetch when a statement's query has run.
func (st *state) fetched(db *gorm.DB, s *store, table string) {
	o := st.cfg.Observer
	if o == nil {
		return
	}
	ctx := db.Statement.Context
	o.Queried(ctx, table, db.RowsAffected, db.Error)
	st.reportDrops(ctx, s)
}

// batchStart is called by batchLoad before its query; it returns the
// context to run the query with.
func (st *state) batchStart(ctx context.Context, b *batch, keys int) context.Context {
	if o := st.cfg.Observer; o != nil {
		return o.BatchLoadStart(ctx, BatchLoad{Table: b.table, Column: b.col, Keys: keys})
	}
	return ctx
}

// batchEnd is called by batchLoad after its query.
func (st *state) batchEnd(ctx context.Context, db *gorm.DB, s *store, b *batch, vals []any, rows int64, err error) {
	if o := st.cfg.Observer; o != nil {
		o.BatchLoadEnd(ctx, BatchLoad{Table: b.table, Column: b.col, Keys: len(vals)}, rows, err)
		st.reportDrops(ctx, s)
	}
	if in := valOf(ctx).in; in.watches() {
		in.batchLoaded(db.Statement, b, vals, err)
	}
}

// reportDrops tells the observer the invalidations and evictions counted
// in s since it last did.
func (st *state) reportDrops(ctx context.Context, s *store) {
	s.mu.Lock()
	inv := s.c.Invalidations - s.obs.invalidations
	ev := s.c.Evictions - s.obs.evictions
	s.obs = dropCounts{s.c.Invalidations, s.c.Evictions}
	s.mu.Unlock()
	if inv > 0 || ev > 0 {
		st.cfg.Observer.Dropped(ctx, inv, ev)
	}
}
