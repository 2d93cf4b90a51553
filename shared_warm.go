package prefetch

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Warm loads rows of a model into the shared cache, so that the first
// requests after a start find them there: every row of the model's table,
// or those conds select (as given to [gorm.DB.Where]). model is a model
// listed in [SharedCache.Models] (a pointer to one, or to a slice of
// them: only its type is used). ctx gives the partition, as for any
// statement. Rows are read whole (SELECT *), BatchSize at a time in
// primary-key order, each chunk under a lease taken before its query, and
// filled with one store call per chunk. It returns how many rows it read.
//
// Warm reads only through db's own pool: given a transaction (rolled back
// later, or under a SET LOCAL search_path) or a connection taken with
// db.Connection, it reads nothing and returns [ErrWarmOutsidePool].
//
// Errors match [ErrInvalidConfig] (no plugin or no shared cache on db, a
// model not listed, no partition in ctx), [ErrWarmOutsidePool] or
// [ErrNotModel]; a store or
// database error stops it and is returned wrapped.
func Warm(ctx context.Context, db *gorm.DB, model any, conds ...any) (int, error) {
	st, err := stateOf(db)
	if err != nil {
		return 0, err
	}
	sh := st.shared
	if sh == nil {
		return 0, fmt.Errorf("%w: Warm: the plugin on db has no shared cache", ErrInvalidConfig)
	}
	sch, err := schema.Parse(model, &st.parsed, st.naming)
	if err != nil {
		return 0, fmt.Errorf("%w: Warm: %T: %v", ErrNotModel, model, err)
	}
	t := sh.tableFor(sch.Table, identOfSchema(sch))
	if t == nil {
		return 0, fmt.Errorf("%w: Warm: %s is not in SharedCache.Models", ErrInvalidConfig, sch.Table)
	}
	part, ok := sh.partition(ctx, t)
	if !ok {
		return 0, fmt.Errorf("%w: Warm: the context has no partition", ErrInvalidConfig)
	}
	if !st.ownsPool(db.Statement.ConnPool) {
		return 0, fmt.Errorf("%w (Warm %s)", ErrWarmOutsidePool, t.name)
	}
	if sh.off.Load() {
		return 0, nil
	}
	size := st.cfg.BatchSize
	keyset := len(t.pk) == 1
	session := db.Session(&gorm.Session{NewDB: true, Context: Disable(ctx)})
	n := 0
	var last any
	for {
		lctx, cancel := sh.timeout(ctx)
		lease, err := sh.cfg.Store.Lease(lctx, sh.space)
		cancel()
		if err != nil {
			return n, fmt.Errorf("prefetch: Warm %s: lease: %w", t.name, err)
		}
		q := session.Model(model).Select("*")
		if len(conds) > 0 {
			q = q.Where(conds[0], conds[1:]...)
		}
		if keyset {
			if last != nil {
				q = q.Where(clause.Gt{Column: clause.Column{Table: clause.CurrentTable, Name: t.pk[0]}, Value: last})
			}
			q = q.Order(clause.OrderByColumn{Column: clause.Column{Table: clause.CurrentTable, Name: t.pk[0]}}).Limit(size)
		}
		rows, err := q.Rows()
		if err != nil {
			return n, fmt.Errorf("prefetch: Warm %s: %w", t.name, err)
		}
		res, err := capture(rows)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = res.err
		}
		if err != nil {
			return n, fmt.Errorf("prefetch: Warm %s: %w", t.name, err)
		}
		f := &sharedFill{t: t, part: part, lease: lease}
		for chunk := range slices.Chunk(res.rows, size) {
			st.fill(ctx, nil, f, &result{cols: res.cols, rows: chunk})
		}
		n += len(res.rows)
		if !keyset || len(res.rows) < size {
			return n, nil
		}
		pos := slices.Index(res.cols, t.pk[0])
		if pos < 0 {
			return n, nil
		}
		last = res.rows[len(res.rows)-1][pos]
	}
}
