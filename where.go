package prefetch

import (
	"database/sql/driver"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Conditions: what the plugin understands of a WHERE clause. Every term it
// cannot read exactly is marked unknown, and a statement with an unknown
// term is never served (writes treat unknown ANDed terms as narrowing only).

// term is one ANDed condition of a WHERE clause, as far as it is understood.
type term struct {
	col  string
	vals []any // raw values the column must equal one of; nil with isNull
	null bool  // the column must be NULL
	ok   bool  // false: a condition the plugin does not understand
}

// whereTerms splits the WHERE clause into ANDed terms.
func whereTerms(stmt *gorm.Statement) []term {
	c, ok := stmt.Clauses["WHERE"]
	return whereTermsOf(stmt, c, ok, nil)
}

// whereTermsOf is whereTerms of the WHERE clause c (ok: the statement has
// one) appending to buf (length zero), so that a caller holding room for
// the commonest few terms allocates nothing.
func whereTermsOf(stmt *gorm.Statement, c clause.Clause, ok bool, buf []term) []term {
	if !ok {
		return nil
	}
	w, ok := c.Expression.(clause.Where)
	if !ok {
		return []term{{}}
	}
	if cap(buf) < len(w.Exprs) {
		buf = make([]term, 0, len(w.Exprs))
	}
	tw := termWalker{stmt: stmt, conj: true, out: buf[:0]}
	tw.walk(w.Exprs)
	out, conj := tw.out, tw.conj
	if !conj {
		// The list is not a conjunction: no term can be read alone, for
		// reads (never served) or writes (the whole table is stamped).
		return []term{{}}
	}
	return out
}

// termWalker collects the ANDed terms of a WHERE clause.
type termWalker struct {
	stmt *gorm.Statement
	out  []term
	conj bool // false once any part is joined by OR
}

func (tw *termWalker) walk(exprs []clause.Expression) {
	for _, e := range exprs {
		if orJoined(e) {
			tw.conj = false
			return
		}
		if and, ok := e.(clause.AndConditions); ok {
			tw.walk(and.Exprs)
			continue
		}
		if x, ok := e.(clause.Expr); ok {
			if parts := splitAnd(x); parts != nil {
				for _, p := range parts {
					tw.out = append(tw.out, exprTerm(tw.stmt, p))
				}
				continue
			}
		}
		tw.out = append(tw.out, termOf(tw.stmt, e))
	}
}

// orJoined reports an expression that GORM joins to its neighbours with OR
// rather than AND: a one-condition OrConditions (what db.Or builds), or a
// string condition holding an OR that GORM does not parenthesize (it looks
// only for " OR " and " AND " with single spaces, so "a = ?OR b = ?" or an
// OR after a tab or a comment stays bare), or a comment, which may hide the
// conditions GORM joins after it. SQL the tokenizer cannot read counts as
// one.
func orJoined(e clause.Expression) bool {
	var sql string
	switch x := e.(type) {
	case clause.OrConditions:
		return len(x.Exprs) == 1
	case clause.Expr:
		sql = x.SQL
	case clause.NamedExpr:
		sql = x.SQL
	default:
		return false
	}
	if strings.Contains(sql, "--") || strings.Contains(sql, "/*") {
		return true // a comment may hide what GORM joins after it
	}
	upper := strings.ToUpper(sql)
	if strings.Contains(upper, " OR ") || strings.Contains(upper, " AND ") {
		return false // parenthesized by GORM when it has neighbours
	}
	return hasOr(sql)
}

// hasOr reports whether SQL holds an OR keyword, or cannot be read.
func hasOr(sql string) bool {
	toks, ok := tokenize(sql)
	return !ok || slices.Contains(toks, "OR")
}

func termOf(stmt *gorm.Statement, e clause.Expression) term {
	switch x := e.(type) {
	case clause.Eq:
		col, ok := columnOf(stmt, x.Column)
		if !ok {
			return term{}
		}
		if isNil(x.Value) {
			return term{col: col, null: true, ok: true}
		}
		if isList(x.Value) {
			return term{}
		}
		return term{col: col, vals: []any{x.Value}, ok: true}
	case clause.IN:
		col, ok := columnOf(stmt, x.Column)
		if !ok || len(x.Values) == 0 {
			return term{}
		}
		for _, v := range x.Values {
			if isList(v) || isNil(v) {
				return term{}
			}
		}
		return term{col: col, vals: x.Values, ok: true}
	case clause.Expr:
		return exprTerm(stmt, x)
	}
	return term{}
}

// exprTerm understands the few string conditions that name a column and
// compare it with bound values: "id = ?", "id IN ?", "id IN (?)" (with one
// value), "deleted_at IS NULL".
func exprTerm(stmt *gorm.Statement, x clause.Expr) term {
	ident, rest, ok := cutIdent(strings.TrimSpace(x.SQL))
	if !ok {
		return term{}
	}
	col, ok := columnOf(stmt, clause.Column{Name: ident, Raw: true})
	if !ok {
		return term{}
	}
	op := strings.ToUpper(strings.Join(strings.Fields(rest), " "))
	switch {
	case op == "IS NULL" && len(x.Vars) == 0:
		return term{col: col, null: true, ok: true}
	case len(x.Vars) != 1 || isNil(x.Vars[0]):
		return term{}
	case op == "= ?" || op == "=?" || op == "IN (?)" || op == "IN(?)":
		if isList(x.Vars[0]) {
			return term{}
		}
		return term{col: col, vals: []any{x.Vars[0]}, ok: true}
	case op == "IN ?" || op == "IN?":
		if !isList(x.Vars[0]) {
			return term{} // "id IN $1": the database rejects it
		}
		rv := reflect.ValueOf(x.Vars[0])
		if rv.Len() == 0 {
			return term{}
		}
		vals := make([]any, rv.Len())
		for i := range vals {
			if vals[i] = rv.Index(i).Interface(); isList(vals[i]) || isNil(vals[i]) {
				return term{}
			}
		}
		return term{col: col, vals: vals, ok: true}
	}
	return term{}
}

// splitAnd splits a string condition joined by AND ("tenant_id = ? AND
// code = ?") into its parts, giving each part its bound values. It returns
// nil when the condition holds no top-level AND, or anything that makes
// splitting it unsafe (OR, NOT, parentheses other than "(?)", quotes,
// named parameters).
func splitAnd(x clause.Expr) []clause.Expr {
	sql := x.SQL
	if strings.ContainsAny(sql, "'\"`@") || strings.Contains(strings.ReplaceAll(sql, "(?)", ""), "(") || hasOr(sql) {
		return nil
	}
	words := strings.Fields(sql)
	var parts []clause.Expr
	var cur []string
	vars := x.Vars
	flush := func() bool {
		part := strings.Join(cur, " ")
		n := strings.Count(part, "?")
		if part == "" || n > len(vars) {
			return false
		}
		parts = append(parts, clause.Expr{SQL: part, Vars: vars[:n]})
		vars, cur = vars[n:], nil
		return true
	}
	for _, w := range words {
		switch strings.ToUpper(w) {
		case "OR", "NOT", "BETWEEN":
			return nil
		case "AND":
			if !flush() {
				return nil
			}
			continue
		}
		cur = append(cur, w)
	}
	if len(parts) == 0 || !flush() || len(vars) != 0 {
		return nil
	}
	return parts
}

// cutIdent reads a column name, possibly quoted and qualified by its table,
// from the start of s.
func cutIdent(s string) (ident, rest string, ok bool) {
	end := 0
	for end < len(s) {
		c := s[end]
		if c == '`' || c == '"' {
			close := strings.IndexByte(s[end+1:], c)
			if close < 0 {
				return "", "", false
			}
			end += close + 2
			continue
		}
		if c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			end++
			continue
		}
		break
	}
	if end == 0 {
		return "", "", false
	}
	return s[:end], s[end:], true
}

