package prefetch

import (
	"slices"
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
	savepoint  bool        // SAVEPOINT: begins a transaction when none is open (SQLite)
	release    bool        // RELEASE: may end the transaction a SAVEPOINT began
	session    bool        // it changed session state that later reads depend on
	local      bool        // it changed transaction-local state (SET LOCAL, set_config(..., true))
	state      []stateOp   // the session state it set or reset, in order
}

// readOnly are statements that write nothing by themselves; the tables
// written inside them (a WITH ... UPDATE) are found by keyword.
var readOnly = map[string]bool{
	"SELECT": true, "WITH": true, "VALUES": true, "TABLE": true, "SHOW": true, "VACUUM": true, "ANALYZE": true, "LISTEN": true, "UNLISTEN": true,
	"NOTIFY": true, "DEALLOCATE": true, "PREPARE": true, "LOCK": true,
}

// unreadable marks SQL the reader cannot follow: it may have written
// anything, and changed any session state.
func (e *effect) unreadable() {
	e.change.all = true
	e.session = true
	e.set("*")
}

// classify reads raw SQL and its bound values.
func classify(sql string, vars []any) effect {
	var e effect
	toks, ok := tokenize(sql)
	if !ok {
		e.unreadable()
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
	case "TRUNCATE":
		e.change.all = true // its cascades too
	case "SAVEPOINT":
		// Outside a transaction, SQLite begins one.
		e.savepoint = true
	case "RELEASE":
		e.release = true
		e.change.all = true
	default:
		if !readOnly[head] {
			// CALL, DO, EXECUTE, anything unknown: it may run any SQL.
			e.unreadable()
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
