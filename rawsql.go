package prefetch

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Raw SQL (db.Exec, db.Raw, Row/Rows, the Migrator) is read for what it may
// do besides returning rows: the tables it writes, transaction control,
// session state, and changes of definitions. The classifier knows the
// statements that change nothing cached and the ones that name what they
// change; anything else, or SQL it cannot tokenize, may have changed
// anything. Comments, white space and case never change the reading.

// effect is what raw SQL may have done besides returning rows.
type effect struct {
	change     change      // rows and tables it may have written (all: anything)
	ddl        bool        // it changed definitions: every cache of the database starts over
	views      []string    // views it created, replaced or renamed to: never cached
	renames    [][2]string // tables or views renamed (old, new): the new name inherits the old one's kind
	linked     []string    // tables it put in an inheritance or partition tree
	cascades   []link      // foreign keys with ON DELETE/UPDATE actions it declared
	begin      bool        // BEGIN, START TRANSACTION
	end        bool        // COMMIT, END, ROLLBACK, ABORT
	rollbackTo bool        // ROLLBACK TO SAVEPOINT
	session    bool        // it changed session state that later reads depend on
	local      bool        // it changed transaction-local state (SET LOCAL, set_config(..., true))
	state      []stateOp   // the session state it set or reset, in order
}

// stateOp is one change of a connection's session state: a setting (by
// name, lower case; "*temp" for temporary tables, "*attach" for attached
// databases, "*" for what the reader cannot name) set, or reset ("*all":
// everything).
type stateOp struct {
	name string
	set  bool
}

func (e *effect) set(name string)   { e.state = append(e.state, stateOp{strings.ToLower(name), true}) }
func (e *effect) reset(name string) { e.state = append(e.state, stateOp{strings.ToLower(name), false}) }

// harmlessSettings are settings that change no row a SELECT returns.
var harmlessSettings = map[string]bool{
	"statement_timeout": true, "lock_timeout": true, "idle_in_transaction_session_timeout": true,
	"idle_session_timeout": true, "application_name": true, "client_min_messages": true,
	"log_statement": true, "log_min_duration_statement": true, "synchronous_commit": true,
	"work_mem": true, "maintenance_work_mem": true, "jit": true,
}

// harmlessPragmas are SQLite pragmas that change no row a SELECT returns
// (settings of storage, locking and checks) or only read.
var harmlessPragmas = map[string]bool{
	"foreign_keys": true, "busy_timeout": true, "journal_mode": true, "synchronous": true,
	"cache_size": true, "temp_store": true, "mmap_size": true, "wal_autocheckpoint": true,
	"wal_checkpoint": true, "optimize": true, "page_size": true, "auto_vacuum": true,
	"incremental_vacuum": true, "analysis_limit": true, "cache_spill": true, "threads": true,
	"soft_heap_limit": true, "hard_heap_limit": true, "secure_delete": true, "cell_size_check": true,
	"automatic_index": true, "shrink_memory": true, "defer_foreign_keys": true, "query_only": true,
	"locking_mode": true, "checkpoint_fullfsync": true, "fullfsync": true, "ignore_check_constraints": true,
	"table_info": true, "table_xinfo": true, "table_list": true, "index_list": true, "index_info": true,
	"index_xinfo": true, "foreign_key_list": true, "foreign_key_check": true, "database_list": true,
	"compile_options": true, "integrity_check": true, "quick_check": true, "function_list": true,
	"collation_list": true, "pragma_list": true, "module_list": true, "data_version": true,
	"schema_version": true, "user_version": true, "application_id": true, "freelist_count": true,
	"page_count": true, "max_page_count": true, "encoding": true,
}

// readOnly are statements that write nothing by themselves; the tables
// written inside them (a WITH ... UPDATE) are found by keyword.
var readOnly = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "TABLE": true, "SHOW": true, "SAVEPOINT": true,
	"RELEASE": true, "VACUUM": true, "ANALYZE": true, "LISTEN": true, "UNLISTEN": true,
	"NOTIFY": true, "DEALLOCATE": true, "PREPARE": true, "LOCK": true,
}

// classify reads raw SQL and its bound values.
func classify(sql string, vars []any) effect {
	var e effect
	toks, ok := tokenize(sql)
	if !ok {
		e.change.all = true
		return e
	}
	for _, s := range statements(toks) {
		e.statement(s)
		if setConfigIndex(s) >= 0 {
			e.setConfig(s, toks, vars)
		}
	}
	return e
}

