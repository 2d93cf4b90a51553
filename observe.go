package prefetch

import (
	"reflect"
	"unsafe"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Who may read the SQL of a served statement. The cache answers a statement
// without building its SQL text (prepare.go), and builds it only for those
// who may read it, so that they see what plain GORM shows them:
//   - AfterFind hooks (tx.Statement.SQL, an audit trail): built before the
//     hooks run when the model has one;
//   - callbacks of other plugins on the query chain (otelgorm reads
//     tx.Statement.SQL for its span): built when the chain holds any
//     callback not named gorm:* or prefetch:*, wherever it sits;
//   - GORM's logger, which traces a statement only when its SQL is not
//     empty: built (and marked as served, serve.go) at the end of the chain
//     when the logger would print it. GORM's own logger prints it at Info
//     level, or at Error level and above when the statement ends in error;
//     a served statement ran no SQL and is never a slow one, so the Warn
//     level's slow-SQL line is not written for it. Any other logger is
//     given the SQL of every served statement.

// sqlObserved reports whether someone may read the SQL of a served
// statement before the end of its query chain.
func (st *state) sqlObserved(db *gorm.DB) bool {
	stmt := db.Statement
	if stmt.Schema != nil && stmt.Schema.AfterFind && !stmt.SkipHooks {
		return true
	}
	return st.foreignCallbacks(db)
}

// foreignCallbacks reports whether the query chain of db runs a callback
// that is neither GORM's own (gorm:preload, gorm:after_query) nor the
// plugin's. Callbacks are told apart by their function, not their name: a
// user's callback registered as "gorm:audit", or a wrapper that replaced
// gorm:after_query, may read the SQL as much as another plugin's.
func (st *state) foreignCallbacks(db *gorm.DB) bool { return !plainQueryChain(db) }

// markServedLast reports whether prefetch:mark_served is the last callback
// of db's query chain: a callback registered after it with After("*") must
// see the SQL as GORM built it, so the mark is then left out.
func markServedLast(db *gorm.DB) bool {
	fv := processorFns(db.Callback().Query())
	if !fv.IsValid() || fv.Kind() != reflect.Slice || fv.Len() == 0 {
		return false
	}
	return fv.Index(fv.Len()-1).Pointer() == markServedFn
}

// markServedFn is the function of prefetch:mark_served, set by init: a
// variable's initializer cannot refer to the callback that reads it.
var markServedFn uintptr

func init() {
	var st *state
	markServedFn = reflect.ValueOf(st.markServed).Pointer()
}

// logsSQL reports whether db's logger would print a statement that ended
// with db.Error, were its SQL built.
func logsSQL(db *gorm.DB) bool {
	l := db.Logger
	if l == nil {
		return false
	}
	v := reflect.ValueOf(l)
	if v.Type() != gormLoggerType || levelIndex == nil {
		return true
	}
	level := logger.LogLevel(v.Elem().FieldByIndex(levelIndex).Int())
	return level >= logger.Info || db.Error != nil && level >= logger.Error
}

var (
	gormLoggerType = reflect.TypeOf(logger.Default)
	levelIndex     = func() []int {
		t := gormLoggerType
		if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			return nil
		}
		f, ok := t.Elem().FieldByName("LogLevel")
		if !ok || f.Type != reflect.TypeOf(logger.Info) {
			return nil
		}
		return f.Index
	}()
)

// servedKey marks, in a statement's settings, that the cache answered a
// statement whose SQL was built before the end of its chain. Its value is
// the statement itself: GORM copies settings into the statements it derives
// from one (preloads, sessions opened in hooks), which ran on the database
// and must not be marked.
type servedKey struct{}

// servedVars marks, as the bound values of a statement with no SQL yet,
// that the cache answered it: GORM reads a statement's values only with its
// SQL, and buildQuery drops the mark before building. Unlike a setting, it
// costs no allocation. Its capacity is zero, so that a callback appending
// to a served statement's values (building its SQL) gets an array of its
// own rather than writing into the mark every served statement shares.
var servedVars = servedArray[0:0:0]

var servedArray [1]any

// isServed reports the mark of servedVars.
func isServed(vars []any) bool {
	return vars != nil && cap(vars) == 0 && unsafe.SliceData(vars) == &servedArray[0]
}

// servedMark begins the SQL GORM's logger shows for a statement the cache
// answered: logs must not show it as a round trip.
const servedMark = "/* prefetch: served from the request cache, no query */ "

// markServed puts servedMark before the SQL of a statement the cache
// answered. It is the query chain's last callback: hooks (AfterFind) and
// callbacks before it see the SQL as GORM built it; GORM's logger, which
// traces the statement after the chain (and then resets its SQL), sees the
// mark. A served statement's SQL is built here when nobody built it before
// and the logger would print it (observe.go); otherwise it stays empty and
// GORM traces nothing.
func (st *state) markServed(db *gorm.DB) {
	stmt := db.Statement
	if stmt.SQL.Len() == 0 {
		if !isServed(stmt.Vars) {
			return
		}
		stmt.Vars = nil
		if !logsSQL(db) {
			return
		}
		buildQuery(db)
	} else if v, ok := stmt.Settings.Load(servedKey{}); !ok || v != stmt {
		return
	} else {
		stmt.Settings.Delete(servedKey{})
	}
	if !markServedLast(db) {
		return
	}
	sql := stmt.SQL.String()
	stmt.SQL.Reset()
	stmt.SQL.Grow(len(servedMark) + len(sql))
	stmt.SQL.WriteString(servedMark)
	stmt.SQL.WriteString(sql)
}
