package prefetch

import (
	"reflect"
	"strings"

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

// chainInfo is what the plugin knows of the query chain, as of the number
// of changes made to it (GORM appends to its private callback list on every
// Register, Replace and Remove, so that length only grows).
type chainInfo struct {
	changes int
	foreign bool // a callback not named gorm:* or prefetch:* is on the chain
}

// Field indexes of GORM's private processor and callback types, read by
// reflection (GORM has no API listing a chain's callbacks); ok is false
// when they are not what this was written for, and every chain then counts
// as holding another plugin's callback.
var chainFields = func() (f struct {
	ok                      bool
	callbacks, name, remove []int
}) {
	cb, ok := reflect.TypeFor[*gorm.DB]().MethodByName("Callback")
	if !ok || cb.Type.NumOut() != 1 {
		return f
	}
	q, ok := cb.Type.Out(0).MethodByName("Query")
	if !ok || q.Type.NumOut() != 1 || q.Type.Out(0).Kind() != reflect.Pointer {
		return f
	}
	proc := q.Type.Out(0).Elem()
	list, ok := proc.FieldByName("callbacks")
	if !ok || list.Type.Kind() != reflect.Slice || list.Type.Elem().Kind() != reflect.Pointer {
		return f
	}
	one := list.Type.Elem().Elem()
	name, ok1 := one.FieldByName("name")
	remove, ok2 := one.FieldByName("remove")
	if !ok1 || !ok2 || name.Type.Kind() != reflect.String || remove.Type.Kind() != reflect.Bool {
		return f
	}
	f.ok, f.callbacks, f.name, f.remove = true, list.Index, name.Index, remove.Index
	return f
}()

// foreignCallbacks reports whether the query chain of db holds a callback
// of another plugin. The answer is kept until the chain changes.
func (st *state) foreignCallbacks(db *gorm.DB) bool {
	proc := reflect.ValueOf(db.Callback().Query())
	if !chainFields.ok || proc.Kind() != reflect.Pointer || proc.IsNil() {
		return true
	}
	cbs := proc.Elem().FieldByIndex(chainFields.callbacks)
	if info := st.chain.Load(); info != nil && info.changes == cbs.Len() {
		return info.foreign
	}
	info := &chainInfo{changes: cbs.Len(), foreign: foreignNames(cbs)}
	st.chain.Store(info)
	return info.foreign
}

// foreignNames reports whether a processor's callback list registers a
// name outside gorm:* and prefetch:* that is not removed later.
func foreignNames(cbs reflect.Value) bool {
	removed := map[string]bool{}
	var names []string
	for i := range cbs.Len() {
		cb := cbs.Index(i)
		if cb.Kind() != reflect.Pointer || cb.IsNil() {
			return true
		}
		cb = cb.Elem()
		nameField, removeField := cb.FieldByIndex(chainFields.name), cb.FieldByIndex(chainFields.remove)
		if removeField.Bool() {
			removed[nameField.String()] = true
		} else {
			names = append(names, nameField.String())
		}
	}
	for _, n := range names {
		if !removed[n] && !strings.HasPrefix(n, "gorm:") && !strings.HasPrefix(n, "prefetch:") {
			return true
		}
	}
	return false
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
// statement whose SQL was built before the end of its chain.
type servedKey struct{}

// servedVars marks, as the bound values of a statement with no SQL yet,
// that the cache answered it: GORM reads a statement's values only with its
// SQL, and buildQuery drops the mark before building. Unlike a setting, it
// costs no allocation.
var servedVars = make([]any, 0, 1)

// isServed reports the mark of servedVars.
func isServed(vars []any) bool {
	return cap(vars) > 0 && cap(servedVars) > 0 && &vars[:1][0] == &servedVars[:1][0]
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
	} else if _, ok := stmt.Settings.LoadAndDelete(servedKey{}); !ok {
		return
	}
	sql := stmt.SQL.String()
	stmt.SQL.Reset()
	stmt.SQL.Grow(len(servedMark) + len(sql))
	stmt.SQL.WriteString(servedMark)
	stmt.SQL.WriteString(sql)
}