// statement classifies one statement.
func (e *effect) statement(s []string) {
	i := 0
	for i < len(s) && s[i] == "(" {
		i++
	}
	if i == len(s) {
		return
	}
	head, rest := s[i], s[i+1:]
	switch head {
	case "BEGIN", "START":
		e.begin = true
	case "COMMIT", "END", "ABORT":
		// What the transaction wrote is committed or undone now.
		e.end, e.change.all = true, true
	case "ROLLBACK":
		if slices.Contains(rest[:min(len(rest), 2)], "TO") {
			e.rollbackTo = true
		} else {
			e.end, e.change.all = true, true
		}
	case "SET", "RESET":
		e.setting(head, rest)
	case "DISCARD", "ATTACH", "DETACH":
		e.session = true
		e.change.all = true
		switch {
		case head == "ATTACH":
			e.set("*attach")
		case head == "DETACH":
			e.reset("*attach")
		case len(rest) > 0 && rest[0] == "ALL":
			e.reset("*all")
		case len(rest) > 0 && (rest[0] == "TEMP" || rest[0] == "TEMPORARY"):
			e.reset("*temp")
		}
	case "PRAGMA":
		e.pragma(rest)
	case "CREATE", "ALTER", "DROP", "COMMENT", "GRANT", "REVOKE", "REINDEX", "CLUSTER", "REFRESH", "SECURITY":
		// Definitions, permissions and policies change what any later
		// read returns or whether it fails.
		e.ddl = true
		e.change.all = true
		e.definition(head, rest)
	case "EXPLAIN":
		if len(rest) > 0 && (rest[0] == "ANALYZE" || rest[0] == "ANALYSE") {
			e.change.all = true // it runs the statement
			return
		}
		e.writes(s)
	case "INSERT", "REPLACE", "UPDATE", "DELETE", "MERGE", "COPY":
		e.writes(s)
	default:
		if !readOnly[head] {
			e.change.all = true // TRUNCATE (and its cascades), CALL, DO, EXECUTE, anything unknown
			return
		}
		if selectInto(s) {
			// SELECT ... INTO t creates a table (perhaps a temporary one
			// hiding another of the same name).
			e.ddl, e.session, e.change.all = true, true, true
			e.set("*temp")
			return
		}
		e.writes(s)
	}
}

// selectInto reports a SELECT ... INTO, which creates a table: an INTO
// whose nearest preceding statement keyword is SELECT.
func selectInto(s []string) bool {
	last := ""
	for _, w := range s {
		switch w {
		case "SELECT", "INSERT", "MERGE", "REPLACE":
			last = w
		case "INTO":
			if last == "SELECT" {
				return true
			}
		}
	}
	return false
}

// setting reads SET and RESET.
func (e *effect) setting(head string, rest []string) {
	local := false
	if len(rest) > 0 && (rest[0] == "SESSION" || rest[0] == "LOCAL") {
		local = rest[0] == "LOCAL"
		rest = rest[1:]
	}
	if head == "SET" && len(rest) > 0 && (rest[0] == "TRANSACTION" || rest[0] == "CONSTRAINTS") {
		return // isolation, read-only, deferred constraints: no row changes
	}
	if len(rest) > 0 && harmlessSettings[strings.ToLower(rest[0])] {
		return
	}
	if local {
		e.local = true
		return
	}
	e.session = true
	e.change.all = true
	name := "*"
	if len(rest) > 0 {
		name = rest[0]
		if name == "AUTHORIZATION" {
			name = "session_authorization"
		}
	}
	switch {
	case head == "RESET" && name == "ALL":
		e.reset("*all")
	case head == "RESET" || len(rest) > 1 && rest[len(rest)-1] == "DEFAULT":
		e.reset(name)
	default:
		e.set(name)
	}
}

// pragma reads a SQLite PRAGMA: harmless ones change nothing, reads change
// nothing, any other assignment changes session state.
func (e *effect) pragma(rest []string) {
	if len(rest) == 0 {
		return
	}
	name := strings.ToLower(rest[0])
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	if harmlessPragmas[name] || len(rest) == 1 {
		return
	}
	e.session = true
	e.change.all = true
	e.set("pragma:" + name)
}

