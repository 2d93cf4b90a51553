package prefetch

import (
	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
)

// Served reads without SQL text. GORM's query step (callbacks.BuildQuerySQL)
// does two things: it completes the statement's clauses (the soft-delete
// condition of Schema.QueryClauses, the primary-key condition of a non-zero
// struct destination, the SELECT list of Select, Omit and QueryFields, the
// FROM clause with its joins) and then builds the SQL text and bound values
// from them. The plugin reads only the clauses (analyze.go), and a statement
// the cache answers needs no SQL text unless someone reads it (observe.go);
// building it costs about as much as the rest of GORM's per-call work.
//
// prepareQuery runs BuildQuerySQL itself with an empty list of clauses to
// build: every clause is completed exactly as GORM completes it (it is
// GORM's own code, whatever the statement), and only the final
// Statement.Build writes nothing. buildQuery writes the SQL afterwards, when
// the statement goes to the database or its SQL is observed; the two
// together give the SQL text and values BuildQuerySQL gives
// (prepare_builds_what_gorm_builds_test.go compares them over every shape).

// prepareQuery completes a query statement's clauses as BuildQuerySQL does,
// without building its SQL text.
func prepareQuery(db *gorm.DB) {
	stmt := db.Statement
	clauses := stmt.BuildClauses
	stmt.BuildClauses = nil
	callbacks.BuildQuerySQL(db)
	stmt.BuildClauses = clauses
}

// buildQuery builds the SQL text and values of a statement prepareQuery
// prepared, once: as the last step of BuildQuerySQL does. A statement must
// be built before it reaches gorm:query, which would otherwise complete its
// clauses a second time.
func buildQuery(db *gorm.DB) {
	stmt := db.Statement
	if stmt.SQL.Len() == 0 {
		stmt.Build(stmt.BuildClauses...)
	}
}
