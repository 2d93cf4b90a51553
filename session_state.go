package prefetch

import (
	"reflect"
	"strconv"
	"strings"
)

// Session state in raw SQL: the settings, roles, temporary tables and
// attached databases a statement sets or resets, and whether for the
// session or only for the transaction (see invalidate.go for what the
// plugin does with them).

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

// stateOp is one change of a connection's session state: a setting (by
// name, lower case; "*temp" for temporary tables, "*attach" for attached
// databases, "*" for what the reader cannot name) set, or reset ("*all":
// everything, as DISCARD ALL; "*settings": the settings RESET ALL resets,
// which leaves the role, the session user, temporary tables and attached
// databases).
type stateOp struct {
	name string
	set  bool
}

func (e *effect) set(name string) { e.state = append(e.state, stateOp{strings.ToLower(name), true}) }

func (e *effect) reset(name string) { e.state = append(e.state, stateOp{strings.ToLower(name), false}) }

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
		e.reset("*settings") // not the role, the session user or temporary tables
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