// definition reads CREATE VIEW names and the foreign keys with actions that
// CREATE TABLE and ALTER TABLE declare.
func (e *effect) definition(head string, rest []string) {
	i := 0
	temp := false
	for i < len(rest) {
		switch rest[i] {
		case "OR", "REPLACE", "UNIQUE", "MATERIALIZED", "RECURSIVE", "UNLOGGED", "GLOBAL", "LOCAL", "IF", "NOT", "EXISTS":
			i++
			continue
		case "TEMP", "TEMPORARY":
			temp = true
			i++
			continue
		}
		break
	}
	if i >= len(rest) {
		return
	}
	kind := rest[i]
	name := ""
	for j := i + 1; j < len(rest); j++ {
		if w := rest[j]; w != "IF" && w != "NOT" && w != "EXISTS" && w != "ONLY" {
			if isIdent(w) {
				name = w
			}
			break
		}
	}
	if name == "" {
		return
	}
	if i := slices.Index(rest, "RENAME"); i >= 0 && i+2 < len(rest) && rest[i+1] == "TO" && isIdent(rest[i+2]) {
		e.renames = append(e.renames, [2]string{normTable(name), normTable(rest[i+2])})
	}
	switch {
	case head == "CREATE" && kind == "VIEW":
		e.views = append(e.views, normTable(name))
	case kind == "TABLE":
		if head == "CREATE" && temp {
			e.session = true // a temporary table may hide a table of the same name
			e.set("*temp")
		}
		e.cascades = append(e.cascades, references(normTable(name), rest)...)
		e.linked = append(e.linked, inherited(normTable(name), rest)...)
	}
}

// inherited finds the tables an inheritance or partition clause ties
// together (INHERITS (p), PARTITION OF p, INHERIT p, ATTACH/DETACH
// PARTITION c), with the table defined.
func inherited(table string, toks []string) []string {
	var out []string
	for i, w := range toks {
		var next int
		switch {
		case w == "INHERITS" || w == "INHERIT":
			next = i + 1
		case w == "OF" && i > 0 && toks[i-1] == "PARTITION":
			next = i + 1
		case w == "PARTITION" && i > 0 && (toks[i-1] == "ATTACH" || toks[i-1] == "DETACH"):
			next = i + 1
		default:
			continue
		}
		j := next
		if j < len(toks) && toks[j] == "(" {
			j++
		}
		for j < len(toks) && isIdent(toks[j]) {
			out = append(out, normTable(toks[j]))
			if j+1 >= len(toks) || toks[j+1] != "," {
				break
			}
			j += 2
		}
	}
	if len(out) > 0 {
		out = append(out, table)
	}
	return out
}

// references finds "REFERENCES parent ... ON DELETE|UPDATE CASCADE|SET ..."
// in the definition of table child.
func references(child string, toks []string) []link {
	var out []link
	for i := 0; i < len(toks); i++ {
		if toks[i] != "REFERENCES" || i+1 >= len(toks) || !isIdent(toks[i+1]) {
			continue
		}
		l := link{child: child, parent: normTable(toks[i+1])}
		for j := i + 2; j+2 < len(toks) && toks[j] != "REFERENCES"; j++ {
			if toks[j] != "ON" || toks[j+2] != "CASCADE" && toks[j+2] != "SET" {
				continue
			}
			l.onDelete = l.onDelete || toks[j+1] == "DELETE"
			l.onUpdate = l.onUpdate || toks[j+1] == "UPDATE"
		}
		if l.onDelete || l.onUpdate {
			out = append(out, l)
		}
	}
	return out
}

