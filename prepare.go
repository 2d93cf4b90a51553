package prefetch

import (
	"reflect"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/callbacks"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
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
	if prepareCommon(db) {
		return
	}
	stmt := db.Statement
	clauses := stmt.BuildClauses
	stmt.BuildClauses = nil
	callbacks.BuildQuerySQL(db)
	stmt.BuildClauses = clauses
}

// prepareCommon completes the clauses of the most common statement, a
// model or a slice of models read with no Select, Omit, Distinct, join or
// key taken from the destination, whose model has no query clause but
// GORM's soft delete, with fewer allocations than BuildQuerySQL and the
// same result: the soft-delete condition appended to WHERE, then FROM and
// SELECT added when absent. It reports false, having changed nothing, for
// any other statement.
func prepareCommon(db *gorm.DB) bool {
	stmt := db.Statement
	sch := stmt.Schema
	if sch == nil || stmt.SQL.Len() > 0 || len(stmt.Selects) > 0 || len(stmt.Omits) > 0 || stmt.Distinct ||
		len(stmt.Joins) > 0 || db.QueryFields || len(sch.QueryClauses) > 1 {
		return false
	}
	rv := stmt.ReflectValue
	switch rv.Kind() {
	case reflect.Struct:
		if rv.Type() != sch.ModelType {
			return false
		}
		for _, f := range sch.PrimaryFields {
			if !zeroField(stmt, f, rv) {
				return false // BuildQuerySQL adds the key's condition
			}
		}
	case reflect.Slice:
		// A slice of pointers makes BuildQuerySQL parse the destination,
		// whose model is the statement's: it then selects nothing more.
		if elem := rv.Type().Elem(); elem != sch.ModelType && (elem.Kind() != reflect.Pointer || elem.Elem() != sch.ModelType) {
			return false
		}
	default:
		return false
	}
	if c, ok := stmt.Clauses["FROM"]; ok && c.Expression != nil {
		if from, ok := c.Expression.(clause.From); !ok || len(from.Joins) > 0 {
			return false
		}
	}
	var soft clause.Expression // the soft-delete condition to add, if any
	if len(sch.QueryClauses) == 1 {
		sd, ok := sch.QueryClauses[0].(gorm.SoftDeleteQueryClause)
		if !ok {
			return false
		}
		if _, done := stmt.Clauses["soft_delete_enabled"]; !done && !stmt.DB.Statement.Unscoped {
			soft = softCondition(sd)
		}
	}
	whereClause := stmt.Clauses["WHERE"]
	where, hasWhere := whereClause.Expression.(clause.Where)
	if soft != nil && hasWhere {
		for _, e := range where.Exprs {
			if or, ok := e.(clause.OrConditions); ok && len(or.Exprs) == 1 {
				return false // SoftDeleteQueryClause regroups the conditions first
			}
		}
	}

	if soft != nil {
		// SoftDeleteQueryClause.ModifyStatement: AddClause of a WHERE
		// holding deleted_at IS NULL, merged after the conditions.
		c := whereClause
		c.Name = "WHERE"
		exprs := make([]clause.Expression, len(where.Exprs)+1)
		copy(exprs, where.Exprs)
		exprs[len(where.Exprs)] = soft
		c.Expression = clause.Where{Exprs: exprs}
		stmt.Clauses["WHERE"] = c
		stmt.Clauses["soft_delete_enabled"] = clause.Clause{}
	}
	// AddClauseIfNotExists(clause.From{}) and (clause.Select{}).
	for _, add := range [...]struct {
		name string
		expr clause.Expression
	}{{"FROM", emptyFrom}, {"SELECT", emptySelect}} {
		if c, ok := stmt.Clauses[add.name]; !ok || c.Expression == nil {
			c.Name, c.Expression = add.name, add.expr
			stmt.Clauses[add.name] = c
		}
	}
	return true
}

// zeroField reports what f.ValueOf reports as zero, without boxing the
// value: the field reached by its index path (through embedded pointers,
// ValueOf itself, which tells a nil one as zero).
func zeroField(stmt *gorm.Statement, f *schema.Field, rv reflect.Value) bool {
	for _, i := range f.StructField.Index {
		if i < 0 {
			_, zero := f.ValueOf(stmt.Context, rv)
			return zero
		}
	}
	return rv.FieldByIndex(f.StructField.Index).IsZero()
}

// softConditions keeps, by soft-delete field, the condition its
// SoftDeleteQueryClause adds, boxed once.
var softConditions sync.Map // *schema.Field -> clause.Expression

// softCondition returns the condition sd adds to a query's WHERE clause.
func softCondition(sd gorm.SoftDeleteQueryClause) clause.Expression {
	if c, ok := softConditions.Load(sd.Field); ok {
		return c.(clause.Expression)
	}
	var c clause.Expression = clause.Eq{Column: clause.Column{Table: clause.CurrentTable, Name: sd.Field.DBName}, Value: sd.ZeroValue}
	softConditions.Store(sd.Field, c)
	return c
}

// emptyFrom and emptySelect are the clause.From{} and clause.Select{}
// BuildQuerySQL adds, boxed once: nothing modifies a value in an interface.
var (
	emptyFrom   clause.Expression = clause.From{}
	emptySelect clause.Expression = clause.Select{}
)

// buildQuery builds the SQL text and values of a statement prepareQuery
// prepared, once: as the last step of BuildQuerySQL does. A statement must
// be built before it reaches gorm:query, which would otherwise complete its
// clauses a second time.
func buildQuery(db *gorm.DB) {
	stmt := db.Statement
	if stmt.SQL.Len() == 0 {
		if isServed(stmt.Vars) {
			stmt.Vars = nil // the mark is shared: never append to it
		}
		stmt.Build(stmt.BuildClauses...)
	}
}

// prepareCheck, set by the package's tests (export_test.go), checks every
// statement the plugin prepares against BuildQuerySQL.
var prepareCheck func(db *gorm.DB)
