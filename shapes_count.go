package prefetch

import (
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Counts. Count and Association(...).Count build SELECT count(*) FROM the
// model's table WHERE ..., one statement per parent in a loop. Such a
// statement is read like a query for the model's rows (the same WHERE,
// soft-delete condition included) and answered with how many rows it would
// return, once every row it counts is cached: a parent's complete
// collection, loaded for the parent's whole scope by one batch load (whole
// rows, which the next loop over the same collections reads too). A count
// whose rows are not cached, or cannot be, goes to the database as it is;
// its result is not kept.

// isCount reports a statement as GORM's Count builds it with no Select:
// SELECT count(*) into an *int64, with no LIMIT or OFFSET (which change what
// count(*) returns).
func isCount(stmt *gorm.Statement) bool {
	if _, ok := stmt.Dest.(*int64); !ok {
		return false
	}
	for _, name := range []string{"LIMIT", "ORDER BY"} {
		// A count with an ORDER BY (one a scope added after GORM's Count
		// removed its own) is an error on PostgreSQL: never served.
		if _, ok := stmt.Clauses[name]; ok {
			return false
		}
	}
	// clause.Select puts its expression in the clause in its place.
	x, ok := stmt.Clauses["SELECT"].Expression.(clause.Expr)
	return ok && x.SQL == "count(*)" && len(x.Vars) == 0
}

// countRows makes p read the primary key of the rows a count counts.
func (p *plan) countRows(stmt *gorm.Statement) {
	p.count = true
	p.sliceDest = true
	p.cols = append([]string(nil), stmt.Schema.PrimaryFieldDBNames...)
}

// countResult is the one row count(*) returns for the rows of res.
func countResult(db *gorm.DB, res *result) *result {
	name := "count(*)"
	if db.Dialector.Name() == "postgres" {
		name = "count"
	}
	return &result{cols: []string{name}, rows: [][]any{{int64(len(res.rows))}}}
}