// writes finds the tables a statement writes by their keywords, wherever
// they stand (WITH clauses, RETURNING subqueries).
func (e *effect) writes(s []string) {
	for i, w := range s {
		prev := ""
		if i > 0 {
			prev = s[i-1]
		}
		var tables []string
		switch w {
		case "REPLACE":
			if prev == "OR" || i+1 >= len(s) || s[i+1] != "INTO" {
				continue // INSERT OR REPLACE, or the replace() function
			}
			tables = targetAfter(s[i+1:], "INTO")
		case "INSERT", "MERGE":
			tables = targetAfter(s[i+1:], "INTO")
		case "UPDATE":
			if prev == "FOR" || prev == "KEY" || prev == "ON" || prev == "DO" {
				continue // locking, constraint actions, upserts
			}
			tables = targetAfter(s[i+1:], "")
		case "DELETE":
			if prev == "ON" {
				continue
			}
			tables = targetAfter(s[i+1:], "FROM")
		case "COPY":
			switch {
			case i+1 < len(s) && s[i+1] == "(":
				continue // COPY (query) TO ...
			case i+1 < len(s) && isIdent(s[i+1]) && slices.Contains(s[i+2:], "FROM"):
				tables = []string{s[i+1]}
			case slices.Contains(s[i+1:], "TO"):
				continue // COPY table TO ...: a read
			}
		default:
			continue
		}
		if tables == nil {
			e.change.all = true
			return
		}
		for _, t := range tables {
			e.change.addTable(normTable(t))
		}
	}
}

// targetAfter returns the table after an optional keyword (INTO, FROM),
// skipping SQLite's OR-conflict words and ONLY.
func targetAfter(toks []string, kw string) []string {
	i := 0
	if i+1 < len(toks) && toks[i] == "OR" {
		i += 2
	}
	if kw != "" {
		if i >= len(toks) || toks[i] != kw {
			return nil
		}
		i++
	}
	if i < len(toks) && toks[i] == "ONLY" {
		i++
	}
	if i >= len(toks) || !isIdent(toks[i]) {
		return nil
	}
	return []string{toks[i]}
}

// setConfigIndex returns where a call of PostgreSQL's set_config starts in
// s, or -1.
func setConfigIndex(s []string) int {
	for i, w := range s {
		if i+1 < len(s) && s[i+1] == "(" {
			switch name := unquoteName(w); name {
			case "set_config", "pg_catalog.set_config":
				return i
			}
		}
	}
	return -1
}

// unquoteName reads a possibly quoted, possibly qualified name as the
// database resolves it: quoted parts as written, others in lower case.
func unquoteName(w string) string {
	parts := strings.Split(w, ".")
	for i, p := range parts {
		if len(p) >= 2 && (p[0] == '"' || p[0] == '`') && p[len(p)-1] == p[0] {
			parts[i] = p[1 : len(p)-1]
		} else {
			parts[i] = strings.ToLower(p)
		}
	}
	return strings.Join(parts, ".")
}

// setConfig reads set_config(name, value, is_local): transaction-local when
// is_local is the literal true or a bound true, session-wide otherwise.
func (e *effect) setConfig(s, all []string, vars []any) {
	for at := 0; at < len(s); {
		i := setConfigIndex(s[at:])
		if i < 0 {
			return
		}
		i += at
		args := callArgs(s[i+2:])
		if len(args) == 3 && len(args[2]) == 1 && isTrue(args[2][0], all, vars) {
			e.local = true
		} else {
			e.session = true
			e.change.all = true
			name := "*"
			if len(args) > 0 && len(args[0]) == 1 && strings.HasPrefix(args[0][0], "'") {
				name = args[0][0][1:]
			}
			e.set(name)
		}
		at = i + 1
	}
}

// callArgs splits the tokens after a call's "(" into its top-level
// arguments, up to the matching ")".
func callArgs(toks []string) [][]string {
	var args [][]string
	var cur []string
	depth := 0
	for _, w := range toks {
		switch w {
		case "(":
			depth++
		case ")":
			if depth == 0 {
				return append(args, cur)
			}
			depth--
		case ",":
			if depth == 0 {
				args, cur = append(args, cur), nil
				continue
			}
		}
		cur = append(cur, w)
	}
	return nil // no closing parenthesis: not a call the reader understands
}

// isTrue reports whether token w is the literal true or a placeholder bound
// to true. "?" placeholders are numbered by their order in all.
func isTrue(w string, all []string, vars []any) bool {
	if w == "TRUE" {
		return true
	}
	n := -1
	switch {
	case strings.HasPrefix(w, "$"):
		i, err := strconv.Atoi(w[1:])
		if err != nil {
			return false
		}
		n = i - 1
	case w == "?":
		return false // the position of a "?" is ambiguous once split; be safe
	}
	if n < 0 || n >= len(vars) {
		return false
	}
	v := reflect.ValueOf(vars[n])
	return v.IsValid() && v.Kind() == reflect.Bool && v.Bool()
}