// columnOf resolves a column reference of a condition, a select list or an
// ORDER BY to a column of the statement's model. Columns of other tables,
// expressions and unknown names do not resolve.
func columnOf(stmt *gorm.Statement, c any) (string, bool) {
	var col clause.Column
	switch x := c.(type) {
	case string:
		col = clause.Column{Name: x, Raw: true}
	case clause.Column:
		col = x
	default:
		return "", false
	}
	if col.Raw {
		if strings.Contains(col.Name, "`") && stmt.DB != nil && stmt.DB.Dialector != nil && stmt.DB.Dialector.Name() == "postgres" {
			return "", false // PostgreSQL has no backtick quotes: it rejects the statement
		}
		table, name, qualified := strings.Cut(col.Name, ".")
		if !qualified {
			table, name = "", table
		}
		if strings.Contains(name, ".") {
			return "", false
		}
		if name = unquote(name); name == "" {
			return "", false
		}
		if qualified {
			if table = unquote(table); table == "" {
				return "", false
			}
		}
		col.Name = name
		if qualified {
			col.Table = table
		}
	}
	if col.Table != "" && col.Table != clause.CurrentTable && col.Table != stmt.Table {
		return "", false
	}
	sch := stmt.Schema
	if col.Name == clause.PrimaryKey {
		switch {
		case sch.PrioritizedPrimaryField != nil:
			return sch.PrioritizedPrimaryField.DBName, true
		case len(sch.DBNames) > 0:
			return sch.DBNames[0], true
		}
		return "", false
	}
	if f := sch.FieldsByDBName[col.Name]; f != nil {
		return f.DBName, true
	}
	return "", false
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' && s[len(s)-1] == '"' || s[0] == '`' && s[len(s)-1] == '`') {
		s = s[1 : len(s)-1]
		if strings.ContainsAny(s, "\"`") {
			return ""
		}
	}
	return s
}

// isNil mirrors how GORM decides to write "IS NULL" for an Eq condition.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	if valuer, ok := v.(driver.Valuer); ok {
		rv := reflect.ValueOf(valuer)
		if rv.Kind() == reflect.Pointer && rv.IsNil() {
			return true
		}
		if dv, err := valuer.Value(); err == nil && dv == nil {
			return true
		}
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// isList reports values GORM would expand into a list of bound values.
func isList(v any) bool {
	if _, ok := v.(driver.Valuer); ok {
		return false
	}
	k := reflect.ValueOf(v).Kind()
	if k == reflect.Slice || k == reflect.Array {
		_, isBytes := v.([]byte)
		return !isBytes
	}
	return false
}
